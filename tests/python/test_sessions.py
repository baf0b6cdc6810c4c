"""Sessions: timeout negotiation, expiry, close, reattaching with id + password, wrong passwords."""

import time

import rawzk
import servers
from kazoo.client import KazooClient
from kazoo.protocol.states import KazooState
from rawzk import EPHEMERAL, RawClient, Reader, connect_request
from util import wait_until


def test_session_timeout_is_clamped_to_min_and_max(server, raw):
    assert raw(timeout_ms=100).negotiated_timeout == servers.MIN_SESSION_TIMEOUT_MS
    assert raw(timeout_ms=10_000_000).negotiated_timeout == servers.MAX_SESSION_TIMEOUT_MS
    assert raw(timeout_ms=5000).negotiated_timeout == 5000


def test_sessions_get_distinct_ids_and_16_byte_passwords(server, raw):
    a, b = raw(), raw()
    assert a.session_id != b.session_id
    assert len(a.passwd) == 16 and len(b.passwd) == 16


def test_close_session_removes_ephemerals_before_replying(server, raw, root):
    c, observer = raw(), raw()
    c.create(f"{root}/e", flags=EPHEMERAL)
    reply = c.request(rawzk.OP_CLOSE_SESSION, b"")
    assert reply.err == 0
    assert c.is_closed_by_server()
    assert observer.exists(f"{root}/e").err == rawzk.NONODE


def test_silent_session_expires_ephemerals_go_and_watches_fire(server, raw, root):
    silent = raw(timeout_ms=servers.MIN_SESSION_TIMEOUT_MS)
    watcher = raw()
    p = f"{root}/eph"
    assert silent.create(p, flags=EPHEMERAL).err == 0
    assert watcher.exists(p, watch=True).err == 0
    # `silent` sends nothing more: no pings, so the server expires it
    ev = watcher.wait_event(timeout=15)
    assert (ev.type, ev.path) == (rawzk.EV_NODE_DELETED, p)
    assert watcher.exists(p).err == rawzk.NONODE
    # the server closes the expired session's connection
    assert silent.is_closed_by_server(timeout=10)


def test_pings_keep_a_session_alive(server, raw, root):
    c = raw(timeout_ms=servers.MIN_SESSION_TIMEOUT_MS)
    observer = raw()
    p = f"{root}/kept"
    c.create(p, flags=EPHEMERAL)
    end = time.monotonic() + 5 * servers.MIN_SESSION_TIMEOUT_MS / 1000
    while time.monotonic() < end:
        assert c.ping().err == 0
        time.sleep(servers.MIN_SESSION_TIMEOUT_MS / 1000 / 8)
    assert observer.exists(p).err == 0
    assert c.exists(p).err == 0


def test_reconnect_to_expired_session_gets_zero_timeout_and_close(server, raw, root):
    silent = raw(timeout_ms=servers.MIN_SESSION_TIMEOUT_MS)
    watcher = raw()
    silent.create(f"{root}/e", flags=EPHEMERAL)
    watcher.exists(f"{root}/e", watch=True)
    watcher.wait_event(timeout=15)
    again = raw(connect=False)
    again.send_raw(connect_request(5000, silent.session_id, silent.passwd))
    r = Reader(again.recv_frame())
    assert (r.int(), r.int(), r.long()) == (0, 0, 0)  # protocolVersion, timeOut 0, sessionId 0
    assert again.is_closed_by_server()


def test_reattach_with_id_and_password_keeps_ephemerals(server, raw, root):
    first = raw(timeout_ms=5000)
    p = f"{root}/mine"
    first.create(p, flags=EPHEMERAL)
    second = raw(timeout_ms=5000, session_id=first.session_id, passwd=first.passwd)
    assert second.session_id == first.session_id
    assert second.exists(p).value["ephemeralOwner"] == first.session_id
    # the session moved: the server drops the old connection
    assert first.is_closed_by_server()
    second.close()
    assert raw().exists(p).err == rawzk.NONODE


def test_wrong_password_is_rejected_like_an_expired_session(server, raw, root):
    owner = raw(timeout_ms=5000)
    owner.create(f"{root}/e", flags=EPHEMERAL)
    intruder = raw(connect=False)
    intruder.send_raw(connect_request(5000, owner.session_id, b"\x01" * 16))
    r = Reader(intruder.recv_frame())
    assert (r.int(), r.int(), r.long()) == (0, 0, 0)
    assert intruder.is_closed_by_server()
    # the session itself survives: the owner can reattach and still owns its ephemeral
    back = raw(timeout_ms=5000, session_id=owner.session_id, passwd=owner.passwd)
    assert back.exists(f"{root}/e").value["ephemeralOwner"] == owner.session_id


def test_wrong_password_attempt_drops_the_owners_connection(server, raw):
    """Observed in ZooKeeper 3.8: a connect request naming a live session closes that session's current
    connection before the password is checked (so even a failed attempt disconnects the owner)."""
    owner = raw(timeout_ms=5000)
    intruder = raw(connect=False)
    intruder.send_raw(connect_request(5000, owner.session_id, b"\x01" * 16))
    intruder.recv_frame()
    assert owner.is_closed_by_server()


def test_unknown_session_id_is_rejected(server, raw):
    c = raw(connect=False)
    c.send_raw(connect_request(5000, 0x7EADBEEF12345, b"\x00" * 16))
    r = Reader(c.recv_frame())
    assert (r.int(), r.int(), r.long()) == (0, 0, 0)
    assert c.is_closed_by_server()


def test_client_ahead_of_server_zxid_is_refused(server, raw):
    c = raw(connect=False)
    c.send_raw(connect_request(5000, 0, b"\x00" * 16, last_zxid=10**15))
    assert c.is_closed_by_server()
    assert raw().exists("/").err == 0


def test_connect_without_read_only_byte_gets_reply_without_it(server, raw):
    c = raw(connect=False)
    body = rawzk.enc_int(0) + rawzk.enc_long(0) + rawzk.enc_int(5000) + rawzk.enc_long(0) + rawzk.enc_buffer(b"\0" * 16)
    c.send_raw(rawzk.frame(body))
    r = Reader(c.recv_frame())
    assert r.int() == 0 and r.int() == 5000 and r.long() != 0
    assert len(r.buffer()) == 16
    assert r.remaining() == 0
    c.buf = b""
    assert c.exists("/").err == 0


def test_connect_with_read_only_byte_gets_it_back(server, raw):
    c = raw(read_only=False)
    assert c.read_only is False


# ---- the same through kazoo


def test_kazoo_reattach_with_client_id_keeps_ephemerals(server, make_client, root):
    a = make_client()
    p = a.create(f"{root}/e", ephemeral=True)
    sid, pw = a.client_id
    b = make_client(client_id=(sid, pw))
    assert b.client_id[0] == sid
    assert b.exists(p).ephemeralOwner == sid


def test_kazoo_session_closed_elsewhere_is_lost(server, make_client, root):
    a = make_client()
    p = a.create(f"{root}/e", ephemeral=True)
    states = []
    a.add_listener(states.append)
    thief = KazooClient(hosts=server.hosts, client_id=a.client_id, timeout=10)
    thief.start(timeout=15)
    thief.stop()  # closes the shared session
    thief.close()
    observer = make_client()
    wait_until(lambda: observer.exists(p) is None, what="ephemeral removal")
    wait_until(lambda: KazooState.LOST in states, what="kazoo to see its session lost")


def test_wrong_password_via_raw_then_server_still_serves(server, raw):
    c = RawClient(server.address, connect=False)
    c.send_raw(connect_request(5000, 1, b"x" * 16))
    c.recv_frame()
    assert c.is_closed_by_server()
    assert raw().exists("/").err == 0
