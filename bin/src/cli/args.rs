//! What every shell command gets and returns: the tokenized words, parsed flags, a failure to print. The
//! command modules (`commands`, `quota`, `ensemble_config`) all depend on this; it depends on none of them.

use rzk_core::proto::request::RequestBody;
use rzk_core::proto::response::ResponseBody;
use rzk_core::proto::OpCode;

use super::client::{CallError, Client};
use super::format;

/// zkCli's tokenizer: words split on blanks; "double" or 'single' quotes keep blanks and are removed.
pub fn tokenize(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut word = String::new();
        if c == '"' || c == '\'' {
            chars.next();
            for ch in chars.by_ref() {
                if ch == c {
                    break;
                }
                word.push(ch);
            }
        } else {
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() {
                    break;
                }
                word.push(ch);
                chars.next();
            }
        }
        out.push(word);
    }
    out
}

/// Flags (`-s`, `-v 3`) and positional arguments of one command.
pub struct Args {
    pub flags: Vec<(char, Option<String>)>,
    pub positional: Vec<String>,
}

impl Args {
    /// `switches` take no value, `valued` take the next word. Errors read as zkCli prints those of its
    /// option parser (Apache Commons CLI): the exception's class, then its message.
    pub fn parse(words: &[String], switches: &str, valued: &str) -> Result<Args, String> {
        let mut flags = Vec::new();
        let mut positional = Vec::new();
        let mut it = words.iter();
        while let Some(w) = it.next() {
            let flag = w
                .strip_prefix('-')
                .filter(|f| f.chars().count() == 1)
                .and_then(|f| f.chars().next());
            match flag {
                Some(f) if switches.contains(f) => flags.push((f, None)),
                Some(f) if valued.contains(f) => match it.next() {
                    Some(v) => flags.push((f, Some(v.clone()))),
                    None => return Err(format!(
                        "org.apache.commons.cli.MissingArgumentException: Missing argument for option: {f}"
                    )),
                },
                Some(f) if positional.is_empty() => {
                    return Err(format!(
                        "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -{f}"
                    ))
                }
                _ => positional.push(w.clone()),
            }
        }
        Ok(Args { flags, positional })
    }

    pub fn has(&self, f: char) -> bool {
        self.flags.iter().any(|(g, _)| *g == f)
    }

    pub fn value(&self, f: char) -> Option<&str> {
        self.flags
            .iter()
            .find(|(g, _)| *g == f)
            .and_then(|(_, v)| v.as_deref())
    }
}

#[derive(Debug)]
pub enum Failure {
    /// Wrong arguments: print the command's usage.
    Usage,
    Message(String),
}

pub type CmdResult = Result<(), Failure>;

pub fn path_arg(args: &Args, i: usize) -> Result<String, Failure> {
    let p = args.positional.get(i).ok_or(Failure::Usage)?;
    if !p.starts_with('/') {
        return Err(Failure::Message("Path must start with / character".into()));
    }
    Ok(p.clone())
}

pub fn call(
    c: &mut Client,
    op: OpCode,
    body: RequestBody,
    path: &str,
) -> Result<ResponseBody, Failure> {
    c.call(op, body)
        .map_err(|e: CallError| Failure::Message(format::error_message(e.code(), path)))
}
