//! Turning a write request into a txn (ZooKeeper's PrepRequestProcessor): validate it against the tree plus
//! pending changes, check ACLs, compute sequential names and new versions. The checks run in ZooKeeper's
//! order so clients get the same error when several apply.

use super::overlay::{NodeView, View};
use crate::acl::{self, perms};
use crate::proto::path;
use crate::proto::records::{Acl, Id};
use crate::proto::request::{MultiOp, RequestBody};
use crate::proto::{ErrorCode, OpCode};
use crate::tree::NodeKind;
use crate::txn::Txn;
use crate::Data;

/// Who is writing, and when.
pub struct PrepCtx<'a> {
    pub session_id: i64,
    pub auth: &'a [Id],
    /// The auth schemes ACLs may name beyond digest and ip.
    pub providers: acl::Providers,
    pub extended_types: bool,
    /// Refuse writes past a quota's hard limit (QuotaExceeded); otherwise they are only logged.
    pub enforce_quota: bool,
}

type PrepResult = Result<Txn, ErrorCode>;

/// Paths nobody may delete.
fn is_special(path: &str) -> bool {
    matches!(
        path,
        "/" | "/zookeeper" | "/zookeeper/quota" | "/zookeeper/config"
    )
}

/// Prepares one write request. An `Err` becomes an error txn (it still takes a zxid, as in ZooKeeper,
/// so the error reply is ordered after every earlier write).
pub fn prep_write(
    view: &mut View<'_>,
    ctx: &PrepCtx<'_>,
    op: OpCode,
    body: &RequestBody,
) -> PrepResult {
    match body {
        RequestBody::Create(r) => prep_create(view, ctx, op, &r.path, &r.data, &r.acl, r.flags, -1),
        RequestBody::CreateTtl(r) => {
            prep_create(view, ctx, op, &r.path, &r.data, &r.acl, r.flags, r.ttl)
        }
        RequestBody::DeleteContainer(_) => prep_client_delete_container(),
        RequestBody::Delete(r) => prep_delete(view, ctx, &r.path, r.version),
        RequestBody::SetData(r) => prep_set_data(view, ctx, &r.path, &r.data, r.version),
        RequestBody::SetAcl(r) => prep_set_acl(view, ctx, &r.path, &r.acl, r.version),
        RequestBody::Check(r) => prep_check(view, ctx, &r.path, r.version),
        _ => Err(ErrorCode::Unimplemented),
    }
}

/// Prepares a multi: all ops or none. On the first failure, earlier ops become `Error{Ok}`, the failed one
/// its error, later ones `Error{RuntimeInconsistency}`, and the view's changes must be discarded.
pub fn prep_multi(view: &mut View<'_>, ctx: &PrepCtx<'_>, ops: &[MultiOp]) -> (Txn, bool) {
    let mut txns = Vec::with_capacity(ops.len());
    let mut failed_at = None;
    for (i, op) in ops.iter().enumerate() {
        let r = match op {
            MultiOp::Create(code, r) => {
                prep_create(view, ctx, *code, &r.path, &r.data, &r.acl, r.flags, -1)
            }
            MultiOp::CreateTtl(r) => prep_create(
                view,
                ctx,
                OpCode::CreateTtl,
                &r.path,
                &r.data,
                &r.acl,
                r.flags,
                r.ttl,
            ),
            MultiOp::Delete(r) => prep_delete(view, ctx, &r.path, r.version),
            MultiOp::SetData(r) => prep_set_data(view, ctx, &r.path, &r.data, r.version),
            MultiOp::Check(r) => prep_check(view, ctx, &r.path, r.version),
            MultiOp::GetChildren(_) | MultiOp::GetData(_) => Err(ErrorCode::BadArguments),
        };
        match r {
            Ok(t) => txns.push(t),
            Err(err) => {
                failed_at = Some((i, err));
                break;
            }
        }
    }
    match failed_at {
        None => (Txn::Multi(txns), true),
        Some((i, err)) => {
            let sub = (0..ops.len())
                .map(|j| Txn::Error {
                    err: match j.cmp(&i) {
                        std::cmp::Ordering::Less => ErrorCode::Ok,
                        std::cmp::Ordering::Equal => err,
                        std::cmp::Ordering::Greater => ErrorCode::RuntimeInconsistency,
                    },
                })
                .collect();
            (Txn::Multi(sub), false)
        }
    }
}

/// The create flags of CreateMode.
struct CreateMode {
    ephemeral: bool,
    sequential: bool,
    container: bool,
    ttl: bool,
}

fn create_mode(flags: i32) -> Option<CreateMode> {
    let (ephemeral, sequential, container, ttl) = match flags {
        0 => (false, false, false, false),
        1 => (true, false, false, false),
        2 => (false, true, false, false),
        3 => (true, true, false, false),
        4 => (false, false, true, false),
        5 => (false, false, false, true),
        6 => (false, true, false, true),
        _ => return None,
    };
    Some(CreateMode {
        ephemeral,
        sequential,
        container,
        ttl,
    })
}

/// Rejects a path for a write the way ZooKeeper's validatePath does (BadArguments).
fn check_path(p: &str, sequential: bool) -> Result<(), ErrorCode> {
    path::validate(p, sequential).map_err(|_| ErrorCode::BadArguments)
}

fn need(view: &View<'_>, p: &str) -> Result<NodeView, ErrorCode> {
    view.get(p).ok_or(ErrorCode::NoNode)
}

fn check_acl(node: &NodeView, perm: i32, ctx: &PrepCtx<'_>) -> Result<(), ErrorCode> {
    if acl::check(&node.acl, perm, ctx.auth, &ctx.providers) {
        Ok(())
    } else {
        Err(ErrorCode::NoAuth)
    }
}

/// ZooKeeper's checkQuota: a write that would pass a quota's limit is logged with ZooKeeper's warning, and
/// refused with QuotaExceeded if the limit is hard and quotas are enforced. Usage and limits are read from
/// the applied tree, as ZooKeeper reads them, so writes still in flight are not counted. ZooKeeper 3.8 checks
/// (and so warns) only with `enforceQuota`; rzk warns about passed limits either way, as ZooKeeper did
/// before 3.7.
fn check_quota(
    view: &View<'_>,
    ctx: &PrepCtx<'_>,
    p: &str,
    bytes_diff: i64,
    count_diff: i64,
) -> Result<(), ErrorCode> {
    for excess in view.tree().quota_check(p, bytes_diff, count_diff) {
        tracing::warn!("{excess}");
        if excess.hard && ctx.enforce_quota {
            return Err(ErrorCode::QuotaExceeded);
        }
    }
    Ok(())
}

/// checkAndIncVersion: -1 matches any version.
fn next_version(current: i32, expected: i32) -> Result<i32, ErrorCode> {
    if expected != -1 && expected != current {
        return Err(ErrorCode::BadVersion);
    }
    Ok(current.wrapping_add(1))
}

#[allow(clippy::too_many_arguments)]
fn prep_create(
    view: &mut View<'_>,
    ctx: &PrepCtx<'_>,
    op: OpCode,
    p: &str,
    data: &Data,
    acl_list: &[Acl],
    flags: i32,
    ttl: i64,
) -> PrepResult {
    let mode = create_mode(flags).ok_or(ErrorCode::BadArguments)?;
    if mode.ttl && !ctx.extended_types {
        return Err(ErrorCode::Unimplemented);
    }
    if mode.ttl {
        if ttl <= 0 || ttl > crate::tree::MAX_TTL {
            return Err(ErrorCode::BadArguments);
        }
    } else if ttl >= 0 || op == OpCode::CreateTtl {
        return Err(ErrorCode::BadArguments);
    }
    let last_slash = p.rfind('/');
    if last_slash.is_none() || p.contains('\0') {
        return Err(ErrorCode::BadArguments);
    }
    let parent_path = path::parent(p);
    if parent_path.is_empty() {
        // Creating "/" itself.
        return Err(ErrorCode::NodeExists);
    }
    let acl_list =
        acl::fixup(acl_list, ctx.auth, &ctx.providers).map_err(|_| ErrorCode::InvalidAcl)?;
    let parent = need(view, parent_path)?;
    check_acl(&parent, perms::CREATE, ctx)?;
    let mut new_path = p.to_owned();
    if mode.sequential {
        new_path.push_str(&format!("{:010}", parent.cversion));
    }
    check_path(&new_path, false)?;
    if view.get(&new_path).is_some() {
        return Err(ErrorCode::NodeExists);
    }
    if matches!(NodeKind::from_owner(parent.owner), NodeKind::Ephemeral(_)) {
        return Err(ErrorCode::NoChildrenForEphemerals);
    }
    check_quota(view, ctx, &new_path, data.len() as i64, 1)?;
    let kind = if mode.ephemeral {
        NodeKind::Ephemeral(ctx.session_id)
    } else if mode.container {
        NodeKind::Container
    } else if mode.ttl {
        NodeKind::Ttl(ttl)
    } else {
        NodeKind::Persistent
    };
    let parent_cversion = parent.cversion.wrapping_add(1);
    let owner = kind.to_owner();
    view.set(
        parent_path,
        Some(NodeView {
            cversion: parent_cversion,
            num_children: parent.num_children + 1,
            ..parent
        }),
    );
    view.set(
        &new_path,
        Some(NodeView {
            version: 0,
            cversion: 0,
            aversion: 0,
            owner,
            num_children: 0,
            acl: acl_list.clone(),
            data_len: data.len(),
        }),
    );
    Ok(Txn::Create {
        path: new_path,
        data: own(data),
        acl: acl_list,
        ephemeral_owner: owner,
        parent_cversion,
    })
}

fn prep_delete(view: &mut View<'_>, ctx: &PrepCtx<'_>, p: &str, version: i32) -> PrepResult {
    if p.rfind('/').is_none() || p.contains('\0') || is_special(p) {
        return Err(ErrorCode::BadArguments);
    }
    let parent_path = path::parent(p);
    let parent = need(view, parent_path)?;
    check_acl(&parent, perms::DELETE, ctx)?;
    let node = need(view, p)?;
    next_version(node.version, version)?;
    if node.num_children > 0 {
        return Err(ErrorCode::NotEmpty);
    }
    view.set(
        parent_path,
        Some(NodeView {
            num_children: parent.num_children - 1,
            ..parent
        }),
    );
    view.set(p, None);
    Ok(Txn::Delete { path: p.to_owned() })
}

/// deleteContainer sent by a client. ZooKeeper 3.8 reads the path as `new String(request.array())`: the
/// whole packet, whose request header (xid and opcode 20) always holds a zero byte, so the path contains
/// `\0` and the answer is BadArguments whatever the body. That is also the safe answer: ZooKeeper would check
/// no ACL for this op.
fn prep_client_delete_container() -> PrepResult {
    Err(ErrorCode::BadArguments)
}

/// deleteContainer, issued by the server's reaper: only empty containers and TTL nodes go. A node of
/// another kind is BadVersion, ZooKeeper's answer.
pub fn prep_delete_container(view: &mut View<'_>, p: &str) -> PrepResult {
    let node = need(view, p)?;
    if node.num_children > 0 {
        return Err(ErrorCode::NotEmpty);
    }
    if !matches!(
        NodeKind::from_owner(node.owner),
        NodeKind::Container | NodeKind::Ttl(_)
    ) {
        return Err(ErrorCode::BadVersion);
    }
    let parent_path = path::parent(p);
    let parent = need(view, parent_path)?;
    view.set(
        parent_path,
        Some(NodeView {
            num_children: parent.num_children - 1,
            ..parent
        }),
    );
    view.set(p, None);
    Ok(Txn::Delete { path: p.to_owned() })
}

fn prep_set_data(
    view: &mut View<'_>,
    ctx: &PrepCtx<'_>,
    p: &str,
    data: &Data,
    version: i32,
) -> PrepResult {
    check_path(p, false)?;
    let node = need(view, p)?;
    check_acl(&node, perms::WRITE, ctx)?;
    check_quota(view, ctx, p, data.len() as i64 - node.data_len as i64, 0)?;
    let version = next_version(node.version, version)?;
    view.set(
        p,
        Some(NodeView {
            version,
            data_len: data.len(),
            ..node
        }),
    );
    Ok(Txn::SetData {
        path: p.to_owned(),
        data: own(data),
        version,
    })
}

fn prep_set_acl(
    view: &mut View<'_>,
    ctx: &PrepCtx<'_>,
    p: &str,
    acl_list: &[Acl],
    version: i32,
) -> PrepResult {
    check_path(p, false)?;
    let acl_list =
        acl::fixup(acl_list, ctx.auth, &ctx.providers).map_err(|_| ErrorCode::InvalidAcl)?;
    let node = need(view, p)?;
    check_acl(&node, perms::ADMIN, ctx)?;
    let version = next_version(node.aversion, version)?;
    view.set(
        p,
        Some(NodeView {
            aversion: version,
            acl: acl_list.clone(),
            ..node
        }),
    );
    Ok(Txn::SetAcl {
        path: p.to_owned(),
        acl: acl_list,
        version,
    })
}

fn prep_check(view: &mut View<'_>, ctx: &PrepCtx<'_>, p: &str, version: i32) -> PrepResult {
    check_path(p, false)?;
    let node = need(view, p)?;
    check_acl(&node, perms::READ, ctx)?;
    next_version(node.version, version)?;
    Ok(Txn::Check { path: p.to_owned() })
}

/// Txn data in its own allocation: decoded requests slice the connection's read buffer, and a txn that
/// lives on (in the log queue, in a simulator's record) must not keep that whole buffer alive.
fn own(data: &Data) -> Data {
    data.detached()
}
