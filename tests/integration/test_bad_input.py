"""Bad input on the wire. Every socket a node exposes gets malformed
frames, wrong frame counts, wrong schema versions, oversize messages,
invalid UTF-8, unknown enum values and floods. Each service answers with an
error or drops the input, logs it, and keeps serving everyone else: after
the abuse a normal submit works, the archive catches up, no process died,
and nothing the bad input carried was written (row counts unchanged).

Frames are written by hand (hotline_pb) so they can be wrong in ways no
protobuf library would produce.
"""
import os
import socket
import threading
import time
import urllib.request

import pytest
import zmq
from zmq.utils.monitor import recv_monitor_message

from conftest import SLOW, VALGRIND, wait_for
from federation_util import make_keys, make_city, ward_extra, wait_converged
from hotline_pb import (field_varint, field_bytes, envelope, envelope_submit, report, parse,
                        decode_reply)

MIB = 1024 * 1024
FLOOD = int(os.environ.get("HOTLINE_FLOOD", "5000" if VALGRIND else "20000"))
BAD_UTF8 = [b"\xc3\x28", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"a\x00b", b"\xff", b"abc\xe1\xbb"]


# ----------------------------------------------------------------- frames

def request(request_id=b"r", actor=b"officer:test", command=None, query=None, ping=False):
    out = b""
    if request_id is not None:
        out += field_bytes(1, request_id)
    if actor is not None:
        out += field_bytes(2, actor)
    if command is not None:
        out += field_bytes(3, command)
    if query is not None:
        out += field_bytes(4, query)
    if ping:
        out += field_varint(5, 1)
    return out


def command(action=b"submit", variant=None, case_id=None, report_bytes=None, args=(), note=None):
    out = field_bytes(1, action)
    if variant is not None:
        out += field_bytes(2, variant)
    if case_id is not None:
        out += field_bytes(3, case_id)
    if report_bytes is not None:
        out += field_bytes(4, report_bytes)
    for key, value in args:
        out += field_bytes(5, field_bytes(1, key) + field_bytes(2, value))
    if note is not None:
        out += field_bytes(6, note)
    return out


def query(kind=b"list", case_id=None, status=None, type=None, since=None, limit=None):
    out = field_bytes(1, kind)
    if case_id is not None:
        out += field_bytes(2, case_id)
    if status is not None:
        out += field_bytes(3, status)
    if type is not None:
        out += field_varint(4, type)
    if since is not None:
        out += field_varint(5, since)
    if limit is not None:
        out += field_varint(9, limit)
    return out


def event(ward=b"31077", case_id=b"31077-2026-000001", seq=1, action=b"submit", to=b"received",
          report_bytes=None, origin=None):
    out = (field_bytes(1, b"ward-" + ward + b"/%d" % seq) + field_varint(2, seq)
           + field_bytes(3, case_id) + field_bytes(4, ward) + field_varint(5, 1764000000000)
           + field_bytes(6, b"officer:lan") + field_bytes(7, action) + field_bytes(10, to)
           + field_bytes(14, b"normal") + field_bytes(17, origin or b"ward-" + ward))
    if report_bytes is not None:
        out += field_bytes(12, report_bytes)
    return out


def credit(stream, cursor=0, window=16, reset=True):
    return envelope(13, field_bytes(1, stream) + field_varint(2, cursor) + field_varint(3, window)
                    + field_varint(4, 1 if reset else 0))


def hello(stream):
    return envelope(14, field_bytes(1, stream))


def batch(stream, items, head=0):
    body = field_bytes(1, stream)
    for seq, payload in items:
        body += field_bytes(2, field_varint(1, seq) + field_bytes(2, payload))
    return envelope(15, body + field_varint(3, head))


def good_report(**kw):
    return report(**kw)


def bad_report(description=b"ok", location=b"Ch\xe1\xbb\xa3", name=None, type=4, channel=1, scope=1):
    """A report with raw bytes where report() would encode text."""
    reporter = field_bytes(2, b"0912345678")
    if name is not None:
        reporter += field_bytes(1, name)
    return (field_varint(2, channel) + field_bytes(3, reporter) + field_bytes(7, location)
            + field_varint(11, type) + field_varint(13, scope) + field_bytes(15, description))


#   Things no socket may accept: (name, frames)
def garbage_frames():
    submit = envelope_submit(request_id="cut")
    return [
        ("garbage", [b"\xff\xff\xff\xff\x0f"]),
        ("truncated", [submit[:len(submit) // 2]]),
        ("random", [os.urandom(300)]),
        ("empty frame", [b""]),
        ("schema 2", [envelope_submit(request_id="s2", schema=2)]),
        ("schema 0", [envelope_submit(request_id="s0", schema=0)]),
        ("schema 2^32-1", [envelope_submit(request_id="sx", schema=2**32 - 1)]),
        ("no body", [field_varint(1, 1) + field_bytes(2, b"nobody")]),
        ("bad utf8 msg_id", [field_varint(1, 1) + field_bytes(2, b"\xc3\x28") + field_bytes(14, field_bytes(1, b"x"))]),
    ]


# ---------------------------------------------------------------- helpers

def dealer(endpoint, **options):
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    for name, value in options.items():
        sock.setsockopt(getattr(zmq, name), value)
    sock.connect(endpoint)
    return sock


def exchange(endpoint, frames, timeout=3000):
    """Send frames (one message) on a new DEALER; the reply's frames, or None."""
    sock = dealer(endpoint)
    try:
        sock.send_multipart(frames)
        if not sock.poll(timeout):
            return None
        return sock.recv_multipart()
    finally:
        sock.close()


def tcp(port):
    return f"tcp://127.0.0.1:{port}"


def counts(node, services=("intake", "archive")):
    """Row counts of the tables bad input must never touch."""
    tables = {"intake": ("log", "cases", "requests"),
              "archive": ("log", "cases", "case_actions", "directory", "return_outbox")}
    out = {}
    for service in services:
        for table in tables[service]:
            out[f"{service}.{table}"] = node.query(service, f"SELECT count(*) FROM {table}")[0][0]
    return out


def settled(node):
    """Wait until the archive holds everything intake wrote (e.g. the focal
    points event written at start), so counts taken now are stable."""
    wait_for(lambda: node.query("archive", "SELECT count(*) FROM log")[0][0]
             == node.query("intake", "SELECT count(*) FROM log")[0][0], what="archive caught up")


def assert_refused(reply, reason=None, request_id=None):
    """A 400 reply that the client's strict decoder reads (UTF-8 checked)."""
    assert reply is not None, "no reply"
    code, error, _ = decode_reply(reply[-1])       # .decode("utf-8") is strict
    assert code == 400, (code, error)
    if reason:
        assert reason in error, error
    if request_id is not None:
        assert parse(parse(reply[-1])[11][0]).get(1, [b""])[0] == request_id
    return error


def flood(endpoint, frames, count=FLOOD, read=True, quiet_ms=1000 * SLOW, until=None):
    """Send count messages as fast as possible from one DEALER; returns the
    replies read while sending and after, until none came for quiet_ms (or
    until(replies) is true)."""
    sock = dealer(endpoint, SNDHWM=0, RCVHWM=0)
    replies = []
    try:
        for i in range(count):
            sock.send_multipart(frames(i) if callable(frames) else frames)
            while read and sock.poll(0):
                replies.append(sock.recv_multipart())
        while read and not (until and until(replies)) and sock.poll(quiet_ms):
            replies.append(sock.recv_multipart())
    finally:
        sock.close()
    return replies


def healthy(node, services=("intake", "archive")):
    for service in services:
        assert node.alive(service), f"{service} died:\n" + node.log(service)[-3000:]


# ----------------------------------------------------------- front door

def test_front_door_answers_every_bad_frame_with_400_and_stores_nothing(ward):
    settled(ward)
    before = counts(ward)
    cases = garbage_frames() + [
        ("two frames", [envelope_submit(request_id="2f"), b"extra"]),
        ("three frames", [b"a", b"b", b"c"]),
    ]
    for text in BAD_UTF8:
        cases += [
            (f"actor {text!r}", [envelope(10, request(b"u1", actor=b"officer:" + text,
                                                      command=command(report_bytes=good_report())))]),
            (f"note {text!r}", [envelope(10, request(b"u2", command=command(
                b"inform_leaders", case_id=b"31001-2026-000001", note=text)))]),
            (f"description {text!r}", [envelope(10, request(b"u3", command=command(
                report_bytes=bad_report(description=b"N\xc6\xb0\xe1\xbb\x9bc " + text))))]),
            (f"reporter name {text!r}", [envelope(10, request(b"u4", command=command(
                report_bytes=bad_report(name=text))))]),
            (f"arg value {text!r}", [envelope(10, request(b"u5", command=command(
                b"assign", case_id=b"31001-2026-000001", args=[(b"to", text)])))]),
            (f"arg key {text!r}", [envelope(10, request(b"u6", command=command(
                b"assign", case_id=b"31001-2026-000001", args=[(text, b"lan")])))]),
            (f"query status {text!r}", [envelope(10, request(b"u7", query=query(status=text)))]),
            (f"request id {text!r}", [envelope(10, request(text, ping=True))]),
        ]
    for name, value in [("type", 99), ("type", -1), ("channel", 77), ("scope", 9)]:
        fields = {"type": 4, "channel": 1, "scope": 1, name: value}
        cases.append((f"enum {name}={value}", [envelope(10, request(b"e1", command=command(
            report_bytes=bad_report(**fields))))]))
    cases.append(("enum query type=42", [envelope(10, request(b"e2", query=query(type=42)))]))
    for name, body in [("reply", (11, field_bytes(1, b"x") + field_varint(2, 0))),
                       ("event", (12, event())),
                       ("credit", (13, field_bytes(1, b"intake") + field_varint(3, 10))),
                       ("hello", (14, field_bytes(1, b"intake"))),
                       ("batch", (15, field_bytes(1, b"intake")))]:
        cases.append((f"body {name}", [envelope(*body)]))
    # Field number 0 in a non-minimal key inside the report: protobuf-c
    # keeps it and packs it back in a form it refuses, so the stored event
    # could never be read (the case was acknowledged and never archived)
    cases.append(("field 0 in the report", [envelope(10, request(b"z0", command=command(
        report_bytes=good_report() + b"\x82\x00\x01z")))]))
    cases += [
        ("no request id", [envelope(10, request(None, ping=True))]),
        ("empty request id", [envelope(10, request(b"", ping=True))]),
        ("request id of 65 bytes", [envelope(10, request(b"x" * 65, ping=True))]),
    ]
    for name, frames in cases:
        reply = exchange(ward.endpoint, frames)
        assert reply is not None, f"{name}: no reply"
        code, error, _ = decode_reply(reply[-1])
        assert code == 400, (name, code, error)
    # Well-formed but refused: still 400 and readable, also when the
    # message quotes the input cut inside a character (regression)
    for name, frames, request_id in [
        ("empty request", [envelope(10, request(b"k1"))], b"k1"),
        ("unknown action cut mid-character",
         [envelope(10, request(b"k2", command=command(("a" + "ệ" * 100).encode())))], b"k2"),
        ("case id cut mid-character",
         [envelope(10, request(b"k3", command=command(b"close", case_id=("ệ" * 30).encode())))], b"k3"),
        ("unknown query kind cut mid-character",
         [envelope(10, request(b"k4", query=query(kind=("k" + "ệ" * 20).encode())))], b"k4"),
        ("query case id cut mid-character",
         [envelope(10, request(b"k5", query=query(kind=b"case", case_id=("xy" + "ệ" * 20).encode())))], b"k5"),
        ("negative period", [envelope(10, request(b"k6", query=query(since=-5)))], b"k6"),
    ]:
        assert_refused(exchange(ward.endpoint, frames), request_id=request_id)
    # Just under the frame limit: decoded, and refused field by field
    big = envelope(10, request(b"big", command=command(
        report_bytes=bad_report(description=b"x" * (MIB - 400)))))
    assert len(big) <= MIB
    assert "description" in assert_refused(exchange(ward.endpoint, [big], timeout=10000),
                                           request_id=b"big")
    assert counts(ward) == before
    healthy(ward)
    assert "bad request" in ward.log("intake")
    # and the node serves everyone else
    case = ward.submit()
    ward.wait_archived(case)


def test_front_door_oversize_and_floods_do_not_stop_other_clients(ward):
    settled(ward)
    before = counts(ward)
    # Oversize (> ZMQ_MAXMSGSIZE): libzmq drops that peer; no reply
    assert exchange(ward.endpoint, [b"\x00" * (2 * MIB)], timeout=1000) is None
    assert exchange(ward.endpoint, [envelope_submit(request_id="ov", description="x" * (2 * MIB))],
                    timeout=1000) is None
    # A flood of garbage while an officer submits a case
    result = {}

    def officer():
        result["case"] = ward.submit(request_id="during-flood")
    frames = [lambda i: [os.urandom(i % 64)], lambda i: [envelope_submit(request_id=f"f{i}", schema=7)]]
    thread = threading.Thread(target=officer)
    thread.start()
    replies = flood(ward.endpoint, lambda i: frames[i % 2](i))
    thread.join()
    assert result.get("case"), "the officer's submit failed during the flood"
    # Every answer the flooder read is a readable 400
    assert replies, "the flooder got no answers at all"
    for reply in replies[:500]:
        assert_refused(reply)
    after = counts(ward)
    assert after["intake.cases"] == before["intake.cases"] + 1
    assert after["intake.requests"] == before["intake.requests"] + 1
    ward.wait_archived(result["case"])
    # Logged, but not a line per frame (a flood must not fill the disk)
    lines = ward.log("intake").count("bad request")
    assert 0 < lines < FLOOD // 10, lines
    assert "similar suppressed" in ward.log("intake")
    healthy(ward)


def test_query_flood_with_the_archive_down_does_not_block_commands(ward):
    """Queries are relayed to the archive. With the archive down its queue
    fills; intake must answer 503 instead of blocking its front door."""
    ward.kill("archive")
    # Intake relays the first 10,000 (the relay's high-water mark) before it
    # has to refuse: under valgrind that takes a while, so wait for the 503s
    replies = flood(ward.endpoint,
                    lambda i: [envelope(10, request(b"q%d" % i, query=query(kind=b"count")))],
                    count=max(FLOOD, 25000), quiet_ms=60000 * SLOW,
                    until=lambda replies: bool(replies) and decode_reply(replies[-1][-1])[0] == 503)
    codes = {decode_reply(r[-1])[0] for r in replies}
    assert 503 in codes, codes
    assert any("archive is not answering" in decode_reply(r[-1])[1] for r in replies)
    # Commands still go through at once
    case = ward.submit(request_id="archive-down")
    ward.start("archive")
    ward.wait_archived(case)
    # Queries work again once the archive has worked through the queue
    wait_for(lambda: ward.cli("show", case, "--json", check=False).returncode == 0,
             timeout=60, what="queries answered again")
    healthy(ward)


# --------------------------------------------------------- archive socket

def test_archive_query_socket_refuses_bad_queries(ward):
    case = ward.submit()
    ward.wait_archived(case)
    before = counts(ward)
    endpoint = tcp(ward.port("archive"))
    for name, frames in garbage_frames():
        assert_refused(exchange(endpoint, frames))
    for text in BAD_UTF8:
        assert_refused(exchange(endpoint, [envelope(10, request(b"a", query=query(status=text)))]),
                       "UTF-8")
    assert_refused(exchange(endpoint, [envelope(10, request(b"a", query=query(type=42)))]), "enum")
    assert_refused(exchange(endpoint, [envelope_submit(request_id="not-a-query")]), "expected a query")
    assert_refused(exchange(endpoint, [envelope(12, event())]), "expected a query")
    # Messages quoting the query cut inside a character stay readable
    assert_refused(exchange(endpoint, [envelope(10, request(b"a", query=query(
        kind=b"case", case_id=("xy" + "ệ" * 20).encode())))]), request_id=b"a")
    assert_refused(exchange(endpoint, [envelope(10, request(b"b", query=query(
        kind=("k" + "ệ" * 20).encode())))]), request_id=b"b")
    assert_refused(exchange(endpoint, [envelope(10, request(b"c", query=query(since=-1)))]), "period")
    # Two frames look like a query relayed by intake: answered to the first
    reply = exchange(endpoint, [b"client", b"\xff\xff"])
    assert reply is not None and reply[0] == b"client"
    assert_refused(reply)
    # More frames than that: dropped
    assert exchange(endpoint, [b"a", b"b", b"c"], timeout=1000) is None
    wait_for(lambda: "bad query" in ward.log("archive"), what="the archive logs bad queries")
    # Oversize: the peer is dropped
    assert exchange(endpoint, [b"\x00" * (2 * MIB)], timeout=1000) is None
    # A flood of garbage, then an honest query is answered; the log says so
    # without a line per frame
    flood(endpoint, lambda i: [os.urandom(i % 50)], read=False)
    lines = ward.log("archive").count("bad query")
    assert 0 < lines < FLOOD // 10, lines
    answer = exchange(endpoint, [envelope(10, request(b"ok", query=query(kind=b"count")))], timeout=20000)
    assert answer is not None and decode_reply(answer[-1])[0] == 0
    assert ward.show(case)["case_id"] == case
    assert counts(ward) == before
    healthy(ward)


def test_answer_too_large_for_a_frame_is_refused_with_413(ward):
    """A list of every case of a big archive does not fit in one frame (no
    peer takes more than 1 MiB): the archive says so instead of sending a
    frame the client's socket would drop with the connection."""
    count = 2600
    location = ("Kênh Xáng " * 25)[:240]          # ~290 bytes a row, ~1.6 MB in all
    sock = dealer(ward.endpoint, SNDHWM=0, RCVHWM=0)
    try:
        for i in range(count):
            sock.send(envelope_submit(request_id=f"big-{i}", location=location))
        for _ in range(count):
            assert sock.poll(60000 * SLOW), "intake stopped answering"
            code, error, _ = decode_reply(sock.recv())
            assert code == 0, error
    finally:
        sock.close()
    wait_for(lambda: ward.query("archive", "SELECT count(*) FROM cases")[0][0] == count,
             timeout=120 * SLOW, what="archive caught up")
    result = ward.cli("list", "--limit", "10000", "--json", check=False)
    assert result.returncode == 2, result
    assert "too large" in result.stderr and result.stdout == ""
    assert len(ward.list("--limit", "10")) == 10        # a narrower query works
    healthy(ward)


@pytest.mark.skipif(VALGRIND, reason="needs ~10^5 answers queued: hours under valgrind")
def test_archive_client_that_never_reads_does_not_block_the_archive(ward):
    """A client that sends queries and never reads the answers: once its
    queue is full the archive drops its answers; everyone else is served."""
    endpoint = tcp(ward.port("archive"))
    hog = dealer(endpoint, SNDHWM=0)
    try:
        for _ in range(int(os.environ.get("HOTLINE_HOG", "400000"))):
            hog.send(b"\xff")
        answer = exchange(endpoint, [envelope(10, request(b"honest", query=query(kind=b"count")))],
                          timeout=20000)
        assert answer is not None, "the archive stopped answering"
        assert decode_reply(answer[-1])[0] == 0
        case = ward.submit()
        ward.wait_archived(case)
    finally:
        hog.close()
    healthy(ward)


# ----------------------------------------------------------- hop senders

@pytest.mark.parametrize("feed,stream", [("intake_feed", b"intake"), ("archive_feed", b"log")])
def test_feed_senders_drop_rogue_frames(ward, feed, stream):
    """intake feed and archive feed are hl_hop senders: their only peers are
    receivers sending HopCredit. Anything else is dropped and logged."""
    first = ward.submit()
    ward.wait_archived(first)
    before = counts(ward)
    endpoint = tcp(ward.port(feed))
    service = "intake" if feed == "intake_feed" else "archive"
    rogue = garbage_frames() + [
        ("two frames", [credit(stream), b"extra"]),
        ("bad utf8 stream", [credit(b"in\xc3\x28take")]),
        ("wrong stream", [credit(b"not-" + stream)]),
        ("hello", [hello(stream)]),
        ("batch", [batch(stream, [(1, event())])]),
        ("request", [envelope_submit(request_id="x")]),
        ("enum in an event", [envelope(12, event(report_bytes=bad_report(type=99)))]),
    ]
    for name, frames in rogue:
        assert exchange(endpoint, frames, timeout=500) is None, f"{name}: answered"
    assert exchange(endpoint, [b"\x00" * (2 * MIB)], timeout=500) is None
    flood(endpoint, lambda i: [os.urandom(i % 40)], read=False)
    # A credit that claims the receiver is far ahead, with a huge window:
    # it is that peer's business, not the archive's
    sock = dealer(endpoint)
    sock.send(credit(stream, cursor=2**63 + 5, window=2**32 - 1))
    sock.poll(500)
    sock.close()
    wait_for(lambda: "hop:" in ward.log(service) and "dropped" in ward.log(service),
             what=f"{service} logs the drops")
    # The real receiver still gets everything: a new case reaches the archive
    case = ward.submit()
    ward.wait_archived(case)
    after = counts(ward)
    assert after["archive.cases"] == before["archive.cases"] + 1
    assert after["intake.cases"] == before["intake.cases"] + 1
    healthy(ward)


# ----------------------------------------------------------------- HTTP

def test_http_probes_survive_garbage(ward):
    for service, port in (("intake", ward.base + 11), ("archive", ward.base + 12)):
        for junk in (b"\xff\xfe garbage\r\n\r\n", b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
                     b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X: " + b"y" * (2 * MIB) + b"\r\n\r\n",
                     b"POST /readyz HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\nxx"):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
                try:
                    conn.sendall(junk)
                    conn.recv(100)
                except OSError:
                    pass                    # the server may close on us: fine
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            assert answer.status == 200
    healthy(ward)
    case = ward.submit()
    ward.wait_archived(case)


# ----------------------------------------------------------------- city

@pytest.fixture
def plain_city(node_factory):
    """A plaintext city (dev mode: the raw sockets reach the protocol) and a
    plaintext ward feeding it: 'everyone else' the city must keep serving."""
    city = make_city(node_factory, plaintext=True, services=("archive", "intake")).start()
    ward = node_factory(name="ward-31001", ward_code="31001", extra=ward_extra(city, plaintext=True),
                        services=("archive", "intake")).start()
    ward.submit()
    wait_converged(city, {"31001": ward})
    return city, ward


def city_counts(city):
    """Rows at the city that are not the honest ward's (31001)."""
    return {table: city.query("archive", f"SELECT count(*) FROM {table} WHERE {where}")[0][0]
            for table, where in (("log", "origin <> 'ward:31001'"),
                                 ("cases", "ward <> '31001'"),
                                 ("case_actions", "case_id NOT LIKE '31001-%'"),
                                 ("directory", "ward <> '31001'"),
                                 ("return_outbox", "1"))}


def test_city_federation_receiver_refuses_bad_batches(plain_city):
    city, ward = plain_city
    before = city_counts(city)
    endpoint = tcp(city.port("federation"))
    for name, frames in garbage_frames() + [("three frames", [hello(b"31077"), b"x", b"y"])]:
        assert exchange(endpoint, frames, timeout=500) is None, name
    # A batch before hello is not applied: the receiver takes it as that
    # sender's hello (a restarted city hears its wards so) and answers with
    # a credit asking for a rewind; the batch's items are dropped (checked
    # below: nothing from 310xx lands)
    answer = exchange(endpoint, [batch(b"31077", [(1, event())])], timeout=3000)
    assert answer is not None and 13 in parse(answer[-1]), answer
    # Hello with an unusable stream: no answer
    for stream in (b"", b"s" * 300, b"\xc3\x28"):
        assert exchange(endpoint, [hello(stream)], timeout=500) is None
    # Senders for new wards (one each, so each starts at seq 1): hello,
    # then a batch that must not land
    bad_items = [
        ("garbage payload", lambda w: [(1, b"\xff\xff\xff")]),
        ("another ward's event", lambda w: [(1, event(ward=b"31099", case_id=b"31099-2026-000001"))]),
        ("another ward's case", lambda w: [(1, event(ward=w, case_id=b"31099-2026-000001"))]),
        ("invalid UTF-8 in the report",
         lambda w: [(1, event(ward=w, case_id=w + b"-2026-000001",
                              report_bytes=bad_report(description=b"\xc3\x28")))]),
        ("unknown enum in the report",
         lambda w: [(1, event(ward=w, case_id=w + b"-2026-000001", report_bytes=bad_report(type=99)))]),
        ("the city's own origin", lambda w: [(1, event(ward=w, case_id=w + b"-2026-000001", origin=b"city"))]),
        ("a gap", lambda w: [(7, event(ward=w, case_id=w + b"-2026-000001", seq=7))]),
        ("another stream", lambda w: [(1, event(ward=w, case_id=w + b"-2026-000001"))]),
    ]
    for i, (name, items) in enumerate(bad_items):
        ward_code = b"3107%d" % i
        sock = dealer(endpoint)
        try:
            sock.send(hello(ward_code))
            assert sock.poll(3000), f"{name}: no credit after hello"
            assert 13 in parse(sock.recv()), "the receiver answers hello with a credit"
            stream = b"31099" if name == "another stream" else ward_code
            sock.send(batch(stream, items(ward_code), head=9) + b"\x00\xff")   # corrupt copy first
            sock.send(batch(stream, items(ward_code), head=9))
            # Frames with bad schema or text inside the hop envelope
            sock.send(batch(ward_code, [(1, event(ward=ward_code))])[:-3])
            sock.send(envelope(15, field_bytes(1, ward_code), schema=3))
            sock.send(envelope(15, field_bytes(1, b"310\xff7")))
            sock.poll(500)
        finally:
            sock.close()
    assert exchange(endpoint, [b"\x00" * (2 * MIB)], timeout=500) is None
    flood(endpoint, lambda i: [os.urandom(i % 60)], read=False)
    wait_for(lambda: "refused" in city.log("archive") and "dropped" in city.log("archive"),
             what="the city logs what it refused")
    # Nothing from the rogue landed; the honest ward still gets through
    assert city.query("archive", "SELECT count(*) FROM log WHERE origin LIKE 'ward:310%'"
                      " AND origin <> 'ward:31001'")[0][0] == 0
    assert city.query("archive", "SELECT count(*) FROM cases WHERE ward NOT IN ('31001', '31')")[0][0] == 0
    assert city_counts(city) == before
    ward.submit()
    wait_converged(city, {"31001": ward})
    healthy(city)
    healthy(ward)


def test_city_return_sender_and_public_sockets_drop_bad_input(plain_city):
    city, ward = plain_city
    before = city_counts(city)
    endpoint = tcp(city.port("federation_return"))
    for name, frames in garbage_frames() + [("two frames", [credit(b"31001"), b"x"])]:
        assert exchange(endpoint, frames, timeout=500) is None, name
    for frames in ([credit(b"*")], [credit(b"")], [credit(b"s" * 300)], [hello(b"31001")],
                   [batch(b"31001", [(1, event())])], [envelope_submit(request_id="x")]):
        assert exchange(endpoint, frames, timeout=500) is None
    # A credit far beyond anything, with the largest window: nothing to send
    reply = exchange(endpoint, [credit(b"31077", cursor=2**64 - 1, window=2**32 - 1)], timeout=1500)
    if reply is not None:
        env = parse(reply[-1])
        assert 15 in env and 2 not in parse(env[15][0]), "items sent for an empty stream"
    assert exchange(endpoint, [b"\x00" * (2 * MIB)], timeout=500) is None
    flood(endpoint, lambda i: [os.urandom(i % 60)], read=False)
    # The public snapshot socket: bad requests dropped, good ones answered
    # with redacted events only
    snapshot = tcp(city.port("snapshot"))
    for name, frames in garbage_frames() + [("monitor credit", [credit(b"monitor")]),
                                            ("two frames", [credit(b"snapshot"), b"x"])]:
        assert exchange(snapshot, frames, timeout=500) is None, name
    assert exchange(snapshot, [b"\x00" * (2 * MIB)], timeout=500) is None
    flood(snapshot, lambda i: [os.urandom(i % 60)], read=False)
    page = exchange(snapshot, [credit(b"snapshot", cursor=0, window=100, reset=False)], timeout=5000)
    assert page is not None
    items = parse(parse(page[-1])[15][0]).get(2, [])
    assert items, "the snapshot served nothing"
    for item in items:
        payload = parse(item).get(2, [b""])[0]
        assert b"0912345678" not in payload, "personal data on the public snapshot"
    # The PUB socket: garbage subscriptions and oversize from an XSUB, then
    # a subscriber still gets the heartbeat
    monitor = tcp(city.port("monitor"))
    xsub = zmq.Context.instance().socket(zmq.XSUB)
    xsub.setsockopt(zmq.LINGER, 0)
    xsub.connect(monitor)
    for junk in (b"\x07junk", b"", b"\x01" + os.urandom(100), b"\x00" * (2 * MIB)):
        xsub.send(junk)
    xsub.close()
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(monitor)
    try:
        assert sub.poll(5000), "no heartbeat on the monitor after the abuse"
        assert 15 in parse(sub.recv())
    finally:
        sub.close()
    wait_for(lambda: "snapshot request dropped" in city.log("archive"), what="snapshot drops logged")
    assert city_counts(city) == before
    ward.submit()
    wait_converged(city, {"31001": ward})
    healthy(city)
    healthy(ward)


# ------------------------------------------------------------- Curve

def _handshake_events(endpoint, send, curve=None, wait=3.0):
    """Connect a DEALER (plaintext, or curve=(public, secret, server_public)),
    send a frame, and collect the socket's monitor events for a while.
    Returns (events, replied)."""
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    if curve:
        sock.curve_publickey, sock.curve_secretkey, sock.curve_serverkey = curve
    mon = sock.get_monitor_socket()
    sock.connect(endpoint)
    sock.send(send)
    events = set()
    replied = False
    deadline = time.monotonic() + wait
    try:
        while time.monotonic() < deadline:
            if sock.poll(50):
                sock.recv_multipart()
                replied = True
            while mon.poll(0):
                events.add(recv_monitor_message(mon)["event"])
    finally:
        sock.disable_monitor()
        mon.close()
        sock.close()
    return events, replied


def test_curve_city_refuses_plaintext_and_unknown_keys(node_factory, tmp_path):
    keys = make_keys(tmp_path, ["31001"])
    city = make_city(node_factory, keys, services=("archive", "intake")).start()
    with open(os.path.join(keys, "city.cert")) as f:
        server_public = [line.split('"')[1] for line in f if "public-key" in line][0].encode()
    stranger_public, stranger_secret = zmq.curve_keypair()
    for port in ("federation", "federation_return"):
        endpoint = tcp(city.port(port))
        frame = hello(b"31001") if port == "federation" else credit(b"31001")
        # A plaintext peer: the handshake fails (mechanism mismatch), nothing gets through
        events, replied = _handshake_events(endpoint, frame)
        assert not replied
        assert zmq.EVENT_HANDSHAKE_SUCCEEDED not in events, events
        assert events & {zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL,
                         zmq.EVENT_DISCONNECTED}, events
        # A Curve peer whose key the city never admitted: refused by ZAP
        events, replied = _handshake_events(endpoint, frame,
                                            curve=(stranger_public, stranger_secret, server_public))
        assert not replied
        assert zmq.EVENT_HANDSHAKE_SUCCEEDED not in events, events
        assert zmq.EVENT_HANDSHAKE_FAILED_AUTH in events, events
    # The admitted ward still gets through
    ward = node_factory(name="ward-31001", ward_code="31001", extra=ward_extra(city, keys, "31001"),
                        services=("archive", "intake")).start()
    ward.submit()
    wait_converged(city, {"31001": ward})
    assert city.query("archive", "SELECT count(*) FROM log WHERE origin NOT IN ('ward:31001', 'city')")[0][0] == 0
    healthy(city)
