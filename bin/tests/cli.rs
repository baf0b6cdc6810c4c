//! The `rzk` binary's argument handling and error paths (those that do not need a working Node).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};

fn rzk(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rzk"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run rzk")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn help_lists_the_subcommands() {
    let output = rzk(&["--help"]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("server") && text.contains("4lw"), "{text}");
}

#[test]
fn server_with_an_unreadable_config_fails_naming_the_file() {
    let output = rzk(&["server", "/nonexistent/rzk/zoo.cfg"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("cannot read /nonexistent/rzk/zoo.cfg"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn four_letter_word_prints_the_reply() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut word = [0; 4];
        conn.read_exact(&mut word).unwrap();
        assert_eq!(&word, b"ruok");
        conn.write_all(b"imok").unwrap();
    });
    let output = rzk(&["4lw", "ruok", &addr]);
    server.join().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(output.stdout, b"imok");
}

#[test]
fn four_letter_word_to_a_closed_port_fails_clearly() {
    let addr = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().to_string()
    };
    let output = rzk(&["4lw", "stat", &addr]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(&format!("cannot connect to {addr}")),
        "{}",
        stderr(&output)
    );
}

#[test]
fn four_letter_word_must_have_four_letters() {
    let output = rzk(&["4lw", "stats"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("four letters"),
        "{}",
        stderr(&output)
    );
}

/// `rzk sim --seed S --history FILE` writes what the checkers read; `rzk check FILE` passes it, and finds a
/// violation once an acknowledged write's commit is taken out of the file (a lost write).
#[test]
fn check_holds_a_history_file_to_the_simulators_checkers() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("history.jsonl");
    let file_arg = file.to_str().unwrap();
    let sim = rzk(&[
        "sim",
        "--seed",
        "5",
        "--fault-ms",
        "5000",
        "--history",
        file_arg,
    ]);
    assert!(sim.status.success(), "{}", stderr(&sim));
    let check = rzk(&["check", file_arg]);
    assert!(check.status.success(), "{}", stderr(&check));
    assert!(String::from_utf8_lossy(&check.stdout).contains("no violation"));

    // Drop the commit of the first acknowledged create: the client was told it is durable.
    let text = std::fs::read_to_string(&file).unwrap();
    let mut dropped = false;
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            let drop = !dropped && l.starts_with("{\"t\":\"commit\"") && l.contains("\"Create\"");
            dropped |= drop;
            !drop
        })
        .collect();
    assert!(dropped);
    std::fs::write(&file, kept.join("\n")).unwrap();
    let check = rzk(&["check", file_arg]);
    assert_eq!(check.status.code(), Some(1));
    assert!(stderr(&check).contains("violation"), "{}", stderr(&check));

    std::fs::write(&file, "not a history\n").unwrap();
    let check = rzk(&["check", file_arg]);
    assert_eq!(check.status.code(), Some(1));
    assert!(stderr(&check).contains("line 1"), "{}", stderr(&check));
}

/// `rzk chaos`, briefly: a standalone server on loopback under the recording clients and the process
/// faults, every checker passed; the history file it writes passes `rzk check` too.
#[test]
fn chaos_runs_a_standalone_server_and_checks_it_like_the_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("chaos-1.jsonl");
    let file_arg = file.to_str().unwrap();
    let run = rzk(&[
        "chaos",
        "--servers",
        "1",
        "--net",
        "loopback",
        "--duration",
        "4",
        "--clients",
        "3",
        "--history",
        file_arg,
    ]);
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{out}\n{}", stderr(&run));
    assert!(out.contains("0 violation(s)"), "{out}");
    assert!(replayed_inputs(&out) > 100, "{out}");
    let check = rzk(&["check", file_arg]);
    assert!(check.status.success(), "{}", stderr(&check));
}

/// The inputs `rzk chaos` says it replayed from the servers' recordings.
fn replayed_inputs(out: &str) -> u64 {
    out.lines()
        .find_map(|l| l.trim().strip_prefix("recordings replayed: "))
        .and_then(|l| l.split(", ").nth(1))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The CI chaos run (issue 16): three `rzk server` processes, each in its own network namespace when this
/// runs as root (CI does), for 90 s of every fault family the seed draws (partitions, isolation, delays and
/// one-way loss through the peer proxy, kill -9, SIGSTOP, clock jumps and skew, a full disk, slow fsync),
/// then 25 s healed (long enough for the liveness check); every checker must pass, `rzk check` must agree
/// on the history file, and no namespace or mount of the run may be left behind.
#[test]
fn chaos_runs_three_servers_under_every_fault_family_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("chaos-3.jsonl");
    let file_arg = file.to_str().unwrap();
    // SAFETY: geteuid(2) has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let seed = std::env::var("RZK_CHAOS_SEED").unwrap_or_else(|_| "1".into());
    let child = Command::new(env!("CARGO_BIN_EXE_rzk"))
        .args([
            "chaos",
            "--servers",
            "3",
            "--net",
            if root { "netns" } else { "auto" },
            "--duration",
            "90",
            "--heal",
            "25",
            "--clients",
            "4",
            "--seed",
            &seed,
            "--history",
            file_arg,
        ])
        .env("RUST_LOG", "warn")
        // The run's directory (and its tmpfs mounts) under this test's own.
        .env("TMPDIR", dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run rzk chaos");
    let pid = child.id();
    let run = child.wait_with_output().expect("wait for rzk chaos");
    let out = String::from_utf8_lossy(&run.stdout);
    eprintln!("{out}");
    assert!(run.status.success(), "{out}\n{}", stderr(&run));
    assert!(out.contains("0 violation(s)"), "{out}");
    // Every server recorded its run (issue 18), and the recordings replayed exactly under the server-side
    // checkers (a divergence would be a violation above).
    assert!(replayed_inputs(&out) > 10_000, "{out}");
    let check = rzk(&["check", file_arg]);
    assert!(check.status.success(), "{}", stderr(&check));
    if root {
        assert!(out.contains("(netns)"), "{out}");
        let namespaces = Command::new("ip").args(["netns", "list"]).output().unwrap();
        let left = String::from_utf8_lossy(&namespaces.stdout);
        assert!(
            !left.contains(&format!("rzc-{pid}-")),
            "namespaces left behind: {left}"
        );
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
        let dir_name = dir.path().to_str().unwrap();
        assert!(!mounts.contains(dir_name), "tmpfs left mounted: {mounts}");
    }
}
