//! What the node tells about itself: the [`ServerReport`] gathered from its state, and the answers built from
//! it — a four-letter word (formatted by `four_letter`, sent, then the connection closed, as ZooKeeper does
//! after every command) and an admin server request (formatted by `admin`).

use bytes::Bytes;

use super::{ConnId, Node, Output};
use crate::four_letter;
use crate::proto::FourLetterWord;
use crate::report::{ConnectionReport, ServerReport};

impl Node {
    pub(super) fn answer_four_letter(
        &mut self,
        now: u64,
        conn: ConnId,
        word: FourLetterWord,
        out: &mut Vec<Output>,
    ) {
        let allowed =
            four_letter::is_allowed(word, &self.config.server, self.read_only_serving(now));
        if let Some(c) = self.conns.get_mut(&conn) {
            c.stats.received += 1;
        }
        if allowed {
            match word {
                FourLetterWord::Stmk => {
                    // The new trace mask follows the word as an 8-byte big-endian long.
                    if let Some(b) = self
                        .conns
                        .get(&conn)
                        .and_then(|c| c.frames.buffered().get(4..12))
                    {
                        let mut mask = [0u8; 8];
                        mask.copy_from_slice(b);
                        self.trace_mask = i64::from_be_bytes(mask);
                    }
                }
                FourLetterWord::Srst => self.stats = Default::default(),
                FourLetterWord::Crst => {
                    for c in self.conns.values_mut() {
                        c.stats.reset();
                    }
                }
                _ => {}
            }
        }
        let asking = self
            .conns
            .get(&conn)
            .map(|c| format!("/{}:{}", c.addr.ip(), c.addr.port()));
        let asking = asking.unwrap_or_default();
        let mut report = self.report(now);
        for c in &mut report.connections {
            if c.remote == asking {
                // The connection asking is reading its answer, not polling for input.
                c.interest_ops = 0;
            }
        }
        let text = four_letter::render(word, &report, &self.config.server);
        out.push(Output::ToClient {
            conn,
            bytes: Bytes::from(text),
        });
        self.close_conn(conn, out);
    }

    /// An admin server request: the same report as the four-letter words, rendered by `crate::admin`.
    pub(super) fn answer_admin(&mut self, now: u64, id: u64, target: &str, out: &mut Vec<Output>) {
        use crate::admin::{self, AdminEffect};
        match admin::effect_of(target) {
            AdminEffect::ResetServerStats => self.stats = Default::default(),
            AdminEffect::ResetConnectionStats => {
                for c in self.conns.values_mut() {
                    c.stats.reset();
                }
            }
            AdminEffect::None => {}
        }
        let report = self.report(now);
        let response = admin::answer(
            target,
            &report,
            &self.config.server,
            &self.stats.latency.histogram,
        );
        out.push(Output::AdminReply { id, response });
    }

    /// A snapshot of everything the four-letter words print.
    pub fn report(&self, now: u64) -> ServerReport {
        let session_of = |conn: ConnId| {
            self.conns
                .get(&conn)
                .and_then(|c| c.session_id())
                .unwrap_or(0)
        };
        let connections = self
            .conns
            .values()
            .map(|c| ConnectionReport {
                interest_ops: if c.paused { 0 } else { 1 },
                expires_at: c
                    .session_id()
                    .and_then(|s| self.sessions.expires_at(s))
                    .unwrap_or(0) as i64,
                remote: format!("/{}:{}", c.addr.ip(), c.addr.port()),
                queued: c.queue.len() as u64,
                received: c.stats.received,
                sent: c.stats.sent,
                session_id: c.session_id().unwrap_or(0),
                last_op: c.stats.last_op.map_or("NA", |op| op.name()).to_owned(),
                last_cxid: c.stats.last_cxid,
                last_zxid: c.stats.last_zxid,
                timeout: c.timeout(),
                last_latency: c.stats.latency.last,
                min_latency: c.stats.latency.min,
                avg_latency: c.stats.latency.avg() as u64,
                max_latency: c.stats.latency.max,
                established: c.stats.established as i64,
                last_response: c.stats.last_response as i64,
            })
            .collect();
        let mut by_session: std::collections::BTreeMap<i64, Vec<String>> = Default::default();
        let mut by_path: std::collections::BTreeMap<String, Vec<i64>> = Default::default();
        // As ZooKeeper's wchs/wchc/wchp: the data table (data, exist and persistent watches) only.
        for table in [&self.watches.data] {
            for (path, conns) in table.by_path() {
                for conn in conns {
                    let s = session_of(conn);
                    let paths = by_session.entry(s).or_default();
                    if !paths.iter().any(|p| p == path) {
                        paths.push(path.to_owned());
                    }
                    let sessions = by_path.entry(path.to_owned()).or_default();
                    if !sessions.contains(&s) {
                        sessions.push(s);
                    }
                }
            }
        }
        let ephemerals: Vec<(i64, Vec<String>)> = self
            .tree
            .all_ephemerals()
            .map(|(s, paths)| (s, paths.map(str::to_owned).collect()))
            .collect();
        let wall = |t: u64| t as i64;
        let read_only = self.read_only_serving(now);
        ServerReport {
            version: four_letter::rzk_version(env!("CARGO_PKG_VERSION")),
            serving: self.serving() || read_only,
            uptime_ms: now.saturating_sub(self.started_at),
            last_client_response_size: self.stats.response_size.last,
            min_client_response_size: self.stats.response_size.min,
            max_client_response_size: self.stats.response_size.max,
            auth_failed_count: self.stats.auth_failed,
            trace_mask: self.trace_mask,
            digests: vec![(self.tree.last_zxid(), self.tree.digest())],
            session_expiry: self
                .sessions
                .iter_expiry()
                .map(|(s, at)| (s, wall(at)))
                .collect(),
            // ReadOnlyZooKeeperServer.getState(): `srvr`/`stat` Mode and `mntr` zk_server_state.
            mode: if read_only {
                "read-only".to_owned()
            } else {
                self.server_mode().name().to_owned()
            },
            zxid: self.tree.last_zxid(),
            node_count: self.tree.node_count() as u64,
            approximate_data_size: self.tree.approximate_data_size(),
            min_latency: self.stats.latency.min,
            avg_latency: self.stats.latency.avg(),
            max_latency: self.stats.latency.max,
            received: self.stats.received,
            sent: self.stats.sent,
            outstanding: self.conns.values().map(|c| c.queue.len() as u64).sum(),
            connections,
            watch_count: self.watches.count() as u64,
            watched_paths: by_path.len() as u64,
            watches_by_session: by_session.into_iter().collect(),
            watches_by_path: by_path.into_iter().collect(),
            ephemerals_count: ephemerals.iter().map(|(_, p)| p.len() as u64).sum(),
            ephemerals,
            sessions: self.sessions.iter().map(|(s, t)| (s, t as i32)).collect(),
            environment: self.config.environment.clone(),
            open_file_descriptors: self.host.0,
            max_file_descriptors: self.host.1,
            server_id: self.config.server_id,
            read_only,
            leader: match (&self.role, &self.membership) {
                (super::ensemble::Role::Leading(l), Some(m)) => Some(l.report(now, m)),
                _ => None,
            },
            extra_metrics: vec![(
                "sessionless_connections_expired".to_owned(),
                self.stats.sessionless_closed.to_string(),
            )],
            ..ServerReport::default()
        }
    }
}
