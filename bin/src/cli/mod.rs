//! `rzk cli -server host:port[,host:port...] [cmd args]`: zkCli.sh for rzk (and any ZooKeeper server).
//!
//! Three ways to run, as zkCli: a command after the options runs alone; commands on a non-terminal stdin run
//! one per line; otherwise an interactive shell with line editing, history and tab completion of paths.
//! The exit code is 0 when every command succeeded, 1 otherwise (zkCli's is that of the last command; "any
//! failure" is safer for scripts).

mod args;
mod client;
mod commands;
mod ensemble_config;
mod format;
mod quota;

use std::borrow::Cow;
use std::io::{BufRead, IsTerminal};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use clap::Args;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};
use rzk_core::proto::records::GetChildrenRequest;
use rzk_core::proto::request::RequestBody;
use rzk_core::proto::response::ResponseBody;
use rzk_core::proto::OpCode;

use client::{Client, EventSink};
use commands::{Outcome, Shell, COMMANDS};

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct CliArgs {
    /// zkCli-style options (`-server host:port[,...]`, `-timeout ms`) then an optional command and its
    /// arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// Options and the one-shot command, parsed zkCli's way.
#[derive(Debug, PartialEq, Eq)]
struct Options {
    server: String,
    timeout_ms: i32,
    command: Vec<String>,
}

fn parse_options(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options {
        server: "localhost:2181".into(),
        timeout_ms: 30000,
        command: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-server" | "--server" => {
                options.server = it
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("-server needs host:port"))?
                    .clone()
            }
            "-timeout" | "--timeout" => {
                options.timeout_ms = it
                    .next()
                    .and_then(|t| t.parse().ok())
                    .ok_or_else(|| anyhow::anyhow!("-timeout needs milliseconds"))?
            }
            // Accepted for zkCli compatibility; rzk's shell always waits for the connection.
            "-waitforconnection" | "-r" => {}
            "-client-configuration" => {
                it.next();
            }
            _ => {
                options.command.push(a.clone());
                options.command.extend(it.by_ref().cloned());
            }
        }
    }
    Ok(options)
}

pub fn run(args: CliArgs) -> anyhow::Result<std::process::ExitCode> {
    let options = parse_options(&args.args)?;
    let interactive = options.command.is_empty() && std::io::stdin().is_terminal();
    // A one-shot command prints only its result: scripts parse it.
    let print_watches = Arc::new(AtomicBool::new(options.command.is_empty()));
    // Events are printed as they arrive, as zkCli does (over the prompt, which is redrawn on the next key).
    // Keys typed ahead (a paste, or Enter right after Tab) survive from one prompt to the next only because
    // rustyline is built with its `buffer-redux` feature: without it each readline dropped the bytes its
    // reader had buffered past the line's end, and the shell looked as if it had stopped reading input.
    let events: EventSink = {
        let on = Arc::clone(&print_watches);
        Arc::new(move |text: String| {
            if on.load(Ordering::SeqCst) {
                println!("{text}");
            }
        })
    };
    let mut shell = Shell {
        client: Arc::new(Mutex::new(None)),
        server_list: options.server.clone(),
        timeout_ms: options.timeout_ms,
        history: Vec::new(),
        print_watches,
        events,
    };
    if !options.command.is_empty() {
        if !shell.connect() {
            return Ok(std::process::ExitCode::FAILURE);
        }
        let line = options
            .command
            .iter()
            .map(|w| {
                if w.contains(char::is_whitespace) {
                    format!("\"{w}\"")
                } else {
                    w.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
        let outcome = shell.run_line(&line);
        close(&shell);
        return Ok(exit_code(outcome != Outcome::Failed));
    }
    println!("Connecting to {}", options.server);
    println!("Welcome to ZooKeeper!");
    if !shell.connect() {
        return Ok(std::process::ExitCode::FAILURE);
    }
    let ok = if interactive {
        interactive_loop(&mut shell)?
    } else {
        let mut ok = true;
        for line in std::io::stdin().lock().lines() {
            match shell.run_line(&line?) {
                Outcome::Quit => {
                    shell.close();
                    break;
                }
                Outcome::Failed => ok = false,
                Outcome::Ok => {}
            }
        }
        ok
    };
    close(&shell);
    Ok(exit_code(ok))
}

fn close(shell: &Shell) {
    if let Some(mut c) = shell
        .client
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
    {
        c.close();
    }
}

fn exit_code(ok: bool) -> std::process::ExitCode {
    if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

fn interactive_loop(shell: &mut Shell) -> anyhow::Result<bool> {
    let mut editor: Editor<PathCompleter, rustyline::history::DefaultHistory> = Editor::new()?;
    editor.set_helper(Some(PathCompleter {
        client: Arc::clone(&shell.client),
    }));
    let mut ok = true;
    loop {
        match editor.readline(&shell.prompt()) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                match shell.run_line(&line) {
                    Outcome::Quit => {
                        shell.close();
                        break;
                    }
                    Outcome::Failed => ok = false,
                    Outcome::Ok => {}
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(ok)
}

/// How long Tab waits for the server's list of children before giving up (a beep, no candidates): the
/// prompt reads no keys meanwhile, so a stalled server must not hold it for a whole session timeout.
const COMPLETION_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Tab completion: command names for the first word, znode paths (asked of the server) for words that
/// start with `/`.
struct PathCompleter {
    client: Arc<Mutex<Option<Client>>>,
}

impl Completer for PathCompleter {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let word = &before[start..];
        let pair = |s: String| Pair {
            display: s.clone(),
            replacement: s,
        };
        if start == 0 {
            let names = COMMANDS
                .iter()
                .map(|(n, _)| *n)
                .filter(|n| n.starts_with(word));
            return Ok((0, names.map(|n| pair(format!("{n} "))).collect()));
        }
        if !word.starts_with('/') {
            return Ok((pos, Vec::new()));
        }
        let (dir, prefix) = match word.rfind('/') {
            Some(0) => ("/", &word[1..]),
            Some(i) => (&word[..i], &word[i + 1..]),
            None => return Ok((pos, Vec::new())),
        };
        let mut guard = self.client.lock().unwrap_or_else(|e| e.into_inner());
        let Some(client) = guard.as_mut() else {
            return Ok((pos, Vec::new()));
        };
        let body = RequestBody::GetChildren(GetChildrenRequest {
            path: dir.to_string(),
            watch: false,
        });
        let Ok(ResponseBody::GetChildren(r)) =
            client.call_within(OpCode::GetChildren, body, COMPLETION_WAIT)
        else {
            return Ok((pos, Vec::new()));
        };
        let base = if dir == "/" {
            String::new()
        } else {
            dir.to_string()
        };
        let mut found: Vec<Pair> = r
            .children
            .into_iter()
            .filter(|c| c.starts_with(prefix))
            .map(|c| pair(format!("{base}/{c}")))
            .collect();
        found.sort_by(|a, b| a.replacement.cmp(&b.replacement));
        Ok((start, found))
    }
}

impl Hinter for PathCompleter {
    type Hint = String;
}
impl Highlighter for PathCompleter {
    fn highlight<'l>(&self, line: &'l str, _: usize) -> Cow<'l, str> {
        Cow::Borrowed(line)
    }
}
impl Validator for PathCompleter {}
impl Helper for PathCompleter {}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_come_before_the_one_shot_command() {
        let o = parse_options(&strings(&[
            "-server", "h:1,h:2", "-timeout", "5000", "get", "-s", "/a",
        ]))
        .unwrap();
        assert_eq!(o.server, "h:1,h:2");
        assert_eq!(o.timeout_ms, 5000);
        assert_eq!(o.command, strings(&["get", "-s", "/a"]));
    }

    #[test]
    fn no_command_means_a_shell_on_localhost() {
        let o = parse_options(&[]).unwrap();
        assert_eq!(o.server, "localhost:2181");
        assert!(o.command.is_empty());
        assert!(parse_options(&strings(&["-server"])).is_err());
    }
}
