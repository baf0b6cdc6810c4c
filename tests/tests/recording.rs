//! The flight recorder on the real binary: servers record with `rzk.recordDir` under client load, and
//! `rzk replay` re-runs every recorded segment with zero divergence: a standalone server (stopped with
//! SIGTERM, so its segments are sealed), a three-server ensemble whose leader is killed (so one recording
//! ends torn), a segment damaged on purpose (refused where the damage is), and a recording directory on a
//! full disk (segments dropped, the server keeps serving).

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rzk_tests::ensemble::wait_for;
use rzk_tests::{rzk_binary, Ensemble, TestServer};
use zookeeper_client as zk;

fn rzk(args: &[&str]) -> Result<Output> {
    let out = Command::new(rzk_binary()?).args(args).output()?;
    Ok(out)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `rzk replay DIR` must succeed with no divergence; returns its output.
fn replays_exactly(dir: &Path, extra: &[&str]) -> Result<String> {
    let dir = dir.to_str().context("path")?;
    let mut args = vec!["replay", dir];
    args.extend_from_slice(extra);
    let out = rzk(&args)?;
    let t = text(&out);
    if !out.status.success() || !t.contains("no divergence") {
        bail!("rzk replay {dir} failed:\n{t}");
    }
    Ok(t)
}

/// The number of inputs `rzk replay` says it replayed.
fn inputs_replayed(output: &str) -> u64 {
    output
        .lines()
        .find_map(|l| l.strip_prefix("replayed "))
        .and_then(|l| l.split(", ").nth(1))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn bench(addr: &str, workload: &str, seconds: &str) -> Result<()> {
    let out = rzk(&[
        "bench",
        workload,
        "--server",
        addr,
        "--duration",
        seconds,
        "--warmup",
        "0",
    ])?;
    if !out.status.success() {
        bail!("rzk bench {workload} failed:\n{}", text(&out));
    }
    Ok(())
}

#[test]
fn a_standalone_recording_replays_exactly_and_a_damaged_segment_is_refused() -> Result<()> {
    let mut server = TestServer::start_with("rzk.recordDir=rec\nrzk.recordSegmentMB=1\n")?;
    let addr = server.connect_string().to_string();
    bench(&addr, "mixed", "2")?;
    bench(&addr, "churn", "1")?;
    let workdir = server.workdir().context("no workdir")?.to_path_buf();
    server.terminate()?;
    let rec = workdir.join("rec");
    let files = rzk_record::dir::list(&rec)?;
    assert!(files.len() >= 2, "one segment only: {files:?}");
    assert!(
        files.iter().all(|f| !f.name.ends_with(".open")),
        "a stopped server seals its segments: {files:?}"
    );
    let out = replays_exactly(&rec, &[])?;
    assert!(inputs_replayed(&out) > 1_000, "{out}");
    assert!(!out.contains("not sealed"), "{out}");
    // Stop at a zxid and look at the tree there.
    let out = replays_exactly(
        &rec,
        &[
            "--until-zxid",
            "0x40",
            "--dump-tree",
            "--four-letter",
            "srvr",
        ],
    )?;
    assert!(out.contains("stopped in"), "{out}");
    // One input may commit many txns: it stops at the first input after which 0x40 is applied.
    let last_zxid = out
        .lines()
        .find_map(|l| l.strip_prefix("Last zxid: 0x"))
        .and_then(|z| i64::from_str_radix(z, 16).ok());
    assert!(last_zxid.is_some_and(|z| z >= 0x40), "{out}");
    assert!(out.contains("/rzkbench"), "{out}");
    assert!(out.contains("Mode: standalone"), "{out}");
    // A byte flipped inside the first segment: refused, naming the file and the offset.
    let first = rec.join(&files[0].name);
    let mut bytes = std::fs::read(&first)?;
    let at = bytes.len() / 2;
    bytes[at] ^= 0x5a;
    let damaged = workdir.join("damaged.rzkr");
    std::fs::write(&damaged, &bytes)?;
    let out = rzk(&["replay", damaged.to_str().context("path")?])?;
    let t = text(&out);
    assert!(!out.status.success(), "a damaged segment replayed:\n{t}");
    assert!(t.contains("damaged at byte"), "{t}");
    Ok(())
}

/// Writes to the ensemble, reconnecting through failures, until `until`.
async fn write_until(addrs: String, until: Instant) -> u64 {
    let mut done = 0u64;
    let mut client: Option<zk::Client> = None;
    let opts = zk::CreateMode::PersistentSequential.with_acls(zk::Acls::anyone_all());
    while Instant::now() < until {
        let c = match &client {
            Some(c) => c,
            None => {
                let connecting = zk::Client::connector()
                    .with_session_timeout(Duration::from_secs(30))
                    .connect(&addrs);
                match tokio::time::timeout(Duration::from_secs(5), connecting).await {
                    Ok(Ok(c)) => client.insert(c),
                    _ => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                }
            }
        };
        let write = c.create("/rec-", b"recorded", &opts);
        match tokio::time::timeout(Duration::from_secs(5), write).await {
            Ok(Ok(_)) => done += 1,
            _ => client = None,
        }
    }
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ensemble_recording_replays_exactly_across_a_leader_kill() -> Result<()> {
    let mut ens = tokio::task::block_in_place(|| {
        Ensemble::start_with(3, "rzk.recordDir=rec\nrzk.recordSegmentMB=1\n")
    })?;
    let writer = tokio::spawn(write_until(
        ens.connect_string(),
        Instant::now() + Duration::from_secs(8),
    ));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let leader = tokio::task::block_in_place(|| ens.wait_for_leader())?;
    tokio::task::block_in_place(|| ens.kill(leader))?;
    let new_leader = tokio::task::block_in_place(|| {
        wait_for("a new leader", || Ok(ens.leader().filter(|&l| l != leader)))
    })?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    tokio::task::block_in_place(|| ens.restart(leader))?;
    let written = writer.await?;
    assert!(written > 100, "only {written} writes");
    tokio::task::block_in_place(|| ens.wait_converged())?;
    for id in ens.ids() {
        tokio::task::block_in_place(|| ens.kill(id))?;
    }
    let mut total = 0;
    for id in ens.ids() {
        let rec = ens.workdir().join(format!("s{id}")).join("rec");
        let out = tokio::task::block_in_place(|| replays_exactly(&rec, &[]))
            .with_context(|| format!("server {id} (old leader {leader}, new {new_leader})"))?;
        // The killed leader recorded two runs: before its kill and after its restart.
        if id == leader {
            let runs: std::collections::BTreeSet<&str> = out
                .lines()
                .filter_map(|l| l.split(" run ").nth(1))
                .filter_map(|l| l.split(' ').next())
                .collect();
            assert_eq!(runs.len(), 2, "{out}");
        }
        total += inputs_replayed(&out);
    }
    assert!(total > 1_000, "{total} inputs replayed");
    // Together: the committed history and every connection as the servers saw it, under the server-side
    // checkers (replica agreement, durability of acknowledged writes, reads, session and watch order, trees).
    let dirs: Vec<String> = ens
        .ids()
        .iter()
        .map(|id| {
            ens.workdir()
                .join(format!("s{id}"))
                .join("rec")
                .display()
                .to_string()
        })
        .collect();
    let mut args = vec!["replay", "--check"];
    args.extend(dirs.iter().map(String::as_str));
    let out = tokio::task::block_in_place(|| rzk(&args))?;
    let t = text(&out);
    assert!(out.status.success(), "rzk replay --check failed:\n{t}");
    assert!(t.contains("every server-side check passed"), "{t}");
    let committed: usize = t
        .lines()
        .find_map(|l| {
            l.split(" committed txns")
                .next()
                .filter(|_| l.contains(" committed txns"))
        })
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    // A server killed with -9 loses the last ms of its recording (written every 10 ms, never fsynced),
    // so the rebuilt history may lack the last writes before the kill; what it holds passed the checkers.
    assert!(
        committed as u64 > written / 2,
        "{committed} committed txns for {written} writes:\n{t}"
    );
    ens.passed();
    Ok(())
}

/// A recording directory on a 1 MB tmpfs fills at once: the recorder drops segments and says so, and the
/// server serves on. Needs root (to mount); skipped, saying so, without it.
#[test]
fn recording_on_a_full_disk_drops_segments_and_the_server_keeps_serving() -> Result<()> {
    let is_root = Command::new("id").arg("-u").output()?.stdout == b"0\n";
    if !is_root {
        eprintln!("SKIPPED: mounting a small tmpfs needs root");
        return Ok(());
    }
    let mnt = std::env::temp_dir().join(format!("rzk-rec-full-{}", std::process::id()));
    std::fs::create_dir_all(&mnt)?;
    let mounted = Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            "size=1m",
            "tmpfs",
            mnt.to_str().context("path")?,
        ])
        .status()?;
    if !mounted.success() {
        bail!("cannot mount a tmpfs at {}", mnt.display());
    }
    let result = (|| -> Result<()> {
        let extra = format!(
            "rzk.recordDir={}\nrzk.recordMaxMB=64\nrzk.recordSegmentMB=1\n",
            mnt.display()
        );
        let mut server = TestServer::start_with(&extra)?;
        let addr = server.connect_string().to_string();
        // Several MB of inputs against a 1 MB disk: every op must still succeed.
        bench(&addr, "create", "3")?;
        bench(&addr, "mixed", "1")?;
        // Past RETRY_AFTER the loop offers a new segment again; the server answers throughout.
        std::thread::sleep(Duration::from_secs(6));
        bench(&addr, "set", "1")?;
        assert_eq!(server.four_letter("ruok")?, "imok");
        let workdir = server.workdir().context("no workdir")?.to_path_buf();
        server.terminate()?;
        let log = std::fs::read_to_string(workdir.join("server.log"))?;
        assert!(
            log.contains("cannot write the recording"),
            "no recorder warning in the log"
        );
        // What did fit still replays: whole blocks, up to where the disk filled.
        let out = replays_exactly(&mnt, &[])?;
        assert!(inputs_replayed(&out) > 0, "{out}");
        Ok(())
    })();
    let _ = Command::new("umount").arg(&mnt).status();
    let _ = std::fs::remove_dir(&mnt);
    result
}

/// `rzk.recordRedact=true`: a client writes data, another authenticates with a digest password; no byte of
/// either is in the recording (decoded), and `rzk replay` replays it with no divergence, checking every step
/// up to the password (the node's answer to a zeroed password cannot be replayed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redacted_recording_holds_no_data_or_password_and_replays() -> Result<()> {
    let mut server = tokio::task::block_in_place(|| {
        TestServer::start_with("rzk.recordDir=rec\nrzk.recordSegmentMB=1\nrzk.recordRedact=true\n")
    })?;
    let client = zk::Client::connect(server.connect_string()).await?;
    let opts = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    for i in 0..300 {
        let data = format!("TOPSECRET-{i}-{}", "d".repeat(i % 97));
        client
            .create(&format!("/r{i}"), data.as_bytes(), &opts)
            .await?;
        if i % 3 == 0 {
            client
                .set_data(&format!("/r{i}"), b"TOPSECRET-set", None)
                .await?;
        }
        let (got, _) = client.get_data(&format!("/r{i}")).await?;
        assert!(
            got.starts_with(b"TOPSECRET"),
            "the server keeps the real data"
        );
    }
    let authed = zk::Client::connector()
        .with_auth("digest", b"alice:TOPSECRETPW")
        .connect(server.connect_string())
        .await?;
    let mine = zk::CreateMode::Persistent.with_acls(zk::Acls::creator_all());
    authed.create("/alice", b"TOPSECRET-alice", &mine).await?;
    drop((client, authed));
    let workdir = server.workdir().context("no workdir")?.to_path_buf();
    tokio::task::block_in_place(|| server.terminate())?;
    let rec = workdir.join("rec");
    let files = rzk_record::dir::list(&rec)?;
    assert!(!files.is_empty());
    for f in &files {
        let bytes = std::fs::read(rec.join(&f.name))?;
        let seg = rzk_record::Segment::read(&bytes)?;
        assert_ne!(seg.header.flags & rzk_record::segment::FLAG_REDACTED, 0);
        for e in &seg.entries {
            assert!(
                !e.body.windows(9).any(|w| w == b"TOPSECRET"),
                "{}: a {:?} entry holds a secret",
                f.name,
                e.kind
            );
        }
    }
    let out = tokio::task::block_in_place(|| replays_exactly(&rec, &[]))?;
    assert!(
        out.contains("(redacted: replies checked by length)"),
        "{out}"
    );
    assert!(inputs_replayed(&out) > 600, "{out}");
    // Checked up to the password, which comes after the 300 creates.
    let credential_at: u64 = out
        .lines()
        .find_map(|l| l.split(": input ").nth(1))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .context(format!("no redacted credential reported:\n{out}"))?;
    assert!(credential_at > 600, "{out}");
    Ok(())
}
