"""The city Department's dashboard, through its API: the live
stream (GET /api/v1/stream, Server-Sent Events from the city's Clone stream)
and the wards' figures (/api/v1/wards, /charts, /map), on a real city with
its web service and real wards linked over CurveZMQ.

The stream: a reconnection with Last-Event-ID gets exactly the events it
missed, in order; a client too far behind (or with none) gets a snapshot
first; a client that does not read is dropped while ingest goes on; a city
restart loses nothing. Redaction: no reporter's phone or name of a
ward-handled case in the stream, the wards' figures, the charts or the map.
"""
import glob
import json
import os
import re
import socket
import subprocess
import threading
import time

import pytest

from conftest import BUILD, SERVICES, SLOW, wait_for
from federation_util import make_keys, make_city, ward_extra, wait_converged
from test_web_api import Web

WARDS = ["31001", "31002"]
#   A small ring and buffers, so "too far behind" and "does not read" happen
#   within a few dozen cases
CITY_WEB = ("web\n"
            "    stream_ring = 64\n"
            "    stream_recent = 5\n"
            "    stream_buffer = 8192\n"
            "    stream_keepalive_s = 1\n"
            "    timeout_s = 60\n")


# ----------------------------------------------------------------- the nodes

class City:
    """A city (archive, intake, routing, notification, web) and two full
    wards linked to it, a Department user and a viewer at the city."""

    def __init__(self, node_factory, tmp_path, smtp, city_web=CITY_WEB):
        self.keys = make_keys(tmp_path, WARDS)
        notify = f"notify\n    smtp_url = smtp://127.0.0.1:{smtp.port}\n    retry_ms = 200\n"
        self.node = make_city(node_factory, self.keys,
                              services=("archive", "intake", "routing", "notification", "web"),
                              extra=notify + city_web).start()
        self.wards = {code: node_factory(name=f"ward-{code}", ward_code=code, ward_name=f"Phường {code}",
                                         extra=ward_extra(self.node, self.keys, code, smtp_port=smtp.port)).start()
                      for code in WARDS}
        self.password = self.node.web_user("hoa", "department")

    def login(self, user="hoa", password=None):
        web = Web(self.node)
        web.login(user, password or self.password)
        return web

    def city_seqs(self, after=0):
        return [r[0] for r in self.node.query("archive", "SELECT seq FROM log WHERE seq > ? ORDER BY seq", after)]

    def head(self):
        return self.node.query("archive", "SELECT coalesce (max (seq), 0) FROM log")[0][0]

    def submit(self, code, i, department=False, **extra):
        return self.wards[code].submit(
            phone=f"09{int(code) % 100:02d}{i:06d}", name=f"Người Báo Tin {code} Số {i}",
            scope="beyond_city" if department else "within_ward",
            location=f"Tổ {i}, phường {code}", **extra)

    def web_caught_up(self):
        """The web's stream has every event the city's log has now."""
        head = self.head()
        wait_for(lambda: self.metric("hotline_web_stream_last_seq") >= head, what="the web's stream at the head")
        return head

    def metric(self, name):
        text = Web(self.node).get("/metrics").body.decode()
        m = re.search(rf"^{name}\{{[^}}]*\}} (\S+)$", text, re.M)
        return float(m.group(1)) if m else 0.0


@pytest.fixture
def city(node_factory, tmp_path, smtp_sink):
    return City(node_factory, tmp_path, smtp_sink)


# ----------------------------------------------------------------- SSE client

class Stream:
    """GET /api/v1/stream on a raw socket: HTTP/1.1 chunked, parsed into SSE
    events (id, event, data as JSON) by a thread that reads all the time.
    read=False: connect and never read (until _pump is called)."""

    def __init__(self, web, last=None, query="", rcvbuf=None, read=True):
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect((web.host, web.port))
        self.sock.settimeout(30 * SLOW)
        headers = [f"GET /api/v1/stream{query} HTTP/1.1", f"Host: {web.host}:{web.port}",
                   f"Cookie: {web.cookie}", "Accept: text/event-stream"]
        if last is not None:
            headers.append(f"Last-Event-ID: {last}")
        self.sock.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())
        self.raw = b""              # bytes off the wire
        self.body = b""             # de-chunked
        self.status = None
        self.headers = {}
        self.events = []
        self.comments = 0
        self.closed = False
        self._pending = b""
        self._text = ""
        self._stop = False
        self._thread = None
        if read:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()

    def _run(self):
        while not self._stop and not self.closed:
            self._pump(0.2)

    def _pump(self, timeout):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return False
        self.raw += data
        self._pending += data
        if self.status is None:
            if b"\r\n\r\n" not in self._pending:
                return True
            head, self._pending = self._pending.split(b"\r\n\r\n", 1)
            lines = head.decode().split("\r\n")
            self.status = int(lines[0].split()[1])
            self.headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        while True:         # chunked
            if b"\r\n" not in self._pending:
                break
            size_line, rest = self._pending.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            if len(rest) < size + 2:
                break
            self.body += rest[:size]
            self._text += rest[:size].decode()
            self._pending = rest[size + 2:]
            if size == 0:
                self.closed = True
                break
        while "\n\n" in self._text:
            block, self._text = self._text.split("\n\n", 1)
            fields = {}
            for line in block.split("\n"):
                if line.startswith(":"):
                    self.comments += 1
                    continue
                if ":" in line:
                    key, value = line.split(":", 1)
                    fields[key] = value[1:] if value.startswith(" ") else value
            if "data" in fields:
                self.events.append((int(fields["id"]) if "id" in fields else None,
                                    fields.get("event", "message"), json.loads(fields["data"])))
        return True

    def wait(self, predicate, timeout=20, what="stream"):
        deadline = time.monotonic() + timeout * SLOW
        while not predicate(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; got {self.events[-5:]}")
            if self.closed:
                time.sleep(0.1)
                if predicate(self):
                    return
                raise AssertionError(f"stream closed waiting for {what}")
            time.sleep(0.05)

    def ids(self, kind="case"):
        return [i for i, e, _ in self.events if e in (kind, "directory")] if kind == "case" else \
               [i for i, e, _ in self.events if e == kind]

    def last_id(self):
        return max(i for i, _, _ in self.events if i is not None)

    def close(self):
        self._stop = True
        if self._thread:
            self._thread.join(timeout=5)
        self.sock.close()


def _event_ids(stream, start=0):
    """Ids of the case/directory events after position start."""
    return [i for i, e, _ in stream.events[start:] if e in ("case", "directory")]


# ----------------------------------------------------------------- the stream

def test_stream_snapshot_then_live_then_resume_exactly(city):
    web = city.login()
    wait_converged(city.node, city.wards)
    head = city.web_caught_up()
    s = Stream(web)
    s.wait(lambda s: s.events, what="the first event")
    assert s.status == 200 and s.headers["content-type"].startswith("text/event-stream")
    assert "default-src 'self'" in s.headers["content-security-policy"]
    first_id, kind, data = s.events[0]
    assert kind == "snapshot" and data["reason"] == "new"
    assert first_id == data["seq"] >= head                 # the newest the web has
    assert len(data["events"]) <= 5 and [e["seq"] for e in data["events"]] == sorted(e["seq"] for e in data["events"])

    # Live: a case at 31002 appears (submit, then the ward's own routing)
    case = city.submit("31002", 1)
    s.wait(lambda s: any(d.get("case_id") == case and d["action"] == "route" for _, _, d in s.events),
           what=f"{case} routed, live")
    got = _event_ids(s, 1)
    assert got == city.city_seqs(first_id)[:len(got)], "live events out of order or with a gap"
    submit = next(d for _, e, d in s.events if d.get("case_id") == case and d["action"] == "submit")
    assert submit["ward"] == "31002" and submit["to_state"] == "received" and submit["at_ms"] > 0
    assert set(submit) <= {"seq", "ward", "case_id", "action", "variant", "from_state", "to_state",
                           "at_ms", "type", "urgent", "lat", "lon", "ward_name"}

    # Gone for a while: these it misses
    seen = s.last_id()
    s.close()
    missed = [city.submit("31002", i) for i in range(2, 5)]
    wait_for(lambda: all(city.node.query("archive", "SELECT 1 FROM log WHERE case_id = ? AND action = 'route'", c)
                         for c in missed), what="the missed cases routed at the city")
    expected = city.city_seqs(seen)
    again = Stream(web, last=seen)
    again.wait(lambda s: len(_event_ids(s)) >= len(expected), what="the missed events")
    assert again.events[0][1] != "snapshot", "a resume within the ring is not a snapshot"
    assert _event_ids(again)[:len(expected)] == expected, "not exactly the missed events, in order"
    # ... and then live again, still without a gap or a duplicate
    more = city.submit("31001", 5)
    again.wait(lambda s: any(d.get("case_id") == more and d["action"] == "route" for _, _, d in s.events),
               what="live after the resume")
    ids = _event_ids(again)
    assert ids == sorted(set(ids)) and ids == city.city_seqs(seen)[:len(ids)]
    again.close()


def test_stream_far_behind_gets_a_snapshot_first(city):
    web = city.login()
    # More events than the ring holds (64)
    threads = [threading.Thread(target=lambda c=c: [city.submit(c, i) for i in range(12)]) for c in WARDS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_converged(city.node, city.wards)
    wait_for(lambda: city.node.query("archive", "SELECT count(*) FROM log WHERE action = 'route'")[0][0] >= 24,
             what="every case routed at the city")
    head = city.web_caught_up()
    assert head > 64 + 1
    s = Stream(web, last=1)
    s.wait(lambda s: s.events, what="the snapshot")
    sid, kind, data = s.events[0]
    assert kind == "snapshot" and data["reason"] == "behind"
    assert data["floor"] > 1 and sid == data["seq"] >= head
    assert [e["seq"] for e in data["events"]] == city.city_seqs(sid - len(data["events"]))[:len(data["events"])]
    # then live, from the snapshot on
    case = city.submit("31001", 99)
    s.wait(lambda s: any(d.get("case_id") == case for _, _, d in s.events), what="live after the snapshot")
    ids = _event_ids(s, 1)
    assert ids == city.city_seqs(sid)[:len(ids)]
    s.close()
    # beyond the city's head (a restored city): a snapshot too
    ahead = Stream(web, query=f"?last_event_id={head + 1000}")
    ahead.wait(lambda s: s.events, what="the snapshot")
    assert ahead.events[0][1] == "snapshot" and ahead.events[0][2]["reason"] == "ahead"
    ahead.close()
    # a bad Last-Event-ID is a 400 naming it
    bad = web.get("/api/v1/stream", headers={"Last-Event-ID": "12x"})
    assert bad.status == 400 and bad.json["field"] == "Last-Event-ID"


def test_stream_needs_a_session(city):
    assert Web(city.node).get("/api/v1/stream").status == 401


def _grep_personal(blob, cases):
    for case, (name, phone) in cases.items():
        assert phone.encode() not in blob, f"{case}: the reporter's phone reached the dashboard"
        assert name.encode() not in blob, f"{case}: the reporter's name reached the dashboard"


def test_no_reporter_in_the_stream_or_the_figures(city):
    web = city.login()
    s = Stream(web, last=0)
    cases = {}
    for i, code in enumerate(WARDS * 2):
        name, phone = f"Người Bí Mật {code} {i}", f"0987{int(code) % 100:02d}{i:04d}"
        case = city.wards[code].submit(name=name, phone=phone, lat="20.861", lon="106.681",
                                       location=f"Tổ {i}")
        cases[case] = (name, phone)
    # one forwarded to the Department: its reporter reaches the city (the
    # Department must reply), yet never the stream or the figures
    fname, fphone = "Người Chuyển Sở Bí Mật", "0977000111"
    forwarded = city.wards["31002"].submit(name=fname, phone=fphone, scope="beyond_city")
    wait_for(lambda: city.node.query("archive", "SELECT 1 FROM cases WHERE origin_case = ?", forwarded),
             timeout=60, what="the Department case")
    s.wait(lambda s: {d.get("case_id") for _, _, d in s.events} >= set(cases) | {forwarded},
           what="every case in the stream")
    blob = s.raw
    s.close()
    for path in ("/api/v1/wards", "/api/v1/wards?per_page=500&sort=-received", "/api/v1/wards/31002",
                 "/api/v1/wards/31001", "/api/v1/charts", "/api/v1/map", "/api/v1/charts?ward=31002",
                 "/api/v1/cases?ward=31002"):
        resp = web.get(path)
        assert resp.status == 200, (path, resp.status, resp.body)
        blob += resp.body
    _grep_personal(blob, {**cases, forwarded: (fname, fphone)})
    # ... and the one place at the city that shows a reporter: the Department's
    # own case, to the department role
    dept = city.node.query("archive", "SELECT case_id FROM cases WHERE origin_case = ?", forwarded)[0][0]
    shown = web.get(f"/api/v1/cases/{dept}")
    assert shown.status == 200 and fphone in shown.body.decode()
    # a ward-handled case at the city: redacted even to the Department
    one = next(iter(cases))
    body = web.get(f"/api/v1/cases/{one}").body.decode()
    assert cases[one][1] not in body and cases[one][0] not in body


def test_a_client_that_does_not_read_is_dropped_and_ingest_goes_on(city):
    web = city.login()
    head = city.web_caught_up()
    reader = Stream(web, last=head)
    stuck = Stream(web, last=head, rcvbuf=2048, read=False)     # never reads
    time.sleep(0.2)
    dropped_before = city.metric("hotline_web_stream_dropped_total")
    count = [0]

    def load(code):
        while city.metric("hotline_web_stream_dropped_total") <= dropped_before and count[0] < 400:
            city.submit(code, 1000 + count[0])
            count[0] += 1
    threads = [threading.Thread(target=load, args=(c,)) for c in WARDS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert city.metric("hotline_web_stream_dropped_total") > dropped_before, "the stuck client was never dropped"
    print(f"\n{count[0]} cases until the stuck client was dropped")
    # The stuck one is closed: what it holds ends
    deadline = time.monotonic() + 20 * SLOW
    while not stuck.closed and time.monotonic() < deadline:
        stuck._pump(1.0)
    assert stuck.closed, "the stuck client's connection is still open"
    # The city ingests on, and the reader gets everything, in order
    late = city.submit("31001", 5000)
    reader.wait(lambda s: any(d.get("case_id") == late for _, _, d in s.events), timeout=60,
                what="a case after the drop")
    ids = _event_ids(reader)
    start = ids[0] - 1
    assert ids == city.city_seqs(start)[:len(ids)], "the reading client lost or repeated events"
    reader.close()


def test_the_stream_resumes_after_a_city_restart(city):
    web = city.login()
    s = Stream(web, last=city.web_caught_up())
    case = city.submit("31002", 1)
    s.wait(lambda s: any(d.get("case_id") == case for _, _, d in s.events), what="the first case")
    for service in ("archive", "intake"):
        city.node.kill(service)
    during = city.submit("31002", 2)          # the ward takes it while the city is down
    city.node.start("archive", "intake")
    after = city.submit("31001", 3)
    s.wait(lambda s: {d.get("case_id") for _, _, d in s.events} >= {during, after}, timeout=60,
           what="the cases after the restart")
    ids = _event_ids(s)
    start = ids[0] - 1
    assert ids == city.city_seqs(start)[:len(ids)], "a gap or a duplicate across the restart"
    # the whole city, web included: the browser reconnects with Last-Event-ID
    seen = s.last_id()
    s.close()
    city.node.kill("web")
    missed = city.submit("31001", 4)
    wait_for(lambda: city.node.query("archive", "SELECT 1 FROM cases WHERE case_id = ?", missed),
             what="the case at the city")
    city.node.start("web")
    again = Stream(web, last=seen)
    again.wait(lambda s: any(d.get("case_id") == missed for _, _, d in s.events), what="the missed case")
    assert again.events[0][1] != "snapshot"
    ids = _event_ids(again)
    assert ids == city.city_seqs(seen)[:len(ids)]
    again.close()


# ----------------------------------------------------------------- figures

def test_wards_figures_rank_sort_page_and_detail(city):
    web = city.login()
    wait_converged(city.node, city.wards)
    first = web.get("/api/v1/wards")
    assert first.status == 200, first.body
    answer = first.json
    assert {r["ward"] for r in answer["wards"]} == set(WARDS)          # silent wards have rows too
    assert answer["total"] == answer["ward_count"] == 2
    assert answer["department_ward"] == "31" and answer["sort"] == "rank"
    assert re.match(r"\d{4}-\d\d-\d\d$", answer["from"]) and answer["now_ms"] > 0
    for row in answer["wards"]:
        assert row["last_event_ms"], "each ward's directory is an event"
    # Cases: 3 at 31001, one verified on time; 1 at 31002 (and one forwarded)
    done = city.submit("31001", 1)
    for i in (2, 3):
        city.submit("31001", i)
    city.submit("31002", 4)
    city.submit("31002", 5, department=True)
    ward = city.wards["31001"]
    wait_for(lambda: ward.show(done)["state"] == "routed_ward", what="routed")
    ward.cli("assign", done, "--to", "division:lan", actor="leader:an")
    ward.cli("verify", done, "--result", "accurate", "--note", "Đúng", actor="division:lan")
    wait_converged(city.node, city.wards)

    def rows():
        r = web.get("/api/v1/wards?sort=ward")
        assert r.status == 200
        return {row["ward"]: row for row in r.json["wards"]}
    wait_for(lambda: rows()["31001"]["verified"] == 1 and rows()["31002"]["forwarded"] == 1
             and rows()["31001"]["received"] == 3, what="the figures")
    r = rows()
    assert r["31001"]["received"] == 3 and r["31001"]["verified_on_time"] == 1
    assert r["31001"]["on_time_pct"] == 100.0 and r["31001"]["rank"] == 1
    assert r["31001"]["open"] == 3 and r["31001"]["overdue"] == 0
    assert r["31002"]["received"] == 2 and r["31002"]["on_time_pct"] is None and r["31002"]["rank"] is None
    assert r["31002"]["informable"] == 1            # the forwarded one is the Department's to answer
    assert r["31002"]["ward_name"] == "Phường 31002"

    # Overdue now: a day later, 31001's two unverified cases are past their
    # verify deadline (the city's clock moves; the deadline-watcher need not)
    #   (two verify deadlines, and the verified case's contain deadline)
    city.node.advance(25 * 3600 * 1000)
    web = city.login()                  # the session did not outlive a day
    wait_for(lambda: rows()["31001"]["overdue"] == 3 and rows()["31002"]["overdue"] == 1, what="overdue now")
    assert web.get("/api/v1/wards?sort=-overdue").json["wards"][0]["ward"] == "31001"

    # Sort, page, search
    page = web.get("/api/v1/wards?sort=-received&per_page=1&page=2").json
    assert [w["ward"] for w in page["wards"]] == ["31002"] and page["total"] == 2 and page["page"] == 2
    assert [w["ward"] for w in web.get("/api/v1/wards?q=31002").json["wards"]] == ["31002"]
    assert [w["ward"] for w in web.get("/api/v1/wards?q=ph%C6%B0%E1%BB%9Dng%2031001").json["wards"]] == ["31001"]
    for bad, field in (("sort=bogus", "sort"), ("per_page=0", "per_page"), ("from=2026-13-01", "from"),
                       ("from=2026-02-01&to=2026-01-01", "to"), ("page=x", "page")):
        resp = web.get(f"/api/v1/wards?{bad}")
        assert resp.status == 400 and resp.json["field"] == field, (bad, resp.body)

    # One ward: its row and its focal points (the directory it sent)
    one = web.get("/api/v1/wards/31001").json
    assert one["ward"]["ward"] == "31001" and one["ward"]["received"] == 3
    assert one["focal_points"] and one["focal_points"][0]["receiving_phone"] == "0916588826"
    assert web.get("/api/v1/wards/39999").status == 404
    assert web.get("/api/v1/wards/abc").status == 404

    # The charts and the map
    charts = web.get("/api/v1/charts").json
    assert len(charts["days"]) == 30 and sum(sum(v) for v in charts["per_day"].values()) >= 4
    assert [a["age"] for a in charts["open_by_age"]] == ["lt_1d", "1_3d", "3_7d", "7_30d", "gt_30d"]
    assert charts["weeks"] and {"week", "on_time", "late", "pct"} <= set(charts["weeks"][0])
    assert web.get("/api/v1/charts?from=2020-01-01&to=2026-12-31").status == 400     # > 400 days
    assert web.get("/api/v1/map").json["fields"][:2] == ["case_id", "ward"]

    # The same figures as the city's report (one row per ward)
    report = web.get("/api/v1/report?from=2000-01-01&to=2099-12-31").json
    by_ward = {row["ward"]: row for row in report["rows"]}
    wide = web.get("/api/v1/wards?from=2000-01-01&to=2099-12-31&sort=ward").json["wards"]
    for row in wide:
        assert row["received"] == by_ward[row["ward"]]["received"]
        assert row["verified_on_time"] == by_ward[row["ward"]]["verified_on_time"]
        assert row["forwarded"] == by_ward[row["ward"]]["forwarded"]
    # ... and the same total: each case once. The forwarded case is the
    # ward's row's "Chuyển Sở"; the Department's own case for it is in the
    # Department's row (its workload), not added to the total again
    cases = city.node.query("archive", "SELECT count(*) FROM cases WHERE origin_case = ''")[0][0]
    assert by_ward["31"]["received"] >= 1 and report["totals"]["forwarded"] >= 1
    wide_totals = web.get("/api/v1/wards?from=2000-01-01&to=2099-12-31").json["totals"]
    assert report["totals"]["received"] == cases == wide_totals["received"], (report["totals"], wide_totals)
    assert report["totals"]["open"] == sum(r["open"] for r in report["rows"] if r["ward"] != "31")
    assert "Dòng của Sở" in report["footnote"]
    # The city-wide report is the Department's, to the city People's Committee
    assert report["role"] == "city"
    text = city.node.cli("report", "--from", "2000-01-01", "--to", "2099-12-31").stdout
    assert "Kính gửi: Ủy ban nhân dân thành phố" in text and "ỦY BAN NHÂN DÂN" not in text, text[:400]

    # Every figures answer says the stream's event it is as of
    head = city.web_caught_up()
    for path in ("/api/v1/wards/31001", "/api/v1/charts?ward=31001", "/api/v1/map?limit=7"):
        assert web.get(path).json["as_of"] >= head, path

    # During a burst of events the figures come from the cache, a little
    # stale (as_of below the stream's last event), so the archive is asked
    # fewer times than the dashboards ask; once the burst is over they
    # include every event (the staleness is bounded)
    wide = "/api/v1/wards?from=2000-01-01&to=2099-12-31&sort=ward"
    received = {w["ward"]: w["received"] for w in web.get(wide).json["wards"]}["31002"]
    misses = city.metric("hotline_web_dashboard_cache_misses_total")
    burst = threading.Thread(target=lambda: [city.submit("31002", i) for i in range(20, 32)])
    burst.start()
    requests = stale = 0
    while burst.is_alive():
        seq = city.metric("hotline_web_stream_last_seq")
        answer = web.get(wide).json
        requests += 1
        stale += answer["as_of"] < seq
    burst.join()
    wait_converged(city.node, city.wards)
    head = city.web_caught_up()

    def settled():
        nonlocal requests
        answer = web.get(wide).json
        requests += 1
        row = {w["ward"]: w for w in answer["wards"]}["31002"]
        return answer["as_of"] >= head and row["received"] == received + 12
    wait_for(settled, what="the figures with the burst's events")
    asked = city.metric("hotline_web_dashboard_cache_misses_total") - misses
    assert stale >= 1, "no answer was served from the cache during the burst"
    assert 1 <= asked < requests, (asked, requests)

    # A viewer reads the dashboard too; without a session, nothing
    viewer = Web(city.node)
    viewer.login("xem", city.node.web_user("xem", "viewer"))
    assert viewer.get("/api/v1/wards").status == 200
    assert Web(city.node).get("/api/v1/wards").status == 401


def test_the_dashboard_routes_are_the_citys(web_ward):
    web = Web(web_ward)
    web.login("lan", web_ward.web_user("lan", "officer"))
    for path in ("/api/v1/stream", "/api/v1/wards", "/api/v1/wards/31001", "/api/v1/charts", "/api/v1/map"):
        assert web.get(path).status == 404, path
