"""`hotline user ...` and `hotline apikey ...`: the real CLI against a real
node configuration and the web.db it finds in the node's data directory.

The passwords written are checked with libsodium itself (ctypes): the hash in
web.db verifies the password typed, and nothing stores or prints a password,
a TOTP secret's use or an API key in clear.
"""
import base64
import ctypes
import ctypes.util
import hashlib
import hmac
import json
import os
import pty
import re
import select
import signal
import sqlite3
import struct
import subprocess
import time

import pytest

from conftest import BUILD, Node

HOTLINE = os.path.join(BUILD, "hotline")
PASSWORD = "Mật khẩu rất dài 2026"
_sodium = None


def sodium():
    global _sodium
    if _sodium is None:
        name = ctypes.util.find_library("sodium") or "libsodium.so.23"
        _sodium = ctypes.CDLL(name)
        assert _sodium.sodium_init() >= 0
    return _sodium


def password_ok(hash_text, password):
    """libsodium's own check of a crypto_pwhash_str string."""
    data = password.encode()
    return sodium().crypto_pwhash_str_verify(hash_text.encode(), data, ctypes.c_ulonglong(len(data))) == 0


def totp(secret, at=None, step=30, digits=6):
    """RFC 6238 (SHA-1), as an authenticator app computes it."""
    key = base64.b32decode(secret)
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 10 ** digits
    return f"{code:0{digits}d}"


@pytest.fixture
def node(tmp_path):
    # No service needs to run: the accounts are the node's web.db
    return Node(tmp_path)


def run(node, *args, input=None, env=None, config=True):
    cmd = [HOTLINE] + (["-c", node.config] if config else []) + list(args)
    full_env = dict(node.env)
    full_env.update(env or {})
    return subprocess.run(cmd, env=full_env, capture_output=True, text=True, input=input, timeout=60)


def web_db(node):
    return os.path.join(node.data, "web.db")


def users(node):
    result = run(node, "user", "list", "--json")
    assert result.returncode == 0, result.stderr
    return {row["name"]: row for row in json.loads(result.stdout)}


def stored_hash(node, name):
    conn = sqlite3.connect(f"file:{web_db(node)}?mode=ro", uri=True, timeout=10)
    try:
        row = conn.execute("SELECT hash FROM users WHERE name = ?", (name,)).fetchone()
    finally:
        conn.close()
    return row[0] if row else None


def raw_bytes(node):
    data = b""
    for name in os.listdir(node.data):
        if name.startswith("web.db"):
            with open(os.path.join(node.data, name), "rb") as f:
                data += f.read()
    return data


def add(node, name, role, password=PASSWORD):
    return run(node, "user", "add", name, "--role", role, "--password-stdin", input=password + "\n")


def test_add_list_and_the_hash_verifies(node):
    result = add(node, "lan", "officer")
    assert result.returncode == 0, result.stderr
    assert "lan" in result.stdout
    for role in ("division", "leader", "department", "viewer", "admin"):
        assert add(node, f"u-{role}", role).returncode == 0
    listed = users(node)
    assert set(listed) == {"lan", "u-division", "u-leader", "u-department", "u-viewer", "u-admin"}
    assert listed["lan"]["role"] == "officer"
    assert listed["lan"]["disabled"] is False and listed["lan"]["totp"] is False
    assert listed["lan"]["created_ms"] > 0 and listed["lan"]["last_login_ms"] == 0
    # the table form, for people
    table = run(node, "user", "list")
    assert table.returncode == 0
    assert re.search(r"^lan\s+officer\s+active\s+no\s", table.stdout, re.M)
    # Argon2id, at the interactive cost, and it is the password given
    hashed = stored_hash(node, "lan")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=2,p=1$")
    assert password_ok(hashed, PASSWORD)
    assert not password_ok(hashed, PASSWORD + "x")
    # the schema is versioned
    conn = sqlite3.connect(web_db(node))
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_bad_input_exits_2_and_stores_nothing(node):
    assert add(node, "lan", "officer").returncode == 0
    cases = [
        (["user", "add", "lan", "--role", "leader", "--password-stdin"], PASSWORD, "exists"),
        (["user", "add", "bob", "--role", "chief", "--password-stdin"], PASSWORD, "unknown role 'chief'"),
        # the services' own role is not a person's
        (["user", "add", "bob", "--role", "system", "--password-stdin"], PASSWORD, "unknown role 'system'"),
        (["user", "add", "Bob", "--role", "viewer", "--password-stdin"], PASSWORD, "bad user name"),
        (["user", "add", "bob", "--role", "viewer", "--password-stdin"], "short", "too short"),
        (["user", "add", "bob", "--role", "viewer", "--password-stdin"], "x" * 300, "longer than 256"),
        (["user", "add", "bob", "--role", "viewer", "--password-stdin"], "", "too short"),
        (["user", "add", "bob", "--role", "viewer", "--password-stdin"], "EOF", "no password on stdin"),
        (["user", "add", "bob", "--password-stdin"], PASSWORD, "--role ROLE is required"),
        (["user", "add", "--role", "viewer"], PASSWORD, "NAME is missing"),
        (["user", "add", "bob", "--role", "viewer", "--password", PASSWORD], "", "unknown option --password"),
        (["user", "add", "bob", "--role", "viewer", PASSWORD], "", "unexpected argument"),
        (["user", "passwd", "nobody", "--password-stdin"], PASSWORD, "no user 'nobody'"),
        (["user", "disable", "nobody"], None, "no user"),
        (["user", "totp", "nobody"], None, "no user"),
        (["user", "frobnicate"], None, "unknown command"),
        (["apikey", "revoke", "nothing"], None, "no live API key"),
        (["apikey", "add", "Bad Name"], None, "bad key name"),
    ]
    for args, stdin, message in cases:
        text = None if stdin is None else "" if stdin == "EOF" else stdin + "\n"
        result = run(node, *args, input=text)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        # a refused password is never echoed back either
        assert PASSWORD not in result.stdout + result.stderr
    assert set(users(node)) == {"lan"}
    assert stored_hash(node, "lan") and password_ok(stored_hash(node, "lan"), PASSWORD)


def test_no_password_from_a_pipe_without_password_stdin(node):
    # stdin is not a terminal: refuse rather than read a password from it
    result = run(node, "user", "add", "bob", "--role", "viewer", input=PASSWORD + "\n")
    assert result.returncode == 2
    assert "not a terminal" in result.stderr and "--password-stdin" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert "bob" not in users(node)


def _on_terminal(node, args, typed):
    """Run the CLI with a terminal as its stdin, answer each prompt with the
    next of typed; returns (exit code, everything the terminal showed)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(HOTLINE, [HOTLINE, "-c", node.config] + args, node.env)
    shown = b""
    answers = list(typed)
    seen = 0
    deadline = time.monotonic() + 60
    while True:
        if time.monotonic() > deadline:         # never hang the suite
            os.kill(pid, signal.SIGKILL)
            break
        if not select.select([fd], [], [], 0.5)[0]:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
        # answer each prompt once it is on the screen (not on any other
        # line, such as a log line, that holds a colon)
        while answers:
            prompt = b"New password for " if len(answers) == len(typed) else b"Again: "
            at = shown.find(prompt, seen)
            if at < 0:
                break
            seen = at + len(prompt)
            os.write(fd, answers.pop(0).encode() + b"\n")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), shown.decode("utf-8", "replace")


def test_password_typed_twice_on_a_terminal_without_echo(node):
    rc, shown = _on_terminal(node, ["user", "add", "thu", "--role", "leader"], [PASSWORD, PASSWORD])
    assert rc == 0, shown
    assert "New password for thu" in shown and "Again" in shown
    assert PASSWORD not in shown                    # echo was off
    assert password_ok(stored_hash(node, "thu"), PASSWORD)
    # two different answers: nothing changes
    rc, shown = _on_terminal(node, ["user", "passwd", "thu"], ["another long password", "a typo long password"])
    assert rc == 2 and "differ" in shown
    assert password_ok(stored_hash(node, "thu"), PASSWORD)
    rc, shown = _on_terminal(node, ["user", "add", "dung", "--role", "leader"], ["first long password", "other long password"])
    assert rc == 2 and "dung" not in users(node)


def test_passwd_disable_enable(node):
    assert add(node, "lan", "officer").returncode == 0
    before = stored_hash(node, "lan")
    result = run(node, "user", "passwd", "lan", "--password-stdin", input="the second password\n")
    assert result.returncode == 0, result.stderr
    after = stored_hash(node, "lan")
    assert after != before
    assert password_ok(after, "the second password") and not password_ok(after, PASSWORD)
    assert run(node, "user", "disable", "lan").returncode == 0
    assert users(node)["lan"]["disabled"] is True
    assert re.search(r"^lan\s+officer\s+disabled", run(node, "user", "list").stdout, re.M)
    assert run(node, "user", "disable", "lan", "--enable").returncode == 0
    assert users(node)["lan"]["disabled"] is False


def test_the_last_enabled_admin_cannot_be_disabled(node):
    """With no admin left nobody could manage users from the console: the
    last enabled admin is refused (exit 2, nothing changed); with a second
    admin either may go, and then the other is the last."""
    assert add(node, "boss", "admin").returncode == 0
    refused = run(node, "user", "disable", "boss")
    assert refused.returncode == 2 and "last enabled admin" in refused.stderr, refused.stderr
    assert users(node)["boss"]["disabled"] is False
    assert add(node, "second", "admin").returncode == 0
    assert run(node, "user", "disable", "boss").returncode == 0
    refused = run(node, "user", "disable", "second")
    assert refused.returncode == 2 and "last enabled admin" in refused.stderr, refused.stderr
    assert users(node)["second"]["disabled"] is False and users(node)["boss"]["disabled"] is True


def test_totp_uri_and_secret(node):
    assert add(node, "lan", "officer").returncode == 0
    result = run(node, "user", "totp", "lan")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    uri, secret = lines[0], lines[-1]
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    assert len(base64.b32decode(secret)) == 20
    assert uri == (f"otpauth://totp/Hotline%20ward-31001:lan?secret={secret}&issuer=Hotline%20ward-31001"
                   "&algorithm=SHA1&digits=6&period=30")
    assert re.fullmatch(r"\d{6}", totp(secret))
    assert users(node)["lan"]["totp"] is True
    # a new secret replaces the old one
    again = run(node, "user", "totp", "lan").stdout.strip().splitlines()[-1]
    assert again != secret
    assert run(node, "user", "totp", "lan", "--clear").returncode == 0
    assert users(node)["lan"]["totp"] is False


def test_apikeys(node):
    result = run(node, "apikey", "add", "open311")
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    assert "once" in result.stderr
    # a second live key of the same name is refused
    assert run(node, "apikey", "add", "open311").returncode == 2
    listed = json.loads(run(node, "apikey", "list", "--json").stdout)
    assert [(k["name"], k["revoked"]) for k in listed] == [("open311", False)]
    assert re.search(r"^open311\s+live", run(node, "apikey", "list").stdout, re.M)
    # only its SHA-256 is stored
    conn = sqlite3.connect(f"file:{web_db(node)}?mode=ro", uri=True)
    stored = conn.execute("SELECT key_hash FROM apikeys WHERE name = 'open311'").fetchone()[0]
    conn.close()
    assert stored == hashlib.sha256(key.encode()).hexdigest()
    assert key.encode() not in raw_bytes(node)
    assert run(node, "apikey", "revoke", "open311").returncode == 0
    listed = json.loads(run(node, "apikey", "list", "--json").stdout)
    assert listed[0]["revoked"] is True
    assert run(node, "apikey", "revoke", "open311").returncode == 2
    # the name of a revoked key may be given to a new one
    new = run(node, "apikey", "add", "open311")
    assert new.returncode == 0
    assert new.stdout.strip().splitlines()[-1] != key


def test_password_never_in_clear(node):
    outputs = ""
    for name, role in (("lan", "officer"), ("hoa", "viewer")):
        result = add(node, name, role)
        outputs += result.stdout + result.stderr
    result = run(node, "user", "passwd", "hoa", "--password-stdin", input="Mật khẩu thứ hai 2026\n")
    outputs += result.stdout + result.stderr
    for args in (["user", "list"], ["user", "list", "--json"], ["apikey", "list"]):
        result = run(node, *args)
        outputs += result.stdout + result.stderr
    assert PASSWORD not in outputs and "Mật khẩu thứ hai" not in outputs
    data = raw_bytes(node)
    assert data
    for secret in (PASSWORD, "Mật khẩu thứ hai 2026", "Mật khẩu"):
        assert secret.encode() not in data


def test_node_by_name_and_nodes_file(node, tmp_path):
    nodes = tmp_path / "nodes.cfg"
    # the line make run writes per node: config = its configuration
    nodes.write_text("nodes\n"
                     f"    {node.name}\n"
                     "        role = ward\n"
                     f"        endpoint = tcp://127.0.0.1:{node.base + 1}\n"
                     f"        web = http://127.0.0.1:{node.base + 10}\n"
                     f"        config = {node.config}\n"
                     "    other\n"
                     "        role = ward\n"
                     "        endpoint = tcp://127.0.0.1:1\n")
    env = {"HOTLINE_NODES": str(nodes)}
    result = run(node, "--node", node.name, "user", "add", "lan", "--role", "officer", "--password-stdin",
                 input=PASSWORD + "\n", env=env, config=False)
    assert result.returncode == 0, result.stderr
    assert password_ok(stored_hash(node, "lan"), PASSWORD)
    listed = run(node, "--node", node.name, "user", "list", "--json", env=env, config=False)
    assert [u["name"] for u in json.loads(listed.stdout)] == ["lan"]
    # a node the file names no config for
    result = run(node, "--node", "other", "user", "list", env=env, config=False)
    assert result.returncode == 2 and "no config for node 'other'" in result.stderr
    # `hotline nodes` shows the web console next to the front door
    shown = run(node, "nodes", env=env, config=False)
    assert shown.returncode == 0
    assert re.search(rf"^{node.name}\s+ward\s+tcp://127.0.0.1:{node.base + 1}\s+http://127.0.0.1:{node.base + 10}$",
                     shown.stdout, re.M), shown.stdout
    # $HOTLINE_CONFIG alone finds it too; nothing at all is a clear refusal
    assert run(node, "user", "list", config=False).returncode == 0
    env = {k: v for k, v in node.env.items() if k != "HOTLINE_CONFIG"}
    result = subprocess.run([HOTLINE, "user", "list"], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2 and "which node?" in result.stderr
