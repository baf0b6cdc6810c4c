//! A real standalone node recorded while a client creates and changes znodes: into memory (with a stretch
//! the sink refuses, so a gap) and into files through the writer thread; every segment replays with no
//! divergence, the gap is marked, and a damaged segment is refused where the damage is.

use bytes::Bytes;
use rzk_core::config::ServerConfig;
use rzk_core::node::{Input, NodeConfig, Output, Recovered};
use rzk_core::proto::client::{frame_connect, frame_request};
use rzk_core::proto::records::{ConnectRequest, CreateRequest, SetDataRequest};
use rzk_core::proto::request::{Request, RequestBody};
use rzk_core::proto::OpCode;
use rzk_core::Node;
use rzk_record::verify::Walk;
use rzk_record::{
    FileSink, MemorySink, Recorder, Replay, Segment, SegmentError, Sink, WriterOptions,
};

fn node() -> Node {
    let config = NodeConfig {
        server: ServerConfig::default_standalone(),
        server_id: 0,
        environment: Vec::new(),
    };
    Node::new(config, Recovered::default(), 1_000, 7)
}

/// The inputs of a client session: connect, then creates and sets, with ticks and durability reports.
fn workload() -> Vec<(u64, Input)> {
    let mut inputs = vec![(
        1_000,
        Input::ClientOpened {
            conn: 1,
            addr: "127.0.0.1:5000".parse().unwrap(),
            secret: [3; 32],
        },
    )];
    let connect = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        time_out: 10_000,
        session_id: 0,
        passwd: Bytes::from_static(&[0; 16]),
        read_only: false,
    };
    inputs.push((
        1_001,
        Input::ClientBytes {
            conn: 1,
            bytes: frame_connect(&connect),
        },
    ));
    for i in 0..200i32 {
        let now = 1_010 + i as u64 * 10;
        let req = if i % 2 == 0 {
            Request {
                xid: i + 1,
                op: OpCode::Create,
                body: RequestBody::Create(CreateRequest {
                    path: format!("/n{i}"),
                    data: Bytes::from(format!("v{i}")).into(),
                    acl: rzk_core::acl::open_acl_unsafe(),
                    flags: 0,
                }),
            }
        } else {
            Request {
                xid: i + 1,
                op: OpCode::SetData,
                body: RequestBody::SetData(SetDataRequest {
                    path: format!("/n{}", i - 1),
                    data: Bytes::from(format!("w{i}")).into(),
                    version: -1,
                }),
            }
        };
        inputs.push((
            now,
            Input::ClientBytes {
                conn: 1,
                bytes: frame_request(&req),
            },
        ));
        inputs.push((now + 5, Input::Tick));
    }
    inputs
}

/// Drives the node through `inputs` with the recorder, answering every Persist with Persisted.
fn drive<S: Sink>(node: &mut Node, rec: &mut Recorder<S>, inputs: Vec<(u64, Input)>) -> usize {
    let mut replies = 0;
    let mut queue: std::collections::VecDeque<(u64, Input)> = inputs.into();
    while let Some((now, input)) = queue.pop_front() {
        let mut out = Vec::new();
        let pending = rec.before(node, now, now * 1000, &input);
        node.step(now, input, &mut out);
        rec.after(pending, &out);
        rec.flush();
        for o in out {
            match o {
                Output::Persist { id, .. } => queue.push_front((now, Input::Persisted { id })),
                Output::ToClient { .. } => replies += 1,
                _ => {}
            }
        }
    }
    replies
}

/// A writer into `dir` with a byte budget of `max_bytes`, small segments, and blocks every 10 ms.
fn file_sink(dir: &std::path::Path, max_bytes: u64) -> FileSink {
    FileSink::start(WriterOptions {
        dir: dir.to_path_buf(),
        max_bytes,
        max_age_secs: 0,
        segment_bytes: 2 << 10,
        segment_secs: 3600,
        queue_bytes: 64 << 20,
        flush_interval: std::time::Duration::from_millis(10),
    })
    .unwrap()
}

/// [`drive`] in slices with pauses, as a server's inputs come: the writer thread (which polls every few ms)
/// sees segments fill and asks for new ones, so a test's few hundred inputs span several segments.
fn drive_paced<S: Sink>(node: &mut Node, rec: &mut Recorder<S>, inputs: Vec<(u64, Input)>) {
    for slice in inputs.chunks(20) {
        drive(node, rec, slice.to_vec());
        std::thread::sleep(std::time::Duration::from_millis(12));
    }
}

#[test]
fn a_memory_recording_replays_exactly_and_marks_its_gap() {
    let mut n = node();
    let mut sink = MemorySink::new(50);
    let mut rec = Recorder::new(MemorySink::new(50), 0, 1, 7);
    // Refuse once, early, and stay unready for 20 inputs: a gap.
    std::mem::swap(rec.sink(), &mut sink);
    let replies = drive(&mut n, &mut rec, workload()[..30].to_vec());
    rec.sink().refuse = 20;
    let replies = replies + drive(&mut n, &mut rec, workload()[30..].to_vec());
    assert!(replies > 190, "{replies} replies");
    let segments = rec.into_sink().finish();
    assert!(segments.len() >= 8, "{} segments", segments.len());
    let (mut inputs, mut gaps) = (0, 0);
    for bytes in &segments {
        let seg = Segment::read(bytes).unwrap();
        let mut r = Replay::open(&seg, false).unwrap();
        if let Some(g) = &r.gap {
            gaps += 1;
            assert!(g.to >= g.from && g.to - g.from >= 19, "{g:?}");
            assert_eq!(seg.header.first_input, g.to + 1);
        }
        inputs += r.run_to_end().unwrap();
    }
    assert_eq!(gaps, 1);
    assert!(inputs > 300, "{inputs}");
    // Walked in order, every segment continues the one before (the gap names exactly the inputs between)...
    let walk_all = |segs: &[Vec<u8>]| {
        let mut walk = Walk::default();
        let mut failures = Vec::new();
        for (i, bytes) in segs.iter().enumerate() {
            if let Some(mut o) = walk.open(&format!("segment {i}"), bytes, false, &mut failures) {
                o.replay.run_to_end().unwrap();
                walk.finished(o);
            }
        }
        failures
    };
    assert_eq!(walk_all(&segments), Vec::<String>::new());
    // ...and a missing segment is found, not replayed over.
    let mut holed = segments.clone();
    holed.remove(holed.len() / 2 + 1);
    let failures = walk_all(&holed);
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].contains("no gap says why"), "{failures:?}");
}

#[test]
fn a_file_recording_replays_and_a_damaged_segment_is_refused_at_the_damage() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rec");
    let sink = file_sink(&dir, 1 << 30);
    let mut n = node();
    let mut rec = Recorder::new(sink, 0, 42, 7);
    drive_paced(&mut n, &mut rec, workload());
    let final_digest = n.tree().digest();
    drop(rec); // seals the last segment and stops the writer
    let files = rzk_record::dir::list(&dir).unwrap();
    assert!(files.len() >= 2, "{files:?}");
    assert!(
        files.iter().all(|f| !f.name.ends_with(".open")),
        "{files:?}"
    );
    let mut last = None;
    for f in &files {
        let bytes = std::fs::read(dir.join(&f.name)).unwrap();
        let seg = Segment::read(&bytes).unwrap();
        assert_eq!(seg.end, rzk_record::ReadEnd::Sealed);
        let mut r = Replay::open(&seg, false).unwrap();
        r.run_to_end().unwrap();
        last = Some(r.node.tree().digest());
    }
    assert_eq!(last, Some(final_digest));
    // Flip a byte inside the first segment's second block: refused, with where.
    let path = dir.join(&files[0].name);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() - 20;
    bytes[at] ^= 0x55;
    match Segment::read(&bytes) {
        Err(SegmentError::Corrupt { at, .. }) => assert!(at > 44),
        other => panic!("damaged segment read as {other:?}"),
    }
}

#[test]
fn the_byte_budget_drops_the_oldest_segments_and_what_is_left_still_replays() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rec");
    let sink = file_sink(&dir, 12 << 10);
    let mut n = node();
    let mut rec = Recorder::new(sink, 0, 9, 7);
    for round in 0..4 {
        let mut inputs = workload();
        // Later rounds: the same client on a new connection number.
        for (_, input) in inputs.iter_mut() {
            match input {
                Input::ClientOpened { conn, .. } | Input::ClientBytes { conn, .. } => {
                    *conn += round
                }
                _ => {}
            }
        }
        drive_paced(&mut n, &mut rec, inputs);
    }
    let final_digest = n.tree().digest();
    // Seals the last segment and joins the writer, whose retention runs after each seal.
    drop(rec);
    let files = rzk_record::dir::list(&dir).unwrap();
    let total: u64 = files.iter().map(|f| f.bytes).sum();
    // Within the budget, but for the newest segment, which always stays.
    let newest = files.last().map_or(0, |f| f.bytes);
    assert!(total - newest <= 12 << 10, "{total} bytes: {files:?}");
    // The oldest went: the first segment left is not the run's first.
    assert_ne!(
        rzk_record::dir::parse_name(&files[0].name).map(|p| p.1),
        Some(0)
    );
    let mut last = None;
    for f in &files {
        let seg = Segment::read(&std::fs::read(dir.join(&f.name)).unwrap()).unwrap();
        let mut r = Replay::open(&seg, false).unwrap();
        r.run_to_end().unwrap();
        last = Some(r.node.tree().digest());
    }
    assert_eq!(last, Some(final_digest));
}

/// A workload with secrets in it: every znode's data, and a digest `auth` packet with a password; requests
/// split across chunks at odd places (inside the data), and a quota under `/zookeeper/` (kept: the server
/// reads it).
fn secret_workload() -> Vec<(u64, Input)> {
    let mut inputs = workload()[..2].to_vec();
    let mut stream = Vec::new();
    let frame = |req: Request| frame_request(&req).to_vec();
    stream.push(frame(Request {
        xid: -4,
        op: OpCode::Auth,
        body: RequestBody::Auth(rzk_core::proto::records::AuthPacket {
            auth_type: 0,
            scheme: "digest".into(),
            auth: Bytes::from_static(b"alice:SECRETPW"),
        }),
    }));
    for (i, path) in [
        "/zookeeper/quota",
        "/zookeeper/quota/q",
        "/zookeeper/quota/q/zookeeper_limits",
    ]
    .into_iter()
    .enumerate()
    {
        stream.push(frame(Request {
            xid: 1000 + i as i32,
            op: OpCode::Create,
            body: RequestBody::Create(CreateRequest {
                path: path.into(),
                data: Bytes::from_static(b"count=5,bytes=-1").into(),
                acl: rzk_core::acl::open_acl_unsafe(),
                flags: 0,
            }),
        }));
    }
    for i in 0..120i32 {
        stream.push(frame(Request {
            xid: i + 1,
            op: OpCode::Create,
            body: RequestBody::Create(CreateRequest {
                path: format!("/s{i}"),
                data: Bytes::from(format!("SECRET-{i}-{}", "x".repeat(i as usize))).into(),
                acl: rzk_core::acl::open_acl_unsafe(),
                flags: 0,
            }),
        }));
    }
    // The frames, re-cut into chunks of sizes that do not line up with them.
    let bytes: Vec<u8> = stream.concat();
    let mut now = 1_010;
    for (k, chunk) in bytes.chunks(37).enumerate() {
        now += 3;
        inputs.push((
            now,
            Input::ClientBytes {
                conn: 1,
                bytes: Bytes::copy_from_slice(chunk),
            },
        ));
        if k % 5 == 0 {
            inputs.push((now + 1, Input::Tick));
        }
    }
    inputs
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_redacted_recording_holds_no_data_or_password_and_still_replays() {
    let mut plain = node();
    let mut rec = Recorder::new(MemorySink::new(40), 0, 1, 7);
    drive(&mut plain, &mut rec, secret_workload());
    let clear = rec.into_sink().finish();
    assert!(
        clear.iter().any(|s| contains(
            &Segment::read(s)
                .unwrap()
                .entries
                .iter()
                .flat_map(|e| e.body.clone())
                .collect::<Vec<u8>>(),
            b"SECRET"
        )),
        "the unredacted recording has the secrets (the test sees them)"
    );

    let mut n = node();
    let mut rec = Recorder::new(MemorySink::new(40), 0, 1, 7).redacting();
    drive(&mut n, &mut rec, secret_workload());
    let segments = rec.into_sink().finish();
    assert!(segments.len() >= 5, "{} segments", segments.len());
    for (i, bytes) in segments.iter().enumerate() {
        let seg = Segment::read(bytes).unwrap();
        assert_ne!(seg.header.flags & rzk_record::segment::FLAG_REDACTED, 0);
        for e in &seg.entries {
            assert!(
                !contains(&e.body, b"SECRET"),
                "segment {i}: {:?} entry",
                e.kind
            );
        }
    }
    // Every segment replays; the one with the auth packet is checked up to it.
    let mut walk = Walk::default();
    let mut failures = Vec::new();
    let (mut inputs, mut unchecked) = (0, Vec::new());
    let mut last = None;
    for (i, bytes) in segments.iter().enumerate() {
        let mut o = walk
            .open(&format!("segment {i}"), bytes, false, &mut failures)
            .expect("opens");
        inputs += o.replay.run_to_end().unwrap();
        unchecked.extend(o.replay.unchecked_from());
        last = Some(o.replay.node.tree().clone());
        walk.finished(o);
    }
    assert_eq!(failures, Vec::<String>::new());
    assert_eq!(unchecked.len(), 1, "{unchecked:?}");
    assert!(inputs > 100, "{inputs}");
    // The replayed tree has every node, data zeroed to its length, and the quota as written.
    let (live, replayed) = (n.tree(), last.expect("segments"));
    assert_eq!(replayed.node_count(), live.node_count());
    let s7 = replayed.get("/s7").expect("replayed");
    assert_eq!(s7.data().len(), live.get("/s7").unwrap().data().len());
    assert!(s7.data().iter().all(|b| *b == 0));
    let limits = replayed
        .get("/zookeeper/quota/q/zookeeper_limits")
        .expect("quota");
    assert_eq!(&limits.data()[..], b"count=5,bytes=-1");
}
