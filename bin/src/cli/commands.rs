//! The shell's commands, with zkCli.sh's names, flags and output. Results go to stdout and errors to
//! stderr, each as zkCli prints them (e.g. `Created /a` goes to stderr there too).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use rzk_core::proto::records::*;
use rzk_core::proto::request::RequestBody;
use rzk_core::proto::response::ResponseBody;
use rzk_core::proto::{ErrorCode, OpCode};
use rzk_core::Data;

use super::args::{call, path_arg, tokenize, Args, CmdResult, Failure};
use super::client::{resolve_servers, CallError, Client, EventSink, WatchKind};
use super::{ensemble_config, format, quota};

/// Every command with its usage line, as zkCli lists them.
pub const COMMANDS: &[(&str, &str)] = &[
    ("addWatch", "addWatch [-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE"),
    ("addauth", "addauth scheme auth"),
    ("close", "close "),
    ("config", "config [-c] [-w] [-s]"),
    ("connect", "connect host:port"),
    ("create", "create [-s] [-e] [-c] [-t ttl] path [data] [acl]"),
    ("delete", "delete [-v version] path"),
    ("deleteall", "deleteall path [-b batch size]"),
    ("delquota", "delquota [-n|-b|-N|-B] path"),
    ("get", "get [-s] [-w] path"),
    ("getAcl", "getAcl [-s] path"),
    ("getAllChildrenNumber", "getAllChildrenNumber path"),
    ("getEphemerals", "getEphemerals path"),
    ("history", "history "),
    ("listquota", "listquota path"),
    ("ls", "ls [-s] [-w] [-R] path"),
    ("printwatches", "printwatches on|off"),
    ("quit", "quit "),
    ("reconfig", "reconfig [-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | [-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]"),
    ("redo", "redo cmdno"),
    ("removewatches", "removewatches path [-c|-d|-a] [-l]"),
    ("set", "set [-s] [-v version] path data"),
    ("setAcl", "setAcl [-s] [-v version] [-R] path acl"),
    ("setquota", "setquota -n|-b|-N|-B val path"),
    ("stat", "stat [-w] path"),
    ("sync", "sync path"),
    ("version", "version "),
    ("whoami", "whoami "),
];

/// What running one command line did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Failed,
    Quit,
}

pub struct Shell {
    pub client: Arc<Mutex<Option<Client>>>,
    pub server_list: String,
    pub timeout_ms: i32,
    pub history: Vec<String>,
    pub print_watches: Arc<AtomicBool>,
    pub events: EventSink,
}

pub(super) fn usage(name: &str) -> &'static str {
    COMMANDS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, u)| *u)
        .unwrap_or("")
}

fn print_usage() {
    eprintln!("ZooKeeper -server host:port -client-configuration properties-file cmd args");
    for (_, u) in COMMANDS {
        eprintln!("\t{u}");
    }
}

/// Java's List.toString.
fn java_list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

impl Shell {
    pub fn connect(&mut self) -> bool {
        let servers = match resolve_servers(&self.server_list) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{e}");
                return false;
            }
        };
        match Client::connect(servers, self.timeout_ms, Arc::clone(&self.events)) {
            Ok(c) => {
                *lock(&self.client) = Some(c);
                true
            }
            Err(e) => {
                eprintln!("Unable to connect to {}: {e}", self.server_list);
                false
            }
        }
    }

    /// Closes the session, saying so as zkCli does.
    pub fn close(&mut self) {
        if let Some(c) = lock(&self.client).as_mut().filter(|c| !c.is_closed()) {
            c.close();
            (self.events)(super::client::closed_event());
        }
    }

    /// `[zk: host:port(CONNECTED) N] `
    pub fn prompt(&self) -> String {
        let state = match lock(&self.client).as_ref() {
            Some(c) if c.is_closed() => "CLOSED",
            Some(c) if c.connected_to().is_some() => "CONNECTED",
            Some(_) => "CONNECTING",
            None => "CLOSED",
        };
        format!(
            "[zk: {}({state}) {}] ",
            self.server_list,
            self.history.len()
        )
    }

    /// Runs one command line.
    pub fn run_line(&mut self, line: &str) -> Outcome {
        let words = tokenize(line);
        let Some(name) = words.first().cloned() else {
            return Outcome::Ok;
        };
        self.history.push(line.trim().to_string());
        self.run_words(&name, &words[1..])
    }

    fn run_words(&mut self, name: &str, rest: &[String]) -> Outcome {
        match name {
            "quit" => return Outcome::Quit,
            "history" => {
                let n = self.history.len();
                for (i, h) in self.history.iter().enumerate().skip(n.saturating_sub(11)) {
                    println!("{i} - {h}");
                }
                return Outcome::Ok;
            }
            "redo" => return self.redo(rest),
            "printwatches" => {
                // As zkCli: any word but "on" turns printing off.
                match rest.first() {
                    Some(word) => self.print_watches.store(word == "on", Ordering::SeqCst),
                    None => println!(
                        "printwatches is {}",
                        if self.print_watches.load(Ordering::SeqCst) {
                            "on"
                        } else {
                            "off"
                        }
                    ),
                }
                return Outcome::Ok;
            }
            "version" => {
                if !rest.is_empty() {
                    eprintln!("{}", usage("version"));
                    return Outcome::Failed;
                }
                println!(
                    "ZooKeeper CLI version: {}",
                    rzk_core::four_letter::rzk_version("unknown")
                );
                return Outcome::Ok;
            }
            "connect" => {
                if let Some(server) = rest.first() {
                    self.server_list = server.clone();
                }
                if let Some(mut c) = lock(&self.client).take() {
                    c.close();
                }
                return if self.connect() {
                    Outcome::Ok
                } else {
                    Outcome::Failed
                };
            }
            "close" => {
                self.close();
                return Outcome::Ok;
            }
            _ => {}
        }
        if !COMMANDS.iter().any(|(n, _)| *n == name) {
            print_usage();
            eprintln!("Command not found: Command not found {name}");
            return Outcome::Failed;
        }
        let client = Arc::clone(&self.client);
        let mut guard = lock(&client);
        let Some(c) = guard.as_mut().filter(|c| !c.is_closed()) else {
            // zkCli prints this one on stdout.
            println!("Not connected");
            return Outcome::Failed;
        };
        let (switches, valued) = match name {
            "ls" => ("swR", ""),
            "create" => ("sec", "t"),
            "get" => ("sw", ""),
            "set" => ("s", "v"),
            "delete" => ("", "v"),
            "deleteall" => ("", "b"),
            "stat" => ("w", ""),
            "getAcl" => ("s", ""),
            "setAcl" => ("sR", "v"),
            "addWatch" => ("", "m"),
            "removewatches" => ("cdal", ""),
            "config" => ("cws", ""),
            "setquota" => ("", "nbNB"),
            "delquota" => ("nbNB", ""),
            _ => ("", ""),
        };
        // reconfig's options are words (-members, -add...): it parses its own.
        if name == "reconfig" {
            return report(name, ensemble_config::reconfig(c, rest));
        }
        let args = match Args::parse(rest, switches, valued) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("{e}");
                return Outcome::Failed;
            }
        };
        let result = match name {
            "ls" => ls(c, &args),
            "create" => create(c, &args),
            "get" => get(c, &args),
            "set" => set(c, &args),
            "delete" => delete(c, &args),
            "deleteall" => deleteall(c, &args),
            "stat" => stat(c, &args),
            "getAcl" => get_acl(c, &args),
            "setAcl" => set_acl(c, &args),
            "addauth" => addauth(c, &args),
            "sync" => sync(c, &args),
            "getAllChildrenNumber" => all_children_number(c, &args),
            "getEphemerals" => ephemerals(c, &args),
            "addWatch" => add_watch(c, &args),
            "removewatches" => remove_watches(c, &args),
            "whoami" => whoami(c),
            "config" => ensemble_config::config(c, &args),
            "setquota" => quota::setquota(c, &args),
            "listquota" => quota::listquota(c, &args),
            "delquota" => quota::delquota(c, &args),
            _ => Err(Failure::Usage),
        };
        report(name, result)
    }

    /// `redo n` runs history entry n again, which then takes the redo's own place in the history (as in
    /// zkCli, so `redo` of a redo is never needed).
    fn redo(&mut self, rest: &[String]) -> Outcome {
        let Some(word) = rest.first() else {
            eprintln!("{}", usage("redo"));
            return Outcome::Failed;
        };
        // The redo line itself is the last entry; only earlier ones may be redone.
        let current = self.history.len().saturating_sub(1);
        let line = match word.parse::<usize>() {
            Ok(n) if n < current => self.history[n].clone(),
            _ => {
                eprintln!("Command index out of range");
                return Outcome::Failed;
            }
        };
        let words = tokenize(&line);
        let Some(name) = words.first().cloned() else {
            return Outcome::Ok;
        };
        if name == "redo" {
            eprintln!("No redoing redos");
            return Outcome::Failed;
        }
        self.history[current] = line;
        self.run_words(&name, &words[1..])
    }
}

/// Prints a command's failure as zkCli does.
fn report(name: &str, result: CmdResult) -> Outcome {
    match result {
        Ok(()) => Outcome::Ok,
        Err(Failure::Usage) => {
            eprintln!("{}", usage(name));
            Outcome::Failed
        }
        Err(Failure::Message(m)) => {
            eprintln!("{m}");
            Outcome::Failed
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn version_arg(args: &Args) -> Result<i32, Failure> {
    match args.value('v') {
        None => Ok(-1),
        Some(v) => v.parse().map_err(|_| Failure::Usage),
    }
}

fn children(c: &mut Client, path: &str, watch: bool) -> Result<Vec<String>, Failure> {
    let body = RequestBody::GetChildren(GetChildrenRequest {
        path: path.to_string(),
        watch,
    });
    match call(c, OpCode::GetChildren, body, path)? {
        ResponseBody::GetChildren(r) => {
            if watch {
                c.remember_watch(WatchKind::Child, path);
            }
            let mut kids = r.children;
            kids.sort();
            Ok(kids)
        }
        _ => Err(Failure::Message("unexpected reply".into())),
    }
}

fn join(parent: &str, child: &str) -> String {
    if parent == "/" {
        format!("/{child}")
    } else {
        format!("{parent}/{child}")
    }
}

fn ls(c: &mut Client, args: &Args) -> CmdResult {
    let path = path_arg(args, 0)?;
    let watch = args.has('w');
    if args.has('R') {
        // Depth first, parent before children, as ZKUtil.visitSubTreeDFS.
        let mut stack = vec![path];
        while let Some(p) = stack.pop() {
            let kids = children(c, &p, watch)?;
            println!("{p}");
            for k in kids.iter().rev() {
                stack.push(join(&p, k));
            }
        }
        return Ok(());
    }
    if args.has('s') {
        let body = RequestBody::GetChildren(GetChildrenRequest {
            path: path.clone(),
            watch,
        });
        if let ResponseBody::GetChildren2(r) = call(c, OpCode::GetChildren2, body, &path)? {
            if watch {
                c.remember_watch(WatchKind::Child, &path);
            }
            let mut kids = r.children;
            kids.sort();
            println!("{}", java_list(&kids));
            print!("{}", format::stat(&r.stat));
        }
        return Ok(());
    }
    println!("{}", java_list(&children(c, &path, watch)?));
    Ok(())
}

fn create(c: &mut Client, args: &Args) -> CmdResult {
    let path = path_arg(args, 0)?;
    // No data argument is null data, as zkCli sends it.
    let data = args
        .positional
        .get(1)
        .map_or(Data::null(), |d| Data::from(d.clone().into_bytes()));
    let acl = match args.positional.get(2) {
        Some(text) => format::parse_acl(text).map_err(Failure::Message)?,
        None => format::open_acl(),
    };
    let (seq, eph, container) = (args.has('s'), args.has('e'), args.has('c'));
    if container && (seq || eph) {
        return Err(Failure::Message(
            "-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential."
                .into(),
        ));
    }
    let ttl = match args.value('t') {
        Some(t) => {
            if eph {
                return Err(Failure::Message(
                    "TTLs cannot be used with Ephemeral znodes".into(),
                ));
            }
            if container {
                return Err(Failure::Message(
                    "TTLs cannot be used with Container znodes".into(),
                ));
            }
            Some(t.parse::<i64>().map_err(|_| Failure::Usage)?)
        }
        None => None,
    };
    let flags = match (ttl.is_some(), container, eph, seq) {
        (true, _, _, true) => 6,
        (true, _, _, false) => 5,
        (_, true, _, _) => 4,
        (_, _, true, true) => 3,
        (_, _, true, false) => 1,
        (_, _, false, true) => 2,
        _ => 0,
    };
    let reply = match ttl {
        Some(ttl) => call(
            c,
            OpCode::CreateTtl,
            RequestBody::CreateTtl(CreateTtlRequest {
                path: path.clone(),
                data,
                acl,
                flags,
                ttl,
            }),
            &path,
        )?,
        None => {
            let op = if container {
                OpCode::CreateContainer
            } else {
                OpCode::Create
            };
            call(
                c,
                op,
                RequestBody::Create(CreateRequest {
                    path: path.clone(),
                    data,
                    acl,
                    flags,
                }),
                &path,
            )?
        }
    };
    let created = match reply {
        ResponseBody::Create(r) => r.path,
        ResponseBody::Create2(r) => r.path,
        _ => path,
    };
    eprintln!("Created {created}");
    Ok(())
}

fn get(c: &mut Client, args: &Args) -> CmdResult {
    let path = path_arg(args, 0)?;
    let watch = args.has('w');
    let body = RequestBody::GetData(GetDataRequest {
        path: path.clone(),
        watch,
    });
    if let ResponseBody::GetData(r) = call(c, OpCode::GetData, body, &path)? {
        if watch {
            c.remember_watch(WatchKind::Data, &path);
        }
        if r.data.is_null() {
            println!("null");
        } else {
            println!("{}", String::from_utf8_lossy(&r.data));
        }
        if args.has('s') {
            print!("{}", format::stat(&r.stat));
        }
    }
    Ok(())
}

fn set(c: &mut Client, args: &Args) -> CmdResult {
    let path = path_arg(args, 0)?;
    let data = args.positional.get(1).ok_or(Failure::Usage)?;
    let body = RequestBody::SetData(SetDataRequest {
        path: path.clone(),
        data: Data::from(data.clone().into_bytes()),
        version: version_arg(args)?,
    });
    if let ResponseBody::SetData(r) = call(c, OpCode::SetData, body, &path)? {
        if args.has('s') {
            print!("{}", format::stat(&r.stat));
        }
    }
    Ok(())
}

fn delete(c: &mut Client, args: &Args) -> CmdResult {
    let path = path_arg(args, 0)?;
    let body = RequestBody::Delete(DeleteRequest {
        path: path.clone(),
        version: version_arg(args)?,
    });
    call(c, OpCode::Delete, body, &path).map(|_| ())
}

fn deleteall(c: &mut Client, args: &Args) -> CmdResult {
    let path = path_arg(args, 0)?;
    if path == "/" {
        return Err(Failure::Message("Cannot delete the root node".into()));
    }
    // Breadth-first listing, then deletes from the deepest up (ZKUtil.deleteRecursive).
    let mut tree = vec![path.clone()];
    let mut i = 0;
    while i < tree.len() {
        let p = tree[i].clone();
        let kids = children(c, &p, false)?;
        tree.extend(kids.iter().map(|k| join(&p, k)));
        i += 1;
    }
    let mut failed = false;
    for p in tree.iter().rev() {
        let body = RequestBody::Delete(DeleteRequest {
            path: p.clone(),
            version: -1,
        });
        match c.call(OpCode::Delete, body) {
            Ok(_) | Err(CallError::Server(ErrorCode::NoNode)) => {}
            Err(_) => failed = true,
        }
    }
    if failed {
        return Err(Failure::Message(
            "Failed to delete some node(s) in the subtree!".into(),
        ));
    }
    Ok(())
}

fn stat(c: &mut Client, args: &Args) -> CmdResult {
    let path = path_arg(args, 0)?;
    let watch = args.has('w');
    let body = RequestBody::Exists(ExistsRequest {
        path: path.clone(),
        watch,
    });
    let reply = c.call(OpCode::Exists, body);
    if watch && matches!(reply, Ok(_) | Err(CallError::Server(ErrorCode::NoNode))) {
        c.remember_watch(WatchKind::Exist, &path);
    }
    match reply {
        Ok(ResponseBody::Exists(r)) => {
            print!("{}", format::stat(&r.stat));
            Ok(())
        }
        Ok(_) => Ok(()),
        Err(e) => Err(Failure::Message(format::error_message(e.code(), &path))),
    }
}

fn get_acl(c: &mut Client, args: &Args) -> CmdResult {
    let path = path_arg(args, 0)?;
    let body = RequestBody::GetAcl(GetAclRequest { path: path.clone() });
    if let ResponseBody::GetAcl(r) = call(c, OpCode::GetAcl, body, &path)? {
        print!("{}", format::acl_list(&r.acl));
        if args.has('s') {
            print!("{}", format::stat(&r.stat));
        }
    }
    Ok(())
}

fn set_acl(c: &mut Client, args: &Args) -> CmdResult {
    let path = path_arg(args, 0)?;
    let text = args.positional.get(1).ok_or(Failure::Usage)?;
    let acl = format::parse_acl(text).map_err(Failure::Message)?;
    let version = version_arg(args)?;
    let mut targets = vec![path.clone()];
    if args.has('R') {
        let mut i = 0;
        while i < targets.len() {
            let p = targets[i].clone();
            let kids = children(c, &p, false)?;
            targets.extend(kids.iter().map(|k| join(&p, k)));
            i += 1;
        }
    }
    for p in &targets {
        let body = RequestBody::SetAcl(SetAclRequest {
            path: p.clone(),
            acl: acl.clone(),
            version,
        });
        if let ResponseBody::SetAcl(r) = call(c, OpCode::SetAcl, body, p)? {
            if args.has('s') && p == &path {
                print!("{}", format::stat(&r.stat));
            }
        }
    }
    Ok(())
}

fn addauth(c: &mut Client, args: &Args) -> CmdResult {
    let scheme = args.positional.first().ok_or(Failure::Usage)?.clone();
    let auth = Bytes::from(
        args.positional
            .get(1)
            .cloned()
            .unwrap_or_default()
            .into_bytes(),
    );
    let body = RequestBody::Auth(AuthPacket {
        auth_type: 0,
        scheme: scheme.clone(),
        auth: auth.clone(),
    });
    match c.call(OpCode::Auth, body) {
        Ok(_) => {
            c.remember_auth(&scheme, auth);
            Ok(())
        }
        Err(e) => Err(Failure::Message(format::error_message(e.code(), ""))),
    }
}

fn sync(c: &mut Client, args: &Args) -> CmdResult {
    let path = path_arg(args, 0)?;
    match c.call(
        OpCode::Sync,
        RequestBody::Sync(SyncRequest { path: path.clone() }),
    ) {
        Ok(_) => {
            println!("Sync is OK");
            Ok(())
        }
        Err(CallError::Server(code)) => {
            println!("Sync has failed. rc={}", code.code());
            Err(Failure::Message(format::error_message(code, &path)))
        }
        Err(e) => Err(Failure::Message(format::error_message(e.code(), &path))),
    }
}

fn all_children_number(c: &mut Client, args: &Args) -> CmdResult {
    let path = path_arg(args, 0)?;
    let body =
        RequestBody::GetAllChildrenNumber(GetAllChildrenNumberRequest { path: path.clone() });
    if let ResponseBody::GetAllChildrenNumber(r) =
        call(c, OpCode::GetAllChildrenNumber, body, &path)?
    {
        println!("{}", r.total_number);
    }
    Ok(())
}

fn ephemerals(c: &mut Client, args: &Args) -> CmdResult {
    let prefix = args
        .positional
        .first()
        .cloned()
        .unwrap_or_else(|| "/".into());
    let body = RequestBody::GetEphemerals(GetEphemeralsRequest {
        prefix_path: prefix.clone(),
    });
    if let ResponseBody::GetEphemerals(r) = call(c, OpCode::GetEphemerals, body, &prefix)? {
        println!("{}", java_list(&r.ephemerals));
    }
    Ok(())
}

fn add_watch(c: &mut Client, args: &Args) -> CmdResult {
    let path = path_arg(args, 0)?;
    let (mode, kind) = match args.value('m').unwrap_or("PERSISTENT_RECURSIVE") {
        "PERSISTENT" => (0, WatchKind::Persistent),
        "PERSISTENT_RECURSIVE" => (1, WatchKind::PersistentRecursive),
        other => return Err(Failure::Message(format!("Unsupported mode: {other}"))),
    };
    let body = RequestBody::AddWatch(AddWatchRequest {
        path: path.clone(),
        mode,
    });
    call(c, OpCode::AddWatch, body, &path)?;
    c.remember_watch(kind, &path);
    Ok(())
}

fn remove_watches(c: &mut Client, args: &Args) -> CmdResult {
    let path = path_arg(args, 0)?;
    let watch_type = if args.has('c') {
        1
    } else if args.has('d') {
        2
    } else {
        3
    };
    if !args.has('l') {
        let body = RequestBody::RemoveWatches(RemoveWatchesRequest {
            path: path.clone(),
            watch_type,
        });
        call(c, OpCode::RemoveWatches, body, &path)?;
    }
    c.forget_watches(&path);
    Ok(())
}

fn whoami(c: &mut Client) -> CmdResult {
    if let ResponseBody::WhoAmI(r) = call(c, OpCode::WhoAmI, RequestBody::WhoAmI, "")? {
        println!("Auth scheme: User");
        for info in r.client_info {
            println!("{}: {}", info.auth_scheme, info.user);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_group_words_and_are_dropped() {
        assert_eq!(
            tokenize(r#"create /a "hello world"  'x y' z"#),
            vec!["create", "/a", "hello world", "x y", "z"]
        );
        assert!(tokenize("   ").is_empty());
    }

    #[test]
    fn flags_may_take_values_and_precede_the_path() {
        let words: Vec<String> = ["-s", "-v", "3", "/a", "data"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let a = Args::parse(&words, "s", "v").unwrap();
        assert!(a.has('s'));
        assert_eq!(a.value('v'), Some("3"));
        assert_eq!(a.positional, vec!["/a", "data"]);
        assert!(Args::parse(&["-x".to_string(), "/a".to_string()], "s", "v").is_err());
        assert!(Args::parse(&["/a".to_string(), "-v".to_string()], "s", "v").is_err());
    }

    #[test]
    fn data_that_looks_like_a_flag_after_the_path_is_data() {
        let words: Vec<String> = ["/a", "-1"].iter().map(|s| s.to_string()).collect();
        let a = Args::parse(&words, "s", "v").unwrap();
        assert_eq!(a.positional, vec!["/a", "-1"]);
    }

    #[test]
    fn children_join_under_the_root_without_double_slash() {
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
    }
}
