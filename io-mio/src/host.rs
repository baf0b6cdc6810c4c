//! Host figures the node cannot know by itself (open and maximum file descriptors, for `mntr`), and the
//! file-descriptor limit raise done at startup so that thousands of clients fit.

use std::io;

/// Open file descriptors of this process (entries of /proc/self/fd, less the one used to list them, as
/// the JVM counts). `None` where /proc is not available.
pub fn open_fds() -> Option<u64> {
    let entries = std::fs::read_dir("/proc/self/fd").ok()?;
    let count = entries.filter(|e| e.is_ok()).count() as u64;
    Some(count.saturating_sub(1))
}

/// The soft RLIMIT_NOFILE: how many descriptors this process may open.
pub fn max_fds() -> Option<u64> {
    let (soft, _) = nofile_limit().ok()?;
    Some(soft)
}

/// Raises the soft RLIMIT_NOFILE to the hard limit (capped by /proc/sys/fs/nr_open when the hard limit is
/// unlimited). Returns the soft limit in force afterwards.
// rlim_t is u64 on 64-bit Linux but not on every target, hence the casts.
#[allow(clippy::unnecessary_cast)]
pub fn raise_fd_limit() -> io::Result<u64> {
    let (soft, hard) = nofile_limit()?;
    let mut target = hard;
    if hard == libc::RLIM_INFINITY as u64 {
        // Linux refuses an unlimited NOFILE; nr_open is the real ceiling.
        target = std::fs::read_to_string("/proc/sys/fs/nr_open")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(soft.max(65_536));
    }
    if target <= soft {
        return Ok(soft);
    }
    let limit = libc::rlimit {
        rlim_cur: target as libc::rlim_t,
        rlim_max: hard as libc::rlim_t,
    };
    // SAFETY: setrlimit reads a fully initialised rlimit struct that outlives the call.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(target)
}

#[allow(clippy::unnecessary_cast)]
fn nofile_limit() -> io::Result<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the rlimit struct we own for the duration of the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((limit.rlim_cur as u64, limit.rlim_max as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_descriptors_within_the_limit() {
        let max = max_fds().expect("getrlimit works on Linux");
        let open = open_fds().expect("/proc is mounted");
        // stdin/stdout/stderr at least.
        assert!(open >= 3);
        assert!(open <= max);
    }

    #[test]
    fn raising_the_limit_never_lowers_it() {
        let before = max_fds().expect("getrlimit");
        let after = raise_fd_limit().expect("setrlimit to the hard limit is allowed");
        assert!(after >= before);
        assert_eq!(max_fds(), Some(after));
    }
}
