//! The jute records of the client protocol (zookeeper.jute), as plain Rust structs.
//!
//! Field names follow the jute file; `ustring` is `String`, `buffer` is `Bytes`, `vector<T>` is `Vec<T>`.
//! A jute `buffer` or `vector` may be "null" on the wire (length -1); we read null as empty and write empty,
//! except where a record says otherwise.

use bytes::Bytes;

/// An identity: `scheme` (world, auth, digest, ip, super, ...) and the scheme's `id`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Id {
    pub scheme: String,
    pub id: String,
}

/// One ACL entry: a permission bit set granted to an identity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Acl {
    pub perms: i32,
    pub id: Id,
}

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

/// Sent by a client on reconnect to re-register its one-shot watches (opcode setWatches, xid -8).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetWatches {
    pub relative_zxid: i64,
    pub data_watches: Vec<String>,
    pub exist_watches: Vec<String>,
    pub child_watches: Vec<String>,
}

/// setWatches2 adds persistent and persistent-recursive watches.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetWatches2 {
    pub relative_zxid: i64,
    pub data_watches: Vec<String>,
    pub exist_watches: Vec<String>,
    pub child_watches: Vec<String>,
    pub persistent_watches: Vec<String>,
    pub persistent_recursive_watches: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestHeader {
    pub xid: i32,
    /// The opcode's wire value (see [`super::OpCode`]).
    pub op: i32,
}

/// Precedes each op of a multi request and each result of a multi response; a header with `done` ends the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MultiHeader {
    pub op: i32,
    pub done: bool,
    pub err: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthPacket {
    pub auth_type: i32,
    pub scheme: String,
    pub auth: Bytes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplyHeader {
    pub xid: i32,
    pub zxid: i64,
    pub err: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetDataRequest {
    pub path: String,
    pub watch: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetDataRequest {
    pub path: String,
    pub data: Bytes,
    pub version: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReconfigRequest {
    pub joining_servers: String,
    pub leaving_servers: String,
    pub new_members: String,
    pub cur_config_id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetDataResponse {
    pub stat: Stat,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetSaslRequest {
    pub token: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetSaslResponse {
    pub token: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateRequest {
    pub path: String,
    pub data: Bytes,
    pub acl: Vec<Acl>,
    pub flags: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateTtlRequest {
    pub path: String,
    pub data: Bytes,
    pub acl: Vec<Acl>,
    pub flags: i32,
    pub ttl: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeleteRequest {
    pub path: String,
    pub version: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetChildrenRequest {
    pub path: String,
    pub watch: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetAllChildrenNumberRequest {
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckVersionRequest {
    pub path: String,
    pub version: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncRequest {
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncResponse {
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetAclRequest {
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetAclRequest {
    pub path: String,
    pub acl: Vec<Acl>,
    pub version: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetAclResponse {
    pub stat: Stat,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AddWatchRequest {
    pub path: String,
    /// 0 = persistent, 1 = persistent recursive.
    pub mode: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WatcherEvent {
    pub event_type: i32,
    pub state: i32,
    pub path: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ErrorResponse {
    pub err: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateResponse {
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Create2Response {
    pub path: String,
    pub stat: Stat,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExistsRequest {
    pub path: String,
    pub watch: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExistsResponse {
    pub stat: Stat,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetDataResponse {
    pub data: Bytes,
    pub stat: Stat,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetChildrenResponse {
    pub children: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetAllChildrenNumberResponse {
    pub total_number: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetChildren2Response {
    pub children: Vec<String>,
    pub stat: Stat,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetAclResponse {
    pub acl: Vec<Acl>,
    pub stat: Stat,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckWatchesRequest {
    pub path: String,
    /// 1 = children, 2 = data, 3 = any.
    pub watch_type: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RemoveWatchesRequest {
    pub path: String,
    /// 1 = children, 2 = data, 3 = any.
    pub watch_type: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetEphemeralsRequest {
    pub prefix_path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetEphemeralsResponse {
    pub ephemerals: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientInfo {
    pub auth_scheme: String,
    pub user: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WhoAmIResponse {
    pub client_info: Vec<ClientInfo>,
}
