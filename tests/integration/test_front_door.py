"""The node's ZeroMQ front door is not a way around the
login.

The local front door (endpoints/intake, loopback or the node's internal
network) is for the node's own services and the web: it takes the actor a
request declares. A CLI elsewhere uses the remote front door (front/remote):
CurveZMQ, and a client key bound by its certificate's `actor` metadata to
one actor. Through real processes:

  (a) a key for officer:lan submits and acts as officer:lan (the history says so);
  (b) the same key declaring another actor gets 403, and nothing is stored;
  (c) an unknown key (or a certificate without `actor`) is refused at the
      handshake: exit 3, nothing stored, intake's refused counter rises;
  (d) plaintext to the remote door is refused;
  (e) the local door still serves the node's own services (routing);
  (f) deleting a certificate revokes its key, even on a connection already open.
"""
import json
import os
import re
import shutil
import subprocess
import urllib.request

import pytest
import zmq
import zmq.auth

from conftest import BUILD, SLOW, free_base, wait_for
from hotline_pb import envelope_submit, decode_reply

HOTLINE = os.path.join(BUILD, "hotline")
NODE = ("archive", "intake", "routing")


def keys(*args):
    return subprocess.run([HOTLINE, "keys", *args], capture_output=True, text=True, timeout=30)


@pytest.fixture
def door(node_factory, tmp_path):
    """A ward with its remote front door on, and a key for officer:lan."""
    dir = os.path.join(str(tmp_path), "front-keys")
    made = keys("client", "lan", "--actor", "officer:lan", "--dir", dir)
    assert made.returncode == 0, made.stderr
    base = free_base()
    port = base + 19                            # free_base checked base+1 .. base+20
    node = node_factory(services=NODE, base=base, extra=(
        "front\n"
        f"    remote = tcp://127.0.0.1:{port}\n"
        f"    cert = {dir}/front.cert\n"
        f"    allow = {dir}/allow\n"))
    node.remote = f"tcp://127.0.0.1:{port}"
    node.keys = dir
    node.lan = os.path.join(dir, "client-lan.cert")
    return node.start()


def remote(node, *args, cert=None, actor=None, tries=1, timeout=3000, endpoint=None):
    """hotline through the remote front door (HOTLINE_ACTOR=officer:test is
    in the environment: a key's own actor must win over it)."""
    cmd = [HOTLINE, "--endpoint", endpoint or node.remote,
           "--tries", str(tries), "--timeout", str(timeout * SLOW)]
    if cert:
        cmd += ["--cert", cert, "--server-cert", os.path.join(node.keys, "front.cert")]
    if actor:
        cmd += ["--as", actor]
    return subprocess.run(cmd + list(args), env=node.env, capture_output=True, text=True,
                          timeout=60 * SLOW)


SUBMIT = ("submit", "--phone", "0912345678", "--type", "noise", "--location", "Tổ 5",
          "--description", "Karaoke đến 2 giờ sáng")


def stored(node):
    """What intake has written: the rows a refused request must not touch."""
    return {table: node.query("intake", f"SELECT count(*) FROM {table}")[0][0]
            for table in ("log", "cases", "requests")}


def metric(node, name):
    """One counter of intake's /metrics (0 while it does not exist)."""
    url = f"http://127.0.0.1:{node.base + 11}/metrics"
    with urllib.request.urlopen(url, timeout=5) as answer:
        text = answer.read().decode()
    match = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def history(node, case):
    result = node.cli("show", case, "--json", check=False)
    return json.loads(result.stdout)["history"] if result.returncode == 0 else []


def test_a_key_acts_as_its_actor(door):
    # No --as: the key's actor, not $HOTLINE_ACTOR (officer:test)
    result = remote(door, *SUBMIT, cert=door.lan)
    assert result.returncode == 0, result.stderr
    case = result.stdout.strip()
    assert re.fullmatch(r"31001-\d{4}-\d{6}", case), result.stdout
    # Declaring its own actor is fine too; queries go through the same door
    acted = remote(door, "inform_leaders", case, "--note", "Đã báo lãnh đạo",
                   cert=door.lan, actor="officer:lan")
    assert acted.returncode == 0, acted.stderr
    wait_for(lambda: len(history(door, case)) >= 2, what=f"{case} archived")
    shown = remote(door, "show", case, "--json", cert=door.lan)
    assert shown.returncode == 0, shown.stderr
    mine = [e for e in json.loads(shown.stdout)["history"]
            if e["action"] in ("submit", "inform_leaders")]
    assert [e["actor"] for e in mine] == ["officer:lan", "officer:lan"], mine


def test_b_the_key_may_not_declare_another_actor(door):
    case = remote(door, *SUBMIT, cert=door.lan).stdout.strip()
    assert case
    before = stored(door)
    refused_before = metric(door, "hotline_front_refused_total")
    for args in (SUBMIT, ("inform_leaders", case, "--note", "x"), ("list", "--json")):
        result = remote(door, *args, cert=door.lan, actor="department:x")
        assert result.returncode == 2, (args, result.returncode, result.stderr)
        assert "this key may act only as officer:lan" in result.stderr, result.stderr
    # officer:test ($HOTLINE_ACTOR, what the local door would take) is not it either
    result = remote(door, *SUBMIT, cert=door.lan, actor="officer:test")
    assert result.returncode == 2 and "may act only as officer:lan" in result.stderr
    assert stored(door) == before
    assert metric(door, "hotline_front_refused_total") >= refused_before + 4
    # The case as its key made it: the refused inform_leaders is not there.
    # (Read once the archive has it; routing may add its own event)
    wait_for(lambda: history(door, case), what=f"{case} archived")
    mine = [e["actor"] for e in history(door, case) if e["action"] in ("submit", "inform_leaders")]
    assert mine == ["officer:lan"]


def test_c_an_unknown_key_is_refused_at_the_handshake(door, tmp_path):
    other = os.path.join(str(tmp_path), "other-keys")
    assert keys("client", "lan", "--actor", "officer:lan", "--dir", other).returncode == 0
    stranger = os.path.join(other, "client-lan.cert")      # same name and actor, another key
    # A ward's certificate put in front/allow: no `actor` metadata, no entry
    wards = os.path.join(str(tmp_path), "ward-keys")
    assert keys("generate", "--dir", wards, "--ward", "31001").returncode == 0
    shutil.copy(os.path.join(wards, "ward-31001.cert"), os.path.join(door.keys, "allow"))
    before = stored(door)
    zap_before = metric(door, "hotline_zap_refused_total")
    for cert in (stranger, os.path.join(wards, "ward-31001.cert")):
        result = remote(door, *SUBMIT, cert=cert, actor="department:x", timeout=1000)
        assert result.returncode == 3, (cert, result.returncode, result.stderr)
        assert "is not answering" in result.stderr and "nothing was acknowledged" in result.stderr
    wait_for(lambda: metric(door, "hotline_zap_refused_total") >= zap_before + 2,
             what="intake to count the refused handshakes")
    assert "front door: CurveZMQ key" in door.log("intake")
    assert stored(door) == before


def test_d_plaintext_to_the_remote_door_is_refused(door):
    before = stored(door)
    result = remote(door, *SUBMIT, actor="officer:lan", timeout=1000)
    assert result.returncode == 3, (result.returncode, result.stderr)
    # The same frame by hand: no answer at all (the mechanisms differ)
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(door.remote)
    try:
        sock.send(envelope_submit(request_id="plain-1", actor="officer:lan"))
        assert not sock.poll(1000 * SLOW)
    finally:
        sock.close()
    assert stored(door) == before


def test_e_the_local_door_still_serves_the_node(door):
    case = door.submit()                         # local door, officer:test, no key
    door.cli("inform_leaders", case, "--note", "Đã báo lãnh đạo")
    # hotline-routing, one of the node's own services, routes it through the local door
    wait_for(lambda: any(e["action"] == "route" and e["actor"] == "system:routing"
                         for e in history(door, case)), what=f"{case} routed by system:routing")
    assert door.cli("ping").returncode == 0


def test_f_a_deleted_certificate_revokes_the_key_at_once(door):
    public, secret = zmq.auth.load_certificate(door.lan + "_secret")
    server, _ = zmq.auth.load_certificate(os.path.join(door.keys, "front.cert"))
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.curve_publickey, sock.curve_secretkey, sock.curve_serverkey = public, secret, server
    sock.connect(door.remote)
    try:
        sock.send(envelope_submit(request_id="open-1", actor="officer:lan"))
        assert sock.poll(5000 * SLOW)
        code, error, _ = decode_reply(sock.recv_multipart()[-1])
        assert code == 0, (code, error)
        before = stored(door)
        os.unlink(os.path.join(door.keys, "allow", "client-lan.cert"))
        # The connection is still open; the next request on it is refused
        sock.send(envelope_submit(request_id="open-2", actor="officer:lan"))
        assert sock.poll(5000 * SLOW)
        code, error, _ = decode_reply(sock.recv_multipart()[-1])
        assert code == 403 and "no longer admitted" in error, (code, error)
    finally:
        sock.close()
    result = remote(door, *SUBMIT, cert=door.lan, timeout=1000)
    assert result.returncode == 3, (result.returncode, result.stderr)
    assert stored(door) == before
