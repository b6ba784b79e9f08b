"""The web console's JSON API (services/web/API.md) on real processes:
archive + intake + hotline-web, spoken to with Python's own http.client.

Each user is added with `hotline user add` and logs in once per test: a
login costs an Argon2id hash, seconds under valgrind."""
import http.client
import json
import os
import socket
import sqlite3
import ssl
import subprocess
import time
import urllib.parse

import pytest

from conftest import BUILD, SLOW, ROOT, wait_for, free_base


class Web:
    """One browser: a session cookie and its CSRF token."""

    def __init__(self, node, https=False):
        self.host, self.port = "127.0.0.1", node.base + 10
        self.https = https
        self.cookie = None
        self.csrf = None

    def request(self, method, path, body=None, headers=None, csrf=True, raw=None):
        if self.https:
            conn = http.client.HTTPSConnection(self.host, self.port, timeout=30 * SLOW,
                                               context=ssl._create_unverified_context())
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=30 * SLOW)
        hdrs = dict(headers or {})
        if self.cookie:
            hdrs["Cookie"] = self.cookie
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            hdrs["X-CSRF-Token"] = self.csrf
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if data is not None:
            hdrs.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        conn.close()
        cookie = resp.getheader("Set-Cookie")
        if cookie and cookie.startswith("hl_session="):
            value = cookie.split(";")[0]
            self.cookie = value if value != "hl_session=" else None
        resp.body = payload
        try:
            resp.json = json.loads(payload) if payload else None
        except ValueError:
            resp.json = None
        return resp

    def login(self, user, password, expect=200):
        resp = self.request("POST", "/api/v1/session", {"user": user, "password": password})
        assert resp.status == expect, (resp.status, resp.body)
        if expect == 200:
            self.csrf = resp.json["csrf"]
            assert resp.json["user"] == user
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)


def officer(node, name="lan"):
    web = Web(node)
    web.login(name, node.web_user(name, "officer"))
    return web


def report_body(**fields):
    body = {"type": "waste_water", "location": "Kênh Xáng, tổ 5",
            "description": "Nước thải đen chảy ra kênh",
            "reporter": {"name": "Nguyễn Thị Hằng", "phone": "0916588826"}}
    body.update(fields)
    return body


def count_cases(node):
    return int(node.cli("list", "--count").stdout.strip())


# ------------------------------------------------------------------ session

def test_login_session_csrf_logout(web_ward):
    password = web_ward.web_user("lan", "officer")
    web = Web(web_ward)
    assert web.get("/api/v1/cases").status == 401
    assert web.get("/api/v1/me").status == 401
    bad = web.login("lan", "wrong-password-123", expect=401)
    assert "error" in bad.json and "wrong-password" not in bad.body.decode()
    ok = web.login("lan", password)
    assert ok.json["role"] == "officer"
    cookie = ok.getheader("Set-Cookie")
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/"):
        assert attribute in cookie
    assert "Secure" not in cookie            # plain HTTP on loopback
    me = web.get("/api/v1/me").json
    assert me["actor"] == "officer:lan" and me["csrf"] == web.csrf
    assert me["can_see_reporter"] and me["can_act"] and not me["is_admin"]
    assert me["node"]["ward_code"] == "31001"
    # a state-changing request without the CSRF token, or with a wrong one
    before = count_cases(web_ward)
    assert web.post("/api/v1/cases", report_body(), csrf=False).status == 403
    resp = web.post("/api/v1/cases", report_body(), csrf=False, headers={"X-CSRF-Token": "0" * 64})
    assert resp.status == 403 and resp.json["field"] == "X-CSRF-Token"
    assert count_cases(web_ward) == before
    # logout ends the session server-side
    old_cookie = web.cookie
    assert web.request("DELETE", "/api/v1/session").status == 200
    web.cookie = old_cookie
    assert web.get("/api/v1/me").status == 401


def test_a_body_must_be_declared_json(web_ward):
    """A cross-site page may POST a form or text/plain without a preflight,
    never application/json: the login (which has no CSRF token) would
    otherwise let another site log a browser in to an account of its own."""
    password = web_ward.web_user("lan", "officer")
    web = Web(web_ward)
    body = json.dumps({"user": "lan", "password": password}).encode()
    for ctype in ("text/plain", "application/x-www-form-urlencoded"):
        resp = web.request("POST", "/api/v1/session", raw=body, headers={"Content-Type": ctype})
        assert resp.status == 415 and resp.json["field"] == "Content-Type", resp.body
        assert resp.getheader("Set-Cookie") is None and web.cookie is None
    web.login("lan", password)
    before = count_cases(web_ward)
    resp = web.request("POST", "/api/v1/cases", raw=json.dumps(report_body()).encode(),
                       headers={"Content-Type": "text/plain;charset=UTF-8"})
    assert resp.status == 415
    assert count_cases(web_ward) == before
    resp = web.request("POST", "/api/v1/cases", raw=json.dumps(report_body()).encode(),
                       headers={"Content-Type": "application/json; charset=utf-8"})
    assert resp.status == 201

def test_login_throttled_and_audited(web_ward):
    password = web_ward.web_user("lan", "officer")
    web = Web(web_ward)
    for _ in range(5):
        web.login("lan", "not-the-password-1", expect=401)
    resp = web.login("lan", password, expect=429)     # even the right one, for now
    assert int(resp.getheader("Retry-After")) > 0
    # every attempt is in the audit, never a password
    with open(os.path.join(web_ward.data, "web.db"), "rb") as f:
        raw = f.read()
    for name in os.listdir(web_ward.data):
        if name.startswith("web.db"):
            with open(os.path.join(web_ward.data, name), "rb") as f:
                raw += f.read()
    assert b"not-the-password-1" not in raw and password.encode() not in raw
    metrics = Web(web_ward).get("/metrics").body.decode()
    assert "hotline_web_login_failures_total" in metrics
    line = [l for l in metrics.splitlines() if l.startswith("hotline_web_login_failures_total")][0]
    assert float(line.split()[-1]) >= 6
    assert 'route="session",code="401"' in metrics and 'route="session",code="429"' in metrics
    # A throttle that cannot count fails closed: with the audit unreadable
    # (its table gone from web.db), even the right password of an account
    # without a failure is refused, 503, until the throttle can count again
    password = web_ward.web_user("mai", "officer")
    db = sqlite3.connect(os.path.join(web_ward.data, "web.db"), timeout=30 * SLOW)
    try:
        db.execute("ALTER TABLE login_audit RENAME TO login_audit_away")
        db.commit()
        resp = Web(web_ward).login("mai", password, expect=503)
        assert int(resp.getheader("Retry-After")) > 0
    finally:
        db.execute("ALTER TABLE login_audit_away RENAME TO login_audit")
        db.commit()
        db.close()
    Web(web_ward).login("mai", password)


# ------------------------------------------------------------------ cases

def test_submit_show_and_work_a_case(web_ward):
    web = officer(web_ward)
    body = report_body(request_id="page-0001", urgent=True)
    resp = web.post("/api/v1/cases", body)
    assert resp.status == 201, resp.body
    case = resp.json["case_id"]
    # the case is durable and the same as the CLI sees it
    shown = web_ward.show(case)
    got = web.get(f"/api/v1/cases/{case}").json
    allowed = got.pop("allowed_actions")
    assert got.pop("now_ms") >= got["received_ms"]
    assert got == shown
    assert {a["action"] for a in allowed} >= {"inform_leaders"}
    # a retried submit with the same request id lands once
    before = count_cases(web_ward)
    again = web.post("/api/v1/cases", body)
    assert again.status == 201 and again.json["case_id"] == case
    assert count_cases(web_ward) == before
    # the list finds it, with its total and its next deadline
    listing = web.get("/api/v1/cases?per_page=10&page=1").json
    assert listing["total"] == before and listing["cases"][0]["case_id"] == case
    assert listing["page"] == 1 and listing["per_page"] == 10
    assert web.get("/api/v1/cases?state=closed").json["total"] == 0
    # text search: the location, never the reporter
    assert web.get("/api/v1/cases?q=" + urllib.parse.quote("Kênh Xáng")).json["total"] == before
    assert web.get("/api/v1/cases?q=0916588826").json["total"] == 0
    # a forbidden action: 409 with what is allowed
    resp = web.post(f"/api/v1/cases/{case}/actions/close", {})
    assert resp.status == 409 and "inform_leaders" in resp.json["allowed"]
    # its whole life, through the API
    steps = [("inform_leaders", {}), ("route", {"variant": "ward"}),
             ("assign", {"args": {"to": "division:hoa"}}),
             ("verify", {"variant": "accurate", "note": "Đã kiểm tra: đúng phản ánh"}),
             ("contain", {"note": "Đã yêu cầu cơ sở dừng xả"}),
             ("resolve", {"note": "Cơ sở đã khắc phục"}),
             ("inform", {"note": "Đã gọi báo người phản ánh", "args": {"channel": "phone"}})]
    for action, fields in steps:
        resp = web.post(f"/api/v1/cases/{case}/actions/{action}", fields)
        assert resp.status == 200, (action, resp.body)
        assert resp.json["case_id"] == case and resp.json["seq"] > 0
    shown = web_ward.show(case)
    assert shown["state"] == "reporter_informed"
    actors = {(h["action"], h["actor"]) for h in shown["history"]}
    assert ("contain", "officer:lan") in actors and ("inform", "officer:lan") in actors
    assert any(h["action"] == "assign" and h["args"].get("to") == "division:hoa" for h in shown["history"])
    # an action the procedure does not know
    assert web.post(f"/api/v1/cases/{case}/actions/fly", {}).status == 404
    assert web.get("/api/v1/cases/31001-2026-999999").status == 404


def test_answers_carry_the_nodes_clock(web_ward):
    """now_ms is the node's clock (hl_clock_now), which the clock file moves:
    the pages count deadlines down against it, not the browser's clock."""
    web = officer(web_ward)
    case = web.post("/api/v1/cases", report_body(urgent=True)).json["case_id"]
    web_ward.wait_archived(case)    # intake acks before the archive, which lists, has it
    before = web.get("/api/v1/cases").json["now_ms"]
    step = 10 * 60 * 1000           # within the session's idle time (30 min)
    web_ward.advance(step)
    listing = web.get("/api/v1/cases").json
    assert listing["now_ms"] >= before + step
    row = next(c for c in listing["cases"] if c["case_id"] == case)
    got = web.get(f"/api/v1/cases/{case}").json
    assert got["now_ms"] >= listing["now_ms"]
    # ten minutes on, its first deadline (informing the leaders) has passed
    assert row["next_due_ms"] < listing["now_ms"]
    acted = web.post(f"/api/v1/cases/{case}/actions/inform_leaders", {}).json
    assert acted["now_ms"] >= got["now_ms"]
    assert web.get("/api/v1/me").json["now_ms"] >= acted["now_ms"]

def test_roles_redaction_and_forbidden(web_ward):
    web = officer(web_ward)
    case = web.post("/api/v1/cases", report_body()).json["case_id"]
    for action, fields in [("inform_leaders", {}), ("route", {"variant": "ward"}),
                           ("assign", {"args": {"to": "division:hoa"}}),
                           ("verify", {"variant": "inaccurate", "note": "Không thấy"}),
                           ("inform", {"note": "Đã báo"})]:
        assert web.post(f"/api/v1/cases/{case}/actions/{action}", fields).status == 200
    # the division may not close: 403, and nothing changes
    division = Web(web_ward)
    division.login("hoa", web_ward.web_user("hoa", "division"))
    resp = division.post(f"/api/v1/cases/{case}/actions/close", {})
    assert resp.status == 403, resp.body
    assert "close" not in {a["action"] for a in division.get(f"/api/v1/cases/{case}").json["allowed_actions"]}
    assert web_ward.show(case)["state"] == "reporter_informed"
    # a viewer sees no reporter, and may not act or submit
    viewer = Web(web_ward)
    viewer.login("xem", web_ward.web_user("xem", "viewer"))
    got = viewer.get(f"/api/v1/cases/{case}")
    assert got.status == 200
    assert got.json["report"]["reporter"] == {"redacted": True}
    assert b"0916588826" not in got.body and "Hằng".encode() not in got.body
    assert got.json["allowed_actions"] == []
    assert viewer.post(f"/api/v1/cases/{case}/actions/close", {}).status == 403
    assert viewer.post("/api/v1/cases", report_body()).status == 403
    assert viewer.get("/api/v1/me").json["can_see_reporter"] is False
    assert viewer.get("/api/v1/users").status == 403
    # the officer does see the reporter
    assert officer_sees(web, case)


def officer_sees(web, case):
    return web.get(f"/api/v1/cases/{case}").json["report"]["reporter"]["phone"] == "0916588826"


def test_report_json_and_csv(web_ward):
    web = officer(web_ward)
    case = web.post("/api/v1/cases", report_body()).json["case_id"]
    web_ward.wait_archived(case)
    # the CLI reads dates in the node's zone, as the web does
    web_ward.env["TZ"] = "Asia/Ho_Chi_Minh"
    year = time.strftime("%Y")
    period = f"from={year}-01-01&to={year}-12-31"
    got = web.get(f"/api/v1/report?{period}")
    assert got.status == 200
    cli = json.loads(web_ward.cli("report", "--from", f"{year}-01-01", "--to", f"{year}-12-31",
                                  "--format", "json").stdout)
    assert got.json == cli and got.json["totals"]["received"] >= 1
    csv = web.get(f"/api/v1/report?{period}&format=csv")
    assert csv.status == 200 and csv.getheader("Content-Type").startswith("text/csv")
    assert "attachment" in csv.getheader("Content-Disposition")
    cli_csv = web_ward.cli("report", "--from", f"{year}-01-01", "--to", f"{year}-12-31",
                           "--format", "csv").stdout
    assert csv.body.decode() == cli_csv
    assert web.get("/api/v1/report?from=2026-13-01&to=2026-12-31").json["field"] == "from"
    # the prose of section 2, kept per period
    text = {"letter": "Công văn số 12", "practice": "Vận hành tốt", "difficulties": "", "proposals": "Không"}
    assert web.request("PUT", f"/api/v1/report/text?{period}", text).status == 200
    assert web.get(f"/api/v1/report/text?{period}").json == text
    # 20,000 bytes a text: 7,000 "ệ" are 7,000 characters but 21,000 bytes,
    # refused naming the field, and the saved text stays as it was
    long = dict(text, practice="ệ" * 7000)
    resp = web.request("PUT", f"/api/v1/report/text?{period}", long)
    assert resp.status == 400 and resp.json["field"] == "practice", resp.body
    assert web.get(f"/api/v1/report/text?{period}").json == text


def test_procedure_users_and_admin(web_ward):
    admin = Web(web_ward)
    admin.login("boss", web_ward.web_user("boss", "admin"))
    procedure = admin.get("/api/v1/procedure").json
    assert {"officer", "division"} <= {r["name"] for r in procedure["roles"]}
    assert any(a["name"] == "verify" and a["variant"] == "accurate" and "note" in a["requires"]
               for a in procedure["actions"])
    resp = admin.post("/api/v1/users", {"name": "moi", "role": "leader", "password": "leader-pass-123"})
    assert resp.status == 201, resp.body
    assert admin.post("/api/v1/users", {"name": "x", "role": "system", "password": "p" * 12}).json["field"] == "role"
    assert "moi" in {u["name"] for u in admin.get("/api/v1/users").json}
    assert admin.post("/api/v1/users/moi/disable", {"disabled": True}).status == 200
    Web(web_ward).login("moi", "leader-pass-123", expect=401)
    # the last enabled admin cannot disable itself (409), and stays in
    resp = admin.post("/api/v1/users/boss/disable", {"disabled": True})
    assert resp.status == 409 and resp.json["field"] == "disabled", resp.body
    assert admin.get("/api/v1/me").status == 200
    # admin may not work cases, nor see reporters
    assert admin.post("/api/v1/cases", report_body()).status == 403
    assert admin.get("/api/v1/me").json["can_see_reporter"] is False


# ------------------------------------------------------------------ bad input

def test_bad_input_is_refused_and_nothing_stored(web_ward):
    web = officer(web_ward)
    before = count_cases(web_ward)
    cases = [
        (b'{"type": "noise", ', "body"),                                      # malformed
        (b'[1, 2]', "body"),                                                  # not an object
        (json.dumps(report_body(urgent="yes")).encode(), "urgent"),           # wrong type
        (json.dumps(report_body(latitude="10.1", longitude=105.2)).encode(), "latitude"),
        (json.dumps(report_body(colour="black")).encode(), "colour"),          # unknown field
        (json.dumps(report_body(reporter={"name": "A", "age": 3})).encode(), "reporter.age"),
        (json.dumps(report_body(type="lava")).encode(), "type"),
        (b'{"type": "noise", "location": "\xff\xfe", "description": "x"}', "body"),  # invalid UTF-8
        (json.dumps(report_body(description="")).encode(), "description"),
    ]
    for raw, field in cases:
        resp = web.post("/api/v1/cases", raw=raw)
        assert resp.status == 400, (raw, resp.status, resp.body)
        assert resp.json["field"] == field, (raw, resp.json)
    # an action with a wrong type, an unknown field
    assert web.post("/api/v1/cases/31001-2026-000001/actions/assign",
                    raw=b'{"args": {"to": 5}}').json["field"] == "args.to"
    assert web.post("/api/v1/cases/31001-2026-000001/actions/assign",
                    raw=b'{"who": "x"}').json["field"] == "who"
    # an oversize body: 413 before it is read
    with socket.create_connection(("127.0.0.1", web_ward.base + 10), timeout=10 * SLOW) as s:
        s.sendall(b"POST /api/v1/cases HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Cookie: " + web.cookie.encode() + b"\r\nX-CSRF-Token: " + web.csrf.encode() +
                  b"\r\nContent-Length: %d\r\n\r\n{\"description\": \"xxxx" % (2 * 1024 * 1024))
        answer = b""
        try:
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except ConnectionResetError:
            pass
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), head
    assert json.loads(payload)["field"] == "body"
    # a header flood: too many lines (431), or lines too large for the memory limit
    resp = web.get("/api/v1/me", headers={f"X-Flood-{i}": "x" for i in range(150)})
    assert resp.status == 431 and resp.json["field"] == "headers"
    with socket.create_connection(("127.0.0.1", web_ward.base + 10), timeout=10 * SLOW) as s:
        s.sendall(b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n")
        answer = b""
        try:
            while chunk := s.recv(65536):
                answer += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    assert answer == b"" or answer.split(b" ")[1].startswith(b"4"), answer[:200]
    # bad query arguments
    assert web.get("/api/v1/cases?page=0").json["field"] == "page"
    assert web.get("/api/v1/cases?type=lava").json["field"] == "type"
    assert web.get("/api/v1/cases?from=yesterday").json["field"] == "from"
    assert count_cases(web_ward) == before
    # the service is still fine
    assert web.get("/api/v1/me").status == 200


# ------------------------------------------------------------------ HTTP

def test_security_headers_and_metrics(web_ward):
    web = Web(web_ward)
    for path in ("/api/v1/me", "/", "/nope.js", "/metrics"):
        resp = web.get(path)
        csp = resp.getheader("Content-Security-Policy")
        assert csp and "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert resp.getheader("X-Content-Type-Options") == "nosniff"
        assert resp.getheader("Referrer-Policy") == "no-referrer"
    assert web.get("/api/v1/me").getheader("Cache-Control") == "no-store"
    assert web.get("/healthz").status == 200
    metrics = web.get("/metrics").body.decode()
    assert 'hotline_web_http_requests_total{service="web"' in metrics
    assert "hotline_web_request_seconds_bucket" in metrics
    wait_for(lambda: "hotline_web_sessions{" in web.get("/metrics").body.decode(),
             what="the sessions gauge")


def img_src(resp):
    csp = resp.getheader("Content-Security-Policy")
    return next(part.strip() for part in csp.split(";") if part.strip().startswith("img-src"))


def test_map_in_me_and_tiles_in_the_csp(web_ward, node_factory):
    # no tiles configured: the page draws its grid over the ward's city
    web = officer(web_ward)
    me = web.get("/api/v1/me")
    assert me.json["map"] == {"tiles": "", "attribution": "", "center": [20.86, 106.68], "zoom": 14}
    assert img_src(me) == "img-src 'self' data: blob:"
    # tiles configured: the page gets them, and the CSP lets their origin in
    node = node_factory(name="ward-tiles", services=("web",), extra=(
        "web\n"
        '    tile_url = "https://{s}.tile.example.vn/{z}/{x}/{y}.png"\n'
        '    tile_attribution = "&copy; Bản đồ Việt Nam"\n'
        '    map_center = "20.8449,106.6881"\n'
        "    map_zoom = 16\n")).start()
    web = Web(node)
    assert img_src(web.get("/")) == "img-src 'self' data: blob: https://*.tile.example.vn"
    web.login("lan", node.web_user("lan", "officer"))
    assert web.get("/api/v1/me").json["map"] == {
        "tiles": "https://{s}.tile.example.vn/{z}/{x}/{y}.png", "attribution": "&copy; Bản đồ Việt Nam",
        "center": [20.8449, 106.6881], "zoom": 16}
    # web/tile_host, when set, is the origin allowed
    other = node_factory(name="ward-cdn", services=("web",), extra=(
        "web\n"
        '    tile_url = "https://tiles.example.vn/{z}/{x}/{y}.png"\n'
        "    tile_host = https://cdn.example.vn\n")).start()
    assert img_src(Web(other).get("/")) == "img-src 'self' data: blob: https://cdn.example.vn"


@pytest.mark.parametrize("extra, named", [
    ('    tile_url = "javascript:alert(1)"\n', "web/tile_url"),
    ('    tile_url = "https://tiles.example.vn/x.png; script-src *"\n', "web/tile_url"),
    ('    tile_url = "https://{z}.example.vn/x.png"\n', "web/tile_url"),
    ('    map_center = "20.86"\n', "web/map_center"),
    ('    map_center = "95,106"\n', "web/map_center"),
    ("    map_zoom = 25\n", "web/map_zoom"),
])
def test_bad_map_config_is_refused_at_start(node_factory, extra, named):
    node = node_factory(services=("web",), extra="web\n" + extra)
    result = subprocess.run([os.path.join(BUILD, "hotline-web"), "-c", node.config],
                            env=node.env, capture_output=True, text=True, timeout=30 * SLOW, cwd=ROOT)
    assert result.returncode == 2 and named in result.stderr, (result.returncode, result.stderr)


def test_init_admin_writes_the_password_or_adds_nobody(node_factory, tmp_path):
    node = node_factory(services=("web",))

    def init_admin(path):
        return subprocess.run([os.path.join(BUILD, "hotline-web"), "-c", node.config, "--init-admin", str(path)],
                              env=node.env, capture_output=True, text=True, timeout=60 * SLOW, cwd=ROOT)
    # where the file cannot be written, no admin is added (else nobody would know its password)
    bad = init_admin(tmp_path / "missing-dir" / "admin.txt")
    assert bad.returncode == 1 and "cannot write" in bad.stderr, bad.stderr
    # a readable file left from before is replaced by one only its owner reads
    path = tmp_path / "admin.txt"
    path.write_text("old\n")
    os.chmod(path, 0o644)
    ok = init_admin(path)
    assert ok.returncode == 0, ok.stderr
    assert os.stat(path).st_mode & 0o777 == 0o600
    fields = dict(line.split(" = ", 1) for line in path.read_text().splitlines())
    assert fields["user"] == "admin" and len(fields["password"]) == 20
    assert not os.path.exists(str(path) + ".tmp")
    # a second run finds the user and writes nothing
    again = init_admin(path)
    assert again.returncode == 0 and "users exist already" in again.stdout
    node.start()
    web = Web(node)
    web.login("admin", fields["password"])
    assert web.get("/api/v1/users").json[0]["name"] == "admin"

def test_web_selftests():
    result = subprocess.run([os.path.join(BUILD, "hotline-web"), "--selftest"],
                            capture_output=True, text=True, timeout=60 * SLOW)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("web_request", "web_api", "web_cases", "web_report", "web_admin", "web_server"):
        assert f" * {name}: OK" in result.stdout, (name, result.stdout)


def test_static_files_stay_in_their_folder(node_factory, tmp_path):
    root = tmp_path / "pages"
    (root / "js").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>Hotline</title>")
    (root / "js" / "app.mjs").write_text("export const x = 1;")
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET")
    os.symlink(secret, root / "link.txt")
    node = node_factory(services=("web",), extra=f"web\n    root = {root}\n").start()
    web = Web(node)
    index = web.get("/")
    assert index.status == 200 and b"Hotline" in index.body
    assert index.getheader("Content-Type").startswith("text/html")
    assert web.get("/js/app.mjs").getheader("Content-Type").startswith("text/javascript")
    assert web.request("HEAD", "/index.html").status == 200
    assert web.post("/index.html", raw=b"x").status == 405
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/js/%2E%2E/%2e%2e/secret.txt",
                 "/link.txt", "/..%2fsecret.txt", "/vendor/leaflet/../../../../etc/passwd"):
        resp = web.get(path)
        assert resp.status in (400, 404), (path, resp.status)
        assert b"SECRET" not in resp.body and b"root:" not in resp.body
    if os.path.exists("/usr/share/javascript/leaflet/leaflet.js"):
        resp = web.get("/vendor/leaflet/leaflet.js")
        assert resp.status == 200 and resp.getheader("Content-Type").startswith("text/javascript")


def test_idle_connection_dropped_on_time(web_ward):
    # web_ward has web/timeout_s = 2: a request that never finishes is dropped
    s = socket.create_connection(("127.0.0.1", web_ward.base + 10), timeout=30 * SLOW)
    s.sendall(b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()
    try:
        data = s.recv(1024)
    except ConnectionResetError:
        data = b""
    took = time.monotonic() - started
    s.close()
    assert data == b"" and took < 2 + 4 * SLOW, took


# ------------------------------------------------------------------ TLS and exposure

def test_refuses_plain_http_beyond_loopback(node_factory):
    node = node_factory(services=("web",), extra="bind\n    web = tcp://0.0.0.0:0\n")
    result = subprocess.run([os.path.join(BUILD, "hotline-web"), "-c", node.config],
                            env=node.env, capture_output=True, text=True, timeout=30 * SLOW, cwd=ROOT)
    assert result.returncode == 2
    assert "refusing to serve plain HTTP beyond loopback" in result.stderr


def test_https_with_a_self_signed_certificate(node_factory, tmp_path):
    if not os.path.exists("/usr/bin/openssl"):
        pytest.skip("openssl is not installed: cannot make a test certificate")
    key, cert = tmp_path / "web.key", tmp_path / "web.crt"
    subprocess.run(["/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    base = free_base()
    node = node_factory(services=("archive", "intake", "web"), base=base,
                        extra=f"web\n    cert = {cert}\n    key = {key}\n"
                              f"bind\n    web = tcp://0.0.0.0:{base + 10}\n").start()
    web = Web(node, https=True)
    assert web.get("/api/v1/me").status == 401
    resp = web.login("lan", node.web_user("lan", "officer"))
    assert "Secure" in resp.getheader("Set-Cookie")
    assert web.post("/api/v1/cases", report_body()).status == 201
    # plain HTTP on the TLS port is not served
    conn = http.client.HTTPConnection("127.0.0.1", base + 10, timeout=10 * SLOW)
    with pytest.raises((http.client.HTTPException, ConnectionError, OSError)):
        conn.request("GET", "/api/v1/me")
        conn.getresponse().read()
