//! One-shot watches: a watch set by a read fires for the first change after the read, and the notification
//! reaches the client before any reply that reflects that change (ZooKeeper's ordering guarantee). A
//! notification never arrives without a watch and a change to announce.

use std::collections::BTreeMap;

use super::Replay;
use crate::facts::Facts;
use crate::history::Received;

/// A watch set by a read: the read's reply zxid, the path, and whether it watches children.
type Registration = (i64, String, bool);

pub fn check(facts: &Facts, replay: &Replay) -> Vec<String> {
    let mut v = Vec::new();
    // Registrations per connection, keyed by the op that set them.
    let mut regs: BTreeMap<u64, BTreeMap<usize, Vec<Registration>>> = BTreeMap::new();
    for w in &facts.history.watches {
        regs.entry(w.conn)
            .or_default()
            .entry(w.op)
            .or_default()
            .push((w.zxid, w.path.clone(), w.child));
    }
    for (conn, stream) in &facts.history.received {
        let Some(conn_regs) = regs.get(conn) else {
            if let Some(Received::Event { path, .. }) =
                stream.iter().find(|r| matches!(r, Received::Event { .. }))
            {
                v.push(format!(
                    "watches: conn {conn} got an event for {path} without setting a watch"
                ));
            }
            continue;
        };
        // Walk the stream; track armed watches (path, child) -> (set at zxid, fires at zxid).
        let mut armed: BTreeMap<(String, bool), (i64, Option<i64>)> = BTreeMap::new();
        for item in stream {
            match item {
                Received::Reply { op, zxid } => {
                    // Every armed watch whose change this reply already reflects must have fired.
                    for ((path, child), (set_at, fires)) in &armed {
                        if let Some(f) = fires {
                            if *zxid >= *f {
                                v.push(format!(
                                    "watches: conn {conn}: reply of op #{op} at zxid 0x{zxid:x} arrived before the \
                                     notification for {path} (child: {child}) set at 0x{set_at:x}, changed at 0x{f:x}"
                                ));
                            }
                        }
                    }
                    armed.retain(|_, (_, fires)| !fires.is_some_and(|f| *zxid >= f));
                    // Registrations made by this reply.
                    for (z, path, child) in conn_regs.get(op).into_iter().flatten() {
                        let fires = replay.next_change(path, *z, *child);
                        armed.entry((path.clone(), *child)).or_insert((*z, fires));
                    }
                }
                Received::Event { event_type, path } => {
                    // NodeChildrenChanged (4) is for child watches; Deleted (2) may be either; others data.
                    let kinds: &[bool] = match event_type {
                        4 => &[true],
                        2 => &[false, true],
                        _ => &[false],
                    };
                    let mut matched = false;
                    for child in kinds {
                        if let Some((_, fires)) = armed.remove(&(path.clone(), *child)) {
                            if fires.is_none() {
                                v.push(format!("watches: conn {conn}: event {event_type} for {path} with no change to announce"));
                            }
                            matched = true;
                        }
                    }
                    if !matched {
                        v.push(format!("watches: conn {conn}: event {event_type} for {path} without an armed watch (fired twice?)"));
                    }
                }
            }
        }
    }
    v
}
