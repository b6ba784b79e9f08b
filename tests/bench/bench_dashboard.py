"""tests/bench/bench_dashboard.py — the city dashboard's rows of `make bench`,
called by bench.py with bench.py itself as B (its Node, R, P...):

    row 9   SSE fan-out: 200 dashboards connected to the city's web service,
            one event; delivery p50 / p99 (from the ward's acknowledgement to
            the event read by each dashboard), against the same event read by
            one `hotline watch`-style Clone subscriber (the stream under it)
    row 10  GET /api/v1/wards with 3,321 wards: latency p50 / p99 through
            the web (cache off: every request asks the archive; cache on),
            against the same SQL in SQLite in-process
    row 11  city ingest (row 4's simulated ward links) with 200 dashboards
            connected and reading, against ingest with none: the ratio.
            Passes alternate (none first and last); each with dashboards
            is set against the two around it. The city's archive and web
            run on the city's half of the CPUs, the simulated wards and the
            dashboards (other machines, in a deployment) on the other half;
            the dashboards' reading and what it costs the city are reported
            (MB read, "behind" snapshots, catch-up, CPU-seconds)

The dashboards are plain sockets in this process, read through epoll: a
dashboard's work is reading, and the bench measures what the city and its
web service do, not a browser.
"""
import json
import os
import random
import select
import socket
import sqlite3
import subprocess
import threading
import time

DASHBOARDS = int(os.environ.get("BENCH_DASHBOARDS", "200"))
WARDS = 3321

WEB_CONFIG = ("web\n"
              "    per_ip_limit = 1000\n"
              "    connection_limit = 1200\n"
              "    timeout_s = 120\n")


# ------------------------------------------------------------------ helpers

def web_port(n):
    return n.base + 10


def add_user(B, n, name="bench", role="department", password="bench-password-0123456789"):
    r = subprocess.run([B.CLI, "-c", n.config, "user", "add", name, "--role", role, "--password-stdin"],
                       input=password + "\n", capture_output=True, text=True, env=n.env, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"hotline user add: {r.stderr}")
    return password


def http(n, method, path, body=None, cookie=None, timeout=30):
    s = socket.create_connection(("127.0.0.1", web_port(n)), timeout=timeout)
    data = json.dumps(body).encode() if body is not None else b""
    head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{web_port(n)}", "Connection: close",
            f"Content-Length: {len(data)}"]
    if body is not None:
        head.append("Content-Type: application/json")
    if cookie:
        head.append(f"Cookie: {cookie}")
    s.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + data)
    out = b""
    while True:
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        out += chunk
    s.close()
    head, _, payload = out.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:] if ":" in l)}
    if headers.get("transfer-encoding") == "chunked":
        body, rest = b"", payload
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                break
            body, rest = body + rest[:size], rest[size + 2:]
        payload = body
    return status, headers, payload


def login(n, password, name="bench"):
    status, headers, payload = http(n, "POST", "/api/v1/session", {"user": name, "password": password})
    if status != 200:
        raise RuntimeError(f"login: {status} {payload[:200]}")
    return headers["set-cookie"].split(";")[0]


class Dashboards:
    """count SSE connections to /api/v1/stream, read by one thread through
    epoll; each event's arrival time per connection is kept by seq (when
    track is set) or only counted."""

    def __init__(self, n, cookie, count, last=None, lazy=False):
        self.socks = []
        self.seen = {}              # seq -> {fd: first arrival}
        self.track = set()
        self.bytes = 0
        self.closed = 0
        self.lock = threading.Lock()
        self.ep = select.epoll()
        self.buf = {}
        self.lazy = lazy
        for _ in range(count):
            s = socket.socket()
            if lazy:
                # a browser's share of the work, cheaply: big reads, seldom
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
            s.settimeout(30)
            s.connect(("127.0.0.1", web_port(n)))
            req = [f"GET /api/v1/stream HTTP/1.1", f"Host: 127.0.0.1:{web_port(n)}", f"Cookie: {cookie}",
                   "Accept: text/event-stream"]
            if last is not None:
                req.append(f"Last-Event-ID: {last}")
            s.sendall(("\r\n".join(req) + "\r\n\r\n").encode())
            s.setblocking(False)
            self.socks.append(s)
            self.buf[s.fileno()] = b""
            self.ep.register(s.fileno(), select.EPOLLIN)
        self.by_fd = {s.fileno(): s for s in self.socks}
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        if self.lazy:
            return self._run_lazy()
        while not self.stop:
            for fd, _ in self.ep.poll(0.2):
                s = self.by_fd.get(fd)
                if s is None:
                    continue
                try:
                    data = s.recv(1 << 18)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                now = time.monotonic()
                if not data:
                    self.ep.unregister(fd)
                    del self.by_fd[fd]
                    self.closed += 1
                    continue
                self.bytes += len(data)
                if not self.track:
                    continue
                # the tracked event's id line, even split across two reads
                text = self.buf[fd] + data
                self.buf[fd] = text[-64:]
                for seq in list(self.track):
                    if b"id: %d\n" % seq in text:
                        with self.lock:
                            self.seen.setdefault(seq, {}).setdefault(fd, now)

    def _run_lazy(self):
        """Every 50 ms, drain each socket in large reads: what 200 browsers
        on other machines would read, at a fraction of this process's CPU.
        The last event id each has read is kept (self.last), to see when
        every dashboard has the city's last event."""
        self.last = {}
        while not self.stop:
            time.sleep(0.05)
            for fd, s in list(self.by_fd.items()):
                while True:
                    try:
                        data = s.recv(1 << 20)
                    except BlockingIOError:
                        break
                    except OSError:
                        data = b""
                    if not data:
                        self.ep.unregister(fd)
                        del self.by_fd[fd]
                        self.closed += 1
                        break
                    self.bytes += len(data)
                    # an id line whole in this read (a split one: the next read's)
                    at = data.rfind(b"\nid: ")
                    end = data.find(b"\n", at + 5) if at >= 0 else -1
                    if end > 0 and data[at + 5:end].isdigit():
                        self.last[fd] = int(data[at + 5:end])

    def behind(self, seq):
        """How many open dashboards have not read event seq yet (lazy)."""
        last = getattr(self, "last", {})
        return sum(1 for fd in list(self.by_fd) if last.get(fd, 0) < seq)

    def connected(self):
        return len(self.by_fd)

    def close(self):
        self.stop = True
        self.thread.join(timeout=5)
        for s in self.socks:
            s.close()
        self.ep.close()


def percentile(values, p):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def city_node(B, tag, extra="", keys=None):
    n = B.node(f"{tag}-city", role="city", keys=keys, extra=extra)
    return n


# ------------------------------------------------------------------ row 9

def row9(B):
    """SSE fan-out: 200 dashboards, one event, delivery p99."""
    city, ward = B.federated_pair("r9", services=("archive", "intake"), start_city=False)
    with open(city.config, "a") as f:
        f.write(WEB_CONFIG)
    city.start("archive", "intake", "web")
    B.wait_for(lambda: B.port_open(web_port(city)), what="the city's web")
    ward.start("archive", "intake")
    B.wait_linked(city, ward)
    password = add_user(B, city)
    cookie = login(city, password)
    boards = Dashboards(city, cookie, DASHBOARDS)
    B.wait_for(lambda: boards.bytes > 0 and metric(city, "hotline_web_stream_clients") >= DASHBOARDS,
               timeout=60, what="the dashboards connected")
    time.sleep(1)
    # one Clone subscriber beside them: the stream itself, for the raw limit
    samples, raw = [], []
    rounds = 20 if not B.QUICK else 5
    for i in range(rounds):
        head = B.query(city.db("archive"), "SELECT max(seq) FROM log", default=0)
        # a case at the ward: its submit is the city's next event
        watch = subprocess.Popen([B.CLI, "watch", "--monitor", city.endpoint("monitor"),
                                  "--snapshot", city.endpoint("snapshot"), "--from", str(head + 1),
                                  "--count", "1", "--json"], stdout=subprocess.PIPE, text=True, env=city.env)
        time.sleep(0.5)
        seq = head + 1
        boards.track = {seq}
        t0 = time.monotonic()
        r = subprocess.run([B.CLI, "--endpoint", ward.endpoint("intake"), "submit", "--phone", "0912345678",
                            "--type", "noise", "--location", f"bench {i}", "--description", "bench"],
                           capture_output=True, text=True, env=ward.env)
        if r.returncode:
            raise RuntimeError(r.stderr)
        t_ack = time.monotonic()
        out = watch.communicate(timeout=30)[0]
        t_watch = time.monotonic()
        B.wait_for(lambda: len(boards.seen.get(seq, {})) >= boards.connected(), timeout=30,
                   what=f"event {seq} at every dashboard")
        arrivals = list(boards.seen.pop(seq).values())
        samples += [(a - t_ack) * 1000 for a in arrivals]
        raw.append((t_watch - t_ack) * 1000)
        del t0, out
        time.sleep(0.3)
    boards.close()
    res = {"dashboards": DASHBOARDS, "rounds": rounds,
           "p50_ms": percentile(samples, 50), "p99_ms": percentile(samples, 99), "max_ms": max(samples),
           "raw_p50_ms": percentile(raw, 50), "raw_p99_ms": percentile(raw, 99),
           "web_rss_kb": B.rss_kb(city.pid("web"))}
    B.R[9] = res
    B.log(f"row 9: {DASHBOARDS} dashboards, ack -> event p50/p99 {res['p50_ms']:.1f}/{res['p99_ms']:.1f} ms;"
          f" one Clone subscriber (a hotline watch started beforehand) p50 {res['raw_p50_ms']:.1f} ms")


def wait_stream(B, n):
    """The web's stream has caught up with the city's log (it fills its ring
    at start, and every event it takes makes the cached figures stale)."""
    head = B.query(n.db("archive"), "SELECT max(seq) FROM log", default=0)
    B.wait_for(lambda: metric(n, "hotline_web_stream_last_seq") >= head, timeout=120,
               what="the web's stream at the head")
    time.sleep(0.5)


def metric(n, name):
    try:
        status, _, body = http(n, "GET", "/metrics", timeout=5)
    except OSError:
        return 0.0
    for line in body.decode().splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


# ------------------------------------------------------------------ row 10

def fill_city(B, n, wards=WARDS, per_ward=10, days=30):
    """Write a city archive as 3,321 wards would have made it: their
    directory, links, cases of the last `days` days with their actions,
    deadlines and log rows. The archive is stopped while this runs."""
    db = sqlite3.connect(n.db("archive"))
    db.execute("PRAGMA journal_mode = WAL")
    rng = random.Random(12)
    now = int(time.time() * 1000)
    day = 86400 * 1000
    states = ["routed_ward"] * 3 + ["verifying"] * 2 + ["verified_accurate", "resolved",
              "reporter_informed", "closed", "closed", "forwarded", "rejected"]
    types = ["waste_water", "air_emissions", "solid_waste", "noise", "odour", "soil", "other"]
    seq = db.execute("SELECT coalesce(max(seq), 0) FROM log").fetchone()[0]
    cases, actions, deadlines, log, directory, cursors = [], [], [], [], [], []
    focal = json.dumps([{"unit": "UBND", "receiving_phone": "0916588826", "receiving_email": "a@example.vn",
                         "handling_phone": "0989135250", "handling_email": "b@example.vn", "note": ""}])
    for w in range(wards):
        code = str(40001 + w)
        directory.append((code, f"Phường {code}", f"ward-{code}", focal, now - day))
        origin_seq = 0
        for i in range(per_ward):
            cid = f"{code}-2026-{i + 1:06d}"
            received = now - rng.randrange(days * day)
            state = rng.choice(states)
            due = received + day
            met = None
            if state not in ("routed_ward", "forwarded"):
                met = received + rng.randrange(int(1.2 * day))
            next_due = due if met is None and state != "forwarded" else None
            acts = [("submit", ""), ("inform_leaders", ""),
                    ("route", "department" if state == "forwarded" else "ward")]
            if met is not None:
                acts += [("assign", ""), ("verify", "accurate")]
            if state in ("reporter_informed", "closed"):
                acts.append(("inform", ""))
            # the dashboard's columns, as the city's archive keeps them
            flags = (1 if met is not None else 0) | (2 if state == "forwarded" else 0) \
                | (4 if ("inform", "") in acts else 0)
            cases.append((cid, code, state, "normal", rng.choice(types), "within_ward", "phone", 0,
                          int(rng.random() < 0.1), received, received + 1000, "", "", f"Tổ {i}", 1,
                          next_due, "verify" if next_due else None, flags, due, met))
            for k, (a, v) in enumerate(acts):
                actions.append((cid, a, v, received + k * 1000))
                origin_seq += 1
                seq += 1
                log.append((seq, f"ward:{code}", origin_seq, cid, code, received + k * 1000, a, b""))
            deadlines.append((cid, "verify", 1, received, due, met))
        cursors.append((f"ward:{code}", origin_seq))
    db.executemany("INSERT OR REPLACE INTO directory (ward, ward_name, node, focal_points, updated_ms)"
                   " VALUES (?, ?, ?, ?, ?)", directory)
    db.executemany("INSERT OR REPLACE INTO hop_cursor (stream, seq) VALUES (?, ?)", cursors)
    db.executemany("INSERT INTO cases (case_id, ward, state, regime, type, scope, channel, urgent, anonymous,"
                   " received_ms, updated_ms, assignee, duplicate_of, location, redacted, next_due_ms,"
                   " next_deadline, figure_flags, on_time_due_ms, on_time_met_ms)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", cases)
    db.executemany("INSERT INTO case_actions (case_id, action, variant, first_ms) VALUES (?, ?, ?, ?)", actions)
    db.executemany("INSERT INTO deadlines (case_id, name, started_seq, started_ms, due_ms, met_ms)"
                   " VALUES (?, ?, ?, ?, ?, ?)", deadlines)
    db.executemany("INSERT INTO log (seq, origin, origin_seq, case_id, ward, at_ms, action, event)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", log)
    db.commit()
    db.execute("ANALYZE")
    db.close()
    return {"wards": wards, "cases": len(cases), "actions": len(actions), "log_rows": len(log)}


def raw_wards_sql(path, since, until, now, open_states):
    """The archive's statements for /api/v1/wards, in SQLite in-process: the
    period's figures, open and overdue now, and each ward's last event."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    t = time.perf_counter()
    db.execute("SELECT ward, anonymous, figure_flags, on_time_due_ms, on_time_met_ms FROM cases"
               " WHERE received_ms >= ?1 AND received_ms < ?2 AND ?3 > 0", (since, until, now)).fetchall()
    db.execute(f"SELECT ward, count(*) FROM cases WHERE state IN ({open_states}) GROUP BY ward").fetchall()
    db.execute("SELECT ward, count(*) FROM cases WHERE next_due_ms < ? GROUP BY ward", (now,)).fetchall()
    wards = [r[0] for r in db.execute("SELECT ward FROM directory")]
    for w in wards:
        db.execute("SELECT at_ms FROM log WHERE origin = ? ORDER BY origin_seq DESC LIMIT 1",
                   (f"ward:{w}",)).fetchone()
    ms = (time.perf_counter() - t) * 1000
    db.close()
    return ms


def row10(B):
    """/api/v1/wards latency with 3,321 wards."""
    per_ward = 10 if not B.QUICK else 3
    city = city_node(B, "r10", extra="federation\n    plaintext = 1\n" + WEB_CONFIG + "    dashboard_cache = 0\n")
    city.start("archive")
    city.stop("archive")
    t = time.monotonic()
    filled = fill_city(B, city, per_ward=per_ward)
    B.log(f"row 10: {filled['wards']:,} wards, {filled['cases']:,} cases, {filled['log_rows']:,} log rows"
          f" written in {time.monotonic() - t:.1f} s")
    city.start("archive", "intake", "web")
    B.wait_for(lambda: B.port_open(web_port(city)), what="the city's web")
    cookie = login(city, add_user(B, city))
    queries = 50 if not B.QUICK else 10
    out = {"fill": filled}
    wait_stream(B, city)
    # the web's floor: a request that asks the node nothing (session check, JSON)
    times = []
    for i in range(queries):
        t = time.perf_counter()
        http(city, "GET", "/api/v1/me", cookie=cookie)
        times.append((time.perf_counter() - t) * 1000)
    out["me"] = {"p50_ms": percentile(times, 50), "p99_ms": percentile(times, 99)}
    shapes = [("rank", "/api/v1/wards"), ("received", "/api/v1/wards?sort=-received&page=10"),
              ("year", "/api/v1/wards?from=2000-01-01&per_page=500")]
    for name, path in shapes:
        times = []
        for i in range(queries):
            t = time.perf_counter()
            status, _, body = http(city, "GET", path, cookie=cookie)
            times.append((time.perf_counter() - t) * 1000)
            if status != 200:
                raise RuntimeError(f"{path}: {status} {body[:200]}")
        answer = json.loads(body)
        out[name] = {"p50_ms": percentile(times, 50), "p99_ms": percentile(times, 99),
                     "rows": len(answer["wards"]), "ward_count": answer["ward_count"], "bytes": len(body)}
        B.log(f"row 10: {path}: p50/p99 {out[name]['p50_ms']:.1f}/{out[name]['p99_ms']:.1f} ms"
              f" ({answer['ward_count']} wards, {len(body):,} bytes)")
    # The raw limit: the same statements, in process
    now = int(time.time() * 1000)
    opens = "'received','leaders_informed','routed_ward','verifying','verified_accurate','verified_inaccurate'," \
            "'contained','reopened'"
    raws = [raw_wards_sql(city.db("archive"), now - 31 * 86400 * 1000, now + 86400 * 1000, now, opens)
            for _ in range(10)]
    out["raw_p50_ms"] = percentile(raws, 50)
    # and the cache, as many dashboards after one event meet it
    city.stop("web")
    with open(city.config) as f:
        text = f.read()
    with open(city.config, "w") as f:
        f.write(text.replace("dashboard_cache = 0", "dashboard_cache = 32"))
    city.start("web", wait=False)
    B.wait_for(lambda: B.port_open(web_port(city)), what="the city's web")
    cookie = login(city, "bench-password-0123456789")
    wait_stream(B, city)
    times = []
    for i in range(queries):
        t = time.perf_counter()
        http(city, "GET", "/api/v1/wards", cookie=cookie)
        times.append((time.perf_counter() - t) * 1000)
    out["cached"] = {"p50_ms": percentile(times, 50), "p99_ms": percentile(times, 99)}
    B.R[10] = out
    B.log(f"row 10: raw SQL p50 {out['raw_p50_ms']:.1f} ms; cached p50/p99 {out['cached']['p50_ms']:.1f}/"
          f"{out['cached']['p99_ms']:.1f} ms")


# ------------------------------------------------------------------ row 11

def _split_cpus():
    """The city's CPUs and the load's: half each (on 2 cores, one each), or
    None on a single core. The simulated wards and the dashboards stand for
    other machines: on the city's cores they would take what the city's
    services share, which is what row 11 is about (does the web's fan-out
    take CPU from the archive's ingest). BENCH_PIN=0: everything on every
    core, as before."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2 or os.environ.get("BENCH_PIN", "1") == "0":
        return None
    return cpus[:len(cpus) // 2], cpus[len(cpus) // 2:]


def _pin(pid, cpus):
    """Every thread of pid onto cpus (threads made later inherit it)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except OSError:
            pass


def _ingest(B, tag, links, events, with_boards):
    """One pass of row 4's simulated links into a city with its web service,
    with or without the dashboards reading: the city's archive and web on
    the city's CPUs, this process (the dashboards' reader thread) and the
    simulated wards on the others (_split_cpus)."""
    keys = os.path.join(B.WORK, f"keys-{tag}")
    B.bench("keys", "--dir", keys, "--first", 40001, "--count", links)
    split = _split_cpus()
    mine = os.sched_getaffinity(0)
    city = B.node(f"{tag}-city", role="city", keys=keys, extra=WEB_CONFIG)
    city.start("archive", "web", wait=False)
    B.wait_for(lambda: B.port_open(web_port(city)) and B.port_open(city.base + 3), what="the city")
    if split:
        for service in ("archive", "web"):
            _pin(city.pid(service), split[0])
        os.sched_setaffinity(0, split[1])
    boards = None
    if with_boards:
        cookie = login(city, add_user(B, city))
        boards = Dashboards(city, cookie, DASHBOARDS, lazy=True)
        B.wait_for(lambda: metric(city, "hotline_web_stream_clients") >= DASHBOARDS, timeout=60,
                   what="the dashboards connected")
    time.sleep(1)
    snapshots = metric(city, "hotline_web_stream_snapshots_total")
    probe = B.Probe(city.pids("city-"))
    sim = B.bench("wards", "--city", city.endpoint("federation"), "--keys", keys, "--first", 40001,
                  "--links", links, "--events", events, "--city-pid", city.pid("archive"),
                  "--connect-timeout", B.P["connect_cap_s"], "--timeout", B.P["ingest_cap_s"])
    sim["cpu"] = probe.stop()
    # CPU-seconds of the pass, per service (the probe's cores × its window)
    sim["cpu_s"] = {k: round(v["cpu"] * sim["cpu"]["seconds"], 2) for k, v in sim["cpu"]["procs"].items()}
    if boards:
        ended = time.monotonic()
        head = B.query(city.db("archive"), "SELECT max(seq) FROM log", default=0)
        # Every open dashboard has read the city's last event: how long after
        # ingest ended (the stream's threads yield to ingest, so in a burst
        # they fall behind and catch up after it)
        try:
            B.wait_for(lambda: boards.behind(head) == 0, timeout=120, interval=0.1,
                       what="every dashboard at the city's last event")
            sim["catch_up_s"] = round(time.monotonic() - ended, 2)
        except RuntimeError:
            sim["catch_up_s"] = None
            sim["dashboards_behind"] = boards.behind(head)
        sim["dashboards_open"] = boards.connected()
        sim["dashboards_dropped"] = metric(city, "hotline_web_stream_dropped_total")
        sim["behind_snapshots"] = metric(city, "hotline_web_stream_snapshots_total") - snapshots
        sim["sse_mb"] = boards.bytes / 1e6
        sim["stream_repairs"] = metric(city, "hotline_web_stream_repairs")
        boards.close()
    city.stop()
    os.sched_setaffinity(0, mine)
    sim["cpus"] = {"city": split[0], "load": split[1]} if split else None
    B.log(f"row 11: {'200 dashboards' if with_boards else 'no dashboard'}:"
          f" {sim['events_per_s']:.0f} events/s at the city; {B.cpu_summary(sim['cpu'])}"
          f"; CPU-s archive {sim['cpu_s'].get('city-archive', 0):.2f}, web {sim['cpu_s'].get('city-web', 0):.2f}"
          + (f"; {sim['sse_mb']:.0f} MB streamed, {sim['dashboards_dropped']:.0f} dropped,"
             f" {sim['behind_snapshots']:.0f} 'behind' snapshots, every dashboard at the last event"
             f" {sim['catch_up_s']} s after ingest ended,"
             f" {sim['stream_repairs']:.0f} gap repairs by the web's subscriber" if with_boards else ""))
    return sim


def row11(B):
    """City ingest with 200 dashboards connected, against none."""
    links, events = B.P["links_small"], B.P["link_events_small"]
    # Alternating passes, none first and last: each pass with dashboards is
    # set against the mean of the two without around it (this machine is
    # shared, and one pass of either kind swings by a third with what else
    # runs on it); the row gives the median of those ratios and their range
    rounds = 4 if not B.QUICK else 1
    without, with_ = [_ingest(B, "r11n0", links, events, False)], []
    for i in range(rounds):
        with_.append(_ingest(B, f"r11d{i}", links, events, True))
        without.append(_ingest(B, f"r11n{i + 1}", links, events, False))
    ratios = [w["events_per_s"] / ((without[i]["events_per_s"] + without[i + 1]["events_per_s"]) / 2)
              for i, w in enumerate(with_)]
    mid = lambda runs: sorted(runs, key=lambda r: r["events_per_s"])[len(runs) // 2]
    median = lambda values: sorted(values)[len(values) // 2] if len(values) % 2 else \
        sum(sorted(values)[len(values) // 2 - 1:len(values) // 2 + 1]) / 2
    B.R[11] = {"without": mid(without), "with": mid(with_), "rounds": rounds,
               "ratios": [round(r, 3) for r in ratios], "ratio_median": round(median(ratios), 3),
               "without_all": [r["events_per_s"] for r in without],
               "with_all": [r["events_per_s"] for r in with_]}


# ------------------------------------------------------------------ table

def table_rows(B):
    rows = []
    R = B.R
    if 9 in R:
        r = R[9]
        rows.append(("9", f"SSE fan-out: {r['dashboards']} dashboards connected, one event: ward ack → read by each,"
                          f" p50 / p99 ({r['rounds']} events)",
                     f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f} ms",
                     f"{r['raw_p50_ms']:.1f} / {r['raw_p99_ms']:.1f} ms (one Clone subscriber, hotline watch)",
                     B.times(r['p99_ms'], r['raw_p99_ms']) + " at p99",
                     f"p99 ≤ 250 ms: {B.ok(r['p99_ms'] <= 250)}"))
    if 10 in R:
        r = R[10]
        f = r["fill"]
        rows.append(("10", f"GET /api/v1/wards p50 / p99, {f['wards']:,} wards, {f['cases']:,} cases in 30 days,"
                           " page 1 by rank (cache off: the archive asked each time)",
                     f"{r['rank']['p50_ms']:.1f} / {r['rank']['p99_ms']:.1f} ms",
                     f"{r['raw_p50_ms']:.1f} ms (the same statements from Python's sqlite3, in-process)",
                     B.times(r['rank']['p50_ms'], r['raw_p50_ms']) + " at p50",
                     f"≤ 200 ms: {B.ok(r['rank']['p99_ms'] <= 200)}"))
        rows.append(("10", "  the same, sorted by received, page 10", f"{r['received']['p50_ms']:.1f} / "
                     f"{r['received']['p99_ms']:.1f} ms", "—", "—", ""))
        rows.append(("10", "  the same, every case since 2000, 500 rows a page",
                     f"{r['year']['p50_ms']:.1f} / {r['year']['p99_ms']:.1f} ms", "—", "—", ""))
        rows.append(("10", "  page 1 again, cache on (no new event: as 200 dashboards after one event)",
                     f"{r['cached']['p50_ms']:.1f} / {r['cached']['p99_ms']:.1f} ms",
                     f"{r['me']['p50_ms']:.1f} / {r['me']['p99_ms']:.1f} ms (GET /api/v1/me: the web's floor)",
                     B.times(r['cached']['p50_ms'], r['me']['p50_ms']) + " at p50", ""))
    if 11 in R and "with" in R[11] and "without" in R[11]:
        r11 = R[11]
        w, n = r11["with"], r11["without"]
        ratios = r11.get("ratios") or [w["events_per_s"] / n["events_per_s"]]
        ratio = r11.get("ratio_median", ratios[0])
        where = (f"the city's archive and web on CPU {','.join(map(str, w['cpus']['city']))}, the simulated"
                 f" wards and the dashboards on CPU {','.join(map(str, w['cpus']['load']))}"
                 if w.get("cpus") else "everything on every core (BENCH_PIN=0, or one core)")
        rows.append(("11", f"City ingest with {DASHBOARDS} dashboards connected and reading, against none"
                           f" ({w['links']:,} links × {w['events_per_link']} events; {where}; the web's HTTP"
                           " threads at the default web/stream_nice): each pass against the mean of the"
                           " passes without around it, median",
                     f"{w['events_per_s']:,.0f}/s (median pass)",
                     f"{n['events_per_s']:,.0f}/s (no dashboard, median pass)",
                     f"{100 * ratio:.1f}% (passes {100 * min(ratios):.0f}-{100 * max(ratios):.0f}%)",
                     f"≥ 90%: {B.ok(ratio >= 0.9)}"))
        rows.append(("11", f"  every pass (alternating, none first and last)",
                     " / ".join(f"{x:,.0f}" for x in r11["with_all"]),
                     " / ".join(f"{x:,.0f}" for x in r11["without_all"]), "—", ""))
        rows.append(("11", "  the dashboards in the median pass: MB read, dropped, 'behind' snapshots,"
                           " every one at the city's last event after ingest ended",
                     f"{w.get('sse_mb', 0):,.0f} MB, {w.get('dashboards_dropped', 0):.0f} dropped,"
                     f" {w.get('behind_snapshots', 0):.0f} behind, "
                     + (f"{w['catch_up_s']:.1f} s" if w.get("catch_up_s") is not None else
                        f"{w.get('dashboards_behind', '?')} still behind after 120 s"),
                     "—", "—", ""))
        cw, cn = w.get("cpu_s", {}), n.get("cpu_s", {})
        if cw and cn:
            rows.append(("11", "  CPU-seconds of those passes while ingesting: archive, web (what the web"
                               " sends after ingest ended is not in it)",
                         f"{cw.get('city-archive', 0):.2f}, {cw.get('city-web', 0):.2f}",
                         f"{cn.get('city-archive', 0):.2f}, {cn.get('city-web', 0):.2f}", "—", ""))
    return rows
