//! Creating the nodes a workload reads and writes, and deleting them (and what the run created) afterwards,
//! with a plain blocking connection (pipelined in chunks).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use bytes::{Bytes, BytesMut};
use rzk_core::proto::client::{decode_connect_response, frame_connect, frame_request};
use rzk_core::proto::records::{ConnectRequest, DeleteRequest};
use rzk_core::proto::request::{Request, RequestBody};
use rzk_core::proto::{ErrorCode, OpCode};

use super::conn::SESSION_TIMEOUT_MS;
use super::workload::{create, Layout, Workload, CHILDREN_PER_PARENT};

const CHUNK: usize = 256;

/// What `prepare` creates under the run's directory for `workload`, in creation order: each layer's paths
/// and their value. Parents come in earlier layers, so deleting the layers in reverse order works.
fn prepared_layers(
    workload: Workload,
    layout: &Layout,
    sessions: usize,
) -> Vec<(Vec<String>, Bytes)> {
    let keys = || (0..layout.keys).map(|i| layout.key(i)).collect::<Vec<_>>();
    match workload {
        Workload::Create => vec![(
            (0..sessions).map(|s| layout.session_dir(s)).collect(),
            Bytes::new(),
        )],
        Workload::Set | Workload::Get | Workload::Mixed => vec![(keys(), layout.value.clone())],
        Workload::Children => {
            let parents = keys();
            let children = parents
                .iter()
                .flat_map(|k| (0..CHILDREN_PER_PARENT).map(move |c| format!("{k}/c{c}")))
                .collect();
            vec![(parents, Bytes::new()), (children, layout.value.clone())]
        }
        Workload::Watch => vec![(vec![layout.watched()], layout.value.clone())],
        Workload::Churn | Workload::Ready => Vec::new(),
    }
}

/// Creates `/rzkbench`, the run's directory, and what `workload` needs under it.
pub fn prepare(
    addr: SocketAddr,
    workload: Workload,
    layout: &Layout,
    sessions: usize,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Result<()> {
    let mut client = BlockingClient::connect(addr, tls)?;
    let empty = Bytes::new();
    client.create_all(vec!["/rzkbench".to_string()], &empty, true)?;
    client.create_all(vec![layout.dir.clone()], &empty, false)?;
    for (paths, value) in prepared_layers(workload, layout, sessions) {
        client.create_all(paths, &value, false)?;
    }
    client.close()
}

/// Deletes everything `prepare` and the run created under the run's directory, and the directory: the
/// server is left with the tree it had before (apart from `/rzkbench`). Returns how many nodes went.
pub fn teardown(
    addr: SocketAddr,
    workload: Workload,
    layout: &Layout,
    sessions: usize,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Result<u64> {
    let mut client = BlockingClient::connect(addr, tls)?;
    let mut deleted = 0;
    if workload == Workload::Create {
        // Each session created `n1`, `n2`, ... in order, and every create was answered before the run
        // ended: delete upwards until a chunk reaches the first name that was never created.
        for s in 0..sessions {
            let dir = layout.session_dir(s);
            let mut next = 1u64;
            loop {
                let chunk = (next..next + CHUNK as u64)
                    .map(|i| format!("{dir}/n{i}"))
                    .collect();
                let (gone, missing) = client.delete_all(chunk)?;
                deleted += gone;
                if missing > 0 {
                    break;
                }
                next += CHUNK as u64;
            }
        }
    }
    for (paths, _) in prepared_layers(workload, layout, sessions)
        .into_iter()
        .rev()
    {
        deleted += client.delete_all(paths)?.0;
    }
    deleted += client.delete_all(vec![layout.dir.clone()])?.0;
    client.close()?;
    Ok(deleted)
}

/// A plain or TLS stream.
trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

struct BlockingClient {
    stream: Box<dyn Stream>,
    xid: i32,
    buf: BytesMut,
}

impl BlockingClient {
    fn connect(
        addr: SocketAddr,
        tls: Option<&Arc<rustls::ClientConfig>>,
    ) -> Result<BlockingClient> {
        let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .with_context(|| format!("connecting to {addr}"))?;
        tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
        tcp.set_nodelay(true)?;
        let stream: Box<dyn Stream> = match tls {
            Some(config) => {
                let session = rustls::ClientConnection::new(
                    Arc::clone(config),
                    super::tls::server_name(addr),
                )?;
                Box::new(rustls::StreamOwned::new(session, tcp))
            }
            None => Box::new(tcp),
        };
        let mut client = BlockingClient {
            stream,
            xid: 0,
            buf: BytesMut::new(),
        };
        client.stream.write_all(&frame_connect(&ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            time_out: SESSION_TIMEOUT_MS,
            session_id: 0,
            passwd: Bytes::from_static(&[0; 16]),
            read_only: false,
        }))?;
        let reply = decode_connect_response(client.read_frame()?)?;
        if reply.session_id == 0 {
            bail!("{addr} refused the session");
        }
        Ok(client)
    }

    fn read_frame(&mut self) -> Result<Bytes> {
        loop {
            if self.buf.len() >= 4 {
                let n = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]])
                    as usize;
                if self.buf.len() >= 4 + n {
                    let mut frame = self.buf.split_to(4 + n);
                    return Ok(frame.split_off(4).freeze());
                }
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                bail!("server closed the connection during setup");
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn request(&mut self, op: OpCode, body: RequestBody) -> Result<()> {
        self.xid += 1;
        let frame = frame_request(&Request {
            xid: self.xid,
            op,
            body,
        });
        self.stream.write_all(&frame)?;
        Ok(())
    }

    /// Creates `paths` in order, `CHUNK` in flight at a time; NodeExists is an error unless `may_exist`.
    fn create_all(&mut self, paths: Vec<String>, data: &Bytes, may_exist: bool) -> Result<()> {
        for chunk in paths.chunks(CHUNK) {
            for path in chunk {
                let (op, body) = create(path.clone(), data.clone(), false);
                self.request(op, body)?;
            }
            for path in chunk {
                let frame = self.read_frame()?;
                let Some(&[a, b, c, d]) = frame.get(12..16) else {
                    bail!("setup: short reply to create {path}");
                };
                let err = i32::from_be_bytes([a, b, c, d]);
                let exists = err == ErrorCode::NodeExists.code();
                if err != 0 && !(exists && may_exist) {
                    bail!("setup: create {path} failed with error {err}");
                }
            }
        }
        Ok(())
    }

    /// Deletes `paths` (any version), `CHUNK` in flight at a time. Returns how many were deleted and how
    /// many did not exist; any other error fails.
    fn delete_all(&mut self, paths: Vec<String>) -> Result<(u64, u64)> {
        let (mut deleted, mut missing) = (0, 0);
        for chunk in paths.chunks(CHUNK) {
            for path in chunk {
                let body = RequestBody::Delete(DeleteRequest {
                    path: path.clone(),
                    version: -1,
                });
                self.request(OpCode::Delete, body)?;
            }
            for path in chunk {
                let frame = self.read_frame()?;
                let Some(&[a, b, c, d]) = frame.get(12..16) else {
                    bail!("cleanup: short reply to delete {path}");
                };
                match i32::from_be_bytes([a, b, c, d]) {
                    0 => deleted += 1,
                    e if e == ErrorCode::NoNode.code() => missing += 1,
                    e => bail!("cleanup: delete {path} failed with error {e}"),
                }
            }
        }
        Ok((deleted, missing))
    }

    fn close(mut self) -> Result<()> {
        self.request(OpCode::CloseSession, RequestBody::CloseSession)?;
        let _ = self.read_frame();
        Ok(())
    }
}
