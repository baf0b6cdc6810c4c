//! Read-only mode on real processes: with `readonlymode.enabled=true`, the one survivor of a 3-server
//! ensemble serves read-only clients (`zookeeper-client`'s `with_readonly(true)`) from its own tree, answers
//! writes with NotReadOnly, refuses ordinary clients, says `ro` to `isro`; once the quorum is back it
//! serves read-write again and a read-only client ends up on a writable session.

use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Result};
use rzk_tests::ensemble::{wait_for, PATIENCE};
use rzk_tests::{four_letter, Ensemble, Status};
use zookeeper_client as zk;

const SESSION_TIMEOUT: Duration = Duration::from_secs(30);
/// Bounds one attempt of a client operation, so a stuck request cannot hang the test.
const ATTEMPT: Duration = Duration::from_secs(5);

/// Runs blocking ensemble work (process control, four-letter words, polling) without stalling the runtime.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// One attempt to open a session on `addr`, read-only allowed or not.
async fn try_connect(addr: &str, read_only: bool) -> Result<zk::Client> {
    let connecting = zk::Client::connector()
        .with_session_timeout(SESSION_TIMEOUT)
        .with_readonly(read_only)
        .with_fail_eagerly()
        .connect(addr);
    match tokio::time::timeout(ATTEMPT, connecting).await {
        Ok(client) => Ok(client?),
        Err(_) => bail!("connecting to {addr} timed out"),
    }
}

/// A session on `addr`, retried until the server takes it.
async fn connect(addr: &str, read_only: bool) -> Result<zk::Client> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match try_connect(addr, read_only).await {
            Ok(c) => return Ok(c),
            Err(e) if Instant::now() > deadline => {
                return Err(e.context(format!("connecting to {addr}")))
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_member_cut_off_from_the_quorum_serves_read_only_clients() -> Result<()> {
    let mut ensemble = blocking(|| Ensemble::start_with(3, "readonlymode.enabled=true\n"))?;
    let survivor = 1;
    let addr = ensemble.addr(survivor);
    ensure!(blocking(|| four_letter(&addr, "isro"))? == "rw");

    // Written through the survivor, so it has applied the write before it is cut off.
    let writer = connect(&addr, false).await?;
    let persistent = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    writer.create("/ro", b"before", &persistent).await?;
    drop(writer);

    for id in [2, 3] {
        blocking(|| ensemble.kill(id))?;
    }
    blocking(|| {
        wait_for("the survivor to serve read-only", || {
            Ok((four_letter(&addr, "isro")? == "ro").then_some(()))
        })
    })?;
    ensure!(blocking(|| ensemble.status(survivor)) == Status::Serving("read-only".into()));
    let mntr = blocking(|| four_letter(&addr, "mntr"))?;
    ensure!(
        mntr.contains("zk_server_state\tread-only\n"),
        "mntr: {mntr}"
    );

    // An ordinary client is refused; a read-only one is served reads and refused writes.
    ensure!(
        try_connect(&addr, false).await.is_err(),
        "a read-write session on a server without a quorum"
    );
    let reader = connect(&addr, true).await?;
    ensure!(reader.state() == zk::SessionState::ConnectedReadOnly);
    let (data, _) = reader.get_data("/ro").await?;
    ensure!(data == b"before");
    ensure!(reader.list_children("/").await?.contains(&"ro".to_string()));
    ensure!(reader.check_stat("/ro").await?.is_some());
    let create = reader.create("/new", b"x", &persistent).await;
    ensure!(
        create.as_ref().err() == Some(&zk::Error::NotReadOnly),
        "create: {create:?}"
    );
    let set = reader.set_data("/ro", b"after", None).await;
    ensure!(
        set.as_ref().err() == Some(&zk::Error::NotReadOnly),
        "setData: {set:?}"
    );
    let delete = reader.delete("/ro", None).await;
    ensure!(
        delete.as_ref().err() == Some(&zk::Error::NotReadOnly),
        "delete: {delete:?}"
    );

    // The quorum comes back: the survivor serves read-write again, and the read-only client gets a
    // writable session (its read-only one was local to the survivor).
    for id in [2, 3] {
        blocking(|| ensemble.restart(id))?;
    }
    blocking(|| ensemble.wait_for_leader())?;
    ensure!(blocking(|| four_letter(&addr, "isro"))? == "rw");
    let deadline = Instant::now() + PATIENCE;
    loop {
        let attempt = tokio::time::timeout(ATTEMPT, reader.set_data("/ro", b"after", None)).await;
        match attempt {
            Ok(Ok(_)) => break,
            _ if Instant::now() > deadline => {
                bail!("no write through the formerly read-only client: {attempt:?}")
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    ensure!(reader.state() == zk::SessionState::SyncConnected);
    ensemble.passed();
    Ok(())
}
