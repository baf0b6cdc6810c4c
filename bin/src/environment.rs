//! The `envi` lines the driver knows about the host. ZooKeeper prints JVM properties (java.version,
//! java.home, ...); rzk prints what is true of a native process instead (rzk.version, rzk.binary,
//! process.id) and keeps ZooKeeper's names where the meaning is the same (host.name, os.*, user.*).

use std::ffi::CStr;

/// (key, value) lines in ZooKeeper's order, with rzk's equivalents where the JVM's lines were.
pub fn gather() -> Vec<(String, String)> {
    let unknown = || "<NA>".to_string();
    let lines = [
        ("host.name", host_name().unwrap_or_else(unknown)),
        ("rzk.version", env!("CARGO_PKG_VERSION").to_string()),
        (
            "rzk.binary",
            std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| unknown()),
        ),
        ("process.id", std::process::id().to_string()),
        ("tmp.dir", std::env::temp_dir().display().to_string()),
        (
            "os.name",
            proc_sys("kernel/ostype").unwrap_or_else(|| std::env::consts::OS.to_string()),
        ),
        ("os.arch", std::env::consts::ARCH.to_string()),
        (
            "os.version",
            proc_sys("kernel/osrelease").unwrap_or_else(unknown),
        ),
        ("user.name", user_name().unwrap_or_else(unknown)),
        (
            "user.home",
            std::env::var("HOME").unwrap_or_else(|_| unknown()),
        ),
        (
            "user.dir",
            std::env::current_dir()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| unknown()),
        ),
    ];
    lines.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn proc_sys(name: &str) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/sys/{name}")).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

fn host_name() -> Option<String> {
    proc_sys("kernel/hostname").or_else(|| {
        let mut buf = [0u8; 256];
        // SAFETY: gethostname writes at most buf.len() bytes into the buffer we own.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc != 0 {
            return None;
        }
        let name = CStr::from_bytes_until_nul(&buf).ok()?;
        Some(name.to_string_lossy().into_owned())
    })
}

fn user_name() -> Option<String> {
    if let Ok(name) = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")) {
        return Some(name);
    }
    // SAFETY: getpwuid returns a pointer into static storage (or null); it is read at once, at startup,
    // before other threads that could call getpw* exist.
    unsafe {
        let entry = libc::getpwuid(libc::geteuid());
        if entry.is_null() || (*entry).pw_name.is_null() {
            return None;
        }
        Some(
            CStr::from_ptr((*entry).pw_name)
                .to_string_lossy()
                .into_owned(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_the_host_and_process_in_a_stable_order() {
        let lines = gather();
        let keys: Vec<&str> = lines.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "host.name",
                "rzk.version",
                "rzk.binary",
                "process.id",
                "tmp.dir",
                "os.name",
                "os.arch",
                "os.version",
                "user.name",
                "user.home",
                "user.dir"
            ]
        );
        let value = |key: &str| &lines.iter().find(|(k, _)| k == key).unwrap().1;
        assert_eq!(value("process.id"), &std::process::id().to_string());
        assert_eq!(value("os.name"), "Linux");
        assert!(!value("host.name").is_empty());
    }
}
