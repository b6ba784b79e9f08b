"""The ward node's write path and record, through real processes."""
import datetime
import json
import os
import sqlite3
import subprocess
import time

import pytest
import zmq

from conftest import BUILD, SLOW, node_time, wait_for

VIETNAMESE = "Nước thải màu đen, mùi hôi nồng nặc từ xưởng chế biến hải sản — đề nghị kiểm tra gấp!"


def test_submit_show_round_trip_keeps_every_field(ward):
    case = ward.submit(
        phone="0916 588 826", name="Nguyễn Thị Hằng", email="hang.nguyen@example.vn",
        address="Số 12, tổ 3, phường An Biên", polluter="Công ty TNHH Hải Sản Đông Á",
        polluter_category="licensed_facility", occurred="2026-11-28 21:30", channel="email",
        scope="several_wards", urgent=True, sudden=True, type="waste_water",
        location="Cống xả ra kênh Xáng, gần cầu An Biên", lat="20.8561", lon="106.6822",
        description=VIETNAMESE, evidence=["ảnh-cống-xả-1.jpg", "https://example.vn/video/42",
                                          "ghi-âm-cuộc-gọi-0916.wav"])
    import re
    assert re.fullmatch(r"31001-\d{4}-000001", case), case
    assert case.split("-")[1] == node_time("%Y")
    ward.wait_archived(case)
    view = ward.show(case)
    report = view["report"]
    assert view["case_id"] == case and view["state"] == "received"
    assert view["urgent"] is True and view["regime"] == "urgent"
    assert report["description"] == VIETNAMESE
    assert report["location"] == "Cống xả ra kênh Xáng, gần cầu An Biên"
    assert report["polluter"] == "Công ty TNHH Hải Sản Đông Á"
    assert report["polluter_category"] == "licensed_facility"
    assert report["channel"] == "email" and report["scope"] == "several_wards"
    assert report["type"] == "waste_water" and report["sudden"] is True
    assert abs(report["latitude"] - 20.8561) < 1e-9 and abs(report["longitude"] - 106.6822) < 1e-9
    assert report["evidence"] == ["ảnh-cống-xả-1.jpg", "https://example.vn/video/42",
                                  "ghi-âm-cuộc-gọi-0916.wav"]
    who = report["reporter"]
    assert who == {"anonymous": False, "name": "Nguyễn Thị Hằng", "phone": "0916 588 826",
                   "email": "hang.nguyen@example.vn", "address": "Số 12, tổ 3, phường An Biên"}
    occurred = node_time("%Y-%m-%d %H:%M", report["occurred_ms"])
    assert occurred == "2026-11-28 21:30"
    assert view["history"][0]["action"] == "submit"
    # The text view carries the diacritics intact too
    text = ward.cli("show", case).stdout
    assert VIETNAMESE in text and "Nguyễn Thị Hằng" in text
    # A second case gets the next number
    assert ward.submit(anonymous=True, phone=None).endswith("-000002")


def test_list_filters_and_counts(ward):
    a = ward.submit(type="noise")
    b = ward.submit(type="odour")
    c = ward.submit(type="noise", urgent=True)
    ward.wait_archived(c)
    assert {r["case_id"] for r in ward.list("--type", "noise")} == {a, c}
    assert {r["case_id"] for r in ward.list("--status", "received")} == {a, b, c}
    assert ward.list("--status", "closed") == []
    assert ward.cli("list", "--count", "--type", "noise").stdout.strip() == "2"
    assert ward.cli("list", "--count").stdout.strip() == "3"
    assert {r["case_id"] for r in ward.list("--since", node_time("%Y-%m-%d"))} == {a, b, c}
    assert ward.list("--until", "2000-01-01") == []
    bad = ward.cli("list", "--type", "smoke", check=False)
    assert bad.returncode == 2 and "smoke" in bad.stderr


BAD_FIELDS = [
    ({"type": "smoke"}, "type"),
    ({"type": None}, "type"),
    ({"location": ""}, "location"),
    ({"description": ""}, "description"),
    ({"description": "x" * 5000}, "description"),
    ({"phone": "12ab"}, "phone"),
    ({"phone": None}, "phone"),                  # no way to reply, not anonymous
    ({"email": "not-an-email"}, "email"),
    ({"channel": "pigeon"}, "channel"),
    ({"scope": "galaxy"}, "scope"),
    ({"occurred": "2099-01-01"}, "occurred"),
    ({"occurred": "yesterday"}, "occurred"),
    ({"lat": "95", "lon": "106"}, "latitude"),
    ({"lat": "20"}, "lat"),
    ({"anonymous": True}, "anonymous"),          # anonymous but with a phone
    ({"polluter_category": "Licensed Facility!"}, "polluter_category"),
    ({"description": "line\x01control"}, "description"),
]


@pytest.fixture(scope="class")
def field_ward(class_node_factory):
    """One ward (archive, intake) for every bad field: each refusal proves
    nothing stored by counts before and after."""
    return class_node_factory(services=("archive", "intake")).start()


def _stored(ward):
    return (ward.query("intake", "SELECT count(*) FROM log WHERE case_id <> ''")[0][0],
            ward.query("intake", "SELECT count(*) FROM cases")[0][0])


class TestBadFields:
    @pytest.mark.parametrize("fields,field", BAD_FIELDS, ids=[f for _, f in BAD_FIELDS])
    def test_bad_field_is_refused_and_nothing_stored(self, field_ward, fields, field):
        before = _stored(field_ward)
        result = field_ward.cli("submit", *_args(fields), check=False)
        assert result.returncode == 2, result
        assert field in result.stderr and result.stdout == ""
        assert _stored(field_ward) == before

    def test_good_fields_are_what_stored_counts(self, field_ward):
        """The control: a taken report moves both counts (so "equal before
        and after" above can fail)."""
        log, cases = _stored(field_ward)
        case = field_ward.cli("submit", *_args({})).stdout.strip()
        assert case
        after_log, after_cases = _stored(field_ward)
        assert after_log > log and after_cases == cases + 1


def _args(fields):
    base = {"phone": "0912345678", "type": "noise", "location": "Chợ An Biên",
            "description": "Loa kéo hát karaoke đến 2 giờ sáng"}
    base.update(fields)
    args = []
    for key, value in base.items():
        if value is None:
            continue
        key = key.replace("_", "-")
        args += [f"--{key}"] if value is True else [f"--{key}", value]
    return args


def _raw_request(env_bytes, endpoint, frames=None, timeout=3000):
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    sock.send_multipart(frames if frames is not None else [env_bytes])
    ready = sock.poll(timeout)
    reply = sock.recv_multipart() if ready else None
    sock.close()
    return reply


def test_server_side_validation_without_the_cli(ward):
    """The node validates on its own: a client that skips the CLI's checks
    still gets one error per bad field, and nothing is stored."""
    from hotline_pb import envelope_submit, decode_reply
    raw = envelope_submit(request_id="raw-1", phone="", type=0, location="",
                          description="bad \xc3\x28 utf8".encode("latin-1"))
    reply = _raw_request(raw, ward.endpoint)
    assert reply is not None
    code, error, fields = decode_reply(reply[-1])
    assert code == 400, (code, error)
    assert ward.query("intake", "SELECT count(*) FROM log WHERE case_id <> ''")[0][0] == 0


def test_malformed_and_oversize_frames_do_not_hurt_intake(ward):
    # garbage protobuf: an error reply
    reply = _raw_request(b"\xff\xff\xff\xff\x0f", ward.endpoint)
    assert reply is not None
    from hotline_pb import decode_reply
    code, error, _ = decode_reply(reply[-1])
    assert code == 400 and "malformed" in error
    # wrong frame count: an error reply
    reply = _raw_request(None, ward.endpoint, frames=[b"a", b"b", b"c"])
    assert reply is not None and decode_reply(reply[-1])[0] == 400
    # an empty frame
    reply = _raw_request(b"", ward.endpoint)
    assert reply is not None and decode_reply(reply[-1])[0] == 400
    # oversize (2 MiB > ZMQ_MAXMSGSIZE): libzmq drops the peer, no reply
    assert _raw_request(b"\x00" * (2 * 1024 * 1024), ward.endpoint, timeout=1000) is None
    # and the service keeps serving everyone else
    assert ward.alive("intake")
    case = ward.submit()
    assert case.endswith("-000001")
    assert ward.query("intake", "SELECT count(*) FROM log WHERE case_id <> ''")[0][0] == 1


def test_retry_with_same_request_id_gives_same_case(ward):
    first = ward.submit(request_id="client-42")
    again = ward.submit(request_id="client-42")
    assert first == again
    other = ward.submit(request_id="client-43")
    assert other != first
    ward.wait_archived(other)
    assert ward.query("archive", "SELECT count(*) FROM cases")[0][0] == 2


def test_unavailable_node_exits_3(node_factory):
    node = node_factory(services=())
    result = node.cli("submit", *_args({}), check=False, tries=2, timeout=200)
    assert result.returncode == 3
    assert "not answering" in result.stderr and result.stdout == ""


def test_unknown_case_and_illegal_transition(ward):
    missing = ward.cli("show", "31001-2026-999999", check=False)
    assert missing.returncode == 2 and "unknown case" in missing.stderr
    bad = ward.cli("show", "not-a-case", check=False)
    assert bad.returncode == 2
    case = ward.submit()
    before = ward.query("intake", "SELECT count(*) FROM log WHERE case_id <> ''")[0][0]
    result = ward.cli("verify", case, "--result", "accurate", "--note", "x", check=False)
    assert result.returncode == 2
    assert "allowed now" in result.stderr and "inform_leaders" in result.stderr
    assert ward.query("intake", "SELECT count(*) FROM log WHERE case_id <> ''")[0][0] == before
    nope = ward.cli("frobnicate", case, check=False)
    assert nope.returncode == 2 and "unknown action" in nope.stderr


def test_case_numbers_count_on_across_restarts_batches_and_years(ward):
    """Intake keeps the year's case counter in memory: a restart, a batch
    that fails half-way and a new year must still give consecutive numbers,
    never one twice, never a gap."""
    from hotline_pb import envelope_submit, decode_reply
    year = int(node_time("%Y"))
    assert ward.submit().endswith(f"-{year}-000001")
    ward.kill("intake")                         # kill -9: the counter is in the store
    ward.start("intake")
    assert ward.submit().endswith(f"-{year}-000002")

    # Near the year's limit (999999): a batch of two submits in which the
    # second cannot be numbered fails whole; the first's number is not used
    ward.kill("intake")
    conn = sqlite3.connect(os.path.join(ward.data, "intake.db"))
    conn.execute("UPDATE counters SET last = 999998 WHERE year = ?", (year,))
    conn.commit()
    conn.close()
    ward.start("intake")
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(ward.endpoint)
    sock.send_multipart([envelope_submit(request_id="limit-a", phone="0912345678", type=1,
                                         location="Chợ An Biên", description="Khói")])
    sock.send_multipart([envelope_submit(request_id="limit-b", phone="0912345678", type=1,
                                         location="Chợ An Biên", description="Khói")])
    codes = {}
    for _ in range(2):
        assert sock.poll(10000 * SLOW)
        code, error, _ = decode_reply(sock.recv_multipart()[-1])
        codes[len(codes)] = (code, error)
    sock.close()
    numbered = ward.query("intake", "SELECT case_id FROM cases WHERE case_id LIKE ?",
                          f"%-{year}-999999")
    if all(code == 503 for code, _ in codes.values()):
        # one batch: nothing stored, so 999999 is still free
        assert numbered == []
        assert ward.submit().endswith(f"-{year}-999999")
    else:
        # two batches: the first took 999999, the second was refused
        assert sorted(code for code, _ in codes.values()) == [0, 503], codes
        assert len(numbered) == 1
    assert ward.cli("submit", "--phone", "0912345678", "--type", "noise", "--location", "Chợ",
                    "--description", "Ồn", check=False, tries=1).returncode != 0
    assert ward.query("intake", "SELECT last FROM counters WHERE year = ?", year) == [(999999,)]

    # A new year starts at 000001, and its counter survives a restart
    ward.advance((datetime.date(year + 1, 1, 2) - datetime.date.today()).days * 86400 * 1000)
    assert ward.submit().endswith(f"-{year + 1}-000001")
    ward.kill("intake")
    ward.start("intake")
    assert ward.submit().endswith(f"-{year + 1}-000002")
    assert ward.query("intake", "SELECT year, last FROM counters ORDER BY year") == \
        [(year, 999999), (year + 1, 2)]
