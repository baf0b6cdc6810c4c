//! The txn records of Apache ZooKeeper 3.8's logs (the bodies [`crate::zookeeper_log`] splits out), decoded
//! into rzk's own [`LoggedTxn`] so that rzk can replay a ZooKeeper log when it takes over a data directory.
//!
//! A body is the typed record (zookeeper.jute, read as `SerializeUtils.deserializeTxn` does) and, in 3.6+ logs,
//! a 12-byte TxnDigest. ZooKeeper's own reader decides whether to expect the digest (and a closeSession record)
//! from its configuration; the files do not say, so this reader goes by the bytes: after the record, 12 bytes
//! left are the digest, none is no digest, anything else is an error. Two record shapes older ZooKeepers wrote
//! are accepted as ZooKeeper accepts them: CreateTxnV0 (no parentCVersion, read as -1) and a closeSession with
//! no record. A top-level check (type 13), which 3.8.0 logs but cannot read back, decodes as [`Txn::Check`].
//! Every count and length is checked against the bytes left before anything is allocated or sliced.

use rzk_core::proto::records::{Acl, Id};
use rzk_core::proto::ErrorCode;
use rzk_core::tree::{NodeKind, CONTAINER_OWNER};
use rzk_core::txn::{LoggedTxn, Txn, TxnHeader};
use rzk_core::Data;

use crate::zookeeper_log::ZkTxn;

/// TxnDigest: int version, long treeDigest.
const DIGEST_LEN: usize = 12;
/// The smallest encodings, for bounding counts: a ustring (its length), an ACL (perms and two ustring
/// lengths), a multi's sub-txn (type and buffer length).
const MIN_STRING: usize = 4;
const MIN_ACL: usize = 12;
const MIN_SUB_TXN: usize = 8;

/// One ZooKeeper txn as rzk replays it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkDecodedTxn {
    /// header: session_id = client_id, cxid, zxid, time.
    pub txn: LoggedTxn,
    /// closeSession's paths2Delete (ZooKeeper deletes these and any other ephemerals of the session); empty
    /// otherwise.
    pub close_paths: Vec<String>,
    /// The TxnDigest after the record: (version, tree digest), if present.
    pub digest: Option<(i32, i64)>,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ZkTxnError {
    /// ZooKeeper's reader fails the same way ("Unsupported Txn with type=N").
    #[error("txn {zxid:#x} (type {txn_type}): unsupported txn type")]
    Unsupported { zxid: i64, txn_type: i32 },
    #[error("txn {zxid:#x} (type {txn_type}): {problem}")]
    Malformed {
        zxid: i64,
        txn_type: i32,
        problem: ZkRecordError,
    },
}

/// What is wrong with a record's bytes. Offsets count from the start of the record (for a multi's sub-txn,
/// of its own record).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ZkRecordError {
    #[error("record ends early (a field at byte {0} runs past the end)")]
    EndsEarly(usize),
    #[error("bad length {len} at byte {at}")]
    BadLength { len: i32, at: usize },
    #[error("count {count} at byte {at} is more than the remaining bytes could hold")]
    BadCount { count: i32, at: usize },
    #[error("the string at byte {0} is not UTF-8")]
    BadUtf8(usize),
    #[error("null path at byte {0}")]
    NullPath(usize),
    #[error("TTL {0} is out of range")]
    BadTtl(i64),
    #[error("unknown error code {0}")]
    UnknownErrorCode(i32),
    #[error("{0} trailing bytes after the record (a digest is 12)")]
    TrailingBytes(usize),
    #[error("unsupported txn type {0}")]
    UnsupportedType(i32),
    #[error("sub-txn {index} (type {sub_type}): {problem}")]
    SubTxn {
        index: usize,
        sub_type: i32,
        problem: Box<ZkRecordError>,
    },
}

/// Decodes one txn: its record, the closeSession paths and the digest.
pub fn decode(txn: &ZkTxn) -> Result<ZkDecodedTxn, ZkTxnError> {
    let h = &txn.header;
    let (record, close_paths, digest) =
        decode_body(h.txn_type, h.client_id, &txn.body).map_err(|problem| match problem {
            ZkRecordError::UnsupportedType(_) => ZkTxnError::Unsupported {
                zxid: h.zxid,
                txn_type: h.txn_type,
            },
            problem => ZkTxnError::Malformed {
                zxid: h.zxid,
                txn_type: h.txn_type,
                problem,
            },
        })?;
    Ok(ZkDecodedTxn {
        txn: LoggedTxn {
            header: TxnHeader {
                session_id: h.client_id,
                cxid: h.cxid,
                zxid: h.zxid,
                time: h.time,
            },
            txn: record,
        },
        close_paths,
        digest,
    })
}

type Body = (Txn, Vec<String>, Option<(i32, i64)>);

fn decode_body(txn_type: i32, session: i64, body: &[u8]) -> Result<Body, ZkRecordError> {
    let mut r = Reader { bytes: body, at: 0 };
    let (record, close_paths) = match txn_type {
        -10 => (Txn::CreateSession { timeout: r.int()? }, Vec::new()),
        -11 => return close_session(body),
        14 => (multi(&mut r, session)?, Vec::new()),
        t => (record(&mut r, t, session)?, Vec::new()),
    };
    Ok((record, close_paths, trailer(&mut r)?))
}

/// closeSession has no record before 3.6 or with `zookeeper.closeSessionTxn.enabled=false`, yet 3.6+ still
/// writes the digest then: a 12-byte body that is not a whole CloseSessionTxn is that digest alone. (A
/// CloseSessionTxn of exactly 12 bytes holds one 4-byte path, and its count 1 is no digest version ZooKeeper
/// writes.)
fn close_session(body: &[u8]) -> Result<Body, ZkRecordError> {
    let mut r = Reader { bytes: body, at: 0 };
    if body.is_empty() {
        return Ok((Txn::CloseSession, Vec::new(), None));
    }
    let full = r
        .count(MIN_STRING)
        .and_then(|n| (0..n).map(|_| r.path()).collect::<Result<Vec<_>, _>>())
        .and_then(|paths| Ok((paths, trailer(&mut r)?)));
    match full {
        Ok((paths, digest)) => Ok((Txn::CloseSession, paths, digest)),
        Err(_) if body.len() == DIGEST_LEN => {
            let mut r = Reader { bytes: body, at: 0 };
            Ok((Txn::CloseSession, Vec::new(), trailer(&mut r)?))
        }
        Err(e) => Err(e),
    }
}

/// The digest after a top-level record, if any.
fn trailer(r: &mut Reader) -> Result<Option<(i32, i64)>, ZkRecordError> {
    match r.remaining() {
        0 => Ok(None),
        DIGEST_LEN => Ok(Some((r.int()?, r.long()?))),
        n => Err(ZkRecordError::TrailingBytes(n)),
    }
}

/// MultiTxn: each sub-txn's record is a buffer of its own, with no header and no digest.
fn multi(r: &mut Reader, session: i64) -> Result<Txn, ZkRecordError> {
    let n = r.count(MIN_SUB_TXN)?;
    let mut txns = Vec::with_capacity(n);
    for index in 0..n {
        let sub_type = r.int()?;
        // A null record reads as empty, which no sub-txn type fits: it fails as "ends early".
        let bytes = r.buffer()?.unwrap_or_default();
        let mut sub = Reader { bytes, at: 0 };
        let txn = match sub_type {
            // ZooKeeper's MultiTxn cannot nest these, and rzk's apply has no meaning for them inside a multi.
            -10 | -11 | 14 => Err(ZkRecordError::UnsupportedType(sub_type)),
            t => record(&mut sub, t, session).and_then(|txn| match sub.remaining() {
                0 => Ok(txn),
                n => Err(ZkRecordError::TrailingBytes(n)),
            }),
        }
        .map_err(|problem| ZkRecordError::SubTxn {
            index,
            sub_type,
            problem: Box::new(problem),
        })?;
        txns.push(txn);
    }
    Ok(Txn::Multi(txns))
}

/// The records that may stand alone or inside a multi.
fn record(r: &mut Reader, txn_type: i32, session: i64) -> Result<Txn, ZkRecordError> {
    Ok(match txn_type {
        -1 => {
            let code = r.int()?;
            Txn::Error {
                err: ErrorCode::from_code(code).ok_or(ZkRecordError::UnknownErrorCode(code))?,
            }
        }
        1 | 15 | 19 | 21 => create(r, txn_type, session)?,
        2 | 20 => Txn::Delete { path: r.path()? },
        // A reconfig is a SetDataTxn on /zookeeper/config, applied as the setData it is.
        5 | 16 => {
            let path = r.path()?;
            let data = r.data()?;
            let version = r.int()?;
            Txn::SetData {
                path,
                data,
                version,
            }
        }
        7 => Txn::SetAcl {
            path: r.path()?,
            acl: r.acl()?,
            version: r.int()?,
        },
        13 => {
            let path = r.path()?;
            // The version checked is not needed to apply a check.
            r.int()?;
            Txn::Check { path }
        }
        t => return Err(ZkRecordError::UnsupportedType(t)),
    })
}

/// CreateTxn (1, 15), CreateContainerTxn (19), CreateTTLTxn (21); the owner is encoded here as the tree
/// stores it.
fn create(r: &mut Reader, txn_type: i32, session: i64) -> Result<Txn, ZkRecordError> {
    let path = r.path()?;
    let data = r.data()?;
    let acl = r.acl()?;
    let (ephemeral_owner, parent_cversion) = match txn_type {
        19 => (CONTAINER_OWNER, r.int()?),
        21 => {
            let parent_cversion = r.int()?;
            let ttl = r.long()?;
            if !NodeKind::is_valid_ttl(ttl) {
                return Err(ZkRecordError::BadTtl(ttl));
            }
            (NodeKind::Ttl(ttl).to_owner(), parent_cversion)
        }
        _ => {
            let owner = if r.boolean()? { session } else { 0 };
            // CreateTxnV0 ends here: ZooKeeper reads it on EOF with parentCVersion -1.
            let parent_cversion = if r.remaining() == 0 { -1 } else { r.int()? };
            (owner, parent_cversion)
        }
    };
    Ok(Txn::Create {
        path,
        data,
        acl,
        ephemeral_owner,
        parent_cversion,
    })
}

/// A cursor over big-endian jute.
#[derive(Clone, Copy)]
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], ZkRecordError> {
        let b = self
            .bytes
            .get(self.at..self.at.saturating_add(n))
            .ok_or(ZkRecordError::EndsEarly(self.at))?;
        self.at += n;
        Ok(b)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], ZkRecordError> {
        let at = self.at;
        self.take(N)?
            .try_into()
            .map_err(|_| ZkRecordError::EndsEarly(at))
    }
    fn int(&mut self) -> Result<i32, ZkRecordError> {
        Ok(i32::from_be_bytes(self.array()?))
    }
    fn long(&mut self) -> Result<i64, ZkRecordError> {
        Ok(i64::from_be_bytes(self.array()?))
    }
    fn boolean(&mut self) -> Result<bool, ZkRecordError> {
        Ok(self.array::<1>()?[0] != 0)
    }
    /// A buffer (None when its length is -1).
    fn buffer(&mut self) -> Result<Option<&'a [u8]>, ZkRecordError> {
        let at = self.at;
        match self.int()? {
            -1 => Ok(None),
            len => {
                let n = usize::try_from(len).map_err(|_| ZkRecordError::BadLength { len, at })?;
                self.take(n).map(Some)
            }
        }
    }
    fn data(&mut self) -> Result<Data, ZkRecordError> {
        Ok(self.buffer()?.map_or(Data::null(), Data::copy_from_slice))
    }
    /// A ustring (None when its length is -1).
    fn string(&mut self) -> Result<Option<String>, ZkRecordError> {
        let at = self.at;
        self.buffer()?
            .map(|b| String::from_utf8(b.to_vec()).map_err(|_| ZkRecordError::BadUtf8(at)))
            .transpose()
    }
    fn path(&mut self) -> Result<String, ZkRecordError> {
        let at = self.at;
        self.string()?.ok_or(ZkRecordError::NullPath(at))
    }
    /// A vector's count, bounded by what the remaining bytes could hold (`min` bytes each); a null vector
    /// (-1) counts 0.
    fn count(&mut self, min: usize) -> Result<usize, ZkRecordError> {
        Ok(self.vector(min)?.unwrap_or(0))
    }
    fn vector(&mut self, min: usize) -> Result<Option<usize>, ZkRecordError> {
        let at = self.at;
        match self.int()? {
            -1 => Ok(None),
            count => match usize::try_from(count) {
                Ok(n) if n.saturating_mul(min) <= self.remaining() => Ok(Some(n)),
                _ => Err(ZkRecordError::BadCount { count, at }),
            },
        }
    }
    /// vector<ACL>. A null vector is what ZooKeeper's ACL cache turns into world:anyone with all permissions
    /// (`convertAcls(null)` is OPEN_UNSAFE_ACL_ID), so it decodes as that ACL.
    fn acl(&mut self) -> Result<Vec<Acl>, ZkRecordError> {
        let Some(n) = self.vector(MIN_ACL)? else {
            return Ok(vec![Acl {
                perms: 31,
                id: Id {
                    scheme: "world".into(),
                    id: "anyone".into(),
                },
            }]);
        };
        let mut acl = Vec::with_capacity(n);
        for _ in 0..n {
            let perms = self.int()?;
            // As the snapshot reader: a null scheme or id reads as empty.
            let scheme = self.string()?.unwrap_or_default();
            let id = self.string()?.unwrap_or_default();
            acl.push(Acl {
                perms,
                id: Id { scheme, id },
            });
        }
        Ok(acl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zookeeper_log::ZkTxnHeader;

    const LOG: &[u8] = include_bytes!("../tests/fixtures/zookeeper/log.1");
    const SESSION: i64 = 0x0100_00fb_eddf_0000;

    fn fixture() -> Vec<ZkTxn> {
        crate::zookeeper_log::parse(LOG).unwrap().txns
    }

    /// Jute, written by hand.
    #[derive(Default)]
    struct W(Vec<u8>);

    impl W {
        fn int(mut self, v: i32) -> W {
            self.0.extend(v.to_be_bytes());
            self
        }
        fn long(mut self, v: i64) -> W {
            self.0.extend(v.to_be_bytes());
            self
        }
        fn boolean(mut self, v: bool) -> W {
            self.0.push(u8::from(v));
            self
        }
        fn buffer(mut self, b: &[u8]) -> W {
            self = self.int(b.len() as i32);
            self.0.extend(b);
            self
        }
        fn string(self, s: &str) -> W {
            self.buffer(s.as_bytes())
        }
        fn world_acl(self) -> W {
            self.int(1).int(31).string("world").string("anyone")
        }
        fn digest(self) -> W {
            self.int(2).long(0x1234)
        }
    }

    fn zk(txn_type: i32, body: W) -> ZkTxn {
        ZkTxn {
            header: ZkTxnHeader {
                client_id: SESSION,
                cxid: 7,
                zxid: 0x1_0000_00a5,
                time: 1_700_000_000_000,
                txn_type,
            },
            body: body.0,
        }
    }

    fn world() -> Vec<Acl> {
        vec![Acl {
            perms: 31,
            id: Id {
                scheme: "world".into(),
                id: "anyone".into(),
            },
        }]
    }

    fn problem(r: Result<ZkDecodedTxn, ZkTxnError>) -> ZkRecordError {
        match r {
            Err(ZkTxnError::Malformed { problem, .. }) => problem,
            other => panic!("expected a malformed record, got {other:?}"),
        }
    }

    /// Written by Debian's ZooKeeper 3.8.0; the facts below are read off TxnLogToolkit's dump beside it.
    #[test]
    fn every_fixture_txn_decodes_as_txn_log_toolkit_shows_it() {
        let txns = fixture();
        assert_eq!(txns.len(), 32);
        let decoded: Vec<ZkDecodedTxn> = txns.iter().map(|t| decode(t).unwrap()).collect();
        let at = |zxid: i64| {
            let d = decoded.iter().find(|d| d.txn.header.zxid == zxid).unwrap();
            (d.txn.header, &d.txn.txn, d)
        };
        for (t, d) in txns.iter().zip(&decoded) {
            let h = d.txn.header;
            assert_eq!(
                (h.session_id, h.cxid, h.zxid, h.time),
                (
                    t.header.client_id,
                    t.header.cxid,
                    t.header.zxid,
                    t.header.time
                )
            );
            // Every txn carries the digest except the failed standalone write.
            assert_eq!(d.digest.is_none(), t.header.txn_type == -1, "{h:?}");
            assert!(d.digest.is_none_or(|(version, _)| version == 2));
        }

        let (h, txn, _) = at(0x1);
        assert_eq!((h.session_id, h.cxid), (SESSION, 0));
        assert_eq!(txn, &Txn::CreateSession { timeout: 30000 });
        assert_eq!(at(0x2).1, &Txn::CreateSession { timeout: 10000 });
        assert_eq!(
            at(0x3).1,
            &Txn::Create {
                path: "/p".into(),
                data: Data::from_static(b"hello"),
                acl: world(),
                ephemeral_owner: 0,
                parent_cversion: 1,
            }
        );
        // Ephemeral: owned by the header's session. Null data stays null, empty stays empty.
        let Txn::Create {
            ephemeral_owner,
            data,
            ..
        } = at(0x7).1
        else {
            panic!()
        };
        assert_eq!((*ephemeral_owner, data), (SESSION, &Data::default()));
        let Txn::Create { path, data, .. } = at(0x8).1 else {
            panic!()
        };
        assert_eq!((path.as_str(), data.is_null()), ("/nulldata", true));
        let Txn::Create { acl, .. } = at(0x9).1 else {
            panic!()
        };
        assert_eq!(acl.len(), 2);
        assert_eq!(
            (
                acl[0].perms,
                acl[0].id.scheme.as_str(),
                acl[0].id.id.as_str()
            ),
            (31, "digest", "user:2Om+GBbT2q/tS6pdvACZbbm7/1A=")
        );
        assert_eq!(acl[1].perms, 1);
        // createTtl /ttl ... 5,3600000 and createContainer /c ... 7.
        assert_eq!(
            at(0xa).1,
            &Txn::Create {
                path: "/ttl".into(),
                data: Data::from_static(b"t"),
                acl: world(),
                ephemeral_owner: NodeKind::Ttl(3_600_000).to_owner(),
                parent_cversion: 5,
            }
        );
        let Txn::Create {
            ephemeral_owner, ..
        } = at(0xb).1
        else {
            panic!()
        };
        assert_eq!(NodeKind::from_owner(*ephemeral_owner), NodeKind::Ttl(1000));
        assert_eq!(
            at(0xc).1,
            &Txn::Create {
                path: "/c".into(),
                data: Data::from_static(b"cdata"),
                acl: world(),
                ephemeral_owner: CONTAINER_OWNER,
                parent_cversion: 7,
            }
        );
        assert_eq!(
            at(0x10).1,
            &Txn::Delete {
                path: "/c/child".into()
            }
        );

        let Txn::Multi(ops) = at(0x11).1 else {
            panic!()
        };
        assert_eq!(
            ops.iter().map(Txn::type_name).collect::<Vec<_>>(),
            ["create", "create", "check", "setData", "delete"]
        );
        assert_eq!(ops[2], Txn::Check { path: "/p".into() });
        assert_eq!(
            ops[3],
            Txn::SetData {
                path: "/p".into(),
                data: Data::from_static(b"hello2"),
                version: 1,
            }
        );
        // The failed multi: the op before the failure as it was, the failing one and the rest as errors; the
        // tree (and so its digest) is unchanged.
        let (_, txn, failed) = at(0x12);
        let Txn::Multi(ops) = txn else { panic!() };
        assert_eq!(ops.len(), 3);
        assert!(matches!(&ops[0], Txn::Create { path, .. } if path == "/m3"));
        assert_eq!(
            ops[1..],
            [
                Txn::Error {
                    err: ErrorCode::BadVersion
                },
                Txn::Error {
                    err: ErrorCode::RuntimeInconsistency
                }
            ]
        );
        assert_eq!(failed.digest, at(0x11).2.digest);
        assert_eq!(
            at(0x13).1,
            &Txn::Error {
                err: ErrorCode::NodeExists
            }
        );

        let Txn::SetAcl { path, acl, version } = at(0x14).1 else {
            panic!()
        };
        assert_eq!(
            (
                path.as_str(),
                acl.len(),
                acl[0].id.scheme.as_str(),
                *version
            ),
            ("/acl", 1, "digest", 1)
        );
        assert_eq!(
            at(0x15).1,
            &Txn::SetData {
                path: "/nulldata".into(),
                data: Data::from_static(b"now-set"),
                version: 1,
            }
        );

        // closeSession v{'/eb,'/p/ebseq-0000000003}, by the second session.
        let (h, txn, close) = at(0x19);
        assert_eq!((h.session_id, txn), (SESSION + 1, &Txn::CloseSession));
        assert_eq!(close.close_paths, ["/eb", "/p/ebseq-0000000003"]);
        assert!(decoded
            .iter()
            .filter(|d| d.txn.header.zxid != 0x19)
            .all(|d| d.close_paths.is_empty()));

        // The container manager's deletes (of an empty container and of an expired TTL node) are plain deletes
        // by session 0.
        for (zxid, path) in [(0x1a, "/c"), (0x1b, "/ttlseq-0000000005")] {
            let (h, txn, _) = at(zxid);
            assert_eq!((h.session_id, h.cxid), (0, 0));
            assert_eq!(txn, &Txn::Delete { path: path.into() });
        }
    }

    #[test]
    fn create_v0_has_no_parent_cversion() {
        let body = W::default()
            .string("/a")
            .buffer(b"x")
            .world_acl()
            .boolean(true);
        let d = decode(&zk(1, body)).unwrap();
        assert_eq!(
            d.txn.txn,
            Txn::Create {
                path: "/a".into(),
                data: Data::from_static(b"x"),
                acl: world(),
                ephemeral_owner: SESSION,
                parent_cversion: -1,
            }
        );
        assert_eq!(d.digest, None);
        assert_eq!(
            (
                d.txn.header.session_id,
                d.txn.header.cxid,
                d.txn.header.zxid
            ),
            (SESSION, 7, 0x1_0000_00a5)
        );
    }

    #[test]
    fn create_kinds_and_their_owners() {
        let base = || W::default().string("/n").int(-1).world_acl();
        let owner = |t: i32, body: W| match decode(&zk(t, body)).unwrap().txn.txn {
            Txn::Create {
                ephemeral_owner,
                parent_cversion,
                data,
                ..
            } => {
                assert!(data.is_null());
                assert_eq!(parent_cversion, 3);
                ephemeral_owner
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(owner(15, base().boolean(false).int(3).digest()), 0);
        assert_eq!(owner(1, base().boolean(true).int(3)), SESSION);
        assert_eq!(owner(19, base().int(3).digest()), CONTAINER_OWNER);
        assert_eq!(
            owner(21, base().int(3).long(42).digest()),
            NodeKind::Ttl(42).to_owner()
        );
        for ttl in [0, -1, rzk_core::tree::MAX_TTL + 1] {
            assert_eq!(
                problem(decode(&zk(21, base().int(3).long(ttl)))),
                ZkRecordError::BadTtl(ttl)
            );
        }
        // A null ACL vector is ZooKeeper's open ACL.
        let body = W::default()
            .string("/n")
            .int(-1)
            .int(-1)
            .boolean(false)
            .int(3);
        let Txn::Create { acl, .. } = decode(&zk(1, body)).unwrap().txn.txn else {
            panic!()
        };
        assert_eq!(acl, world());
    }

    #[test]
    fn close_session_with_and_without_a_record() {
        // Pre-3.6, or closeSessionTxn disabled without digests: no body at all.
        let d = decode(&zk(-11, W::default())).unwrap();
        assert_eq!(
            (&d.txn.txn, d.close_paths.len(), d.digest),
            (&Txn::CloseSession, 0, None)
        );
        // closeSessionTxn disabled in 3.6+: the digest alone.
        let d = decode(&zk(-11, W::default().digest())).unwrap();
        assert_eq!((d.close_paths.len(), d.digest), (0, Some((2, 0x1234))));
        // The record, with and without the digest.
        let d = decode(&zk(
            -11,
            W::default().int(2).string("/x").string("/y/z").digest(),
        ))
        .unwrap();
        assert_eq!(
            (d.close_paths, d.digest),
            (vec!["/x".to_string(), "/y/z".into()], Some((2, 0x1234)))
        );
        let d = decode(&zk(-11, W::default().int(1).string("/abc"))).unwrap();
        assert_eq!((d.close_paths, d.digest), (vec!["/abc".to_string()], None));
        assert!(decode(&zk(-11, W::default().int(3).string("/x"))).is_err());
    }

    #[test]
    fn reconfig_is_a_set_data_on_the_config_node() {
        let config = "server.1=localhost:2888:3888:participant;0.0.0.0:2181\nversion=100000000";
        let body = W::default()
            .string("/zookeeper/config")
            .string(config)
            .int(-1)
            .digest();
        let d = decode(&zk(16, body)).unwrap();
        assert_eq!(
            d.txn.txn,
            Txn::SetData {
                path: "/zookeeper/config".into(),
                data: Data::copy_from_slice(config.as_bytes()),
                version: -1,
            }
        );
        assert_eq!(d.digest, Some((2, 0x1234)));
    }

    #[test]
    fn a_multi_of_check_and_set_data_and_a_top_level_check() {
        let check = W::default().string("/p").int(3);
        let set = W::default().string("/p").buffer(b"v").int(4);
        let body = W::default()
            .int(2)
            .int(13)
            .buffer(&check.0)
            .int(5)
            .buffer(&set.0)
            .digest();
        let d = decode(&zk(14, body)).unwrap();
        assert_eq!(
            d.txn.txn,
            Txn::Multi(vec![
                Txn::Check { path: "/p".into() },
                Txn::SetData {
                    path: "/p".into(),
                    data: Data::from_static(b"v"),
                    version: 4,
                },
            ])
        );
        assert_eq!(d.digest, Some((2, 0x1234)));
        // What ZooKeeper 3.8.0 logs for a standalone check and then cannot read.
        let d = decode(&zk(13, W::default().string("/p").int(3).digest())).unwrap();
        assert_eq!(d.txn.txn, Txn::Check { path: "/p".into() });

        // Sub-records carry no digest, and multis do not nest.
        let body = W::default().int(1).int(13).buffer(&check.digest().0);
        assert_eq!(
            problem(decode(&zk(14, body))),
            ZkRecordError::SubTxn {
                index: 0,
                sub_type: 13,
                problem: Box::new(ZkRecordError::TrailingBytes(12)),
            }
        );
        for t in [14, -10, -11, 99] {
            let body = W::default().int(1).int(t).buffer(&[0; 8]);
            assert!(matches!(
                problem(decode(&zk(14, body))),
                ZkRecordError::SubTxn { problem, .. } if *problem == ZkRecordError::UnsupportedType(t)
            ));
        }
        let body = W::default().int(1).int(-1).buffer(&W::default().int(-9).0);
        assert!(decode(&zk(14, body)).is_err(), "an unknown error code");
    }

    #[test]
    fn unknown_types_are_unsupported() {
        for t in [0, 3, 4, 6, 8, 9, 17, 18, 22, -2, 99] {
            let err = decode(&zk(t, W::default().string("/p").int(0))).unwrap_err();
            assert_eq!(
                err,
                ZkTxnError::Unsupported {
                    zxid: 0x1_0000_00a5,
                    txn_type: t
                }
            );
            assert_eq!(
                err.to_string(),
                format!("txn 0x1000000a5 (type {t}): unsupported txn type")
            );
        }
    }

    #[test]
    fn truncated_records_end_early() {
        let full = W::default()
            .string("/a")
            .buffer(b"data")
            .world_acl()
            .boolean(false)
            .int(1)
            .0;
        // Cut before `ephemeral` (a cut right after it is a CreateTxnV0).
        for cut in 0..full.len() - 5 {
            let err = decode(&zk(1, W(full[..cut].to_vec()))).unwrap_err();
            // A cut inside the ACLs leaves too few bytes for their count.
            assert!(matches!(
                err,
                ZkTxnError::Malformed {
                    problem: ZkRecordError::EndsEarly(_) | ZkRecordError::BadCount { count: 1, .. },
                    ..
                }
            ));
            assert!(err.to_string().starts_with("txn 0x1000000a5 (type 1): "));
        }
        assert_eq!(
            decode(&zk(1, W(full[..3].to_vec())))
                .unwrap_err()
                .to_string(),
            "txn 0x1000000a5 (type 1): record ends early (a field at byte 0 runs past the end)"
        );
        assert!(decode(&zk(-10, W(vec![0, 0, 1]))).is_err());
        assert_eq!(
            problem(decode(&zk(2, W::default().int(-2)))),
            ZkRecordError::BadLength { len: -2, at: 0 }
        );
        assert_eq!(
            problem(decode(&zk(2, W::default().int(-1)))),
            ZkRecordError::NullPath(0)
        );
        assert_eq!(
            problem(decode(&zk(2, W::default().buffer(&[b'/', 0xff])))),
            ZkRecordError::BadUtf8(0)
        );
    }

    #[test]
    fn huge_counts_are_refused_before_allocating() {
        let acl = W::default().string("/a").int(-1).int(i32::MAX);
        assert_eq!(
            problem(decode(&zk(1, acl))),
            ZkRecordError::BadCount {
                count: i32::MAX,
                at: 10
            }
        );
        // 12 bytes could be one ACL at most.
        let acl = W::default()
            .string("/a")
            .int(2)
            .int(31)
            .int(0)
            .int(0)
            .int(0);
        assert!(matches!(
            problem(decode(&zk(7, acl))),
            ZkRecordError::BadCount { count: 2, .. }
        ));
        assert!(matches!(
            problem(decode(&zk(14, W::default().int(0x1000_0000)))),
            ZkRecordError::BadCount { .. }
        ));
        assert!(matches!(
            problem(decode(&zk(-11, W::default().int(-5)))),
            ZkRecordError::BadCount { count: -5, .. }
        ));
        assert!(decode(&zk(-11, W::default().int(i32::MAX).digest())).is_err());
    }

    #[test]
    fn trailing_bytes_are_a_digest_or_an_error() {
        let set = || W::default().string("/p").buffer(b"v").int(4);
        assert_eq!(decode(&zk(5, set())).unwrap().digest, None);
        assert_eq!(
            decode(&zk(5, set().digest())).unwrap().digest,
            Some((2, 0x1234))
        );
        for extra in [1, 5, 11, 13, 24] {
            let mut body = set();
            body.0.extend(vec![0xab; extra]);
            let err = decode(&zk(5, body)).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "txn 0x1000000a5 (type 5): {extra} trailing bytes after the record (a digest is 12)"
                )
            );
        }
        // A top-level error txn: no digest in practice, but one is read like any other's.
        let d = decode(&zk(-1, W::default().int(-101))).unwrap();
        assert_eq!(
            (d.txn.txn, d.digest),
            (
                Txn::Error {
                    err: ErrorCode::NoNode
                },
                None
            )
        );
        assert!(decode(&zk(-1, W::default().int(-101).digest()))
            .unwrap()
            .digest
            .is_some());
    }

    const TYPES: [i32; 16] = [-11, -10, -1, 1, 2, 5, 7, 13, 14, 15, 16, 19, 20, 21, 0, 99];

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_bodies(
            t in proptest::sample::select(TYPES.to_vec()),
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
        ) {
            let _ = decode(&zk(t, W(body)));
        }

        /// Real records cut short or with a byte changed: small ints in the wrong place exercise far more of the
        /// decoder than random bytes do.
        #[test]
        fn never_panics_on_damaged_fixture_records(
            index in 0usize..32,
            cut in proptest::prelude::any::<proptest::sample::Index>(),
            flip in proptest::prelude::any::<(proptest::sample::Index, u8)>(),
            retype in proptest::option::of(proptest::sample::select(TYPES.to_vec())),
        ) {
            let mut txn = fixture().swap_remove(index);
            if !txn.body.is_empty() {
                let i = flip.0.index(txn.body.len());
                txn.body[i] ^= flip.1;
                txn.body.truncate(cut.index(txn.body.len() + 1));
            }
            if let Some(t) = retype {
                txn.header.txn_type = t;
            }
            let _ = decode(&txn);
        }
    }
}
