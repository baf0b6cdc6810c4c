//! The rzk binary driven by a real Rust ZooKeeper client (`zookeeper-client`).
//!
//! Each test starts its own server (or uses `RZK_TEST_ADDR`) and works under a unique root path.

use std::time::Duration;

use anyhow::Result;
use rzk_tests::TestServer;
use zookeeper_client as zk;

fn persistent() -> zk::CreateOptions<'static> {
    zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all())
}

fn mode(m: zk::CreateMode) -> zk::CreateOptions<'static> {
    m.with_acls(zk::Acls::anyone_all())
}

/// Bounds a wait that should end promptly, so a broken server fails the test instead of hanging it.
async fn bounded<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(30), fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

async fn setup(test: &str) -> Result<(TestServer, zk::Client, String)> {
    let server = TestServer::start()?;
    let client = zk::Client::connect(server.connect_string()).await?;
    let root = server.unique_root(test);
    client.create(&root, b"", &persistent()).await?;
    Ok((server, client, root))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_get_set_delete_with_versions() -> Result<()> {
    let (_server, client, root) = setup("crud").await?;
    let path = format!("{root}/node");
    let (stat, _) = client.create(&path, b"v0", &persistent()).await?;
    assert_eq!(
        (stat.version, stat.data_length, stat.num_children),
        (0, 2, 0)
    );

    let (data, stat) = client.get_data(&path).await?;
    assert_eq!(data, b"v0");
    assert_eq!(stat.version, 0);

    let stat = client.set_data(&path, b"v1", Some(0)).await?;
    assert_eq!(stat.version, 1);
    assert_eq!(
        client.set_data(&path, b"x", Some(0)).await,
        Err(zk::Error::BadVersion)
    );
    assert_eq!(
        client.create(&path, b"", &persistent()).await.unwrap_err(),
        zk::Error::NodeExists
    );

    assert_eq!(
        client.delete(&path, Some(0)).await,
        Err(zk::Error::BadVersion)
    );
    client.delete(&path, Some(1)).await?;
    assert_eq!(client.check_stat(&path).await?, None);
    assert_eq!(client.get_data(&path).await.unwrap_err(), zk::Error::NoNode);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_and_parent_stat() -> Result<()> {
    let (_server, client, root) = setup("children").await?;
    for name in ["b", "a", "c"] {
        client
            .create(&format!("{root}/{name}"), b"", &persistent())
            .await?;
    }
    let (mut children, stat) = client.get_children(&root).await?;
    children.sort();
    assert_eq!(children, ["a", "b", "c"]);
    assert_eq!((stat.num_children, stat.cversion), (3, 3));
    assert_eq!(client.delete(&root, None).await, Err(zk::Error::NotEmpty));
    assert_eq!(client.count_descendants_number(&root).await?, 3);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_nodes_get_ten_digit_suffixes() -> Result<()> {
    let (_server, client, root) = setup("sequential").await?;
    let prefix = format!("{root}/s-");
    let (_, first) = client
        .create(&prefix, b"", &mode(zk::CreateMode::PersistentSequential))
        .await?;
    let (_, second) = client
        .create(&prefix, b"", &mode(zk::CreateMode::PersistentSequential))
        .await?;
    assert_eq!((first.into_i64(), second.into_i64()), (0, 1));
    let children = client.list_children(&root).await?;
    assert!(
        children.contains(&"s-0000000000".to_string()),
        "{children:?}"
    );
    assert!(
        children.contains(&"s-0000000001".to_string()),
        "{children:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ephemeral_goes_with_its_session() -> Result<()> {
    let (server, client, root) = setup("ephemeral").await?;
    let owner = zk::Client::connect(server.connect_string()).await?;
    let path = format!("{root}/e");
    let (stat, _) = owner
        .create(&path, b"", &mode(zk::CreateMode::Ephemeral))
        .await?;
    assert_eq!(stat.ephemeral_owner, owner.session_id().0);
    assert_eq!(owner.list_ephemerals(&root).await?, vec![path.clone()]);
    assert_eq!(
        owner
            .create(&format!("{path}/child"), b"", &persistent())
            .await
            .unwrap_err(),
        zk::Error::NoChildrenForEphemerals
    );

    let (_, watcher) = client.check_and_watch_stat(&path).await?;
    drop(owner); // the last handle: the client closes the session
    let event = bounded("NodeDeleted", watcher.changed()).await;
    assert_eq!(event.event_type, zk::EventType::NodeDeleted);
    assert_eq!(client.check_stat(&path).await?, None);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_shot_watches() -> Result<()> {
    let (server, client, root) = setup("watches").await?;
    let writer = zk::Client::connect(server.connect_string()).await?;
    let path = format!("{root}/w");

    let (stat, created) = client.check_and_watch_stat(&path).await?;
    assert!(stat.is_none());
    let (_, _, children_changed) = client.get_and_watch_children(&root).await?;
    writer.create(&path, b"0", &persistent()).await?;
    let event = bounded("NodeCreated", created.changed()).await;
    assert_eq!(
        (event.event_type, event.path.as_str()),
        (zk::EventType::NodeCreated, path.as_str())
    );
    let event = bounded("NodeChildrenChanged", children_changed.changed()).await;
    assert_eq!(
        (event.event_type, event.path.as_str()),
        (zk::EventType::NodeChildrenChanged, root.as_str())
    );

    let (_, _, data_changed) = client.get_and_watch_data(&path).await?;
    writer.set_data(&path, b"1", None).await?;
    let event = bounded("NodeDataChanged", data_changed.changed()).await;
    assert_eq!(event.event_type, zk::EventType::NodeDataChanged);

    let (_, _, deleted) = client.get_and_watch_data(&path).await?;
    writer.delete(&path, None).await?;
    assert_eq!(
        bounded("NodeDeleted", deleted.changed()).await.event_type,
        zk::EventType::NodeDeleted
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_and_recursive_watches() -> Result<()> {
    let (server, client, root) = setup("persistent").await?;
    let writer = zk::Client::connect(server.connect_string()).await?;
    let path = format!("{root}/p");
    writer.create(&path, b"", &persistent()).await?;

    let mut node = client.watch(&path, zk::AddWatchMode::Persistent).await?;
    let mut tree = client
        .watch(&root, zk::AddWatchMode::PersistentRecursive)
        .await?;
    writer.set_data(&path, b"1", None).await?;
    writer.set_data(&path, b"2", None).await?;
    writer
        .create(&format!("{path}/kid"), b"", &persistent())
        .await?;

    let mut seen = Vec::new();
    for _ in 0..3 {
        let e = bounded("persistent event", node.changed()).await;
        seen.push((e.event_type, e.path));
    }
    assert_eq!(
        seen,
        [
            (zk::EventType::NodeDataChanged, path.clone()),
            (zk::EventType::NodeDataChanged, path.clone()),
            (zk::EventType::NodeChildrenChanged, path.clone()),
        ]
    );
    let mut seen = Vec::new();
    for _ in 0..3 {
        let e = bounded("recursive event", tree.changed()).await;
        seen.push((e.event_type, e.path));
    }
    assert_eq!(
        seen,
        [
            (zk::EventType::NodeDataChanged, path.clone()),
            (zk::EventType::NodeDataChanged, path.clone()),
            (zk::EventType::NodeCreated, format!("{path}/kid")),
        ]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_is_all_or_nothing() -> Result<()> {
    let (_server, client, root) = setup("multi").await?;
    let a = format!("{root}/a");
    let b = format!("{root}/b");

    let mut writer = client.new_multi_writer();
    writer.add_create(&a, b"1", &persistent())?;
    writer.add_create(&b, b"2", &persistent())?;
    writer.add_set_data(&a, b"11", Some(0))?;
    writer.add_check_version(&b, 0)?;
    let results = writer.commit().await?;
    assert_eq!(results.len(), 4);
    assert!(matches!(&results[0], zk::MultiWriteResult::Create { path, .. } if *path == a));
    assert!(matches!(&results[2], zk::MultiWriteResult::SetData { stat } if stat.version == 1));
    assert!(matches!(&results[3], zk::MultiWriteResult::Check));

    let c = format!("{root}/c");
    let mut writer = client.new_multi_writer();
    writer.add_create(&c, b"", &persistent())?;
    writer.add_set_data(&a, b"x", Some(0))?; // stale version
    writer.add_delete(&b, None)?;
    let err = writer.commit().await.unwrap_err();
    assert_eq!(
        err,
        zk::MultiWriteError::OperationFailed {
            index: 1,
            source: zk::Error::BadVersion
        }
    );
    assert_eq!(client.check_stat(&c).await?, None);
    assert!(client.check_stat(&b).await?.is_some());
    assert_eq!(client.get_data(&a).await?.0, b"11");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_read_reports_each_result() -> Result<()> {
    let (_server, client, root) = setup("multiread").await?;
    client
        .create(&format!("{root}/a"), b"data", &persistent())
        .await?;
    let mut reader = client.new_multi_reader();
    reader.add_get_data(&format!("{root}/a"))?;
    reader.add_get_children(&root)?;
    reader.add_get_data(&format!("{root}/missing"))?;
    let results = reader.commit().await?;
    assert!(matches!(&results[0], zk::MultiReadResult::Data { data, .. } if data == b"data"));
    assert!(
        matches!(&results[1], zk::MultiReadResult::Children { children } if children == &["a".to_string()])
    );
    assert!(matches!(
        &results[2],
        zk::MultiReadResult::Error {
            err: zk::Error::NoNode
        }
    ));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_reattach_keeps_ephemerals() -> Result<()> {
    let (server, client, root) = setup("reattach").await?;
    let first = zk::Client::connector()
        .with_detached()
        .connect(server.connect_string())
        .await?;
    let path = format!("{root}/mine");
    first
        .create(&path, b"", &mode(zk::CreateMode::Ephemeral))
        .await?;
    let session = first.session().clone();
    let id = first.session_id();
    drop(first); // detached: the session stays open

    let second = zk::Client::connector()
        .with_session(session)
        .connect(server.connect_string())
        .await?;
    assert_eq!(second.session_id(), id);
    let stat = second
        .check_stat(&path)
        .await?
        .expect("ephemeral survives a reattach");
    assert_eq!(stat.ephemeral_owner, id.0);
    drop(second);
    let gone = async {
        while client.check_stat(&path).await.ok().flatten().is_some() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    bounded("ephemeral removal after close", gone).await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_acl_and_auth() -> Result<()> {
    let (server, client, root) = setup("acl").await?;
    let owner = zk::Client::connector()
        .with_auth("digest", b"bob:secret")
        .connect(server.connect_string())
        .await?;
    let path = format!("{root}/private");
    let acls = [zk::Acl::new(zk::Permission::ALL, zk::AuthId::authed())];
    owner
        .create(
            &path,
            b"s",
            &zk::CreateMode::Persistent.with_acls(zk::Acls::new(&acls)),
        )
        .await?;
    assert_eq!(owner.get_data(&path).await?.0, b"s");
    assert_eq!(client.get_data(&path).await.unwrap_err(), zk::Error::NoAuth);
    let (stored, _) = owner.get_acl(&path).await?;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].scheme(), "digest");
    assert!(stored[0].id().starts_with("bob:"));
    client.auth("digest", b"bob:secret").await?;
    assert_eq!(client.get_data(&path).await?.0, b"s");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_letter_words_answer() -> Result<()> {
    let server = TestServer::start()?;
    assert_eq!(server.four_letter("ruok")?, "imok");
    assert!(server.four_letter("srvr")?.contains("Mode: standalone"));
    assert_eq!(server.four_letter("isro")?, "rw");
    Ok(())
}
