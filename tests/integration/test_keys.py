"""hotline keys: the CurveZMQ certificates of the city and its wards.

Files on disk only (the city reading allow/ while it runs is
test_federation.py's end-to-end test): what init/generate/rotate/show create, the metadata, the modes, and
that a rotation moves the old public cert out of the allowlist.
"""
import os
import re
import stat
import subprocess

import zmq

from conftest import BUILD

HOTLINE = os.path.join(BUILD, "hotline")


def keys(*args, check=True):
    result = subprocess.run([HOTLINE, "keys", *args], capture_output=True, text=True,
                            timeout=60)
    if check and result.returncode != 0:
        raise AssertionError(f"hotline keys {' '.join(args)} -> {result.returncode}\n"
                             f"stdout: {result.stdout}\nstderr: {result.stderr}")
    return result


def read(path):
    with open(path) as f:
        return f.read()


def cert_fields(path):
    """The zcert text format: metadata and curve sections of key = "value"."""
    text = read(path)
    fields = {}
    section = None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" "):
            section = line.strip()
            continue
        m = re.fullmatch(r'\s+([\w-]+) = "(.*)"', line)
        assert m, f"unexpected line in {path}: {line!r}"
        fields[(section, m.group(1))] = m.group(2)
    return fields


def public_key(path):
    return cert_fields(path)[("curve", "public-key")]


def listing(path):
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


def assert_keypair(directory, name, ward=None):
    """name and name_secret exist, match, and the secret is private."""
    public = os.path.join(directory, name)
    secret = public + "_secret"
    assert os.path.isfile(public) and os.path.isfile(secret), listing(directory)
    assert stat.S_IMODE(os.stat(secret).st_mode) & 0o077 == 0, oct(os.stat(secret).st_mode)
    pub_fields, sec_fields = cert_fields(public), cert_fields(secret)
    assert ("curve", "secret-key") not in pub_fields
    assert sec_fields[("curve", "public-key")] == pub_fields[("curve", "public-key")]
    # A real Curve25519 keypair: the public key derives from the secret one
    derived = zmq.curve_public(sec_fields[("curve", "secret-key")].encode())
    assert derived.decode() == pub_fields[("curve", "public-key")]
    if ward:
        assert pub_fields[("metadata", "ward")] == ward
        assert sec_fields[("metadata", "ward")] == ward
    return pub_fields[("curve", "public-key")]


def test_init_creates_city_and_ward_keypairs_and_the_allowlist(tmp_path):
    d = str(tmp_path / "certs")
    keys("init", "--dir", d, "--wards", "31001 31002")
    city = assert_keypair(d, "city.cert")
    k1 = assert_keypair(d, "ward-31001.cert", ward="31001")
    k2 = assert_keypair(d, "ward-31002.cert", ward="31002")
    assert len({city, k1, k2}) == 3
    assert cert_fields(os.path.join(d, "city.cert")).get(("metadata", "ward")) is None
    # allow/ holds exactly the wards' PUBLIC certs: never a secret, never the city
    assert listing(os.path.join(d, "allow")) == ["ward-31001.cert", "ward-31002.cert"]
    for code in ("31001", "31002"):
        allowed = os.path.join(d, "allow", f"ward-{code}.cert")
        assert read(allowed) == read(os.path.join(d, f"ward-{code}.cert"))
        assert "secret-key" not in read(allowed)
    assert listing(os.path.join(d, "retired")) == []


def test_init_is_idempotent_and_adds_new_wards(tmp_path):
    d = str(tmp_path / "certs")
    keys("init", "--dir", d, "--wards", "31001")
    before = {name: read(os.path.join(d, name)) for name in listing(d)
              if os.path.isfile(os.path.join(d, name))}
    out = keys("init", "--dir", d, "--wards", "31001 31003").stdout
    assert "kept" in out and "created" in out
    for name, text in before.items():
        assert read(os.path.join(d, name)) == text, f"{name} changed"
    assert_keypair(d, "ward-31003.cert", ward="31003")
    assert listing(os.path.join(d, "allow")) == ["ward-31001.cert", "ward-31003.cert"]
    # A lost allowlist copy is put back from the kept key
    os.unlink(os.path.join(d, "allow", "ward-31001.cert"))
    keys("init", "--dir", d, "--wards", "31001")
    assert read(os.path.join(d, "allow", "ward-31001.cert")) == before["ward-31001.cert"]


def test_generate_refuses_to_overwrite_without_force(tmp_path):
    d = str(tmp_path / "certs")
    out = keys("generate", "--dir", d, "--ward", "31005").stdout
    key = assert_keypair(d, "ward-31005.cert", ward="31005")
    assert key in out
    assert public_key(os.path.join(d, "allow", "ward-31005.cert")) == key
    again = keys("generate", "--dir", d, "--ward", "31005", check=False)
    assert again.returncode == 2 and "--force" in again.stderr
    assert public_key(os.path.join(d, "ward-31005.cert")) == key
    keys("generate", "--dir", d, "--ward", "31005", "--force")
    new = assert_keypair(d, "ward-31005.cert", ward="31005")
    assert new != key
    assert public_key(os.path.join(d, "allow", "ward-31005.cert")) == new
    # The replaced key is not lost: it is retired, out of the allowlist
    retired = listing(os.path.join(d, "retired"))
    assert len(retired) == 1 and retired[0].startswith("ward-31005-")
    assert public_key(os.path.join(d, "retired", retired[0])) == key


def test_rotate_moves_the_old_public_cert_out_of_the_allowlist(tmp_path):
    d = str(tmp_path / "certs")
    keys("init", "--dir", d, "--wards", "31001 31002")
    old = public_key(os.path.join(d, "ward-31001.cert"))
    other = public_key(os.path.join(d, "ward-31002.cert"))
    old_secret = read(os.path.join(d, "ward-31001.cert_secret"))
    allow = os.path.join(d, "allow")
    newest_before = max(int(os.stat(os.path.join(allow, n)).st_mtime) for n in listing(allow))
    result = keys("rotate", "--dir", d, "--ward", "31001")
    new = result.stdout.strip()
    assert re.fullmatch(r"\S{40}", new), result.stdout          # the key alone, Z85
    assert new != old
    assert assert_keypair(d, "ward-31001.cert", ward="31001") == new
    assert read(os.path.join(d, "ward-31001.cert_secret")) != old_secret
    # allow/: the new key replaces the old one; the other ward is untouched
    assert listing(allow) == ["ward-31001.cert", "ward-31002.cert"]
    assert public_key(os.path.join(allow, "ward-31001.cert")) == new
    assert public_key(os.path.join(allow, "ward-31002.cert")) == other
    allowed_keys = [public_key(os.path.join(allow, n)) for n in listing(allow)]
    assert old not in allowed_keys
    # retired/: the old public cert, with its metadata, and no secret
    retired = listing(os.path.join(d, "retired"))
    assert len(retired) == 1 and retired[0].startswith("ward-31001-"), retired
    fields = cert_fields(os.path.join(d, "retired", retired[0]))
    assert fields[("curve", "public-key")] == old
    assert fields[("metadata", "ward")] == "31001"
    assert ("curve", "secret-key") not in fields
    # The new allowlist file is stamped newer (in whole seconds) than any
    # file there before: a running city reloads its key table when a known
    # key's file time changes, and czmq's zcertstore only when the newest
    # mtime (whole seconds), the count or the total size of its files
    # changes; a rotation (usually within the same second as init, here)
    # keeps count and size
    assert int(os.stat(os.path.join(allow, "ward-31001.cert")).st_mtime) > newest_before
    # A second rotation retires the second key too
    newer = keys("rotate", "--dir", d, "--ward", "31001").stdout.strip()
    assert newer not in (old, new)
    retired = listing(os.path.join(d, "retired"))
    assert len(retired) == 2
    assert {public_key(os.path.join(d, "retired", n)) for n in retired} == {old, new}


def test_show_lists_certificates_with_ward_and_key(tmp_path):
    d = str(tmp_path / "certs")
    keys("init", "--dir", d, "--wards", "31001 31002")
    old = public_key(os.path.join(d, "ward-31002.cert"))
    keys("rotate", "--dir", d, "--ward", "31002")
    out = keys("show", "--dir", d).stdout
    rows = {}
    for line in out.splitlines()[1:]:
        name, ward, status, key = line.split(None, 3)
        rows[name] = (ward, status, key)
    assert rows["city.cert"][:2] == ("(city)", "server")
    assert rows["city.cert"][2] == public_key(os.path.join(d, "city.cert"))
    assert rows["ward-31001.cert"] == ("31001", "allowed", public_key(os.path.join(d, "ward-31001.cert")))
    assert rows["ward-31002.cert"] == ("31002", "allowed", public_key(os.path.join(d, "ward-31002.cert")))
    retired = [r for n, r in rows.items() if n.startswith("retired/")]
    assert retired == [("31002", "retired", old)]


def test_bad_input_exits_2_and_writes_nothing(tmp_path):
    d = str(tmp_path / "certs")
    cases = [
        ("init", "--wards", "31001"),                               # no --dir
        ("init", "--dir", d),                                       # no --wards
        ("init", "--dir", d, "--wards", "31001 abc"),              # bad code
        ("init", "--dir", d, "--wards", "   "),                     # no code
        ("init", "--dir", d, "--wards", "12345678901"),            # too long
        ("generate", "--dir", d),                                   # no --ward
        ("generate", "--dir", d, "--ward", "31-01"),
        ("generate", "--dir", d, "--ward", "31001", "--bogus"),
        ("rotate", "--dir", d, "--ward", "31001"),                 # nothing to rotate
        ("show", "--dir", d),                                       # no directory
        ("frobnicate", "--dir", d),
        (),
    ]
    for args in cases:
        result = keys(*args, check=False)
        assert result.returncode == 2, (args, result.returncode, result.stderr)
        assert result.stderr.startswith("hotline keys"), (args, result.stderr)
        assert not os.path.exists(d), (args, listing(d))
    # rotate of a ward that has no key, in an existing directory
    keys("init", "--dir", d, "--wards", "31001")
    before = {n: read(os.path.join(d, "allow", n)) for n in listing(os.path.join(d, "allow"))}
    result = keys("rotate", "--dir", d, "--ward", "31009", check=False)
    assert result.returncode == 2 and "generate" in result.stderr
    assert {n: read(os.path.join(d, "allow", n)) for n in listing(os.path.join(d, "allow"))} == before
    assert not os.path.exists(os.path.join(d, "ward-31009.cert"))
    # A keypair with its secret missing is reported, not silently replaced
    os.unlink(os.path.join(d, "ward-31001.cert_secret"))
    result = keys("init", "--dir", d, "--wards", "31001", check=False)
    assert result.returncode == 2 and "secret" in result.stderr


def tree(root):
    """{relative path: (mode, uid, gid)} of everything under root"""
    found = {}
    for here, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(here, name)
            info = os.lstat(path)
            found[os.path.relpath(path, root)] = (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid)
    return found


def test_split_gives_each_node_its_own_keys_and_nothing_else(tmp_path):
    d, out = str(tmp_path / "keys"), str(tmp_path / "out")
    # Another owner where we may give one (root), else our own: --owner is applied either way
    uid, gid = (12345, 12346) if os.getuid() == 0 else (os.getuid(), os.getgid())
    owner = f"{uid}:{gid}"
    # init --to: the keys, then each node's directory (compose's keys-init, in one command)
    made = keys("init", "--dir", d, "--wards", "31001 31002", "--to", out, "--owner", owner).stdout
    assert "split    city" in made and "split    31002" in made, made
    found = tree(out)
    public, secret, private_dir = (0o644, uid, gid), (0o600, uid, gid), (0o700, uid, gid)
    assert found == {
        "city": private_dir, "city/allow": private_dir,
        "city/city.cert": public, "city/city.cert_secret": secret,
        "city/allow/ward-31001.cert": public, "city/allow/ward-31002.cert": public,
        "31001": private_dir, "31001/ward-31001.cert": public, "31001/ward-31001.cert_secret": secret,
        "31001/city.cert": public,
        "31002": private_dir, "31002/ward-31002.cert": public, "31002/ward-31002.cert_secret": secret,
        "31002/city.cert": public,
    }, found
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o700
    for node, name in (("city", "city.cert"), ("31001", "ward-31001.cert"), ("31002", "ward-31002.cert")):
        assert read(os.path.join(out, node, name + "_secret")) == read(os.path.join(d, name + "_secret"))
        assert_keypair(os.path.join(out, node), name)
    assert read(os.path.join(out, "31001", "city.cert")) == read(os.path.join(d, "city.cert"))
    assert "secret-key" not in read(os.path.join(out, "31001", "city.cert"))

    # Again, after a rotation and with another node's secret planted in a
    # ward's directory: the secret goes, the rotated key arrives, the files
    # that did not change are left as they were (same inode)
    planted = os.path.join(out, "31001", "city.cert_secret")
    with open(planted, "w") as f:
        f.write(read(os.path.join(d, "city.cert_secret")))
    kept = os.stat(os.path.join(out, "city", "allow", "ward-31001.cert")).st_ino
    keys("rotate", "--dir", d, "--ward", "31002")
    again = keys("split", "--dir", d, "--wards", "31001 31002", "--to", out, "--owner", owner).stdout
    assert f"removed  {planted}" in again, again
    assert tree(out) == found
    assert os.stat(os.path.join(out, "city", "allow", "ward-31001.cert")).st_ino == kept
    for name in ("city/allow/ward-31002.cert", "31002/ward-31002.cert"):
        assert public_key(os.path.join(out, name)) == public_key(os.path.join(d, "ward-31002.cert"))

    # Refused, nothing written: a ward without a key, a bad owner, no --to, no --wards
    for args in (("--wards", "31001 31003", "--to", str(tmp_path / "o2")),
                 ("--wards", "31001", "--to", str(tmp_path / "o2"), "--owner", "hotline"),
                 ("--wards", "31001", "--to", str(tmp_path / "o2"), "--owner", "1:"),
                 ("--wards", "31001"),
                 ("--to", str(tmp_path / "o2"))):
        result = keys("split", "--dir", d, *args, check=False)
        assert result.returncode == 2 and result.stderr.startswith("hotline keys split"), (args, result.stderr)
        assert not os.path.exists(tmp_path / "o2"), args
    result = keys("init", "--dir", str(tmp_path / "k2"), "--wards", "31001", "--owner", owner, check=False)
    assert result.returncode == 2 and "--to" in result.stderr
    assert not os.path.exists(tmp_path / "k2")
