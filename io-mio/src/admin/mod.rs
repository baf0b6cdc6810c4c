//! The HTTP admin server (ZooKeeper's AdminServer): a small thread that accepts HTTP requests, hands each
//! GET to the event loop (which owns the node) through a channel and the loop's waker, waits for the node's
//! answer and writes it back. Connections are served one at a time with short timeouts: admin traffic is
//! a few monitoring polls, and one thread keeps the server's footprint flat.

pub mod http;

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::time::Duration;

use mio::Waker;
use rzk_core::admin::AdminResponse;
use tracing::{debug, info, warn};

/// How long a client may take to send its request, and the node to answer.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// One admin GET waiting for the node.
pub struct AdminRequest {
    pub target: String,
    pub reply: Sender<AdminResponse>,
}

/// A bound admin listener, not yet serving.
pub struct AdminServer {
    listener: TcpListener,
}

impl AdminServer {
    pub fn bind(addr: SocketAddr) -> io::Result<AdminServer> {
        Ok(AdminServer {
            listener: TcpListener::bind(addr)?,
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Starts the thread. Requests arrive on the returned receiver; `waker` wakes the loop for each.
    /// The thread ends once the receiver is dropped and the next request finds nobody to answer it.
    pub fn start(self, waker: Arc<Waker>) -> io::Result<Receiver<AdminRequest>> {
        let (tx, rx) = mpsc::channel();
        if let Ok(addr) = self.listener.local_addr() {
            info!(%addr, "admin server listening (GET /commands, /commands/<name>, /metrics)");
        }
        std::thread::Builder::new()
            .name("admin-http".into())
            .spawn(move || {
                for stream in self.listener.incoming() {
                    let Ok(stream) = stream else { continue };
                    if serve(stream, &tx, &waker).is_err() {
                        break;
                    }
                }
            })?;
        Ok(rx)
    }
}

/// Serves one connection. Err only when the event loop is gone.
fn serve(mut stream: TcpStream, tx: &Sender<AdminRequest>, waker: &Waker) -> Result<(), ()> {
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let head = match http::read_head(&mut stream) {
        Ok(Ok(head)) => head,
        Ok(Err(http::HeadError::TooLarge)) => {
            let _ =
                http::write_response(&mut stream, 413, "text/plain", "request too large\n", false);
            return Ok(());
        }
        Ok(Err(http::HeadError::Malformed)) | Err(_) => return Ok(()),
    };
    let line = match http::parse_request_line(&head) {
        Ok(line) => line,
        Err(_) => {
            let _ = http::write_response(&mut stream, 400, "text/plain", "bad request\n", false);
            return Ok(());
        }
    };
    let head_only = line.method == "HEAD";
    if line.method != "GET" && !head_only {
        let _ = http::write_response(
            &mut stream,
            405,
            "text/plain",
            "only GET is served\n",
            false,
        );
        return Ok(());
    }
    debug!(target = %line.target, "admin request");
    let (reply_tx, reply_rx) = mpsc::channel();
    let request = AdminRequest {
        target: line.target,
        reply: reply_tx,
    };
    if tx.send(request).is_err() {
        let _ = http::write_response(&mut stream, 503, "text/plain", "server stopping\n", false);
        return Err(());
    }
    if let Err(e) = waker.wake() {
        warn!(error = %e, "cannot wake the event loop for an admin request");
    }
    match reply_rx.recv_timeout(IO_TIMEOUT) {
        Ok(r) => {
            let _ = http::write_response(&mut stream, r.status, r.content_type, &r.body, head_only);
        }
        Err(_) => {
            let _ = http::write_response(
                &mut stream,
                503,
                "text/plain",
                "no answer from the server\n",
                false,
            );
        }
    }
    Ok(())
}
