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

/// `rzk chaos`: real `rzk server` processes (three, and a standalone one) under the simulator's recording
/// clients and the kill/pause nemesis, their journals and recovered trees gathered, every checker passed; the
/// history file it writes passes `rzk check` too.
#[test]
fn chaos_runs_real_servers_and_checks_them_like_the_simulator() {
    let dir = tempfile::tempdir().unwrap();
    for servers in ["3", "1"] {
        let file = dir.path().join(format!("chaos-{servers}.jsonl"));
        let file_arg = file.to_str().unwrap();
        let run = rzk(&[
            "chaos",
            "--servers",
            servers,
            "--duration",
            "3",
            "--clients",
            "3",
            "--history",
            file_arg,
        ]);
        let out = String::from_utf8_lossy(&run.stdout);
        assert!(run.status.success(), "{out}\n{}", stderr(&run));
        assert!(out.contains("0 violation(s)"), "{out}");
        let check = rzk(&["check", file_arg]);
        assert!(check.status.success(), "{}", stderr(&check));
    }
}
