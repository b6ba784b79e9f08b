"""Vietnam time and Vietnamese text.

A node keeps its own time zone (node/timezone, default Asia/Ho_Chi_Minh):
case-number years, report days, deadlines shown and dates typed are in it,
whatever the machine's TZ. The same scenario runs with the services and the
CLI under TZ=UTC and TZ=America/New_York and must print the same bytes.
Dates with offsets are honoured and trailing text refused; text limits count
characters; CR LF is stored as typed; a reused request id is refused.
"""
import json
import os
import subprocess

import pytest
import zmq

from conftest import BUILD, node_time, wait_for
from hotline_pb import decode_reply, envelope, envelope_submit, field_bytes, field_varint, report
from test_notification import smtp  # noqa: F401  (the SMTP recorder fixture)

MACHINE_ZONES = ("UTC", "America/New_York")


def iso_ms(text):
    """ms since the epoch of an ISO 8601 time with an offset."""
    import datetime
    return int(datetime.datetime.fromisoformat(text).timestamp() * 1000)


def set_clock(node, ms):
    """Put the node's clock (every service and the CLI read it) at ms."""
    import time
    with open(node.clock + ".tmp", "w") as f:
        f.write(f"{int(ms) - int(time.time() * 1000)}\n")
    os.replace(node.clock + ".tmp", node.clock)


def cli_bytes(node, *args):
    """The CLI's stdout as bytes: text mode would turn CR LF into LF."""
    cmd = [os.path.join(BUILD, "hotline"), "--endpoint", node.endpoint] + list(args)
    return subprocess.run(cmd, env=node.env, capture_output=True, timeout=60)


def exchange(endpoint, frame, timeout=3000):
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    try:
        sock.send(frame)
        assert sock.poll(timeout), "no reply"
        return sock.recv_multipart()[-1]
    finally:
        sock.close()


def cases(node):
    return node.query("intake", "SELECT count(*) FROM cases")[0][0]


# ------------------------------------------------------------ the node's zone

def scenario(node_factory, zone):
    """The issue's three scenarios on a fresh node whose processes (and CLI)
    run with the machine zone `zone`. Returns what the officer sees."""
    seen = {}
    node = node_factory(name=f"ward-31001-{zone.replace('/', '-')}", services=("archive", "intake"),
                        env={"TZ": zone})
    # Report day: 2026-01-01 in Hải Phòng is 2025-12-31T17:00Z .. 2026-01-01T17:00Z
    set_clock(node, iso_ms("2025-12-31T18:00:00+00:00"))      # 01:00 on 1 January in Việt Nam
    node.start()
    first = node.submit(type="noise")
    set_clock(node, iso_ms("2026-01-01T10:00:00+00:00"))      # 17:00 on 1 January
    node.submit(type="odour")
    set_clock(node, iso_ms("2026-01-01T18:00:00+00:00"))      # 01:00 on 2 January
    node.submit(type="waste_water")
    # 23:30 UTC on 31 December is 06:30 on 1 January in Hải Phòng
    set_clock(node, iso_ms("2026-12-31T23:30:00+00:00"))
    new_year = node.submit(type="waste_water", urgent=True)
    node.wait_archived(new_year)
    seen["numbers"] = [first, new_year]
    seen["report"] = node.cli("report", "--from", "2026-01-01", "--to", "2026-01-01", "--format", "json").stdout
    seen["report_text"] = node.cli("report", "--from", "2026-01-01", "--to", "2026-01-01").stdout
    seen["list"] = node.cli("list", "--since", "2026-01-01", "--until", "2026-01-02").stdout
    seen["show"] = node.cli("show", new_year).stdout
    seen["show_json"] = node.show(new_year)
    return seen


def test_a_node_keeps_vietnam_time_whatever_the_machine_zone(node_factory):
    runs = {zone: scenario(node_factory, zone) for zone in MACHINE_ZONES}
    utc, new_york = (runs[zone] for zone in MACHINE_ZONES)
    # Case numbers: the year in Hải Phòng, not the machine's
    assert utc["numbers"] == ["31001-2026-000001", "31001-2027-000001"]
    # The report of 1 January counts that Vietnamese day: the 01:00 and the
    # 17:00 cases (UTC would have counted the 17:00 and the next 01:00)
    report = json.loads(utc["report"])
    assert {row["type"]: row["received"] for row in report["rows"]} == {"noise": 1, "odour": 1}
    assert report["since_at"] == "2026-01-01T00:00:00+07:00"
    assert report["until_at"] == "2026-01-02T00:00:00+07:00"
    assert "Kỳ báo cáo: từ 2026-01-01 đến 2026-01-01" in utc["report_text"]
    assert len(utc["list"].splitlines()) == 2
    assert "2026-01-01 17:0" in utc["list"] and "2026-01-01 01:0" in utc["list"]
    # show: received and every deadline in Vietnam time, the JSON with +07:00
    view = utc["show_json"]
    assert view["report"]["received_at"].startswith("2027-01-01T06:3")
    assert view["report"]["received_at"].endswith("+07:00")
    assert "Tiếp nhận    2027-01-01 06:3" in utc["show"]
    deadlines = {d["name"]: d for d in view["deadlines"]}
    assert set(deadlines) >= {"inform_leaders", "route", "verify"}
    for deadline in deadlines.values():
        assert deadline["due_at"].endswith("+07:00")
        assert iso_ms(deadline["due_at"]) // 1000 == deadline["due_ms"] // 1000
        shown = node_time("%Y-%m-%d %H:%M", deadline["due_ms"])
        assert f"hạn {shown}" in utc["show"], (shown, utc["show"])
    # urgent verify: 4 h after 06:30 on 1 January
    assert node_time("%Y-%m-%d %H", deadlines["verify"]["due_ms"]) == "2027-01-01 10"
    assert view["history"][0]["at"].startswith("2027-01-01T06:3")
    # ... and the very same output under New York's zone
    for key in ("numbers", "report_text", "list", "show"):
        assert utc[key] == new_york[key], key
    for name in ("report", "show_json"):
        a = utc[name] if isinstance(utc[name], dict) else json.loads(utc[name])
        b = new_york[name] if isinstance(new_york[name], dict) else json.loads(new_york[name])
        if name == "show_json":     # seconds and ms of the run differ; the minute does not
            a, b = a["report"]["received_at"][:16], b["report"]["received_at"][:16]
        assert a == b, name


def test_a_zone_that_is_not_one_is_refused_at_start(node_factory):
    node = node_factory(services=("intake",), node_extra="    timezone = Asia/Hai_Phong\n")
    log = os.path.join(node.dir, "intake.log")
    proc = subprocess.run([os.path.join(BUILD, "hotline-intake"), "-c", node.config],
                          env=node.env, capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    assert "node/timezone" in proc.stderr and "Asia/Hai_Phong" in proc.stderr
    assert not os.path.exists(log) or "accepting" not in open(log).read()


def test_another_zone_is_the_nodes_own(node_factory):
    """node/timezone is honoured: a node in Tokyo shows Tokyo time."""
    node = node_factory(services=("archive", "intake"), env={"TZ": "UTC"},
                        node_extra="    timezone = Asia/Tokyo\n")
    set_clock(node, iso_ms("2026-12-31T16:30:00+00:00"))      # 01:30 on 1 January in Tokyo
    node.start()
    case = node.submit()
    assert case == "31001-2027-000001"
    node.wait_archived(case)
    assert node.show(case)["report"]["received_at"].endswith("+09:00")
    assert "Tiếp nhận    2027-01-01 01:3" in node.cli("show", case).stdout


# ------------------------------------------------------------ dates

@pytest.fixture
def utc_ward(node_factory):
    return node_factory(services=("archive", "intake"), env={"TZ": "UTC"}).start()


def test_dates_with_offsets_are_honoured_and_the_rest_refused_with_reasons(utc_ward):
    ward = utc_ward
    three_utc = iso_ms("2026-01-05T03:00:00+00:00")
    for text in ("2026-01-05 10:00 +07:00", "2026-01-05 10:00 GMT+7", "2026-01-05T03:00:00Z",
                 "2026-01-05 10:00", "2026-01-05T10:00", "2026-01-04T22:00:00-05:00", "2026-01-05 10:00 UTC+07:00"):
        case = ward.submit(occurred=text)
        ward.wait_archived(case)
        assert ward.show(case)["report"]["occurred_ms"] == three_utc, text
        assert ward.show(case)["report"]["occurred_at"] == "2026-01-05T10:00:00+07:00"
    before = cases(ward)
    for text, says in [("1970-01-01", "before the year 2000"),
                       ("1970-01-01T00:00Z", "before the year 2000"),
                       ("1970-01-02", "before the year 2000"),
                       ("1899-12-31", "before the year 2000"),
                       ("2026-01-05 10:00 extra", "'extra' after the time is not understood"),
                       ("2026-01-05 10:00 +07:00 nữa", "'nữa' after the offset is not understood"),
                       ("2026-01-05 extra", "'extra' after the date is not understood"),
                       ("2026-02-30", "that month has 28 days"),
                       ("2026-01-05 25:00", "hour 25"),
                       ("05/01/2026", "is not a date"),
                       ("2099-01-01", "must not be in the future")]:
        result = ward.cli("submit", "--phone", "0912345678", "--type", "noise", "--location", "X",
                          "--description", "Y", "--occurred", text, check=False)
        assert result.returncode == 2, (text, result.stderr)
        assert says in result.stderr and f"'{text}'" in result.stderr, (text, result.stderr)
    result = ward.cli("list", "--since", "2026-01-05 10:00 extra", check=False)
    assert result.returncode == 2 and "'extra' after the time" in result.stderr
    result = ward.cli("report", "--from", "2026-01-01", "--to", "2026-13-01", check=False)
    assert result.returncode == 2 and "month 13" in result.stderr
    # On the wire: a negative occurred_ms is before 2000, not "in the future"
    frame = envelope(10, field_bytes(1, "neg") + field_bytes(2, "officer:test") + field_bytes(
        3, field_bytes(1, "submit") + field_bytes(4, report() + field_varint(6, -3600000))))
    code, error, fields = decode_reply(exchange(ward.endpoint, frame))
    assert code == 400 and ("occurred", "occurred is before the year 2000") in fields
    assert cases(ward) == before


# ------------------------------------------------------------ text

SENTENCE = "Nước thải màu đen chảy ra kênh Xáng. "


@pytest.fixture(scope="class")
def limits_ward(class_node_factory):
    """One ward for the three alphabets: each counts its own cases."""
    return class_node_factory(services=("archive", "intake"), env={"TZ": "UTC"}).start()


class TestLimits:
    @pytest.mark.parametrize("name, unit", [
        ("Vietnamese", None),
        ("emoji", "\U0001F30A"),                     # 4 bytes each
        ("combining marks", "e\u0302\u0323"),        # ệ decomposed: 3 code points
    ])
    def test_limits_count_characters(self, limits_ward, name, unit):
        ward = limits_ward
        if unit is None:
            exact = (SENTENCE * 200)[:4000]
        else:
            exact = (unit * 4000)[:4000]             # 4000 code points
        assert len(exact) == 4000
        case = ward.submit(description=exact)
        ward.wait_archived(case)
        assert ward.show(case)["report"]["description"] == exact
        before = cases(ward)
        result = ward.cli("submit", "--phone", "0912345678", "--type", "noise", "--location", "X",
                          "--description", exact + "x", check=False)
        assert result.returncode == 2
        assert "4001 characters (at most 4000)" in result.stderr, result.stderr
        # The node refuses it too, not only the CLI: the same check on the wire
        code, error, fields = decode_reply(exchange(ward.endpoint, envelope_submit(
            request_id=f"long-{name}", description=exact + "x")))
        assert code == 400 and fields[0][0] == "description" and "4001 characters" in fields[0][1]
        code, _, _ = decode_reply(exchange(ward.endpoint, envelope_submit(
            request_id=f"fits-{name}", description=exact)))
        assert code == 0
        assert cases(ward) == before + 1


def test_crlf_is_stored_and_shown_back_byte_exact(utc_ward):
    ward = utc_ward
    text = "Dòng một\r\nDòng hai\rDòng ba\n\tDòng bốn"
    case = ward.submit(description=text)
    ward.wait_archived(case)
    assert ward.show(case)["report"]["description"] == text
    shown = cli_bytes(ward, "show", case)
    assert shown.returncode == 0 and text.encode() in shown.stdout
    stored = ward.query("archive", "SELECT report FROM cases WHERE case_id = ?", case)
    assert stored and text.encode() in stored[0][0]
    note = "Đã kiểm tra\r\nđúng phản ánh"
    ward.cli("inform_leaders", case, "--note", note)
    ward.wait_archived(case, "leaders_informed")
    assert ward.show(case)["history"][-1]["note"] == note
    # Other control characters are still refused
    for bad in ("chuông \x07", "escape \x1b[31m", "nul-ish \x01"):
        result = ward.cli("submit", "--phone", "0912345678", "--type", "noise", "--location", "X",
                          "--description", bad, check=False)
        assert result.returncode == 2 and "control characters" in result.stderr


# ------------------------------------------------------------ idempotency

def test_a_reused_request_id_is_refused_and_a_retry_is_not(utc_ward):
    ward = utc_ward
    first = ward.submit(request_id="phone-0912-1", description="Khói đen từ lò gạch")
    ward.wait_archived(first)
    before = cases(ward)
    # The same report again (a retry): the same case, exit 0
    assert ward.submit(request_id="phone-0912-1", description="Khói đen từ lò gạch") == first
    # Another report under that id: refused, exit 2, nothing stored
    result = ward.cli("submit", "--request-id", "phone-0912-1", "--phone", "0912345678",
                      "--type", "noise", "--location", "X", "--description", "Tiếng ồn", check=False)
    assert result.returncode == 2
    assert "request id already used for a different report" in result.stderr
    assert first not in result.stdout
    assert cases(ward) == before
    # On the wire: its own reply code; in one batch as across batches
    code, error, _ = decode_reply(exchange(ward.endpoint, envelope_submit(request_id="phone-0912-1")))
    assert code == 422 and error == "request id already used for a different report"
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(ward.endpoint)

    def send_all(*frames):
        for frame in frames:
            sock.send(frame)
        codes = []
        for _ in frames:
            assert sock.poll(5000)
            codes.append(decode_reply(sock.recv_multipart()[-1])[0])
        return codes
    try:
        # In one batch or several (intake takes what has arrived): the
        # owner of an id is the command stored under it, never a refusal
        assert send_all(envelope_submit(request_id="batch-1", description="Một"),
                        envelope_submit(request_id="batch-1", description="Hai"),
                        envelope_submit(request_id="batch-1", description="Một")) == [0, 422, 0]
        assert send_all(envelope_submit(request_id="batch-1", description="Hai"),
                        envelope_submit(request_id="batch-1", description="Một")) == [422, 0]
    finally:
        sock.close()
    assert cases(ward) == before + 1


def test_the_front_door_says_it_takes_requests_not_events(utc_ward):
    event = (field_bytes(1, "ward-31001/1") + field_varint(2, 1) + field_bytes(3, "31001-2026-000001")
             + field_bytes(7, "submit"))
    code, error, _ = decode_reply(exchange(utc_ward.endpoint, envelope(12, event)))
    assert code == 400 and "takes requests" in error and "not events" in error
    code, error, _ = decode_reply(exchange(utc_ward.endpoint, envelope(10, field_varint(5, 1))))
    assert code == 400 and "request_id" in error


def test_ping_names_the_zone(utc_ward):
    frame = envelope(10, field_bytes(1, "p") + field_varint(5, 1))
    sock_reply = exchange(utc_ward.endpoint, frame)
    from hotline_pb import parse
    reply = parse(parse(sock_reply)[11][0])
    assert json.loads(reply[8][0]) == {"node": "ward-31001", "timezone": "Asia/Ho_Chi_Minh"}


# ------------------------------------------------------------ e-mail

def test_mail_dates_are_vietnam_time(node_factory, smtp):
    """The leaders' mail says when the call came in, in Hải Phòng's time,
    with the services in New York's zone; the Date header has +0700."""
    from test_notification import LEADERS, NODE, notify_config
    node = node_factory(services=NODE, extra=notify_config(f"smtp://127.0.0.1:{smtp.port}"),
                        env={"TZ": "America/New_York"})
    os.makedirs(node.data, exist_ok=True)
    set_clock(node, iso_ms("2026-12-31T23:30:00+00:00"))
    node.start()
    case = node.submit()
    assert case == "31001-2027-000001"
    [message] = wait_for(lambda: smtp.to(LEADERS[0], case), what="the leaders' mail")
    assert "Tiếp nhận lúc: 2027-01-01 06:3" in message.get_content(), message.get_content()
    assert message["Date"].endswith("+0700")       # sent now (real time), in the zone
