"""Citizens report without an account, with evidence files, and follow
their case from a secret tracking link (services/web/API.md
"Citizens" and "Evidence"): real archive + intake + hotline-web, spoken to
with http.client; the browser test drives headless Chromium on a phone's
viewport."""
import hashlib
import http.client
import json
import os
import sqlite3
import struct
import uuid

import pytest

from conftest import SLOW, wait_for
from test_web_api import Web, officer, report_body

JPEG = (b"\xff\xd8"
        b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        b"\xff\xe1\x00\x1aExif\x00\x00GPS 20.86N 106.68E"
        b"\xff\xdb\x00\x04\x01\x02"
        b"\xff\xda\x00\x04\x00\x00" + bytes(range(1, 200)) + b"\xff\xd9")


def multipart(fields=(), files=(), boundary="hotline-test-boundary"):
    """fields: [(name, value)], files: [(name, filename, bytes)] -> (body, content type)"""
    out = b""
    for name, value in fields:
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                .encode() + str(value).encode() + b"\r\n")
    for name, filename, data in files:
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; "
                f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                .encode() + data + b"\r\n")
    out += f"--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


REPORT = [("type", "solid_waste"), ("description", "Đổ trộm rác thải xây dựng ven kênh"),
          ("location", "Ngõ 12, tổ 5"), ("latitude", "20.861"), ("longitude", "106.681"),
          ("phone", "0912 345 678")]


def post(node, path, body, ctype, web=None):
    web = web or Web(node)
    return web.request("POST", path, raw=body, headers={"Content-Type": ctype})


def evidence_files(node):
    root = os.path.join(node.data, "evidence")
    found = []
    for folder, _, names in os.walk(root):
        found += [os.path.join(folder, n) for n in names]
    return found


def cases(node):
    return node.query("archive", "SELECT count(*) FROM cases")[0][0]


@pytest.fixture
def public_ward(node_factory):
    return node_factory(services=("archive", "intake", "web"),
                        extra="web\n    public_max_per_phone = 3\n").start()


def test_public_report_with_photo_tracked_to_the_end(public_ward):
    node = public_ward
    body, ctype = multipart(REPORT, [("evidence", "anh.jpg", JPEG)])
    resp = post(node, "/api/v1/public/reports", body, ctype)
    assert resp.status == 201, resp.body
    case, url = resp.json["case_id"], resp.json["tracking_url"]
    assert url.startswith("/track.html#") and "0912" not in url
    token = url.split("#", 1)[1]
    # The file is durable under its SHA-256, named by the case
    sha = hashlib.sha256(JPEG).hexdigest()
    path = os.path.join(node.data, "evidence", sha[:2], sha[2:])
    with open(path, "rb") as f:
        assert f.read() == JPEG
    node.wait_archived(case)
    shown = node.show(case)
    assert shown["report"]["evidence"] == [f"sha256:{sha}"]
    assert shown["report"]["channel"] == "web"
    assert "sha256:" + sha in node.cli("show", case).stdout
    node.wait_archived(case)
    # The tracking link: the state, nothing of the reporter
    web = Web(node)
    track = web.request("GET", f"/api/v1/public/track/{token}")
    assert track.status == 200, track.body
    assert track.json["case_id"] == case and track.json["state_label"]
    assert "0912" not in track.body.decode() and track.json["result_note"] is None
    assert web.request("GET", "/api/v1/public/track/" + "0" * 64).status == 404
    # The officer sees the original photo; a viewer only the stripped one
    officer = Web(node)
    officer.login("lan", node.web_user("lan", "officer"))
    got = officer.request("GET", f"/api/v1/cases/{case}/evidence/{sha}")
    assert got.status == 200 and got.body == JPEG and got.getheader("Content-Type") == "image/jpeg"
    viewer = Web(node)
    viewer.login("xem", node.web_user("xem", "viewer"))
    got = viewer.request("GET", f"/api/v1/cases/{case}/evidence/{sha}")
    assert got.status == 200 and b"GPS" not in got.body and b"Exif" not in got.body
    assert got.body.startswith(b"\xff\xd8") and got.body.endswith(bytes(range(1, 200)) + b"\xff\xd9")
    # The officer works the case to the end; the reporter sees the result
    for args in (["inform_leaders", case], ["route", case, "--to", "ward"],
                 ["assign", case, "--to", "division:lan"],
                 ["verify", case, "--result", "accurate", "--note", "Đúng"],
                 ["contain", case, "--note", "Đã dừng"], ["resolve", case, "--note", "Đã dọn sạch"],
                 ["inform", case, "--channel", "web", "--note", "Đã dọn sạch rác"]):
        node.cli(*args)
    def tracked(check):
        def get():
            resp = web.request("GET", f"/api/v1/public/track/{token}")
            return resp.json if resp.status == 200 and check(resp.json) else None
        return wait_for(get, what="the tracking page to show the change")
    track = tracked(lambda t: t["state"] == "reporter_informed")
    assert track["result_note"] == "Đã dọn sạch rác"
    assert track["can"].get("rate") and track["can"].get("reopen")
    rated = web.request("POST", f"/api/v1/public/track/{token}/rate", {"satisfied": False})
    assert rated.status == 200, rated.body
    tracked(lambda t: t["rating"] == "unsatisfied")
    reopened = web.request("POST", f"/api/v1/public/track/{token}/reopen", {"note": "Rác lại bị đổ"})
    assert reopened.status == 200, reopened.body
    track = tracked(lambda t: t["state"] == "reopened")
    # each step names its state beside the label, so the page can word it in English
    steps = [s["state"] for s in track["history"]]
    assert steps[-1] == "reopened" and "reporter_informed" in steps, steps
    assert all(s["state_label"] for s in track["history"])
    wait_for(lambda: node.show(case)["state"] == "reopened", what="reopened archived")
    history = node.show(case)["history"]
    assert [h["actor"] for h in history if h["action"] in ("rate", "reopen")] == ["citizen:web"] * 2
    # The reporter adds a photo; an officer attaches a recording
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    body, ctype = multipart([], [("evidence", "them.png", png)])
    added = post(node, f"/api/v1/public/track/{token}/evidence", body, ctype)
    assert added.status == 200 and f"sha256:{hashlib.sha256(png).hexdigest()}" in added.json["evidence"]
    ogg = b"OggS" + b"\1" * 100
    body, ctype = multipart([("note", "Ghi âm cuộc gọi")], [("evidence", "goi.ogg", ogg)])
    attached = officer.request("POST", f"/api/v1/cases/{case}/evidence", raw=body,
                               headers={"Content-Type": ctype})
    assert attached.status == 200, attached.body
    track = tracked(lambda t: f"sha256:{hashlib.sha256(png).hexdigest()}" in t["evidence"])
    node.wait_archived(case)
    wait_for(lambda: "sha256:" + hashlib.sha256(ogg).hexdigest() in node.cli("show", case).stdout,
             what="the recording listed")
    assert f"sha256:{hashlib.sha256(ogg).hexdigest()}" not in track["evidence"]
    assert "sha256:" + hashlib.sha256(ogg).hexdigest() in node.cli("show", case).stdout
    # A closed case: the reporter may no longer reopen it (the procedure says so)
    node.cli("verify", case, "--result", "inaccurate", "--note", "Không thấy")
    node.cli("inform", case, "--channel", "web", "--note", "Không thấy rác")
    node.cli("close", case)
    tracked(lambda t: t["state"] == "closed")
    refused = web.request("POST", f"/api/v1/public/track/{token}/reopen", {"note": "Vẫn còn"})
    assert refused.status in (403, 409), refused.body
    assert node.show(case)["state"] == "closed"


def stored(node):
    """Everything a public report leaves: evidence files (any, even a
    half-written one), intake's log and cases, the archive's cases, web.db's
    tracking tokens and counted submissions."""
    web_db = os.path.join(node.data, "web.db")
    web = {}
    if os.path.exists(web_db):
        conn = sqlite3.connect(f"file:{web_db}?mode=ro", uri=True, timeout=10)
        try:
            for table in ("public_tracking", "public_submissions"):
                try:
                    web[table] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                except sqlite3.OperationalError:
                    web[table] = 0      # not created yet: nothing in it
        finally:
            conn.close()
    return {"evidence": sorted(evidence_files(node)),
            "intake log": node.query("intake", "SELECT count(*) FROM log")[0][0],
            "intake cases": node.query("intake", "SELECT count(*) FROM cases")[0][0],
            "archive cases": cases(node),
            "web": {t: n for t, n in web.items() if n}}


@pytest.fixture(scope="class")
def upload_ward(class_node_factory):
    """One ward (archive, intake, web) for every bad upload: each is refused
    on its own, and each proves nothing stored by counts before and after."""
    return class_node_factory(services=("archive", "intake", "web"),
                              extra="web\n    timeout_s = 2\n").start()


class TestBadUploads:
    @pytest.mark.parametrize("name,body", [
        ("elf named anh.jpg", lambda: multipart(REPORT, [("evidence", "anh.jpg", b"\x7fELF\x02\x01\x01" + b"\0" * 200)])),
        ("11 MB", lambda: multipart(REPORT, [("evidence", "anh.jpg", JPEG + b"\0" * (11 * 1024 * 1024))])),
        ("zero bytes", lambda: multipart(REPORT, [("evidence", "anh.jpg", b"")])),
        ("1,000 parts", lambda: multipart(REPORT + [(f"x{i}", "1") for i in range(1000)])),
        ("truncated", lambda: (lambda b: (b[0][:-40], b[1]))(multipart(REPORT, [("evidence", "anh.jpg", JPEG)]))),
        ("filename with ../", lambda: multipart(REPORT, [("evidence", "../../anh.jpg", JPEG)])),
        ("honeypot", lambda: multipart(REPORT + [("website", "http://spam")], [("evidence", "anh.jpg", JPEG)])),
        ("six files", lambda: multipart(REPORT, [("evidence", f"{i}.jpg", JPEG + bytes([i])) for i in range(6)])),
    ])
    def test_bad_uploads_refused_nothing_stored(self, upload_ward, name, body):
        node = upload_ward
        before = stored(node)
        data, ctype = body()
        resp = post(node, "/api/v1/public/reports", data, ctype)
        # refused for itself, not by the per-phone limit of a shared node
        assert 400 <= resp.status < 500 and resp.status != 429, (name, resp.status, resp.body)
        assert resp.json and resp.json["error"], resp.body       # a message, in Vietnamese
        assert stored(node) == before, name

    def test_good_upload_is_what_stored_counts(self, upload_ward):
        """The control: stored() sees a report that is taken (so "equal
        before and after" above can fail); waits for the archive, so no case
        is still in flight when another test of the class counts."""
        node = upload_ward
        before = stored(node)
        form = [(k, v) for k, v in REPORT if k != "phone"] + [("phone", "0912 000 417")]
        data, ctype = multipart(form, [("evidence", "anh.jpg", JPEG)])
        resp = post(node, "/api/v1/public/reports", data, ctype)
        assert resp.status == 201, resp.body
        wait_for(lambda: cases(node) == before["archive cases"] + 1, what="the report archived")
        after = stored(node)
        assert len(after["evidence"]) == len(before["evidence"]) + 1
        assert after["intake cases"] == before["intake cases"] + 1
        assert after["intake log"] > before["intake log"]
        assert after["web"].get("public_tracking", 0) == before["web"].get("public_tracking", 0) + 1


def test_public_config_is_the_officers_map_and_the_file_limits(node_factory):
    node = node_factory(services=("web",), extra=(
        "web\n"
        '    tile_url = "https://{s}.tile.example.vn/{z}/{x}/{y}.png"\n'
        '    tile_attribution = "&copy; Bản đồ Việt Nam"\n'
        '    map_center = "20.8449,106.6881"\n'
        "    map_zoom = 16\n"
        "    evidence_max_files = 3\n"
        "    evidence_max_bytes = 2000000\n")).start()
    citizen = Web(node)                 # no login
    got = citizen.request("GET", "/api/v1/public/config")
    assert got.status == 200, got.body
    officer = Web(node)
    officer.login("lan", node.web_user("lan", "officer"))
    assert got.json == {"map": officer.request("GET", "/api/v1/me").json["map"],
                        "evidence_max_files": 3, "evidence_max_bytes": 2000000, "files": True}
    assert got.json["map"]["center"] == [20.8449, 106.6881] and got.json["map"]["zoom"] == 16
    assert citizen.request("POST", "/api/v1/public/config", {}).status == 405


# An iPhone photo: an ISO box like an MP4's, brand heic (once taken as video/mp4)
HEIC = b"\0\0\0\x1cftypheic\0\0\0\0mif1MiHEheic" + b"\0\0\x01\x00meta" + b"\0" * 300


def test_heic_photo_refused_named_nothing_stored(web_ward):
    node = web_ward
    body, ctype = multipart(REPORT, [("evidence", "anh.jpg", JPEG), ("evidence", "IMG_0001.HEIC", HEIC)])
    resp = post(node, "/api/v1/public/reports", body, ctype)
    assert resp.status == 415 and resp.json["field"] == "evidence", resp.body
    assert "HEIC" in resp.json["error"] and resp.json["error"].endswith("Most Compatible)"), resp.json
    assert evidence_files(node) == [] and cases(node) == 0
    # an MP4 with the same box, brand isom, is a video
    mp4 = b"\0\0\0\x18ftypisom\0\0\x02\0isommp42" + b"\0\0\0\x08free"
    body, ctype = multipart(REPORT, [("evidence", "clip.mp4", mp4)])
    assert post(node, "/api/v1/public/reports", body, ctype).status == 201


def test_rate_limit_per_phone(public_ward):
    node = public_ward
    body, ctype = multipart(REPORT)
    for i in range(3):
        assert post(node, "/api/v1/public/reports", body, ctype).status == 201
    refused = post(node, "/api/v1/public/reports", body, ctype)
    assert refused.status == 429 and refused.getheader("Retry-After"), refused.body
    wait_for(lambda: cases(node) == 3, what="three cases")
    other = [(k, v) for k, v in REPORT if k != "phone"] + [("phone", "0988 000 111")]
    body, ctype = multipart(other)
    assert post(node, "/api/v1/public/reports", body, ctype).status == 201


def web_metric(node, name):
    text = Web(node).request("GET", "/metrics").body.decode()
    lines = [l for l in text.splitlines() if l.startswith(name + "{") or l.startswith(name + " ")]
    return float(lines[0].split()[-1]) if lines else 0.0


def test_case_list_total_reused_briefly_then_counted_again(public_ward):
    """The list's total is kept a moment per filter (API.md: up to 2 s old),
    so paging does not count every case again; then it is counted anew.
    One keep-alive connection, so one server thread (each keeps its own)."""
    node = public_ward
    web = officer(node)
    first = web.request("POST", "/api/v1/cases", report_body(request_id="total-1"))
    assert first.status == 201, first.body
    node.wait_archived(first.json["case_id"])
    conn = http.client.HTTPConnection("127.0.0.1", node.base + 10, timeout=30 * SLOW)
    def listed(query):
        conn.request("GET", "/api/v1/cases?" + query, headers={"Cookie": web.cookie})
        resp = conn.getresponse()
        body = resp.read()
        assert resp.status == 200, body
        return json.loads(body)
    try:
        assert listed("type=waste_water")["total"] == 1
        # the next pages, same filters: the count is reused (the answer's shape is the same)
        before = web_metric(node, "hotline_web_case_totals_reused_total")
        def reused():
            page = listed("type=waste_water&page=2&per_page=1")
            assert page["total"] == 1 and page["cases"] == [] and page["page"] == 2, page
            return web_metric(node, "hotline_web_case_totals_reused_total") > before
        wait_for(reused, what="a total reused")
        # other filters are other totals
        assert listed("type=waste_water&state=closed")["total"] == 0
        # a new case: counted once the kept total has aged
        second = web.request("POST", "/api/v1/cases", report_body(request_id="total-2"))
        assert second.status == 201, second.body
        node.wait_archived(second.json["case_id"])
        wait_for(lambda: listed("type=waste_water&page=2&per_page=1")["total"] == 2, what="the new total")
    finally:
        conn.close()


def test_city_form_files_at_the_ward_of_the_pin(node_factory, tmp_path):
    """The city's form (the demo wards built in: 31001 An Biên, 31002 Lê
    Chân): the report is filed at the ward whose area holds the pin, or the
    ward chosen; refused with a clear message, storing nothing, when the
    pin is in no ward's area; tracked from the city, and rated there."""
    from federation_util import make_filing_city, filing_case
    city, wards = make_filing_city(node_factory, tmp_path)
    web = Web(city)
    cfg = web.get("/api/v1/public/config").json
    assert cfg["files"] is True
    assert [(w["code"], w["area"], w["ready"]) for w in cfg["wards"]] == [("31001", True, True),
                                                                          ("31002", True, True)]
    filings = lambda: city.query("archive", "SELECT count(*) FROM filings")[0][0]
    fields = [f for f in REPORT if f[0] not in ("latitude", "longitude")]

    def send(extra, files=()):
        body, ctype = multipart(fields + list(extra), files)
        return post(city, "/api/v1/public/reports", body, ctype)

    # Refused, in Vietnamese, naming the field, nothing stored
    resp = send([("latitude", "21.03"), ("longitude", "105.85")])           # Hà Nội
    assert resp.status == 400 and resp.json["field"] == "ward", resp.body
    assert "không thuộc phường nào" in resp.json["error"]
    resp = send([])
    assert resp.status == 400 and resp.json["field"] == "ward" and "Xin chọn phường" in resp.json["error"]
    resp = send([("ward", "99999"), ("latitude", "20.845"), ("longitude", "106.68")])
    assert resp.status == 400 and resp.json["field"] == "ward"
    assert filings() == 0 and evidence_files(city) == []

    # The pin in Lê Chân's area: filed at 31002; the answer has no number
    # yet, the ward, and the tracking link
    resp = send([("latitude", "20.845"), ("longitude", "106.68"), ("request_id", uuid.uuid4().hex)])
    assert resp.status == 201, resp.body
    assert resp.json["case_id"] is None and resp.json["ward"] == "31002"
    assert resp.json["ward_name"] == "Phường Lê Chân"
    token = resp.json["tracking_url"].split("#", 1)[1]

    def tracked(check):
        def ok():
            got = web.get(f"/api/v1/public/track/{token}")
            assert got.status == 200, got.body
            return got.json if check(got.json) else None
        return wait_for(ok, what="the city's tracking answer")
    track = tracked(lambda t: t["case_id"])
    case = track["case_id"]
    assert case.startswith("31002-") and track["ward_name"] == "Phường Lê Chân"
    assert track["can"].get("attach") and "0912" not in json.dumps(track)
    assert wards["31002"].show(case)["report"]["reporter"]["phone"] == "0912 345 678"
    assert wards["31001"].query("intake", "SELECT count(*) FROM cases") == [(0,)]

    # Not yet informed: rating is refused, nothing filed
    assert web.post(f"/api/v1/public/track/{token}/rate", {"satisfied": True}).status == 409
    before = filings()
    # The ward works the case and tells the reporter; the reporter rates it
    # from the city's link, and the rating is filed at the ward
    ward = wards["31002"]
    for args in (["inform_leaders", case], ["route", case, "--to", "ward"],
                 ["assign", case, "--to", "division:lan"],
                 ["verify", case, "--result", "accurate", "--note", "Đúng"],
                 ["contain", case, "--note", "Đã dừng"], ["resolve", case, "--note", "Đã dọn sạch"],
                 ["inform", case, "--channel", "web", "--note", "Đã dọn sạch rác"]):
        ward.cli(*args)
    tracked(lambda t: t["result_note"] == "Đã dọn sạch rác" and t["can"].get("rate"))
    rated = web.post(f"/api/v1/public/track/{token}/rate", {"satisfied": True})
    assert rated.status == 200, rated.body
    wait_for(lambda: filings() == before + 1, what="the rating filed")
    assert tracked(lambda t: t["rating"])["rating"] == "satisfied"
    assert [(e["actor"], e.get("variant")) for e in ward.show(case)["history"] if e["action"] == "rate"] == [
        ("citizen:web", "satisfied")]

    # A ward chosen from the list wins over the pin
    resp = send([("ward", "31001"), ("latitude", "20.845"), ("longitude", "106.68")])
    assert resp.status == 201 and resp.json["ward"] == "31001"
    chosen = resp.json["tracking_url"].split("#", 1)[1]
    wait_for(lambda: web.get(f"/api/v1/public/track/{chosen}").json["case_id"], what="filed at 31001")
    assert wards["31001"].query("intake", "SELECT count(*) FROM cases") == [(1,)]


def test_city_form_report_the_ward_refuses_is_tracked_as_refused(node_factory, tmp_path):
    """A report the ward's intake refuses (its procedure lets no system
    role submit): the city's tracking answer says, in Vietnamese, that the
    ward did not take it and why, for good; nothing to rate."""
    from federation_util import make_filing_city, ward_refusing_reports, filing_refused
    city, wards = make_filing_city(node_factory, tmp_path, codes=("31001",),
                                   ward_procedure=ward_refusing_reports(tmp_path))
    web = Web(city)
    body, ctype = multipart(REPORT + [("ward", "31001"), ("request_id", uuid.uuid4().hex)])
    resp = post(city, "/api/v1/public/reports", body, ctype)
    assert resp.status == 201, resp.body
    token = resp.json["tracking_url"].split("#", 1)[1]
    filing_id = city.query("archive", "SELECT filing_id FROM filings")[0][0]
    filing_refused(city, filing_id)
    track = web.get(f"/api/v1/public/track/{token}")
    assert track.status == 200, track.body
    t = track.json
    assert t["pending"] is False and t["state"] == "refused" and t["case_id"] is None
    assert "không tiếp nhận" in t["state_label"] and "may not submit" in t["refused"]["reason"]
    assert "0912" not in track.body.decode()
    assert web.post(f"/api/v1/public/track/{token}/rate", {"satisfied": True}).status == 409
    assert wards["31001"].query("intake", "SELECT count(*) FROM cases") == [(0,)]


def test_city_form_photo_reaches_the_ward_and_leaves_the_city(node_factory, tmp_path):
    """A photo on the city's form goes to the ward with the filing
    (federation.h, "Filing", Files): the ward's case names it and its store
    holds it byte for byte; once the ward has it, the city's copy is gone.
    An ELF named anh.jpg is refused at the city, nothing stored. A filing
    whose file never comes waits, then is filed without it."""
    from federation_util import make_filing_city, filing_case
    from test_federation import _metric     # the archive's /metrics (base+12): the ward has no web
    city, wards = make_filing_city(node_factory, tmp_path, codes=("31001",))
    ward = wards["31001"]
    photo = JPEG + os.urandom(300000)       # two pieces (256 KiB each)
    sha = hashlib.sha256(photo).hexdigest()
    fields = [f for f in REPORT if f[0] not in ("latitude", "longitude")] + [("ward", "31001")]

    body, ctype = multipart(fields, [("evidence", "anh.jpg", b"\x7fELF\x02\x01\x01" + bytes(200))])
    resp = post(city, "/api/v1/public/reports", body, ctype)
    assert resp.status == 415 and resp.json["field"] == "evidence", resp.body
    assert evidence_files(city) == [] and city.query("archive", "SELECT count(*) FROM filings") == [(0,)]

    body, ctype = multipart(fields + [("request_id", uuid.uuid4().hex)], [("evidence", "anh.jpg", photo)])
    resp = post(city, "/api/v1/public/reports", body, ctype)
    assert resp.status == 201, resp.body
    filing = city.query("archive", "SELECT filing_id FROM filings")[0][0]
    case = filing_case(city, filing)
    assert ward.show(case)["report"]["evidence"] == [f"sha256:{sha}"]
    stored = os.path.join(ward.data, "evidence", sha[:2], sha[2:])
    with open(stored, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == sha
    assert _metric(ward, "hotline_federation_filing_evidence_files_total") == 1
    assert _metric(ward, "hotline_federation_filing_evidence_bytes_total") == len(photo)

    # A photo added from the city's tracking link goes the same way
    token = resp.json["tracking_url"].split("#", 1)[1]
    wait_for(lambda: Web(city).get(f"/api/v1/public/track/{token}").json["case_id"] == case,
             what="the ward's case at the city")
    later = b"\x89PNG\r\n\x1a\n" + os.urandom(500)
    later_sha = hashlib.sha256(later).hexdigest()
    body, ctype = multipart([("note", "Thêm ảnh")], [("evidence", "them.png", later)])
    added = post(city, f"/api/v1/public/track/{token}/evidence", body, ctype)
    assert added.status == 200, added.body
    wait_for(lambda: [e["args"]["evidence"] for e in ward.show(case)["history"] if e["action"] == "attach"]
             == [f"sha256:{later_sha}"], what="the attach filed at the ward")
    with open(os.path.join(ward.data, "evidence", later_sha[:2], later_sha[2:]), "rb") as f:
        assert f.read() == later
    assert _metric(ward, "hotline_federation_filing_evidence_files_total") == 2
    assert _metric(ward, "hotline_federation_filing_evidence_bytes_total") == len(photo) + len(later)

    # Delivered: once the ward's cursor has passed a file's last piece, the
    # city's copy is gone
    wait_for(lambda: city.query("archive", "SELECT count(*) FROM evidence_return WHERE released = 0")
             == [(0,)], what="the city released the files")
    assert evidence_files(city) == []
    assert city.query("archive", "SELECT count(DISTINCT sha256) FROM evidence_return") == [(2,)]

    # A filing whose file the ward cannot get (deleted at the city while
    # the ward's archive was down: its pieces go as lost) waits; after 10
    # minutes of the city's time it is filed without it, logged once each
    ward.kill("archive")
    lost = JPEG + os.urandom(1000)
    lost_sha = hashlib.sha256(lost).hexdigest()
    body, ctype = multipart(fields + [("request_id", uuid.uuid4().hex)], [("evidence", "mat.jpg", lost)])
    resp = post(city, "/api/v1/public/reports", body, ctype)
    assert resp.status == 201, resp.body
    wait_for(lambda: city.query("archive", "SELECT count(*) FROM evidence_return WHERE sha256 = ?",
                                f"sha256:{lost_sha}") == [(1,)], what="the file queued for the ward")
    os.remove(os.path.join(city.data, "evidence", lost_sha[:2], lost_sha[2:]))
    ward.start("archive")
    wait_for(lambda: "waits for 1 of its files" in ward.log("archive"), what="the filing waiting")
    wait_for(lambda: "the city lost the file" in ward.log("archive"), what="the lost piece refused")
    assert ward.query("intake", "SELECT count(*) FROM cases") == [(1,)]
    ward.advance(11 * 60 * 1000)
    wait_for(lambda: ward.query("intake", "SELECT count(*) FROM cases") == [(2,)], what="filed without it")
    log = ward.log("archive")
    waiting = city.query("archive", "SELECT case_id FROM evidence_return WHERE sha256 = ?",
                         f"sha256:{lost_sha}")[0][0]
    assert log.count(f"{waiting} waits for 1 of its files") == 1
    assert log.count(f"{waiting} is filed without 1 of its files") == 1

