"""Four-letter words: each reply's format is pinned by a pattern learned from ZooKeeper 3.8 (numbers,
addresses and versions vary; the layout must not). When both targets run, their "shapes" (replies with
every number, address and version masked) are also compared with each other."""

import re

import pytest
import rawzk
import servers
from rawzk import EPHEMERAL

NUM = r"-?\d+"
FLOAT = r"-?\d+(?:\.\d+)?"
HEX = r"0x[0-9a-f]+"
ADDR = r"/[0-9.]+:\d+"

SRVR_LINES = [
    r"Zookeeper version: .+",
    rf"Latency min/avg/max: {NUM}/{FLOAT}/{NUM}",
    rf"Received: {NUM}",
    rf"Sent: {NUM}",
    rf"Connections: {NUM}",
    rf"Outstanding: {NUM}",
    rf"Zxid: {HEX}",
    r"Mode: standalone",
    rf"Node count: {NUM}",
]
CONS_FULL = (
    rf" {ADDR}\[{NUM}\]\(queued={NUM},recved={NUM},sent={NUM},sid={HEX},lop=\w+,est={NUM},to={NUM},"
    rf"lcxid={HEX},lzxid={HEX},lresp={NUM},llat={NUM},minlat={NUM},avglat={NUM},maxlat={NUM}\)"
)
CONS_SHORT = rf" {ADDR}\[{NUM}\]\(queued={NUM},recved={NUM},sent={NUM}\)"
CONF_KEYS = [
    "clientPort",
    "secureClientPort",
    "dataDir",
    "dataDirSize",
    "dataLogDir",
    "dataLogSize",
    "tickTime",
    "maxClientCnxns",
    "minSessionTimeout",
    "maxSessionTimeout",
    "clientPortListenBacklog",
    "serverId",
]
# The mntr keys monitoring tools read; ZooKeeper prints many more.
MNTR_KEYS = [
    "zk_version",
    "zk_server_state",
    "zk_avg_latency",
    "zk_max_latency",
    "zk_min_latency",
    "zk_packets_received",
    "zk_packets_sent",
    "zk_num_alive_connections",
    "zk_outstanding_requests",
    "zk_znode_count",
    "zk_watch_count",
    "zk_ephemerals_count",
    "zk_approximate_data_size",
    "zk_open_file_descriptor_count",
    "zk_max_file_descriptor_count",
]
ENVI_KEYS = ["zookeeper.version", "host.name", "os.name", "os.arch", "os.version", "user.name", "user.home", "user.dir"]


def flw(server, cmd):
    return servers.four_letter(server.host, server.port, cmd)


def full_match_lines(text, patterns):
    lines = text.split("\n")
    assert lines[-1] == "", f"reply must end with a newline: {text!r}"
    lines = lines[:-1]
    assert len(lines) == len(patterns), f"{text!r}"
    for line, pat in zip(lines, patterns):
        assert re.fullmatch(pat, line), f"{line!r} !~ {pat!r}"


def test_ruok(server):
    assert flw(server, "ruok") == "imok"


def test_isro(server):
    assert flw(server, "isro") == "rw"


def test_srvr(server):
    full_match_lines(flw(server, "srvr"), SRVR_LINES)


def test_stat(server, raw):
    c = raw()
    c.exists("/")
    out = flw(server, "stat")
    head, rest = out.split("\n", 1)
    assert re.fullmatch(r"Zookeeper version: .+", head)
    clients, tail = rest.split("\n\n", 1)
    lines = clients.split("\n")
    assert lines[0] == "Clients:"
    for line in lines[1:]:
        assert re.fullmatch(CONS_SHORT, line), line
    assert len(lines) >= 3  # our raw client and the 4lw connection itself
    full_match_lines(tail, SRVR_LINES[1:])


def test_conf(server):
    out = flw(server, "conf")
    pairs = [line.split("=", 1) for line in out.splitlines()]
    assert [k for k, _ in pairs] == CONF_KEYS
    conf = dict(pairs)
    assert conf["clientPort"] == str(server.port)
    assert conf["tickTime"] == str(servers.TICK_TIME_MS)
    assert conf["minSessionTimeout"] == str(servers.MIN_SESSION_TIMEOUT_MS)
    assert conf["maxSessionTimeout"] == str(servers.MAX_SESSION_TIMEOUT_MS)
    # ZooKeeper names dataDir/version-2; rzk its own dataDir/rzk (docs/compatibility.md).
    assert conf["dataDir"].endswith("version-2" if server.kind == "zk" else "rzk")
    assert conf["serverId"] == "0"


def test_cons(server, raw):
    c = raw()
    c.exists("/")
    out = flw(server, "cons")
    assert out.endswith("\n\n")
    lines = out[:-2].split("\n")
    sid = f"sid={c.session_id:#x},"
    assert any(sid in line and re.fullmatch(CONS_FULL, line) for line in lines), out
    for line in lines:
        assert re.fullmatch(CONS_FULL, line) or re.fullmatch(CONS_SHORT, line), line


def test_crst_and_srst(server):
    assert flw(server, "crst") == "Connection stats reset.\n"
    assert flw(server, "srst") == "Server stats reset.\n"
    received = int(re.search(r"Received: (\d+)", flw(server, "srvr")).group(1))
    assert received <= 5  # counters restarted (only the 4lw connections themselves since)


def test_mntr(server):
    out = flw(server, "mntr")
    pairs = [line.split("\t") for line in out.splitlines()]
    assert all(len(p) == 2 for p in pairs), out
    keys = [k for k, _ in pairs]
    for k in MNTR_KEYS:
        assert k in keys, k
    assert keys[:2] == ["zk_version", "zk_server_state"]
    values = dict(pairs)
    assert values["zk_server_state"] == "standalone"
    for k in MNTR_KEYS[2:]:
        assert re.fullmatch(FLOAT, values[k]), (k, values[k])


def test_envi(server):
    out = flw(server, "envi")
    lines = out.splitlines()
    assert lines[0] == "Environment:"
    keys = [line.split("=", 1)[0] for line in lines[1:]]
    for k in ENVI_KEYS:
        assert k in keys, k


def test_watch_reports(server, raw, root):
    """Observed in ZooKeeper 3.8: wchs/wchc/wchp report the data-watch table only (exists/getData watches
    and persistent watches); one-shot child watches are not listed."""
    c = raw()
    c.create(f"{root}/a")
    c.create(f"{root}/b")
    c.get_data(f"{root}/a", watch=True)
    c.get_children(f"{root}/b", watch=True)
    sid = f"{c.session_id:#x}"

    wchs = flw(server, "wchs")
    assert re.fullmatch(rf"{NUM} connections watching {NUM} paths\nTotal watches:{NUM}\n", wchs), wchs

    wchc = flw(server, "wchc")
    blocks = _blocks(wchc)
    assert sorted(blocks[sid]) == [f"{root}/a"]

    wchp = flw(server, "wchp")
    blocks = _blocks(wchp)
    assert blocks[f"{root}/a"] == [sid]
    assert f"{root}/b" not in blocks
    # a persistent watch shows up
    c.add_watch(f"{root}/b", rawzk.ADD_WATCH_PERSISTENT)
    assert _blocks(flw(server, "wchp"))[f"{root}/b"] == [sid]


def _blocks(text):
    """Parses "key\\n\\tvalue\\n\\tvalue\\n..." blocks (wchc, wchp), ending with a blank line."""
    assert text.endswith("\n\n") or text == "\n", repr(text)
    out, key = {}, None
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("\t"):
            out[key].append(line[1:])
        else:
            key = line
            out[key] = []
    return out


def test_dump(server, raw, root):
    c = raw()
    c.create(f"{root}/e1", flags=EPHEMERAL)
    c.create(f"{root}/e2", flags=EPHEMERAL)
    sid = f"{c.session_id:#x}"
    out = flw(server, "dump")
    assert out.startswith("SessionTracker dump:\nSession Sets (")
    assert "\nephemeral nodes dump:\nSessions with Ephemerals (" in out
    assert "\nConnections dump:\nConnections Sets (" in out
    eph = out.split("ephemeral nodes dump:\n", 1)[1].split("Connections dump:\n", 1)[0]
    section = eph.split(f"\n{sid}:\n", 1)[1]
    ours = []
    for line in section.splitlines():
        if not line.startswith("\t"):
            break
        ours.append(line[1:])
    assert sorted(ours) == [f"{root}/e1", f"{root}/e2"]
    assert re.search(rf"\tip: {ADDR} sessionId: {sid}\n", out)
    assert re.search(rf"\n{NUM} expire at .+:\n\t{HEX}", out)


def test_unknown_four_letter_word_just_closes(server):
    assert flw(server, "xxxx") == ""
    assert flw(server, "ruok") == "imok"


# ---- zk and rzk side by side


def shape(text):
    """Masks what legitimately differs between servers and runs: versions, numbers, addresses, paths."""
    text = re.sub(r"Zookeeper version: .*", "Zookeeper version: V", text)
    text = re.sub(r"zk_version\t.*", "zk_version\tV", text)
    text = re.sub(r"zookeeper\.version=.*", "zookeeper.version=V", text)
    text = re.sub(r"expire at .*:", "expire at T:", text)
    text = re.sub(ADDR, "/ADDR", text)
    text = re.sub(r"(dataDir|dataLogDir)=.*", r"\1=DIR", text)
    text = re.sub(HEX, "HEX", text)
    text = re.sub(r"\d+(?:\.\d+)?", "N", text)
    return text


def _line_shapes(text):
    return sorted(set(shape(text).splitlines()))


@pytest.fixture
def both_servers():
    targets = servers.selected_targets()
    if set(targets) != {"zk", "rzk"}:
        pytest.skip("needs both targets (RZK_TEST_TARGETS=zk,rzk)")
    from conftest import _get_server

    return _get_server("zk"), _get_server("rzk")


@pytest.mark.parametrize("cmd", ["ruok", "isro", "srvr", "conf", "crst", "srst", "wchs"])
def test_reply_shapes_match_between_zk_and_rzk(both_servers, cmd):
    zk, rzk = both_servers
    assert shape(flw(rzk, cmd)) == shape(flw(zk, cmd))


@pytest.mark.parametrize("cmd", ["stat", "cons", "dump", "wchc", "wchp"])
def test_reply_line_shapes_match_between_zk_and_rzk(both_servers, cmd):
    """Variable-length replies: the set of line shapes must agree (given some session on each)."""
    zk, rzk = both_servers
    keep = []
    for s in (zk, rzk):
        c = rawzk.RawClient(s.address)
        c.create("/flw-shape", flags=EPHEMERAL)
        c.get_data("/flw-shape", watch=True)
        keep.append(c)
    try:
        assert _line_shapes(flw(rzk, cmd)) == _line_shapes(flw(zk, cmd))
    finally:
        for c in keep:
            c.close()


def test_mntr_keys_of_rzk_cover_the_classic_set(both_servers):
    zk, rzk = both_servers
    zk_keys = {line.split("\t")[0] for line in flw(zk, "mntr").splitlines()}
    rzk_keys = {line.split("\t")[0] for line in flw(rzk, "mntr").splitlines()}
    assert set(MNTR_KEYS) <= zk_keys
    assert set(MNTR_KEYS) <= rzk_keys
