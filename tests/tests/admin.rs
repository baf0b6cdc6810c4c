//! The HTTP admin server of the real binary (ZooKeeper's AdminServer): `/commands/<name>` JSON,
//! `/metrics` in Prometheus text format, and the HTTP edge cases (unknown path, wrong method, oversized head).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rzk_tests::{four_letter, free_port, rzk_binary};

struct AdminServer {
    child: Child,
    dir: PathBuf,
    client: String,
    admin: String,
}

impl AdminServer {
    fn start() -> AdminServer {
        let dir = std::env::temp_dir().join(format!("rzk-admin-it-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // Two distinct free ports: hold the first while asking for the second.
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = held.local_addr().unwrap().port();
        let admin_port = free_port().unwrap();
        drop(held);
        let cfg = format!(
            "tickTime=2000\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
             4lw.commands.whitelist=*\nadmin.enableServer=true\nadmin.serverAddress=127.0.0.1\nadmin.serverPort={admin_port}\n",
            dir.join("data").display()
        );
        std::fs::write(dir.join("zoo.cfg"), cfg).unwrap();
        let log = std::fs::File::create(dir.join("server.log")).unwrap();
        let child = Command::new(rzk_binary().unwrap())
            .arg("server")
            .arg(dir.join("zoo.cfg"))
            .arg("--pid-file")
            .arg(dir.join("rzk.pid"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let server = AdminServer {
            child,
            dir,
            client: format!("127.0.0.1:{port}"),
            admin: format!("127.0.0.1:{admin_port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while four_letter(&server.client, "ruok").ok().as_deref() != Some("imok")
            || TcpStream::connect(&server.admin).is_err()
        {
            assert!(
                Instant::now() < deadline,
                "rzk did not start: see {:?}",
                server.dir
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// Sends `request` raw and returns (status code, headers, body).
    fn raw(&self, request: &[u8]) -> (u16, String, String) {
        let mut s = TcpStream::connect(&self.admin).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(request).unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        let (head, body) = reply.split_once("\r\n\r\n").unwrap_or((&reply, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, head.to_string(), body.to_string())
    }

    fn get(&self, path: &str) -> (u16, String, String) {
        self.raw(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
    }
}

impl Drop for AdminServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn admin_server_serves_commands_metrics_and_refuses_bad_requests() {
    let server = AdminServer::start();
    let pid = std::fs::read_to_string(server.dir.join("rzk.pid")).unwrap();
    assert_eq!(pid.trim(), server.child.id().to_string());

    let (status, head, body) = server.get("/commands");
    assert_eq!(status, 200);
    assert!(head.contains("Content-Type: text/html"));
    for name in [
        "ruok",
        "server_stats",
        "monitor",
        "connections",
        "watch_summary",
    ] {
        assert!(body.contains(&format!("/commands/{name}")), "{body}");
    }

    let (status, head, body) = server.get("/commands/ruok");
    assert_eq!(status, 200);
    assert!(head.contains("Content-Type: application/json"), "{head}");
    assert!(body.contains("\"command\": \"ruok\""), "{body}");
    assert!(body.contains("\"error\": null"), "{body}");

    // Aliases answer under the primary name, with figures from the running node.
    let (_, _, body) = server.get("/commands/srvr");
    assert!(body.contains("\"command\": \"server_stats\""), "{body}");
    assert!(body.contains("\"server_state\": \"standalone\""), "{body}");
    let (_, _, body) = server.get("/commands/mntr");
    assert!(body.contains("\"znode_count\": "), "{body}");
    let (_, _, body) = server.get("/commands/nope");
    assert!(
        body.contains("\"error\": \"Unknown command: nope\""),
        "{body}"
    );

    let (status, head, body) = server.get("/metrics");
    assert_eq!(status, 200);
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    assert!(
        body.contains("# TYPE zookeeper_znode_count gauge\n"),
        "{body}"
    );
    assert!(body.contains("zookeeper_request_latency_ms_bucket{le=\"+Inf\"} "));
    assert!(body.contains("zookeeper_request_latency_ms_count "));

    assert_eq!(server.get("/elsewhere").0, 404);
    assert_eq!(
        server
            .raw(b"POST /commands/ruok HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
            .0,
        405
    );
    assert_eq!(server.raw(b"NONSENSE\r\n\r\n").0, 400);
    let mut huge = b"GET /commands/ruok HTTP/1.1\r\nX: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 20_000));
    huge.extend_from_slice(b"\r\n\r\n");
    let mut s = TcpStream::connect(&server.admin).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(&huge);
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");

    // The server still serves clients and admin requests after all that.
    assert_eq!(four_letter(&server.client, "ruok").unwrap(), "imok");
    assert_eq!(server.get("/commands/ruok").0, 200);
}
