//! `config` and `reconfig`: the ensemble's dynamic configuration, which ZooKeeper keeps in
//! /zookeeper/config. rzk does not reconfigure (its server answers every reconfig with ReconfigDisabled,
//! as ZooKeeper does with `reconfigEnabled=false`), but both commands work against any server.

use rzk_core::proto::records::{GetDataRequest, ReconfigRequest};
use rzk_core::proto::request::RequestBody;
use rzk_core::proto::response::ResponseBody;
use rzk_core::proto::OpCode;

use super::args::{call, Args, CmdResult, Failure};
use super::client::{Client, WatchKind};
use super::format;

const CONFIG_PATH: &str = "/zookeeper/config";

/// `config [-c] [-w] [-s]`: the configuration text (`null` when the node has no data), or with -c only
/// its version and client addresses; -w leaves a data watch on the node, -s prints its stat.
pub fn config(c: &mut Client, args: &Args) -> CmdResult {
    let watch = args.has('w');
    let body = RequestBody::GetData(GetDataRequest {
        path: CONFIG_PATH.into(),
        watch,
    });
    let ResponseBody::GetData(r) = call(c, OpCode::GetData, body, CONFIG_PATH)? else {
        return Ok(());
    };
    if watch {
        c.remember_watch(WatchKind::Data, CONFIG_PATH);
    }
    let text = if r.data.is_null() {
        "null".to_string()
    } else {
        String::from_utf8_lossy(&r.data).into_owned()
    };
    if args.has('c') {
        println!("{}", client_config(&text));
    } else {
        println!("{text}");
    }
    if args.has('s') {
        print!("{}", format::stat(&r.stat));
    }
    Ok(())
}

/// ConfigUtils.getClientConfigStr: `version host:port,host:port...` from the `version` key and the client
/// part (after `;`) of each `server.N` entry. A server without a client part leaves an empty slot; one
/// whose quorum part is malformed is skipped. Entries keep the text's order (ZooKeeper's follows a
/// Hashtable's, which is arbitrary).
pub fn client_config(text: &str) -> String {
    let mut version = "";
    let mut clients = Vec::new();
    for (key, value) in properties(text) {
        if key == "version" {
            version = value;
        }
        let Some(_) = key.strip_prefix("server.") else {
            continue;
        };
        let (quorum, client) = match value.split_once(';') {
            Some((q, c)) => (q, Some(c.trim())),
            None => (value, None),
        };
        if quorum.split(':').count() < 3 {
            continue;
        }
        clients.push(match client {
            None | Some("") => String::new(),
            Some(c) => match c.rsplit_once(':') {
                Some((host, port)) => format!("{}:{port}", host.trim_matches(['[', ']'])),
                // A bare port listens on every address.
                None => format!("0.0.0.0:{c}"),
            },
        });
    }
    format!("{version} {}", clients.join(","))
}

/// `key=value` lines of a Java properties text (comments and blank lines skipped; `:` also separates).
fn properties(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines().filter_map(|line| {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            return None;
        }
        let split = line.find(['=', ':']).unwrap_or(line.len());
        let value = line.get(split + 1..).unwrap_or_default();
        Some((line[..split].trim(), value.trim()))
    })
}

/// reconfig's options, as Commons CLI reads them (the first value wins when an option repeats).
#[derive(Debug, Default, PartialEq, Eq)]
struct ReconfigOptions {
    stat: bool,
    version: Option<String>,
    file: Option<String>,
    members: Option<String>,
    add: Option<String>,
    remove: Option<String>,
}

fn parse_reconfig(words: &[String]) -> Result<ReconfigOptions, Failure> {
    let mut o = ReconfigOptions::default();
    let mut it = words.iter();
    while let Some(w) = it.next() {
        let name = w.trim_start_matches('-');
        if !w.starts_with('-') || name.is_empty() {
            continue;
        }
        let slot = match name {
            "s" => {
                o.stat = true;
                continue;
            }
            "v" => &mut o.version,
            "file" => &mut o.file,
            "members" => &mut o.members,
            "add" => &mut o.add,
            "remove" => &mut o.remove,
            _ => {
                return Err(Failure::Message(format!(
                    "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: {w}"
                )))
            }
        };
        let Some(value) = it.next() else {
            return Err(Failure::Message(format!(
                "org.apache.commons.cli.MissingArgumentException: Missing argument for option: {name}"
            )));
        };
        slot.get_or_insert_with(|| value.clone());
    }
    Ok(o)
}

/// `reconfig`: asks the server to change the ensemble, either incrementally (-add, -remove) or to a new
/// member list (-members, or the server.N lines of -file), from config version -v (hex) if given.
pub fn reconfig(c: &mut Client, words: &[String]) -> CmdResult {
    let o = parse_reconfig(words)?;
    let non_incremental = o.file.is_some() || o.members.is_some();
    let incremental = o.add.is_some() || o.remove.is_some();
    if !non_incremental && !incremental {
        return Err(Failure::Usage);
    }
    let version = match &o.version {
        None => -1,
        Some(v) => i64::from_str_radix(v, 16).map_err(|_| {
            Failure::Message("-v must be followed by a long (configuration version)".into())
        })?,
    };
    if non_incremental && incremental {
        return Err(Failure::Message(
            "Can't use -file or -members together with -add or -remove (mixing incremental and \
             non-incremental modes is not allowed)"
                .into(),
        ));
    }
    if o.file.is_some() && o.members.is_some() {
        return Err(Failure::Message(
            "Can't use -file and -members together (conflicting non-incremental modes)".into(),
        ));
    }
    let members = match &o.file {
        Some(file) => members_from_file(file)?,
        None => o.members.as_deref().unwrap_or_default().to_lowercase(),
    };
    let body = RequestBody::Reconfig(ReconfigRequest {
        joining_servers: o.add.as_deref().unwrap_or_default().to_lowercase(),
        leaving_servers: o.remove.as_deref().unwrap_or_default().to_lowercase(),
        new_members: members,
        cur_config_id: version,
    });
    // The reply to a reconfig is a getData reply: the new configuration and its node's stat.
    let reply = c
        .call_decoding_as(OpCode::Reconfig, OpCode::GetData, body)
        .map_err(|e| Failure::Message(format::error_message(e.code(), "")))?;
    if let ResponseBody::GetData(r) = reply {
        println!(
            "Committed new configuration:\n{}",
            String::from_utf8_lossy(&r.data)
        );
        if o.stat {
            print!("{}", format::stat(&r.stat));
        }
    }
    Ok(())
}

/// The `server.N=...` lines of a dynamic configuration file, one per line. (ZooKeeper's client also
/// checks each server's syntax and rewrites it in canonical form; the server checks it again anyway.)
fn members_from_file(file: &str) -> Result<String, Failure> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        // As Java's FileNotFoundException reads: "<file> (No such file or directory)".
        let reason = e.to_string();
        let reason = reason.split(" (os error").next().unwrap_or_default();
        Failure::Message(format!("Error processing {file}{file} ({reason})"))
    })?;
    let servers: Vec<String> = properties(&text)
        .filter(|(k, _)| k.starts_with("server."))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if servers.is_empty() {
        return Err(Failure::Message(format!(
            "Error processing {file}No server.N entries"
        )));
    }
    Ok(servers.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn client_config_lists_versions_and_client_addresses() {
        let text = "server.1=127.0.0.1:2888:3888:participant;0.0.0.0:2181\n\
                    server.2=h2:2888:3888;2182\n\
                    server.3=h3:2888:3888:observer\n\
                    version=100000000";
        assert_eq!(client_config(text), "100000000 0.0.0.0:2181,0.0.0.0:2182,");
        // The standalone server's node is empty.
        assert_eq!(client_config(""), " ");
    }

    #[test]
    fn reconfig_options_are_words_with_values() {
        let o = parse_reconfig(&words(&["-s", "-v", "1a", "-add", "A", "-add", "B"])).unwrap();
        assert!(o.stat);
        assert_eq!(o.version.as_deref(), Some("1a"));
        assert_eq!(o.add.as_deref(), Some("A"));
        assert!(matches!(
            parse_reconfig(&words(&["-x"])),
            Err(Failure::Message(m)) if m.ends_with("Unrecognized option: -x")
        ));
        assert!(matches!(
            parse_reconfig(&words(&["-remove"])),
            Err(Failure::Message(m)) if m.ends_with("Missing argument for option: remove")
        ));
    }

    #[test]
    fn properties_split_on_the_first_separator_and_skip_comments() {
        let p: Vec<_> = properties("# c\n\n a = b=c\nk:v\n").collect();
        assert_eq!(p, vec![("a", "b=c"), ("k", "v")]);
    }
}
