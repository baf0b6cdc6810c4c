//! SASL authentication of a client connection (opcode 102), and the enforcement of required schemes, as
//! ZooKeeper 3.8's `ZooKeeperServer.processSasl` and `AuthenticationHelper` do them. The exchange itself is
//! [`crate::sasl::DigestMd5Server`]; its nonce is the connection's secret bytes from the driver.
//!
//! Kept apart from ZooKeeper on purpose: ZooKeeper answers SASL packets on its I/O thread, so a SASL reply can
//! overtake the replies of earlier requests of the same connection; rzk answers every request in order.

use tracing::{info, warn};

use super::connection::{Slot, SlotState};
use super::dispatch::grant;
use super::{ConnId, Node, Output};
use crate::proto::records::{ReplyHeader, SetSaslResponse};
use crate::proto::request::{Request, RequestBody};
use crate::proto::{ErrorCode, OpCode, Record};
use crate::sasl::{DigestMd5Server, SaslError, SaslStep, NONCE_LEN};

/// A connection's SASL exchange.
#[derive(serde::Serialize, serde::Deserialize, Debug)]
pub enum SaslState {
    /// In progress (or complete: a further packet is refused, as the JDK's server is then "at illegal
    /// state").
    DigestMd5(Box<DigestMd5Server>),
    /// Failed: nothing more is accepted.
    Failed,
}

impl Node {
    /// Whether the connection may send `op`: with required schemes (enforce.auth / sessionRequireClientSASLAuth)
    /// every packet but auth and sasl needs an id of one of them. If not, queues ZooKeeper's answer (err
    /// SESSIONCLOSEDREQUIRESASLAUTH, no body) and the close, and returns false.
    pub(super) fn auth_enforced(&mut self, now: u64, conn: ConnId, req: &Request) -> bool {
        let required = &self.config.server.enforce_auth_schemes;
        if required.is_empty() || matches!(req.op, OpCode::Auth | OpCode::Sasl) {
            return true;
        }
        let Some(c) = self.conns.get(&conn) else {
            return false;
        };
        if c.auth.iter().any(|id| required.contains(&id.scheme)) {
            return true;
        }
        let held: Vec<&str> = c.auth.iter().map(|id| id.scheme.as_str()).collect();
        warn!(
            conn,
            "Client authentication scheme(s) {held:?} does not match with any of the expected authentication scheme {required:?}, closing session."
        );
        let err = ErrorCode::SessionClosedRequireSaslAuth;
        self.queue_answer(now, conn, req.xid, req.op, err, Some(0), true);
        false
    }

    /// One SASL packet: the next step of the connection's DIGEST-MD5 exchange.
    pub(super) fn on_sasl(&mut self, now: u64, conn: ConnId, req: &Request, out: &mut Vec<Output>) {
        let RequestBody::Sasl(packet) = &req.body else {
            return;
        };
        let server = &self.config.server;
        let Some(users) = &server.sasl_users else {
            // No SASL server: ZooKeeper's processSasl catches the NullPointerException and answers Ok with a
            // null token; the connection stays.
            return self.queue_sasl_reply(now, conn, req.xid, ErrorCode::Ok, None, false);
        };
        let super_password = server.sasl_super_password.clone();
        let lookup = |user: &str| -> Option<String> {
            match (user, &super_password) {
                ("super", Some(p)) => Some(p.clone()),
                _ => users.get(user).cloned(),
            }
        };
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let state = c.sasl.get_or_insert_with(|| {
            let mut nonce = [0u8; NONCE_LEN];
            nonce.copy_from_slice(&c.secret[..NONCE_LEN]);
            SaslState::DigestMd5(Box::new(DigestMd5Server::new(nonce)))
        });
        let result = match state {
            SaslState::DigestMd5(s) => s.step(&packet.token, &lookup),
            SaslState::Failed => Err(SaslError::IllegalState),
        };
        let addr = c.addr;
        match result {
            Ok(SaslStep::Challenge(token)) => {
                self.queue_sasl_reply(now, conn, req.xid, ErrorCode::Ok, Some(token), false)
            }
            Ok(SaslStep::Complete {
                authorization_id,
                token,
                ..
            }) => {
                info!(conn, "Successfully authenticated client: authenticationID={authorization_id}; authorizationID={authorization_id}.");
                let is_super = self.config.server.super_users.contains(&authorization_id);
                if let Some(c) = self.conns.get_mut(&conn) {
                    grant(
                        &mut c.auth,
                        "sasl",
                        authorization_id,
                        is_super.then(String::new),
                    );
                }
                self.queue_sasl_reply(now, conn, req.xid, ErrorCode::Ok, Some(token), false)
            }
            Err(e) => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.sasl = Some(SaslState::Failed);
                }
                self.stats.auth_failed += 1;
                warn!(conn, "Client {addr} failed to SASL authenticate: javax.security.sasl.SaslException: {e}");
                if e.is_unchecked_in_java() {
                    // ZooKeeper does not catch these: its worker drops the connection without a reply.
                    return self.close_conn(conn, out);
                }
                let required = self
                    .config
                    .server
                    .enforce_auth_schemes
                    .iter()
                    .any(|s| s == "sasl");
                if !required && self.config.server.allow_sasl_failed_clients {
                    warn!(
                        conn,
                        "Maintaining client connection despite SASL authentication failure."
                    );
                    return self.queue_sasl_reply(now, conn, req.xid, ErrorCode::Ok, None, false);
                }
                warn!(
                    conn,
                    "Closing client connection due to SASL authentication failure."
                );
                let err = if required {
                    ErrorCode::SessionClosedRequireSaslAuth
                } else {
                    ErrorCode::AuthFailed
                };
                self.queue_sasl_reply(now, conn, req.xid, err, None, true)
            }
        }
    }

    /// A SASL reply: the header and a SetSASLResponse, which ZooKeeper sends even with an error (a null
    /// token), at zxid 0.
    fn queue_sasl_reply(
        &mut self,
        now: u64,
        conn: ConnId,
        xid: i32,
        err: ErrorCode,
        token: Option<Vec<u8>>,
        close: bool,
    ) {
        let header = ReplyHeader {
            xid,
            zxid: 0,
            err: err.code(),
        };
        let body = SetSaslResponse {
            token: token.map(bytes::Bytes::from),
        };
        let bytes = crate::proto::frame::encode_frame(|w| {
            header.write(w);
            body.write(w);
        });
        if let Some(c) = self.conns.get_mut(&conn) {
            c.queue.push_back(Slot {
                xid,
                op: OpCode::Sasl,
                received_at: now,
                state: SlotState::Ready {
                    bytes,
                    zxid: 0,
                    close,
                },
            });
        }
    }
}
