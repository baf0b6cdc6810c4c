//! Answering reads from the applied tree (ZooKeeper's FinalRequestProcessor, read half). Reads register
//! their watches here, at the moment they see the data the watch will report changes of.

use super::connection::ConnState;
use super::Node;
use crate::acl::{self, perms};
use crate::node::ConnId;
use crate::proto::records::*;
use crate::proto::request::{MultiOp, Request, RequestBody};
use crate::proto::response::{MultiResult, ResponseBody};
use crate::proto::{ErrorCode, OpCode};
use crate::watch::{WatchMode, WatcherType};

type ReadResult = Result<ResponseBody, ErrorCode>;

impl Node {
    fn auth_of(&self, conn: ConnId) -> &[Id] {
        self.conns.get(&conn).map_or(&[], |c| c.auth.as_slice())
    }

    fn readable(
        &self,
        conn: ConnId,
        path: &str,
        perm: i32,
    ) -> Result<&crate::tree::ZNode, ErrorCode> {
        let node = self.tree.get(path).ok_or(ErrorCode::NoNode)?;
        if acl::check(node.acl(), perm, self.auth_of(conn), &self.providers()) {
            Ok(node)
        } else {
            Err(ErrorCode::NoAuth)
        }
    }

    /// Answers a read-only request against the applied tree.
    pub(super) fn answer_read(&mut self, conn: ConnId, req: &Request) -> ReadResult {
        // ZooKeeper's tree also holds the root under "", so reads of "" see "/".
        let mut req = req.clone();
        match &mut req.body {
            RequestBody::Exists(ExistsRequest { path, .. })
            | RequestBody::GetData(GetDataRequest { path, .. })
            | RequestBody::GetChildren(GetChildrenRequest { path, .. })
            | RequestBody::GetAcl(GetAclRequest { path })
            | RequestBody::GetAllChildrenNumber(GetAllChildrenNumberRequest { path })
                if path.is_empty() =>
            {
                *path = "/".to_owned();
            }
            _ => {}
        }
        let req = &req;
        match &req.body {
            RequestBody::Exists(r) => {
                if r.path.contains('\0') {
                    return Err(ErrorCode::BadArguments);
                }
                let stat = self.tree.stat(&r.path);
                if r.watch {
                    self.watches.data.add(&r.path, conn, WatchMode::Standard);
                }
                stat.map(|stat| ResponseBody::Exists(ExistsResponse { stat }))
                    .ok_or(ErrorCode::NoNode)
            }
            RequestBody::GetData(r) => {
                let (data, stat) = self.get_data(conn, &r.path)?;
                if r.watch {
                    self.watches.data.add(&r.path, conn, WatchMode::Standard);
                }
                Ok(ResponseBody::GetData(GetDataResponse { data, stat }))
            }
            RequestBody::GetChildren(r) => {
                let (children, stat) = self.get_children(conn, &r.path)?;
                if r.watch {
                    self.watches.child.add(&r.path, conn, WatchMode::Standard);
                }
                Ok(if req.op == OpCode::GetChildren2 {
                    ResponseBody::GetChildren2(GetChildren2Response { children, stat })
                } else {
                    ResponseBody::GetChildren(GetChildrenResponse { children })
                })
            }
            RequestBody::GetAcl(r) => {
                let node = self.readable(conn, &r.path, perms::READ | perms::ADMIN)?;
                let stat = node.stat();
                let admin = acl::check(
                    node.acl(),
                    perms::ADMIN,
                    self.auth_of(conn),
                    &self.providers(),
                );
                let acl = if admin {
                    node.acl().to_vec()
                } else {
                    acl::redact(node.acl())
                };
                Ok(ResponseBody::GetAcl(GetAclResponse { acl, stat }))
            }
            RequestBody::GetAllChildrenNumber(r) => {
                self.readable(conn, &r.path, perms::READ)?;
                let total_number = self
                    .tree
                    .count_descendants(&r.path)
                    .ok_or(ErrorCode::NoNode)?;
                Ok(ResponseBody::GetAllChildrenNumber(
                    GetAllChildrenNumberResponse { total_number },
                ))
            }
            RequestBody::GetEphemerals(r) => {
                let session = self
                    .conns
                    .get(&conn)
                    .and_then(|c| c.session_id())
                    .unwrap_or(0);
                let prefix = r.prefix_path.trim();
                let all = prefix.is_empty() || prefix == "/";
                let ephemerals = self
                    .tree
                    .ephemerals_of(session)
                    .filter(|p| all || p.starts_with(&r.prefix_path))
                    .map(str::to_owned)
                    .collect();
                Ok(ResponseBody::GetEphemerals(GetEphemeralsResponse {
                    ephemerals,
                }))
            }
            RequestBody::Multi(ops) => Ok(ResponseBody::Multi(self.multi_read(conn, ops))),
            RequestBody::SetWatches(w) => {
                self.set_watches(conn, w);
                Ok(ResponseBody::Empty)
            }
            RequestBody::AddWatch(r) => {
                match r.mode {
                    0 => self.watches.add_persistent(&r.path, conn, false),
                    1 => self.watches.add_persistent(&r.path, conn, true),
                    _ => return Err(ErrorCode::MarshallingError),
                }
                Ok(ResponseBody::AddWatch)
            }
            RequestBody::RemoveWatches(r) => {
                let kind =
                    WatcherType::from_code(r.watch_type).ok_or(ErrorCode::MarshallingError)?;
                if self.watches.remove(&r.path, kind, conn) {
                    Ok(ResponseBody::Empty)
                } else {
                    Err(ErrorCode::NoWatcher)
                }
            }
            RequestBody::CheckWatches(r) => {
                let kind =
                    WatcherType::from_code(r.watch_type).ok_or(ErrorCode::MarshallingError)?;
                if self.watches.contains(&r.path, kind, conn) {
                    Ok(ResponseBody::Empty)
                } else {
                    Err(ErrorCode::NoWatcher)
                }
            }
            RequestBody::WhoAmI => {
                let client_info = self
                    .auth_of(conn)
                    .iter()
                    .map(|id| ClientInfo {
                        auth_scheme: id.scheme.clone(),
                        user: match id.scheme.as_str() {
                            "digest" => id
                                .id
                                .split_once(':')
                                .map_or(id.id.clone(), |(u, _)| u.to_owned()),
                            // No provider owns "super": AuthUtil.getUser gives no name.
                            "super" => String::new(),
                            _ => id.id.clone(),
                        },
                    })
                    .collect();
                Ok(ResponseBody::WhoAmI(WhoAmIResponse { client_info }))
            }
            RequestBody::Ping => Ok(ResponseBody::Empty),
            // SASL packets are answered by sasl.rs before they could be queued as reads.
            RequestBody::Sasl(_) => Ok(ResponseBody::Sasl(SetSaslResponse { token: None })),
            _ => Err(ErrorCode::Unimplemented),
        }
    }

    fn get_data(&self, conn: ConnId, path: &str) -> Result<(crate::Data, Stat), ErrorCode> {
        let node = self.readable(conn, path, perms::READ)?;
        Ok((node.data().clone(), node.stat()))
    }

    fn get_children(&self, conn: ConnId, path: &str) -> Result<(Vec<String>, Stat), ErrorCode> {
        let node = self.readable(conn, path, perms::READ)?;
        Ok((node.children().map(str::to_owned).collect(), node.stat()))
    }

    /// multiRead: each op answered on its own; failures do not stop the others.
    fn multi_read(&self, conn: ConnId, ops: &[MultiOp]) -> Vec<MultiResult> {
        ops.iter()
            .map(|op| match op {
                MultiOp::GetData(r) => match self.get_data(conn, &r.path) {
                    // ZooKeeper ignores the watch flag of ops inside multiRead.
                    Ok((data, stat)) => MultiResult::GetData { data, stat },
                    Err(e) => MultiResult::Error(e),
                },
                MultiOp::GetChildren(r) => match self.get_children(conn, &r.path) {
                    Ok((children, _)) => MultiResult::GetChildren(children),
                    Err(e) => MultiResult::Error(e),
                },
                _ => MultiResult::Error(ErrorCode::BadArguments),
            })
            .collect()
    }

    /// setWatches on reconnect: events the client missed since `relative_zxid` are delivered now; the rest
    /// of the watches are registered (DataTree.setWatches).
    fn set_watches(&mut self, conn: ConnId, w: &SetWatches2) {
        use crate::watch::EventType;
        let rel = w.relative_zxid;
        let mut events = Vec::new();
        for p in &w.data_watches {
            match self.tree.stat(p) {
                None => {
                    events.push((EventType::NodeDeleted, p));
                }
                Some(s) if s.mzxid > rel => {
                    events.push((EventType::NodeDataChanged, p));
                }
                Some(_) => self.watches.data.add(p, conn, WatchMode::Standard),
            }
        }
        for p in &w.exist_watches {
            match self.tree.stat(p) {
                Some(_) => {
                    events.push((EventType::NodeCreated, p));
                }
                None => self.watches.data.add(p, conn, WatchMode::Standard),
            }
        }
        for p in &w.child_watches {
            match self.tree.stat(p) {
                None => {
                    events.push((EventType::NodeDeleted, p));
                }
                Some(s) if s.pzxid > rel => {
                    events.push((EventType::NodeChildrenChanged, p));
                }
                Some(_) => self.watches.child.add(p, conn, WatchMode::Standard),
            }
        }
        for p in &w.persistent_watches {
            self.watches.add_persistent(p, conn, false);
        }
        for p in &w.persistent_recursive_watches {
            self.watches.add_persistent(p, conn, true);
        }
        let mut out = std::mem::take(&mut self.pending_events);
        for (ty, p) in events {
            out.push((
                conn,
                WatcherEvent {
                    event_type: ty.code(),
                    state: crate::watch::KeeperState::SyncConnected.code(),
                    path: p.clone(),
                },
            ));
        }
        self.pending_events = out;
    }

    /// Whether the connection's session may still make requests.
    pub(super) fn session_ok(&self, conn: ConnId) -> bool {
        if self.conns.get(&conn).is_some_and(|c| c.read_only) {
            // A read-only session is local: this server alone knows whether it lives.
            return self.read_only_session_live(conn);
        }
        if self.is_follower() {
            // Only the leader knows whether a session lives; it answers for the requests we forward.
            return self
                .conns
                .get(&conn)
                .is_some_and(|c| c.session_id().is_some());
        }
        match self.conns.get(&conn).map(|c| c.state) {
            Some(ConnState::Connected { session_id, .. })
            | Some(ConnState::Creating { session_id, .. }) => self.sessions.is_live(session_id),
            _ => false,
        }
    }
}
