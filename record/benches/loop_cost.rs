//! The recorder's cost on the event loop, without the network or the writer thread: a standalone node fed
//! batches of pipelined requests (as one socket read delivers them), stepped with and without the recorder
//! around each step, in alternation (which goes first alternates too); prints the median ns per request of
//! each and the median of the rounds' on/off ratios. The ratio is against `Node::step` alone, not a whole
//! event-loop turn (no syscalls), so it is an upper bound on the loop's share. Not part of it: the writer's
//! side (compression, files: its own thread), and checkpoints (one per segment, 64 MB by default; the sink
//! here never asks for a new segment).
//!
//! `cargo bench -p rzk-record --bench loop_cost [-- ROUNDS] [get|children|set ...]`

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use rzk_core::config::ServerConfig;
use rzk_core::node::{Input, NodeConfig, Output, Recovered};
use rzk_core::proto::client::{frame_connect, frame_request};
use rzk_core::proto::records::{
    ConnectRequest, CreateRequest, GetChildrenRequest, GetDataRequest, SetDataRequest,
};
use rzk_core::proto::request::{Request, RequestBody};
use rzk_core::proto::OpCode;
use rzk_core::Node;
use rzk_record::{Item, Recorder, Sink};

/// Takes every item and drops it, handing the last batch buffer back for reuse (as the writer does).
#[derive(Default)]
struct Discard {
    spare: Option<Vec<u8>>,
}

impl Sink for Discard {
    fn send(&mut self, item: Item) -> bool {
        if let Item::Steps { mut entries, .. } = item {
            entries.clear();
            self.spare = Some(entries);
        }
        true
    }
    fn want_segment(&mut self) -> bool {
        false
    }
    fn ready(&mut self) -> bool {
        true
    }
    fn spare(&mut self) -> Option<Vec<u8>> {
        self.spare.take()
    }
}

const PIPELINE: usize = 32;
const NODES: usize = 1_000;
/// Parents of 10 children each, for `children` (as `rzk bench children`).
const PARENTS: usize = 100;

struct Bench {
    node: Node,
    now: u64,
    xid: i32,
    out: Vec<Output>,
}

impl Bench {
    fn new() -> Bench {
        let config = NodeConfig {
            server: ServerConfig::default_standalone(),
            server_id: 0,
            environment: Vec::new(),
        };
        let mut b = Bench {
            node: Node::new(config, Recovered::default(), 1_000, 7),
            now: 1_000,
            xid: 0,
            out: Vec::new(),
        };
        b.step(Input::ClientOpened {
            conn: 1,
            addr: "127.0.0.1:5000".parse().expect("address"),
            secret: [3; 32],
        });
        let connect = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            time_out: 30_000,
            session_id: 0,
            passwd: Bytes::from_static(&[0; 16]),
            read_only: false,
        };
        b.step(Input::ClientBytes {
            conn: 1,
            bytes: frame_connect(&connect),
        });
        // "/b" holds the nodes `get` and `set` use; "/c" the parents `children` lists.
        let mut paths: Vec<String> = vec!["/b".into(), "/c".into()];
        for p in 0..PARENTS {
            paths.push(format!("/c/p{p:03}"));
            paths.extend((0..10).map(|c| format!("/c/p{p:03}/child-{c}")));
        }
        paths.extend((0..NODES).map(|i| format!("/b/n{i:06}")));
        for path in paths {
            let req = b.request(
                OpCode::Create,
                RequestBody::Create(CreateRequest {
                    path,
                    data: Bytes::from(vec![b'x'; 64]).into(),
                    acl: rzk_core::acl::open_acl_unsafe(),
                    flags: 0,
                }),
            );
            b.step(Input::ClientBytes {
                conn: 1,
                bytes: req,
            });
        }
        b
    }

    fn request(&mut self, op: OpCode, body: RequestBody) -> Bytes {
        self.xid += 1;
        frame_request(&Request {
            xid: self.xid,
            op,
            body,
        })
    }

    /// Steps the node, answering every durability request at once.
    fn step(&mut self, input: Input) {
        let mut queue = vec![input];
        while let Some(input) = queue.pop() {
            self.out.clear();
            self.node.step(self.now, input, &mut self.out);
            for o in self.out.drain(..) {
                if let Output::Persist { id, .. } = o {
                    queue.push(Input::Persisted { id });
                }
            }
        }
    }

    /// One read's worth of pipelined requests.
    fn batch(&mut self, workload: &str) -> Bytes {
        let mut buf = BytesMut::new();
        for _ in 0..PIPELINE {
            let n = (self.xid as usize * 7919) % NODES;
            let path = format!("/b/n{n:06}");
            let (op, body) = match workload {
                "get" => (
                    OpCode::GetData,
                    RequestBody::GetData(GetDataRequest { path, watch: false }),
                ),
                "children" => (
                    OpCode::GetChildren,
                    RequestBody::GetChildren(GetChildrenRequest {
                        path: format!("/c/p{:03}", n % PARENTS),
                        watch: false,
                    }),
                ),
                _ => (
                    OpCode::SetData,
                    RequestBody::SetData(SetDataRequest {
                        path,
                        data: Bytes::from(vec![b'y'; 64]).into(),
                        version: -1,
                    }),
                ),
            };
            let req = self.request(op, body);
            buf.extend_from_slice(&req);
        }
        buf.freeze()
    }
}

/// ns per request over `batches` reads, recorded or not.
fn run(b: &mut Bench, rec: Option<&mut Recorder<Discard>>, inputs: &[Bytes]) -> f64 {
    let start = Instant::now();
    match rec {
        None => {
            for bytes in inputs {
                b.step(Input::ClientBytes {
                    conn: 1,
                    bytes: bytes.clone(),
                });
            }
        }
        Some(r) => {
            for bytes in inputs {
                let mut queue = vec![Input::ClientBytes {
                    conn: 1,
                    bytes: bytes.clone(),
                }];
                while let Some(input) = queue.pop() {
                    b.out.clear();
                    let pending = r.before(&b.node, b.now, b.now * 1_000, &input);
                    b.node.step(b.now, input, &mut b.out);
                    r.after(pending, &b.out);
                    for o in b.out.drain(..) {
                        if let Output::Persist { id, .. } = o {
                            queue.push(Input::Persisted { id });
                        }
                    }
                }
                r.flush();
            }
        }
    }
    start.elapsed().as_nanos() as f64 / (inputs.len() * PIPELINE) as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // An even number: as many rounds with the recorder first as second.
    let rounds: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(16);
    let only: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| ["get", "children", "set"].contains(a))
        .collect();
    println!("| workload | off ns/request | on ns/request | median on/off |");
    println!("|---|---:|---:|---:|");
    for workload in ["get", "children", "set"] {
        if !only.is_empty() && !only.contains(&workload) {
            continue;
        }
        let mut b = Bench::new();
        let mut rec = Recorder::new(Discard::default(), 0, 1, 7);
        let batches = if workload == "set" { 300 } else { 3_000 };
        let (mut off, mut on, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds + 1 {
            let inputs: Vec<Bytes> = (0..batches).map(|_| b.batch(workload)).collect();
            let (a, c) = if round % 2 == 0 {
                let a = run(&mut b, None, &inputs);
                (a, run(&mut b, Some(&mut rec), &inputs))
            } else {
                let c = run(&mut b, Some(&mut rec), &inputs);
                (run(&mut b, None, &inputs), c)
            };
            if round > 0 {
                off.push(a);
                on.push(c);
                ratios.push(c / a);
            }
        }
        println!(
            "| {workload} | {:.0} | {:.0} | {:.3} |",
            median(off),
            median(on),
            median(ratios)
        );
    }
}
