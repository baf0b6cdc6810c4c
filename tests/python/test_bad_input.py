"""Bad input on the client port. Each case pins what ZooKeeper 3.8 does (an error reply, or closing the
connection) and checks the server keeps serving other clients afterwards."""

import pytest
import rawzk
from rawzk import (
    OP_CREATE,
    OP_EXISTS,
    OP_GET_DATA,
    create_body,
    enc_buffer,
    enc_int,
    enc_long,
    enc_string,
    frame,
    path_watch_body,
)

CLOSED = "closed"


def assert_server_serves(server):
    c = rawzk.RawClient(server.address)
    try:
        assert c.exists("/").err == 0
    finally:
        c.close()


def outcome(client, data, timeout=5.0):
    """Sends raw bytes; returns ("closed",) or ("reply", xid, err) followed by whether it then closed."""
    try:
        client.send_raw(data)
        payload = client.recv_frame(timeout)
    except rawzk.ConnectionClosed:
        return (CLOSED,)
    r = rawzk.Reader(payload)
    xid, _zxid, err = r.int(), r.long(), r.int()
    # Is the connection still usable? A follow-up request answers that without waiting on a timer.
    try:
        follow_up = client.exists("/")
        still_open = follow_up.err == rawzk.OK
    except (rawzk.ConnectionClosed, OSError):
        still_open = False
    return ("reply", xid, err, "stays-open" if still_open else "then-closed")


# --- before the handshake: anything that is not a valid ConnectRequest closes the connection

BEFORE_HANDSHAKE = {
    "garbage": b"\xde\xad\xbe\xef" * 8,
    "request-before-handshake": frame(enc_int(1) + enc_int(OP_EXISTS) + path_watch_body("/")),
    "huge-length-prefix": enc_int(0x7FFFFFFF) + b"xx",
    "negative-length-prefix": enc_int(-5) + b"xx",
    "zero-length-frame": enc_int(0),
    "truncated-connect-request": frame(enc_int(0) + enc_long(0)),
}


@pytest.mark.parametrize("name", sorted(BEFORE_HANDSHAKE))
def test_bad_bytes_before_handshake_close_the_connection(server, name):
    c = rawzk.RawClient(server.address, connect=False)
    assert outcome(c, BEFORE_HANDSHAKE[name]) == (CLOSED,)
    assert_server_serves(server)


# --- no handshake at all: closed after the sessionless-connection timeout (a connection that never says
# who it is must not hold a server's connection slot forever). ZooKeeper checks in buckets of the timeout,
# so it closes between one and three timeouts after the last byte; rzk at one timeout after the open.

SILENT = {
    "nothing": b"",
    "half-a-connect-request": frame(enc_int(0) + enc_long(0) + enc_int(30000) + enc_long(0))[:12],
}


@pytest.mark.parametrize("name", sorted(SILENT))
def test_connection_without_handshake_is_closed(server, name):
    import time

    import servers

    c = rawzk.RawClient(server.address, connect=False)
    opened = time.monotonic()
    if SILENT[name]:
        c.send_raw(SILENT[name])
    # Generous: this checks that the close happens, not how fast (ZooKeeper may take 3 timeouts).
    with pytest.raises(rawzk.ConnectionClosed):
        c.recv_frame(timeout=30 * servers.SESSIONLESS_CNXN_TIMEOUT_MS / 1000)
    assert time.monotonic() - opened >= servers.SESSIONLESS_CNXN_TIMEOUT_MS / 1000 * 0.9
    assert_server_serves(server)


# --- after the handshake

REQ_XID = 7


def req(op, body=b""):
    return frame(enc_int(REQ_XID) + enc_int(op) + body)


AFTER_HANDSHAKE = {
    # framing errors: the connection is closed
    "length-over-jute-maxbuffer": (enc_int(2 * 1024 * 1024) + b"xx", (CLOSED,)),
    "length-1048576": (enc_int(1048576) + b"xx", (CLOSED,)),
    "negative-length": (enc_int(-1), (CLOSED,)),
    "zero-length-frame": (enc_int(0), (CLOSED,)),
    "garbage-frame-shorter-than-header": (frame(b"\xde\xad"), (CLOSED,)),
    "truncated-request-header": (frame(enc_int(7) + b"\x00\x00"), (CLOSED,)),
    # a readable header with a bad record: MARSHALLINGERROR, the connection stays open
    "truncated-getData-record": (
        req(OP_GET_DATA, enc_int(100) + b"/q"),
        ("reply", REQ_XID, rawzk.MARSHALLINGERROR, "stays-open"),
    ),
    "truncated-create-record": (
        req(OP_CREATE, enc_string("/tr")),
        ("reply", REQ_XID, rawzk.MARSHALLINGERROR, "stays-open"),
    ),
    "string-with-negative-length": (
        req(OP_EXISTS, enc_int(-5) + b"\x00"),
        ("reply", REQ_XID, rawzk.MARSHALLINGERROR, "stays-open"),
    ),
    "acl-vector-count-huge": (
        req(OP_CREATE, enc_string("/hv") + enc_buffer(b"") + enc_int(0x7FFFFFFF)),
        ("reply", REQ_XID, rawzk.MARSHALLINGERROR, "stays-open"),
    ),
    "createSession-opcode-after-handshake": (req(-10), ("reply", REQ_XID, rawzk.MARSHALLINGERROR, "stays-open")),
    # trailing bytes after a complete record are ignored
    "trailing-bytes-after-record": (
        req(OP_EXISTS, path_watch_body("/") + b"junk"),
        ("reply", REQ_XID, rawzk.OK, "stays-open"),
    ),
    # invalid UTF-8 is decoded leniently (replacement characters): just a path that does not exist
    "invalid-utf8-path": (
        req(OP_EXISTS, enc_buffer(b"/\xff\xfe") + b"\x00"),
        ("reply", REQ_XID, rawzk.NONODE, "stays-open"),
    ),
    # unknown opcodes: UNIMPLEMENTED (with zxid -1), then the connection is closed
    "unknown-opcode-55": (req(55), ("reply", REQ_XID, rawzk.UNIMPLEMENTED, "then-closed")),
    "unknown-opcode-minus-100": (req(-100), ("reply", REQ_XID, rawzk.UNIMPLEMENTED, "then-closed")),
    # reconfig on a standalone server with reconfig disabled
    "reconfig": (
        req(16, enc_string("") + enc_string("") + enc_string("") + enc_long(-1)),
        ("reply", REQ_XID, -123, "stays-open"),
    ),
}


@pytest.mark.parametrize("name", sorted(AFTER_HANDSHAKE))
def test_bad_input_after_handshake(server, name):
    data, expected = AFTER_HANDSHAKE[name]
    c = rawzk.RawClient(server.address)
    assert outcome(c, data) == expected
    assert_server_serves(server)


def test_unknown_opcode_reply_has_zxid_minus_one(server, raw):
    c = raw()
    c.send_raw(req(55))
    r = rawzk.Reader(c.recv_frame())
    assert (r.int(), r.long(), r.int()) == (REQ_XID, -1, rawzk.UNIMPLEMENTED)


def _create_frame_of_length(root, total):
    """A create request whose frame payload (xid + opcode + record) is exactly `total` bytes."""
    path = f"{root}/big"
    overhead = 8 + len(create_body(path, b""))
    return path, b"x" * (total - overhead)


def test_frame_longer_than_jute_maxbuffer_closes_connection(server, raw, root):
    c = raw()
    path, data = _create_frame_of_length(root, 1048576)  # jute.maxbuffer (0xfffff) + 1
    with pytest.raises(rawzk.ConnectionClosed):
        c.create(path, data)
    assert_server_serves(server)
    assert raw().exists(path).err == rawzk.NONODE


def test_frame_of_exactly_jute_maxbuffer_is_served(server, raw, root):
    c = raw()
    path, data = _create_frame_of_length(root, 1048575)
    assert c.create(path, data, op=OP_CREATE).err == 0
    assert c.get_data(path).value[1]["dataLength"] == len(data)


# --- non-canonical paths. What ZooKeeper answers depends on the op: create/delete look the parent up
# first (so a missing "parent" gives NONODE), setData validates the path first (BADARGUMENTS), and reads
# simply look the string up (NONODE), never validating it.

# (path relative to the test root, create, setData, getData, delete)
PATHS = [
    ("//b", rawzk.NONODE, rawzk.BADARGUMENTS, rawzk.NONODE, rawzk.NONODE),
    ("/", rawzk.BADARGUMENTS, rawzk.BADARGUMENTS, rawzk.NONODE, rawzk.NONODE),
    ("/.", rawzk.BADARGUMENTS, rawzk.BADARGUMENTS, rawzk.NONODE, rawzk.NONODE),
    ("/..", rawzk.BADARGUMENTS, rawzk.BADARGUMENTS, rawzk.NONODE, rawzk.NONODE),
    ("/./b", rawzk.NONODE, rawzk.BADARGUMENTS, rawzk.NONODE, rawzk.NONODE),
    ("/../b", rawzk.NONODE, rawzk.BADARGUMENTS, rawzk.NONODE, rawzk.NONODE),
    ("/a/", rawzk.NONODE, rawzk.BADARGUMENTS, rawzk.NONODE, rawzk.NONODE),
    ("/a\x00b", rawzk.BADARGUMENTS, rawzk.BADARGUMENTS, rawzk.NONODE, rawzk.BADARGUMENTS),
    ("/\x01", rawzk.BADARGUMENTS, rawzk.BADARGUMENTS, rawzk.NONODE, rawzk.NONODE),
    ("/x\uffffy", rawzk.BADARGUMENTS, rawzk.BADARGUMENTS, rawzk.NONODE, rawzk.NONODE),
]


@pytest.mark.parametrize("suffix,create,set_data,get_data,delete", PATHS, ids=[repr(p[0]) for p in PATHS])
def test_non_canonical_paths(server, raw, root, suffix, create, set_data, get_data, delete):
    c = raw()
    p = root + suffix
    assert c.create(p).err == create
    assert c.set_data(p, b"").err == set_data
    assert c.get_data(p).err == get_data
    assert c.delete(p).err == delete
    assert c.exists(root).err == 0  # connection still usable


@pytest.mark.parametrize(
    "path,create,set_data,delete",
    [
        ("a", rawzk.BADARGUMENTS, rawzk.BADARGUMENTS, rawzk.BADARGUMENTS),
        ("", rawzk.BADARGUMENTS, rawzk.BADARGUMENTS, rawzk.BADARGUMENTS),
        # has a slash, so create/delete look up the "parent" "relative" and find nothing
        ("relative/x", rawzk.NONODE, rawzk.BADARGUMENTS, rawzk.NONODE),
    ],
)
def test_relative_paths(server, raw, path, create, set_data, delete):
    c = raw()
    assert c.create(path).err == create
    assert c.set_data(path, b"").err == set_data
    assert c.delete(path).err == delete


def test_nul_in_path_is_bad_arguments_for_exists_but_no_node_for_reads(server, raw, root):
    c = raw()
    assert c.exists(f"{root}/a\x00b").err == rawzk.BADARGUMENTS
    assert c.get_data(f"{root}/a\x00b").err == rawzk.NONODE
    assert c.get_children(f"{root}/a\x00b").err == rawzk.NONODE


def test_empty_path_reads_the_root(server, raw):
    """Observed in ZooKeeper 3.8: reads do not validate paths and the root's internal name is "", so
    exists("") answers with the root's stat."""
    c = raw()
    assert c.exists("").err == 0
    assert c.exists("").value == c.exists("/").value


def test_sequential_create_with_non_canonical_base_is_validated_after_the_suffix(server, raw, root):
    c = raw()
    # "/root/" + suffix and "/root/." + suffix are valid names once the counter is appended
    assert c.create(f"{root}/", flags=rawzk.PERSISTENT_SEQUENTIAL).value[0] == f"{root}/0000000000"
    assert c.create(f"{root}/.", flags=rawzk.PERSISTENT_SEQUENTIAL).value[0] == f"{root}/.0000000001"


def test_create_under_zookeeper_system_node_is_allowed(server, raw):
    c = raw()
    assert c.create("/zookeeper/rzk-test-child").err in (0, rawzk.NODEEXISTS)
    assert c.delete("/zookeeper/rzk-test-child").err == 0


def test_create_root_is_node_exists(server, raw):
    assert raw().create("/").err == rawzk.NODEEXISTS
