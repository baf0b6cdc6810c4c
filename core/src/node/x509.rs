//! The identity a TLS client proved with its certificate (ZooKeeper's X509AuthenticationProvider, called by
//! NettyServerCnxnFactory's CertificateVerifier once the handshake is done). The driver verifies the chain
//! and hands the subject here; what it is worth is decided here, as for every other auth scheme.

use tracing::{error, info};

use super::dispatch::grant;
use super::{ConnId, Node, Output};

impl Node {
    /// The auth providers configured beyond digest and ip, for ACL checks and new ACLs.
    pub(super) fn providers(&self) -> crate::acl::Providers {
        let s = &self.config.server;
        crate::acl::Providers {
            x509: s.x509_auth,
            sasl: s.sasl_auth,
            let_any_sasl_user_do_x: s.let_any_sasl_user_do_x.clone(),
        }
    }

    /// A client presented a certificate the driver verified: it gets the `x509` id (and `super` when it is
    /// `X509AuthenticationProvider.superUser`). Without the x509 provider configured ZooKeeper cannot
    /// authenticate it and closes the connection; so does rzk.
    pub(super) fn on_client_certificate(
        &mut self,
        conn: ConnId,
        subject: String,
        out: &mut Vec<Output>,
    ) {
        if !self.conns.contains_key(&conn) {
            return;
        }
        if !self.config.server.x509_auth {
            error!(conn, %subject, "X509 Auth provider not found: x509");
            self.stats.auth_failed += 1;
            self.close_conn(conn, out);
            return;
        }
        let is_super = self.config.server.x509_super_user.as_deref() == Some(subject.as_str());
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if is_super {
            info!(conn, "Authenticated Id '{subject}' as super user");
        }
        info!(conn, "Authenticated Id '{subject}' for Scheme 'x509'");
        let super_id = is_super.then(|| subject.clone());
        grant(&mut c.auth, "x509", subject, super_id);
    }
}
