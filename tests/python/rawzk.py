"""A tiny hand-written ZooKeeper client speaking jute directly over a socket.

Used for the opcodes kazoo lacks (containers, TTL nodes, addWatch, removeWatches, checkWatches,
setWatches2, getAllChildrenNumber, getEphemerals, multiRead, whoAmI) and for feeding servers bad input.
It is synchronous and single-threaded: `request` writes one request and reads frames until the reply
with the same xid arrives, queueing watch notifications met on the way. Record layouts follow
zookeeper-jute/src/main/resources/zookeeper.jute.
"""

import socket
import ssl
import struct
import time
from collections import deque
from dataclasses import dataclass

# Opcodes (ZooDefs.OpCode).
OP_NOTIFICATION = 0
OP_CREATE = 1
OP_DELETE = 2
OP_EXISTS = 3
OP_GET_DATA = 4
OP_SET_DATA = 5
OP_GET_ACL = 6
OP_SET_ACL = 7
OP_GET_CHILDREN = 8
OP_SYNC = 9
OP_PING = 11
OP_GET_CHILDREN2 = 12
OP_CHECK = 13
OP_MULTI = 14
OP_CREATE2 = 15
OP_RECONFIG = 16
OP_CHECK_WATCHES = 17
OP_REMOVE_WATCHES = 18
OP_CREATE_CONTAINER = 19
OP_DELETE_CONTAINER = 20
OP_CREATE_TTL = 21
OP_MULTI_READ = 22
OP_AUTH = 100
OP_SET_WATCHES = 101
OP_SASL = 102
OP_GET_EPHEMERALS = 103
OP_GET_ALL_CHILDREN_NUMBER = 104
OP_SET_WATCHES2 = 105
OP_ADD_WATCH = 106
OP_WHO_AM_I = 107
OP_CLOSE_SESSION = -11
OP_ERROR = -1

# Error codes (KeeperException.Code).
OK = 0
SYSTEMERROR = -1
MARSHALLINGERROR = -5
UNIMPLEMENTED = -6
BADARGUMENTS = -8
NONODE = -101
NOAUTH = -102
BADVERSION = -103
NOCHILDRENFOREPHEMERALS = -108
NODEEXISTS = -110
NOTEMPTY = -111
SESSIONEXPIRED = -112
INVALIDACL = -114
AUTHFAILED = -115
SESSIONCLOSEDREQUIRESASLAUTH = -124
NOWATCHER = -121
RUNTIMEINCONSISTENCY = -2

# Create modes (flags on the wire).
PERSISTENT = 0
EPHEMERAL = 1
PERSISTENT_SEQUENTIAL = 2
EPHEMERAL_SEQUENTIAL = 3
CONTAINER = 4
PERSISTENT_WITH_TTL = 5
PERSISTENT_SEQUENTIAL_WITH_TTL = 6

# addWatch modes.
ADD_WATCH_PERSISTENT = 0
ADD_WATCH_PERSISTENT_RECURSIVE = 1

# WatcherType for checkWatches/removeWatches.
WATCHER_CHILDREN = 1
WATCHER_DATA = 2
WATCHER_ANY = 3

# Event types.
EV_NONE = -1
EV_NODE_CREATED = 1
EV_NODE_DELETED = 2
EV_NODE_DATA_CHANGED = 3
EV_NODE_CHILDREN_CHANGED = 4
EV_DATA_WATCH_REMOVED = 5
EV_CHILD_WATCH_REMOVED = 6
EV_PERSISTENT_WATCH_REMOVED = 7

XID_NOTIFICATION = -1
XID_PING = -2
XID_AUTH = -4
XID_SET_WATCHES = -8

PERM_READ, PERM_WRITE, PERM_CREATE, PERM_DELETE, PERM_ADMIN = 1, 2, 4, 8, 16
PERM_ALL = 31
OPEN_ACL_UNSAFE = [(PERM_ALL, "world", "anyone")]

STAT_FIELDS = (
    "czxid",
    "mzxid",
    "ctime",
    "mtime",
    "version",
    "cversion",
    "aversion",
    "ephemeralOwner",
    "dataLength",
    "numChildren",
    "pzxid",
)
_STAT = struct.Struct(">qqqqiiiqiiq")


class ConnectionClosed(Exception):
    """The server closed the connection (or reset it)."""


# ---------------------------------------------------------------------------------------------------
# Encoding


def enc_int(v):
    return struct.pack(">i", v)


def enc_long(v):
    return struct.pack(">q", v)


def enc_bool(v):
    return b"\x01" if v else b"\x00"


def enc_buffer(b):
    if b is None:
        return enc_int(-1)
    return enc_int(len(b)) + b


def enc_string(s):
    if s is None:
        return enc_int(-1)
    if isinstance(s, str):
        s = s.encode("utf-8")
    return enc_buffer(s)


def enc_vector(items, enc_item):
    if items is None:
        return enc_int(-1)
    return enc_int(len(items)) + b"".join(enc_item(i) for i in items)


def enc_acl(acl):
    perms, scheme, ident = acl
    return enc_int(perms) + enc_string(scheme) + enc_string(ident)


def enc_acls(acls):
    return enc_vector(acls, enc_acl)


def frame(payload):
    return enc_int(len(payload)) + payload


# Request bodies (without the RequestHeader).


def create_body(path, data=b"", acl=None, flags=PERSISTENT, ttl=None):
    body = enc_string(path) + enc_buffer(data) + enc_acls(OPEN_ACL_UNSAFE if acl is None else acl) + enc_int(flags)
    if ttl is not None:
        body += enc_long(ttl)
    return body


def path_version_body(path, version):
    return enc_string(path) + enc_int(version)


def path_watch_body(path, watch=False):
    return enc_string(path) + enc_bool(watch)


def set_data_body(path, data, version=-1):
    return enc_string(path) + enc_buffer(data) + enc_int(version)


def set_acl_body(path, acl, version=-1):
    return enc_string(path) + enc_acls(acl) + enc_int(version)


def path_int_body(path, value):
    return enc_string(path) + enc_int(value)


def multi_body(ops):
    """ops: list of (opcode, body). The terminating MultiHeader is (-1, done=true, -1)."""
    out = b""
    for op, body in ops:
        out += enc_int(op) + enc_bool(False) + enc_int(-1) + body
    return out + enc_int(-1) + enc_bool(True) + enc_int(-1)


def set_watches2_body(relative_zxid, data=(), exist=(), child=(), persistent=(), recursive=()):
    strs = lambda xs: enc_vector(list(xs), enc_string)  # noqa: E731
    return (
        enc_long(relative_zxid)
        + strs(data)
        + strs(exist)
        + strs(child)
        + strs(persistent)
        + strs(recursive)
    )


def set_watches_body(relative_zxid, data=(), exist=(), child=()):
    strs = lambda xs: enc_vector(list(xs), enc_string)  # noqa: E731
    return enc_long(relative_zxid) + strs(data) + strs(exist) + strs(child)


def connect_request(timeout_ms, session_id=0, passwd=b"\x00" * 16, last_zxid=0, read_only=False):
    body = enc_int(0) + enc_long(last_zxid) + enc_int(timeout_ms) + enc_long(session_id) + enc_buffer(passwd)
    body += enc_bool(read_only)
    return frame(body)


# ---------------------------------------------------------------------------------------------------
# Decoding


class Reader:
    def __init__(self, data, offset=0):
        self.data = data
        self.pos = offset

    def remaining(self):
        return len(self.data) - self.pos

    def _take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError(f"record truncated: need {n} bytes at {self.pos}, have {self.remaining()}")
        b = self.data[self.pos : self.pos + n]
        self.pos += n
        return b

    def int(self):
        return struct.unpack(">i", self._take(4))[0]

    def long(self):
        return struct.unpack(">q", self._take(8))[0]

    def bool(self):
        return self._take(1) != b"\x00"

    def buffer(self):
        n = self.int()
        if n < 0:
            return None
        return self._take(n)

    def string(self):
        b = self.buffer()
        return None if b is None else b.decode("utf-8")

    def vector(self, read_item):
        n = self.int()
        if n < 0:
            return None
        return [read_item() for _ in range(n)]

    def strings(self):
        return self.vector(self.string)

    def stat(self):
        return dict(zip(STAT_FIELDS, _STAT.unpack(self._take(_STAT.size))))

    def acl(self):
        return (self.int(), self.string(), self.string())

    def acls(self):
        return self.vector(self.acl)


@dataclass
class Reply:
    xid: int
    zxid: int
    err: int
    body: bytes

    def reader(self):
        return Reader(self.body)


@dataclass
class Event:
    type: int
    state: int
    path: str


@dataclass
class MultiResult:
    """One op's result in a multi reply: `op` is the response type (-1 for an error), `err` its code."""

    op: int
    err: int
    value: object = None


def decode_multi(body, read_kind):
    """Decodes a multi/multiRead reply body; read_kind(op, reader) decodes one successful op's response."""
    r = Reader(body)
    results = []
    while True:
        op = r.int()
        done = r.bool()
        err = r.int()
        if done:
            break
        if op == OP_ERROR:
            results.append(MultiResult(op, r.int()))
        else:
            results.append(MultiResult(op, err, read_kind(op, r)))
    return results


def read_multi_op(op, r):
    if op in (OP_CREATE, OP_CREATE_CONTAINER, OP_CREATE_TTL):
        return r.string()
    if op == OP_CREATE2:
        return (r.string(), r.stat())
    if op == OP_SET_DATA:
        return r.stat()
    if op == OP_GET_DATA:
        return (r.buffer(), r.stat())
    if op == OP_GET_CHILDREN:
        return r.strings()
    return None  # delete, check: no body


# ---------------------------------------------------------------------------------------------------
# The client


class RawClient:
    def __init__(
        self, address, timeout_ms=10_000, session_id=0, passwd=b"\x00" * 16, connect=True, read_only=False, tls=None
    ):
        """`tls`: an ssl.SSLContext to speak TLS with (the TLS handshake happens here)."""
        self.address = address
        self.sock = socket.create_connection(address, timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls is not None:
            self.sock = tls.wrap_socket(self.sock, server_hostname=address[0])
        self.buf = b""
        self.events = deque()
        self.next_xid = 1
        self.session_id = None
        self.passwd = None
        self.negotiated_timeout = None
        self.last_zxid = 0
        if connect:
            self.handshake(timeout_ms, session_id, passwd, read_only)

    # -- framing

    def send_raw(self, data):
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as e:
            # The server may close as soon as it has read a bad length prefix, before we finish sending.
            raise ConnectionClosed(str(e)) from e

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no reply from server")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout as e:
            raise TimeoutError("no reply from server") from e
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError) as e:
            raise ConnectionClosed(str(e)) from e
        if not chunk:
            raise ConnectionClosed("server closed the connection")
        self.buf += chunk

    def recv_frame(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        while len(self.buf) < 4:
            self._fill(deadline)
        (n,) = struct.unpack(">i", self.buf[:4])
        while len(self.buf) < 4 + n:
            self._fill(deadline)
        payload = self.buf[4 : 4 + n]
        self.buf = self.buf[4 + n :]
        return payload

    def is_closed_by_server(self, timeout=5.0):
        """Waits for the server to close the connection; True if it did, False if it stays open and silent.

        Frames that arrive meanwhile are discarded."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self._fill(deadline)
                self.buf = b""
        except ConnectionClosed:
            return True
        except TimeoutError:
            return False

    # -- session

    def handshake(self, timeout_ms, session_id=0, passwd=b"\x00" * 16, read_only=False):
        self.send_raw(connect_request(timeout_ms, session_id, passwd, self.last_zxid, read_only))
        r = Reader(self.recv_frame())
        proto = r.int()
        self.negotiated_timeout = r.int()
        self.session_id = r.long()
        self.passwd = r.buffer()
        self.read_only = r.bool() if r.remaining() else False
        return proto

    def request(self, op, body=b"", xid=None, timeout=5.0):
        if xid is None:
            xid = self.next_xid
            self.next_xid += 1
        self.send_raw(frame(enc_int(xid) + enc_int(op) + body))
        return self.read_reply(xid, timeout)

    def read_reply(self, xid, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            payload = self.recv_frame(max(0.0, deadline - time.monotonic()))
            r = Reader(payload)
            rxid, zxid, err = r.int(), r.long(), r.int()
            if rxid == XID_NOTIFICATION:
                self.events.append(Event(r.int(), r.int(), r.string()))
                continue
            if zxid > 0:
                self.last_zxid = max(self.last_zxid, zxid)
            if rxid == xid:
                return Reply(rxid, zxid, err, payload[r.pos :])
            if rxid == XID_PING and xid != XID_PING:
                continue
            raise AssertionError(f"reply for xid {rxid} while waiting for {xid}")

    def ping(self):
        return self.request(OP_PING, b"", xid=XID_PING)

    def wait_event(self, timeout=5.0):
        """Returns the next watch notification, reading the socket (and pinging) until one arrives."""
        deadline = time.monotonic() + timeout
        while not self.events:
            if time.monotonic() >= deadline:
                raise TimeoutError("no watch event")
            try:
                payload = self.recv_frame(min(0.5, max(0.01, deadline - time.monotonic())))
            except TimeoutError:
                self.ping()
                continue
            r = Reader(payload)
            rxid, _zxid, _err = r.int(), r.long(), r.int()
            if rxid == XID_NOTIFICATION:
                self.events.append(Event(r.int(), r.int(), r.string()))
        return self.events.popleft()

    def drain_events(self, quiet=0.3):
        """Collects notifications until none arrive for `quiet` seconds (a sync round trip first)."""
        self.sync("/")
        out = list(self.events)
        self.events.clear()
        while True:
            try:
                out.append(self.wait_event(timeout=quiet))
            except TimeoutError:
                return out

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self.close()
        except (OSError, ConnectionClosed, TimeoutError):
            pass

    def close(self):
        try:
            self.request(OP_CLOSE_SESSION, b"", timeout=5)
        except (ConnectionClosed, TimeoutError, OSError):
            pass
        self.sock.close()

    def drop(self):
        """Closes the socket without ending the session."""
        self.sock.close()

    # -- operations; each returns a Reply with an extra decoded `.value` when err == 0

    def _value(self, reply, decode):
        reply.value = decode(reply.reader()) if reply.err == OK else None
        return reply

    def create(self, path, data=b"", acl=None, flags=PERSISTENT, ttl=None, op=None):
        if op is None:
            if ttl is not None:
                op = OP_CREATE_TTL
            elif flags == CONTAINER:
                op = OP_CREATE_CONTAINER
            else:
                op = OP_CREATE2
        reply = self.request(op, create_body(path, data, acl, flags, ttl))
        if op == OP_CREATE:
            return self._value(reply, lambda r: r.string())
        return self._value(reply, lambda r: (r.string(), r.stat()))

    def delete(self, path, version=-1):
        return self.request(OP_DELETE, path_version_body(path, version))

    def exists(self, path, watch=False):
        return self._value(self.request(OP_EXISTS, path_watch_body(path, watch)), lambda r: r.stat())

    def get_data(self, path, watch=False):
        return self._value(self.request(OP_GET_DATA, path_watch_body(path, watch)), lambda r: (r.buffer(), r.stat()))

    def set_data(self, path, data, version=-1):
        return self._value(self.request(OP_SET_DATA, set_data_body(path, data, version)), lambda r: r.stat())

    def get_children(self, path, watch=False):
        return self._value(self.request(OP_GET_CHILDREN, path_watch_body(path, watch)), lambda r: r.strings())

    def get_children2(self, path, watch=False):
        return self._value(
            self.request(OP_GET_CHILDREN2, path_watch_body(path, watch)), lambda r: (r.strings(), r.stat())
        )

    def get_acl(self, path):
        return self._value(self.request(OP_GET_ACL, enc_string(path)), lambda r: (r.acls(), r.stat()))

    def set_acl(self, path, acl, version=-1):
        return self._value(self.request(OP_SET_ACL, set_acl_body(path, acl, version)), lambda r: r.stat())

    def sync(self, path):
        return self._value(self.request(OP_SYNC, enc_string(path)), lambda r: r.string())

    def add_auth(self, scheme, auth):
        """Sends an auth packet (xid -4). ZooKeeper replies with err AUTHFAILED and closes on failure."""
        body = enc_int(0) + enc_string(scheme) + enc_buffer(auth)
        return self.request(OP_AUTH, body, xid=XID_AUTH)

    def add_watch(self, path, mode):
        return self.request(OP_ADD_WATCH, path_int_body(path, mode))

    def remove_watches(self, path, watcher_type):
        return self.request(OP_REMOVE_WATCHES, path_int_body(path, watcher_type))

    def check_watches(self, path, watcher_type):
        return self.request(OP_CHECK_WATCHES, path_int_body(path, watcher_type))

    def set_watches2(self, relative_zxid, **lists):
        return self.request(OP_SET_WATCHES2, set_watches2_body(relative_zxid, **lists), xid=XID_SET_WATCHES)

    def get_all_children_number(self, path):
        return self._value(self.request(OP_GET_ALL_CHILDREN_NUMBER, enc_string(path)), lambda r: r.int())

    def get_ephemerals(self, prefix):
        return self._value(self.request(OP_GET_EPHEMERALS, enc_string(prefix)), lambda r: r.strings())

    def sasl(self, token):
        """One SASL packet (opcode 102); `.value` is the server's token (None when null). The reply carries
        the token even on an error (a null one)."""
        reply = self.request(OP_SASL, enc_buffer(token or b""))
        reply.value = Reader(reply.body).buffer() if len(reply.body) >= 4 else None
        return reply

    def sasl_digest_md5(self, username, password):
        """A whole DIGEST-MD5 exchange as kazoo runs it (pure-sasl). Returns the last reply."""
        from puresasl.client import SASLClient

        client = SASLClient("zk-sasl-md5", "zookeeper", mechanism="DIGEST-MD5", username=username, password=password)
        reply = self.sasl(client.process() or b"")
        while reply.err == OK and reply.value is not None:
            response = client.process(reply.value)
            if client.complete:
                break  # the server's rspauth checked: nothing more to send
            reply = self.sasl(response or b"")
        return reply

    def who_am_i(self):
        return self._value(self.request(OP_WHO_AM_I, b""), lambda r: r.vector(lambda: (r.string(), r.string())))

    def multi(self, ops):
        reply = self.request(OP_MULTI, multi_body(ops))
        reply.value = decode_multi(reply.body, read_multi_op) if reply.body else None
        return reply

    def multi_read(self, ops):
        reply = self.request(OP_MULTI_READ, multi_body(ops))
        reply.value = decode_multi(reply.body, read_multi_op) if reply.body else None
        return reply
