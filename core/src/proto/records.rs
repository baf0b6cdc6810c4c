//! The jute records of the client protocol (zookeeper.jute), as plain Rust structs.
//!
//! Field names follow the jute file; `ustring` is `String`, `buffer` is `Bytes`, `vector<T>` is `Vec<T>`.
//! A jute `buffer` or `vector` may be "null" on the wire (length -1); we read null as empty and write empty,
//! except where a record says otherwise.

use crate::Data;
use bytes::Bytes;

use super::jute::{DecodeError, Reader, Record, Writer};

/// Implements [`Record`] for a struct whose fields are listed in wire order (the order of zookeeper.jute),
/// each with its jute kind: `int`, `long`, `bool`, `buffer`, `string`, `string_vec`, `vec(T)` (of records) or
/// `record(T)` (a nested record). In tests it also gives the struct an `arbitrary()` proptest strategy.
macro_rules! jute_record {
    ($ty:ident { $($field:ident : $kind:ident $(($inner:ty))?),+ $(,)? }) => {
        impl Record for $ty {
            fn write(&self, w: &mut Writer<'_>) {
                $( jute_record!(@write w, self.$field, $kind); )+
            }

            fn read(r: &mut Reader) -> Result<Self, DecodeError> {
                // Struct literal fields are evaluated in the order written, which is the wire order.
                Ok($ty { $( $field: jute_record!(@read r, $kind), )+ })
            }
        }

        #[cfg(test)]
        impl $ty {
            pub(crate) fn arbitrary() -> proptest::strategy::BoxedStrategy<$ty> {
                use proptest::strategy::Strategy;
                ( $( jute_record!(@arb $kind $(, $inner)?), )+ )
                    .prop_map(|( $($field,)+ )| $ty { $($field,)+ })
                    .boxed()
            }
        }
    };
    (@write $w:ident, $v:expr, int) => { $w.write_int($v) };
    (@write $w:ident, $v:expr, long) => { $w.write_long($v) };
    (@write $w:ident, $v:expr, bool) => { $w.write_bool($v) };
    (@write $w:ident, $v:expr, buffer) => { $w.write_buffer(&$v) };
    (@write $w:ident, $v:expr, data) => { $w.write_data(&$v) };
    (@write $w:ident, $v:expr, nullable_buffer) => { $w.write_nullable_buffer($v.as_deref()) };
    (@write $w:ident, $v:expr, string) => { $w.write_string(&$v) };
    (@write $w:ident, $v:expr, string_vec) => { $w.write_string_vec(&$v) };
    (@write $w:ident, $v:expr, vec) => { $w.write_vec(&$v) };
    (@write $w:ident, $v:expr, record) => { $v.write($w) };
    (@read $r:ident, int) => { $r.read_int()? };
    (@read $r:ident, long) => { $r.read_long()? };
    (@read $r:ident, bool) => { $r.read_bool()? };
    (@read $r:ident, buffer) => { $r.read_buffer()? };
    (@read $r:ident, data) => { $r.read_data()? };
    (@read $r:ident, nullable_buffer) => { $r.read_nullable_buffer()? };
    (@read $r:ident, string) => { $r.read_string()? };
    (@read $r:ident, string_vec) => { $r.read_string_vec()? };
    (@read $r:ident, vec) => { $r.read_vec()? };
    (@read $r:ident, record) => { Record::read($r)? };
    (@arb int) => { proptest::prelude::any::<i32>() };
    (@arb long) => { proptest::prelude::any::<i64>() };
    (@arb bool) => { proptest::prelude::any::<bool>() };
    (@arb buffer) => { test_strategies::bytes() };
    (@arb data) => { test_strategies::data() };
    (@arb nullable_buffer) => { proptest::option::of(test_strategies::bytes()) };
    (@arb string) => { test_strategies::string() };
    (@arb string_vec) => { proptest::collection::vec(test_strategies::string(), 0..4) };
    (@arb vec, $t:ty) => { proptest::collection::vec(<$t>::arbitrary(), 0..4) };
    (@arb record, $t:ty) => { <$t>::arbitrary() };
}

/// Building blocks for the generated `arbitrary()` strategies.
#[cfg(test)]
pub(crate) mod test_strategies {
    use bytes::Bytes;
    use proptest::prelude::*;

    /// Any Unicode, including multi-byte characters, kept short.
    pub fn string() -> impl Strategy<Value = String> {
        proptest::collection::vec(any::<char>(), 0..12).prop_map(|cs| cs.into_iter().collect())
    }

    pub fn bytes() -> impl Strategy<Value = Bytes> {
        proptest::collection::vec(any::<u8>(), 0..32).prop_map(Bytes::from)
    }

    /// Znode data: null sometimes, empty sometimes.
    pub fn data() -> impl Strategy<Value = crate::Data> {
        proptest::option::of(bytes()).prop_map(crate::Data::from)
    }
}

/// An identity: `scheme` (world, auth, digest, ip, super, ...) and the scheme's `id`.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Id {
    pub scheme: String,
    pub id: String,
}

jute_record!(Id {
    scheme: string,
    id: string,
});

/// One ACL entry: a permission bit set granted to an identity.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Acl {
    pub perms: i32,
    pub id: Id,
}

jute_record!(Acl {
    perms: int,
    id: record(Id),
});

/// A znode's metadata as clients see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Stat {
    pub czxid: i64,
    pub mzxid: i64,
    pub ctime: i64,
    pub mtime: i64,
    pub version: i32,
    pub cversion: i32,
    pub aversion: i32,
    pub ephemeral_owner: i64,
    pub data_length: i32,
    pub num_children: i32,
    pub pzxid: i64,
}

jute_record!(Stat {
    czxid: long,
    mzxid: long,
    ctime: long,
    mtime: long,
    version: int,
    cversion: int,
    aversion: int,
    ephemeral_owner: long,
    data_length: int,
    num_children: int,
    pzxid: long,
});

/// The first frame a client sends. `read_only` is absent on the wire from very old clients.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectRequest {
    pub protocol_version: i32,
    pub last_zxid_seen: i64,
    pub time_out: i32,
    pub session_id: i64,
    pub passwd: Bytes,
    pub read_only: bool,
}

/// `read_only` is not in zookeeper.jute: ZooKeeper reads it after the record only if a byte is left, so a
/// missing byte means false. It is always written.
impl Record for ConnectRequest {
    fn write(&self, w: &mut Writer<'_>) {
        w.write_int(self.protocol_version);
        w.write_long(self.last_zxid_seen);
        w.write_int(self.time_out);
        w.write_long(self.session_id);
        w.write_buffer(&self.passwd);
        w.write_bool(self.read_only);
    }

    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        Ok(ConnectRequest {
            protocol_version: r.read_int()?,
            last_zxid_seen: r.read_long()?,
            time_out: r.read_int()?,
            session_id: r.read_long()?,
            passwd: r.read_buffer()?,
            read_only: read_optional_bool(r)?,
        })
    }
}

/// A trailing boolean that old peers leave out.
fn read_optional_bool(r: &mut Reader) -> Result<bool, DecodeError> {
    if r.remaining() == 0 {
        Ok(false)
    } else {
        r.read_bool()
    }
}

/// The server's answer to [`ConnectRequest`]. A `time_out` of 0 and `session_id` 0 tell the client its
/// session is expired or invalid.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectResponse {
    pub protocol_version: i32,
    pub time_out: i32,
    pub session_id: i64,
    pub passwd: Bytes,
    pub read_only: bool,
}

/// Like [`ConnectRequest`], the trailing `read_only` is optional on read and always written.
impl Record for ConnectResponse {
    fn write(&self, w: &mut Writer<'_>) {
        w.write_int(self.protocol_version);
        w.write_int(self.time_out);
        w.write_long(self.session_id);
        w.write_buffer(&self.passwd);
        w.write_bool(self.read_only);
    }

    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        Ok(ConnectResponse {
            protocol_version: r.read_int()?,
            time_out: r.read_int()?,
            session_id: r.read_long()?,
            passwd: r.read_buffer()?,
            read_only: read_optional_bool(r)?,
        })
    }
}

/// Sent by a client on reconnect to re-register its one-shot watches (opcode setWatches, xid -8).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetWatches {
    pub relative_zxid: i64,
    pub data_watches: Vec<String>,
    pub exist_watches: Vec<String>,
    pub child_watches: Vec<String>,
}

jute_record!(SetWatches {
    relative_zxid: long,
    data_watches: string_vec,
    exist_watches: string_vec,
    child_watches: string_vec,
});

/// setWatches2 adds persistent and persistent-recursive watches.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct SetWatches2 {
    pub relative_zxid: i64,
    pub data_watches: Vec<String>,
    pub exist_watches: Vec<String>,
    pub child_watches: Vec<String>,
    pub persistent_watches: Vec<String>,
    pub persistent_recursive_watches: Vec<String>,
}

jute_record!(SetWatches2 {
    relative_zxid: long,
    data_watches: string_vec,
    exist_watches: string_vec,
    child_watches: string_vec,
    persistent_watches: string_vec,
    persistent_recursive_watches: string_vec,
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestHeader {
    pub xid: i32,
    /// The opcode's wire value (see [`super::OpCode`]).
    pub op: i32,
}

jute_record!(RequestHeader { xid: int, op: int });

/// Precedes each op of a multi request and each result of a multi response; a header with `done` ends the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MultiHeader {
    pub op: i32,
    pub done: bool,
    pub err: i32,
}

jute_record!(MultiHeader {
    op: int,
    done: bool,
    err: int,
});

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthPacket {
    pub auth_type: i32,
    pub scheme: String,
    pub auth: Bytes,
}

jute_record!(AuthPacket {
    auth_type: int,
    scheme: string,
    auth: buffer,
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplyHeader {
    pub xid: i32,
    pub zxid: i64,
    pub err: i32,
}

jute_record!(ReplyHeader {
    xid: int,
    zxid: long,
    err: int,
});

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct GetDataRequest {
    pub path: String,
    pub watch: bool,
}

jute_record!(GetDataRequest {
    path: string,
    watch: bool,
});

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct SetDataRequest {
    #[serde(serialize_with = "crate::redact::path")]
    pub path: String,
    pub data: Data,
    pub version: i32,
}

jute_record!(SetDataRequest {
    path: string,
    data: data,
    version: int,
});

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct ReconfigRequest {
    pub joining_servers: String,
    pub leaving_servers: String,
    pub new_members: String,
    pub cur_config_id: i64,
}

jute_record!(ReconfigRequest {
    joining_servers: string,
    leaving_servers: string,
    new_members: string,
    cur_config_id: long,
});

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetDataResponse {
    pub stat: Stat,
}

jute_record!(SetDataResponse { stat: record(Stat) });

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct GetSaslRequest {
    pub token: Bytes,
}

jute_record!(GetSaslRequest { token: buffer });

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetSaslResponse {
    /// Null when the server has no token to send (ZooKeeper without a SASL provider answers so).
    pub token: Option<Bytes>,
}

jute_record!(SetSaslResponse {
    token: nullable_buffer
});

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateRequest {
    #[serde(serialize_with = "crate::redact::path")]
    pub path: String,
    pub data: Data,
    pub acl: Vec<Acl>,
    pub flags: i32,
}

jute_record!(CreateRequest {
    path: string,
    data: data,
    acl: vec(Acl),
    flags: int,
});

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateTtlRequest {
    #[serde(serialize_with = "crate::redact::path")]
    pub path: String,
    pub data: Data,
    pub acl: Vec<Acl>,
    pub flags: i32,
    pub ttl: i64,
}

jute_record!(CreateTtlRequest {
    path: string,
    data: data,
    acl: vec(Acl),
    flags: int,
    ttl: long,
});

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct DeleteRequest {
    pub path: String,
    pub version: i32,
}

jute_record!(DeleteRequest {
    path: string,
    version: int,
});

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct GetChildrenRequest {
    pub path: String,
    pub watch: bool,
}

jute_record!(GetChildrenRequest {
    path: string,
    watch: bool,
});

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct GetAllChildrenNumberRequest {
    pub path: String,
}

jute_record!(GetAllChildrenNumberRequest { path: string });

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckVersionRequest {
    pub path: String,
    pub version: i32,
}

jute_record!(CheckVersionRequest {
    path: string,
    version: int,
});

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncRequest {
    pub path: String,
}

jute_record!(SyncRequest { path: string });

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncResponse {
    pub path: String,
}

jute_record!(SyncResponse { path: string });

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct GetAclRequest {
    pub path: String,
}

jute_record!(GetAclRequest { path: string });

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct SetAclRequest {
    pub path: String,
    pub acl: Vec<Acl>,
    pub version: i32,
}

jute_record!(SetAclRequest {
    path: string,
    acl: vec(Acl),
    version: int,
});

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetAclResponse {
    pub stat: Stat,
}

jute_record!(SetAclResponse { stat: record(Stat) });

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct AddWatchRequest {
    pub path: String,
    /// 0 = persistent, 1 = persistent recursive.
    pub mode: i32,
}

jute_record!(AddWatchRequest {
    path: string,
    mode: int,
});

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct WatcherEvent {
    pub event_type: i32,
    pub state: i32,
    pub path: String,
}

jute_record!(WatcherEvent {
    event_type: int,
    state: int,
    path: string,
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ErrorResponse {
    pub err: i32,
}

jute_record!(ErrorResponse { err: int });

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateResponse {
    pub path: String,
}

jute_record!(CreateResponse { path: string });

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Create2Response {
    pub path: String,
    pub stat: Stat,
}

jute_record!(Create2Response {
    path: string,
    stat: record(Stat),
});

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct ExistsRequest {
    pub path: String,
    pub watch: bool,
}

jute_record!(ExistsRequest {
    path: string,
    watch: bool,
});

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExistsResponse {
    pub stat: Stat,
}

jute_record!(ExistsResponse { stat: record(Stat) });

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetDataResponse {
    pub data: Data,
    pub stat: Stat,
}

jute_record!(GetDataResponse {
    data: data,
    stat: record(Stat),
});

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetChildrenResponse {
    pub children: Vec<String>,
}

jute_record!(GetChildrenResponse {
    children: string_vec
});

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetAllChildrenNumberResponse {
    pub total_number: i32,
}

jute_record!(GetAllChildrenNumberResponse { total_number: int });

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetChildren2Response {
    pub children: Vec<String>,
    pub stat: Stat,
}

jute_record!(GetChildren2Response {
    children: string_vec,
    stat: record(Stat),
});

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetAclResponse {
    pub acl: Vec<Acl>,
    pub stat: Stat,
}

jute_record!(GetAclResponse {
    acl: vec(Acl),
    stat: record(Stat),
});

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckWatchesRequest {
    pub path: String,
    /// 1 = children, 2 = data, 3 = any.
    pub watch_type: i32,
}

jute_record!(CheckWatchesRequest {
    path: string,
    watch_type: int,
});

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct RemoveWatchesRequest {
    pub path: String,
    /// 1 = children, 2 = data, 3 = any.
    pub watch_type: i32,
}

jute_record!(RemoveWatchesRequest {
    path: string,
    watch_type: int,
});

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct GetEphemeralsRequest {
    pub prefix_path: String,
}

jute_record!(GetEphemeralsRequest {
    prefix_path: string
});

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetEphemeralsResponse {
    pub ephemerals: Vec<String>,
}

jute_record!(GetEphemeralsResponse {
    ephemerals: string_vec
});

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientInfo {
    pub auth_scheme: String,
    pub user: String,
}

jute_record!(ClientInfo {
    auth_scheme: string,
    user: string,
});

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WhoAmIResponse {
    pub client_info: Vec<ClientInfo>,
}

jute_record!(WhoAmIResponse {
    client_info: vec(ClientInfo)
});

#[cfg(test)]
impl ConnectRequest {
    pub(crate) fn arbitrary() -> proptest::strategy::BoxedStrategy<ConnectRequest> {
        use proptest::prelude::*;
        (
            any::<i32>(),
            any::<i64>(),
            any::<i32>(),
            any::<i64>(),
            test_strategies::bytes(),
            any::<bool>(),
        )
            .prop_map(
                |(protocol_version, last_zxid_seen, time_out, session_id, passwd, read_only)| {
                    ConnectRequest {
                        protocol_version,
                        last_zxid_seen,
                        time_out,
                        session_id,
                        passwd,
                        read_only,
                    }
                },
            )
            .boxed()
    }
}

#[cfg(test)]
impl ConnectResponse {
    pub(crate) fn arbitrary() -> proptest::strategy::BoxedStrategy<ConnectResponse> {
        use proptest::prelude::*;
        (
            any::<i32>(),
            any::<i32>(),
            any::<i64>(),
            test_strategies::bytes(),
            any::<bool>(),
        )
            .prop_map(
                |(protocol_version, time_out, session_id, passwd, read_only)| ConnectResponse {
                    protocol_version,
                    time_out,
                    session_id,
                    passwd,
                    read_only,
                },
            )
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use proptest::prelude::*;

    fn encode<T: Record>(x: &T) -> Bytes {
        let mut buf = BytesMut::new();
        x.write(&mut Writer::new(&mut buf));
        buf.freeze()
    }

    /// Round trip, the whole encoding consumed, and every strict prefix an error (no record ends early
    /// except the optional trailing connect flag: `optional_tail` bytes).
    fn check_record<T: Record + PartialEq + std::fmt::Debug>(x: T, optional_tail: usize) {
        let bytes = encode(&x);
        let mut r = Reader::new(bytes.clone());
        assert_eq!(T::read(&mut r).as_ref(), Ok(&x));
        assert_eq!(r.finish(), Ok(()));
        for cut in 0..bytes.len().saturating_sub(optional_tail) {
            let mut r = Reader::new(bytes.slice(..cut));
            assert!(T::read(&mut r).is_err(), "prefix of {cut} bytes decoded");
        }
    }

    macro_rules! round_trip_tests {
        ($($name:ident: $ty:ty),+ $(,)?) => {
            proptest! {
                $(
                    #[test]
                    fn $name(x in <$ty>::arbitrary()) {
                        check_record(x, 0);
                    }
                )+
            }
        };
    }

    round_trip_tests! {
        id_round_trips: Id,
        acl_round_trips: Acl,
        stat_round_trips: Stat,
        set_watches_round_trips: SetWatches,
        set_watches2_round_trips: SetWatches2,
        request_header_round_trips: RequestHeader,
        multi_header_round_trips: MultiHeader,
        auth_packet_round_trips: AuthPacket,
        reply_header_round_trips: ReplyHeader,
        get_data_request_round_trips: GetDataRequest,
        set_data_request_round_trips: SetDataRequest,
        reconfig_request_round_trips: ReconfigRequest,
        set_data_response_round_trips: SetDataResponse,
        get_sasl_request_round_trips: GetSaslRequest,
        set_sasl_response_round_trips: SetSaslResponse,
        create_request_round_trips: CreateRequest,
        create_ttl_request_round_trips: CreateTtlRequest,
        delete_request_round_trips: DeleteRequest,
        get_children_request_round_trips: GetChildrenRequest,
        get_all_children_number_request_round_trips: GetAllChildrenNumberRequest,
        check_version_request_round_trips: CheckVersionRequest,
        sync_request_round_trips: SyncRequest,
        sync_response_round_trips: SyncResponse,
        get_acl_request_round_trips: GetAclRequest,
        set_acl_request_round_trips: SetAclRequest,
        set_acl_response_round_trips: SetAclResponse,
        add_watch_request_round_trips: AddWatchRequest,
        watcher_event_round_trips: WatcherEvent,
        error_response_round_trips: ErrorResponse,
        create_response_round_trips: CreateResponse,
        create2_response_round_trips: Create2Response,
        exists_request_round_trips: ExistsRequest,
        exists_response_round_trips: ExistsResponse,
        get_data_response_round_trips: GetDataResponse,
        get_children_response_round_trips: GetChildrenResponse,
        get_all_children_number_response_round_trips: GetAllChildrenNumberResponse,
        get_children2_response_round_trips: GetChildren2Response,
        get_acl_response_round_trips: GetAclResponse,
        check_watches_request_round_trips: CheckWatchesRequest,
        remove_watches_request_round_trips: RemoveWatchesRequest,
        get_ephemerals_request_round_trips: GetEphemeralsRequest,
        get_ephemerals_response_round_trips: GetEphemeralsResponse,
        client_info_round_trips: ClientInfo,
        who_am_i_response_round_trips: WhoAmIResponse,
    }

    proptest! {
        #[test]
        fn connect_request_round_trips(x in ConnectRequest::arbitrary()) {
            check_record(x, 1);
        }

        #[test]
        fn connect_response_round_trips(x in ConnectResponse::arbitrary()) {
            check_record(x, 1);
        }
    }

    /// Hand-built from zookeeper.jute: int protocolVersion, long lastZxidSeen, int timeOut, long sessionId,
    /// buffer passwd, then the readOnly byte ZooKeeper reads after the record.
    fn connect_request_bytes(read_only: Option<u8>) -> Vec<u8> {
        let mut b = vec![0, 0, 0, 0]; // protocolVersion 0
        b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0x01, 0x02]); // lastZxidSeen 0x102
        b.extend_from_slice(&[0, 0, 0x75, 0x30]); // timeOut 30000
        b.extend_from_slice(&[0x01, 0, 0, 0, 0, 0, 0, 0x2a]); // sessionId
        b.extend_from_slice(&[0, 0, 0, 3, 0xaa, 0xbb, 0xcc]); // passwd
        b.extend(read_only);
        b
    }

    fn sample_connect_request(read_only: bool) -> ConnectRequest {
        ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0x102,
            time_out: 30000,
            session_id: 0x0100_0000_0000_002a,
            passwd: Bytes::from_static(&[0xaa, 0xbb, 0xcc]),
            read_only,
        }
    }

    #[test]
    fn connect_request_with_read_only_matches_fixture() {
        let bytes = connect_request_bytes(Some(1));
        let got = ConnectRequest::read(&mut Reader::new(Bytes::from(bytes.clone())));
        assert_eq!(got, Ok(sample_connect_request(true)));
        assert_eq!(encode(&sample_connect_request(true)), bytes);
    }

    #[test]
    fn connect_request_without_read_only_reads_false() {
        let bytes = Bytes::from(connect_request_bytes(None));
        let got = ConnectRequest::read(&mut Reader::new(bytes));
        assert_eq!(got, Ok(sample_connect_request(false)));
        // ...and is written with the flag.
        assert_eq!(
            encode(&sample_connect_request(false)),
            connect_request_bytes(Some(0))
        );
    }

    #[test]
    fn null_passwd_reads_as_empty() {
        let mut bytes = connect_request_bytes(None);
        bytes.truncate(bytes.len() - 7);
        bytes.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        let got = ConnectRequest::read(&mut Reader::new(Bytes::from(bytes))).map(|c| c.passwd);
        assert_eq!(got, Ok(Bytes::new()));
    }

    #[test]
    fn stat_fields_are_in_jute_order() {
        let stat = Stat {
            czxid: 1,
            mzxid: 2,
            ctime: 3,
            mtime: 4,
            version: 5,
            cversion: 6,
            aversion: 7,
            ephemeral_owner: 8,
            data_length: 9,
            num_children: 10,
            pzxid: 11,
        };
        let mut want = Vec::new();
        for v in [1i64, 2, 3, 4] {
            want.extend_from_slice(&v.to_be_bytes());
        }
        for v in [5i32, 6, 7] {
            want.extend_from_slice(&v.to_be_bytes());
        }
        want.extend_from_slice(&8i64.to_be_bytes());
        for v in [9i32, 10] {
            want.extend_from_slice(&v.to_be_bytes());
        }
        want.extend_from_slice(&11i64.to_be_bytes());
        assert_eq!(want.len(), 68);
        assert_eq!(encode(&stat), want);
    }

    #[test]
    fn acl_is_perms_then_scheme_then_id() {
        let acl = Acl {
            perms: 31,
            id: Id {
                scheme: "world".into(),
                id: "anyone".into(),
            },
        };
        let want = b"\x00\x00\x00\x1f\x00\x00\x00\x05world\x00\x00\x00\x06anyone";
        assert_eq!(encode(&acl), &want[..]);
    }

    #[test]
    fn huge_acl_count_fails_without_allocating() {
        // A CreateRequest claiming 1e9 ACL entries with only a few bytes behind the count.
        let mut b = b"\x00\x00\x00\x02/a\x00\x00\x00\x00".to_vec();
        b.extend_from_slice(&1_000_000_000i32.to_be_bytes());
        b.extend_from_slice(&[0; 10]);
        let got = CreateRequest::read(&mut Reader::new(Bytes::from(b)));
        assert!(matches!(got, Err(DecodeError::Truncated { .. })), "{got:?}");
    }
}
