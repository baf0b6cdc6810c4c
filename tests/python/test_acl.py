"""ACLs: digest auth, world:anyone, the auth scheme, ip, super, getACL/setACL with versions."""

import pytest
import rawzk
import servers
from kazoo.exceptions import BadVersionError, InvalidACLException, NoAuthError
from kazoo.security import ACL, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, Id, Permissions, make_digest_acl


def test_digest_acl_id_is_base64_sha1(server):
    acl = make_digest_acl("bob", "secret", all=True)
    assert acl.id.id == servers.digest_id("bob", "secret")


def test_digest_acl_denies_others_and_allows_owner(server, make_client, root):
    owner = make_client(auth_data=[("digest", "bob:secret")])
    other = make_client()
    p = f"{root}/private"
    owner.create(p, b"s", acl=[make_digest_acl("bob", "secret", all=True)])
    assert owner.get(p)[0] == b"s"
    with pytest.raises(NoAuthError):
        other.get(p)
    with pytest.raises(NoAuthError):
        other.set(p, b"x")
    with pytest.raises(NoAuthError):
        other.create(f"{p}/child")
    # exists needs no permission
    assert other.exists(p) is not None
    other.add_auth("digest", "bob:secret")
    assert other.get(p)[0] == b"s"


def test_wrong_digest_password_gives_no_auth(server, make_client, root):
    owner = make_client(auth_data=[("digest", "bob:secret")])
    owner.create(f"{root}/p", acl=[make_digest_acl("bob", "secret", read=True)])
    intruder = make_client(auth_data=[("digest", "bob:wrong")])
    with pytest.raises(NoAuthError):
        intruder.get(f"{root}/p")


def test_read_only_world_acl(server, zk, root):
    p = f"{root}/ro"
    zk.create(p, b"v", acl=READ_ACL_UNSAFE)
    assert zk.get(p)[0] == b"v"
    with pytest.raises(NoAuthError):
        zk.set(p, b"x")
    with pytest.raises(NoAuthError):
        zk.create(f"{p}/c")


def test_delete_needs_delete_permission_on_parent(server, zk, root):
    parent = f"{root}/nodel"
    perms = Permissions.READ | Permissions.CREATE | Permissions.WRITE | Permissions.ADMIN
    zk.create(parent, acl=[ACL(perms, Id("world", "anyone"))])
    zk.create(f"{parent}/c")
    with pytest.raises(NoAuthError):
        zk.delete(f"{parent}/c")


def test_get_acl_and_set_acl_with_versions(server, zk, root):
    p = f"{root}/acl"
    zk.create(p)
    acls, stat = zk.get_acls(p)
    assert list(acls) == list(OPEN_ACL_UNSAFE)
    assert stat.aversion == 0
    read_admin = [ACL(Permissions.READ | Permissions.ADMIN, Id("world", "anyone"))]
    s1 = zk.set_acls(p, read_admin)
    assert s1.aversion == 1
    with pytest.raises(BadVersionError):
        zk.set_acls(p, OPEN_ACL_UNSAFE, version=0)
    s2 = zk.set_acls(p, OPEN_ACL_UNSAFE, version=1)
    assert s2.aversion == 2
    assert s2.version == 0  # data version untouched
    assert list(zk.get_acls(p)[0]) == list(OPEN_ACL_UNSAFE)


def test_set_acl_needs_admin(server, zk, root):
    p = f"{root}/noadmin"
    zk.create(p, acl=[ACL(Permissions.READ | Permissions.WRITE, Id("world", "anyone"))])
    with pytest.raises(NoAuthError):
        zk.set_acls(p, OPEN_ACL_UNSAFE)


def test_auth_scheme_expands_to_the_callers_digest_ids(server, make_client, root):
    c = make_client(auth_data=[("digest", "carol:pw")])
    p = f"{root}/authscheme"
    c.create(p, acl=[ACL(Permissions.ALL, Id("auth", ""))])
    acls, _ = c.get_acls(p)
    assert [(a.perms, a.id.scheme, a.id.id) for a in acls] == [
        (Permissions.ALL, "digest", servers.digest_id("carol", "pw"))
    ]


def test_auth_scheme_without_authentication_is_invalid_acl(server, zk, root):
    with pytest.raises(InvalidACLException):
        zk.create(f"{root}/x", acl=[ACL(Permissions.ALL, Id("auth", ""))])


@pytest.mark.parametrize(
    "acl",
    [
        [],
        [(31, "nosuchscheme", "x")],
        [(31, "digest", "no-colon")],
        [(31, "world", "someone")],
        [(31, "ip", "not-an-ip")],
    ],
    ids=["empty", "unknown-scheme", "digest-without-colon", "world-not-anyone", "bad-ip"],
)
def test_invalid_acls_are_rejected(server, raw, root, acl):
    c = raw()
    assert c.create(f"{root}/bad", acl=acl).err == rawzk.INVALIDACL
    assert c.exists(f"{root}/bad").err == rawzk.NONODE


def test_ip_acl(server, raw, root):
    c = raw()
    assert c.create(f"{root}/local", b"l", acl=[(rawzk.PERM_ALL, "ip", "127.0.0.1")]).err == 0
    assert c.get_data(f"{root}/local").err == 0
    assert c.create(f"{root}/remote", acl=[(rawzk.PERM_ALL, "ip", "10.0.0.0/8")]).err == 0
    assert c.get_data(f"{root}/remote").err == rawzk.NOAUTH


def test_acl_perms_are_stored_verbatim(server, raw, root):
    c = raw()
    assert c.create(f"{root}/p0", acl=[(0, "world", "anyone")]).err == 0
    assert c.get_data(f"{root}/p0").err == rawzk.NOAUTH
    assert c.get_acl(f"{root}/p0").err == rawzk.NOAUTH  # getACL needs READ or ADMIN
    # Bits outside ALL are kept as given.
    assert c.create(f"{root}/p99", acl=[(99, "world", "anyone")]).err == 0
    assert c.get_acl(f"{root}/p99").value[0] == [(99, "world", "anyone")]


def test_super_digest_bypasses_acls(server, make_client, root):
    owner = make_client(auth_data=[("digest", "bob:secret")])
    p = f"{root}/locked"
    owner.create(p, b"x", acl=[make_digest_acl("bob", "secret", all=True)])
    admin = make_client(auth_data=[("digest", f"{servers.SUPER_USER}:{servers.SUPER_PASSWORD}")])
    assert admin.get(p)[0] == b"x"
    admin.delete(p)


def test_get_acl_needs_read_or_admin(server, make_client, root):
    owner = make_client(auth_data=[("digest", "bob:secret")])
    p = f"{root}/hidden"
    owner.create(p, acl=[make_digest_acl("bob", "secret", all=True)])
    other = make_client()
    with pytest.raises(NoAuthError):
        other.get_acls(p)
    q = f"{root}/adminonly"
    owner.create(q, acl=[ACL(Permissions.ADMIN, Id("world", "anyone"))])
    acls, _ = other.get_acls(q)
    assert [(a.perms, a.id.scheme, a.id.id) for a in acls] == [(Permissions.ADMIN, "world", "anyone")]


def test_unknown_auth_scheme_fails_and_closes_the_session(server, raw):
    c = raw()
    reply = c.add_auth("nosuchscheme", b"x")
    assert reply.err == rawzk.AUTHFAILED
    assert c.is_closed_by_server()
    # the server still serves others
    assert raw().exists("/").err == 0
