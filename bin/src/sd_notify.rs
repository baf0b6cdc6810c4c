//! systemd's readiness protocol (sd_notify): a datagram such as "READY=1" to the unix socket named by
//! $NOTIFY_SOCKET (a leading '@' names an abstract socket). Does nothing outside systemd.
//!
//! `rzk start` uses the same protocol to learn that the server it started is ready: it names its own socket
//! in $RZK_START_NOTIFY, which gets READY=1 only (no STOPPING=1: that `start` is long gone by then).

use std::os::unix::net::UnixDatagram;

/// The variable `rzk start` sets for the server it starts.
pub const START_NOTIFY_VAR: &str = "RZK_START_NOTIFY";

/// Tells systemd (and an `rzk start` waiting for it) that the server is ready.
pub fn notify_ready() {
    notify("READY=1");
    notify_via(START_NOTIFY_VAR, "READY=1");
}

pub fn notify(state: &str) {
    notify_via("NOTIFY_SOCKET", state);
}

fn notify_via(var: &str, state: &str) {
    let Some(path) = std::env::var_os(var) else {
        return;
    };
    let Ok(socket) = UnixDatagram::unbound() else {
        return;
    };
    let sent = match path.to_str().and_then(|p| p.strip_prefix('@')) {
        Some(name) => abstract_addr(name).and_then(|a| socket.send_to_addr(state.as_bytes(), &a)),
        None => socket.send_to(state.as_bytes(), &path),
    };
    if let Err(e) = sent {
        tracing::warn!(error = %e, "cannot notify {var} ({state})");
    }
}

fn abstract_addr(name: &str) -> std::io::Result<std::os::unix::net::SocketAddr> {
    use std::os::linux::net::SocketAddrExt;
    std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_the_state_to_the_notify_socket() {
        let dir = std::env::temp_dir().join(format!("rzk-notify-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        // Only this test sets the variable; no other test reads it.
        std::env::set_var("NOTIFY_SOCKET", &path);
        notify("READY=1");
        std::env::remove_var("NOTIFY_SOCKET");
        let mut buf = [0u8; 64];
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
