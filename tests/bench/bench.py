#!/usr/bin/python3
"""tests/bench/bench.py — the rows of `make bench` (tests/bench/run builds first).

Every row starts real Hotline processes from build-bench/ (optimised), on
fresh data directories under build-bench/bench-run/, on loopback, and drives
them with build-bench/hotline-bench (tests/bench/*.c). Each row's raw limit is
measured in the same run, on the same disk and loopback.

    BENCH_QUICK=1      ~1 minute smoke run (smaller counts, shorter windows)
    BENCH_ROWS=1,2,4   run only these rows (default: all)

Writes build-bench/bench-results/latest.json (and a timestamped copy) and
tests/bench/RESULTS.md, and prints the table.
"""
import datetime
import glob
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import bench_web           # row 12: the web API
import bench_dashboard     # rows 9-11: the city dashboard

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, os.environ.get("BENCH_BUILD", "build-bench"))
BENCH = os.path.join(BUILD, "hotline-bench")
CLI = os.path.join(BUILD, "hotline")
WORK = os.path.join(BUILD, "bench-run")
RESULTS_DIR = os.path.join(BUILD, "bench-results")
RESULTS_MD = os.path.join(ROOT, "tests", "bench", "RESULTS.md")
PROCEDURE = os.path.join(ROOT, "deploy", "config", "procedure.conf")
QUICK = os.environ.get("BENCH_QUICK", "") == "1"
ROWS = [r.strip() for r in os.environ.get("BENCH_ROWS", "1,2,3,4,5,6,7,8,9,10,11").split(",") if r.strip()]
if "BENCH_ROWS" not in os.environ:
    ROWS.append("12")
SERVICES = ("archive", "intake", "routing", "deadline-watcher", "notification")

# Sizes: full run (~5-8 minutes on 2 cores) and quick smoke run (~1 minute)
P = {
    "sweep": [(1, 1), (4, 16), (16, 16), (32, 16)] if not QUICK else [(16, 16)],
    "seconds": 5 if not QUICK else 2,
    "warmup": 1 if not QUICK else 0.5,
    "raw_seconds": 3 if not QUICK else 1,
    "latency_seconds": 10 if not QUICK else 3,
    "e2e_count": 20000 if not QUICK else 2000,
    "links": 3321 if not QUICK else 300,
    "link_events": 20 if not QUICK else 10,
    "connect_cap_s": 150 if not QUICK else 30,
    "ingest_cap_s": 45 if not QUICK else 20,
    "links_small": 300 if not QUICK else 100,
    "link_events_small": 200 if not QUICK else 50,
    "pushpull": 1000000 if not QUICK else 200000,
    "backlog": 100000 if not QUICK else 5000,
    "deadlines": 1000000 if not QUICK else 100000,
    "firings": 10000 if not QUICK else 2000,
    "fire_window_ms": 10000 if not QUICK else 3000,
    "tick_ms": int(os.environ.get("BENCH_TICK_MS", "100")),
    "settle": 5 if not QUICK else 2,
}


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ helpers

def free_base(count=20):
    # base+1 .. base+15 are a node's ZeroMQ and HTTP ports; stay below the
    # kernel's range for outgoing connections (32768-60999), as the tests do
    for _ in range(500):
        base = random.randrange(10000, 32000, 20)
        ok = True
        for port in range(base + 1, base + count + 1):
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                ok = False
            finally:
                s.close()
            if not ok:
                break
        if ok:
            return base
    raise RuntimeError("no free ports")


def wait_for(predicate, timeout=30.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


def port_open(port):
    s = socket.socket()
    try:
        s.settimeout(0.2)
        s.connect(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def hwm_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_s(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def bench(*args, env=None, timeout=900):
    """Run hotline-bench; return its last stdout line as JSON."""
    cmd = [BENCH] + [str(a) for a in args]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                            env=dict(os.environ, HOTLINE_LOG_LEVEL="warn", **(env or {})))
    global BENCH_RUNS
    BENCH_RUNS += 1
    with open(os.path.join(WORK, f"bench-{BENCH_RUNS:02d}-{args[0]}.log"), "w") as f:
        f.write(" ".join(cmd) + "\n" + result.stderr)
    if result.returncode != 0:
        tail = [l for l in result.stderr.splitlines() if not l.startswith("ts=")][-5:]
        raise RuntimeError(f"{' '.join(cmd)} -> {result.returncode}: " + " / ".join(tail)
                           + f" (stderr in {os.path.relpath(f.name, ROOT)})")
    lines = [l for l in result.stdout.splitlines() if l.startswith("{")]
    if not lines:
        raise RuntimeError(f"{' '.join(cmd)}: no result\n{result.stderr[-3000:]}")
    for line in [l for l in result.stderr.splitlines() if not l.startswith("ts=")][-3:]:
        log(f"  {args[0]}: {line}")
    return json.loads(lines[-1])


def query(path, sql, *params, default=None):
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            row = conn.execute(sql, params).fetchone()
            return row[0] if row and row[0] is not None else default
        finally:
            conn.close()
    except sqlite3.Error:
        return default


class Node:
    """A Hotline node (ward or city) of real processes from build-bench/."""

    def __init__(self, name, role="ward", ward_code="31001", keys=None, city=None, extra="",
                 env=None):
        self.name, self.role, self.ward_code = name, role, ward_code
        self.dir = os.path.join(WORK, name)
        os.makedirs(self.dir, exist_ok=True)
        self.data = os.path.join(self.dir, "data")
        self.base = free_base()
        self.procs, self.logs = {}, {}
        self.config = os.path.join(self.dir, "node.cfg")
        text = ["node", f"    role = {role}", f"    name = {name}"]
        if role == "ward":
            text += [f"    ward_code = {ward_code}", "    ward_name = \"Phường An Biên\""]
        else:
            text += ["    city_code = 31", "    ward_name = \"Sở Nông nghiệp và Môi trường Hải Phòng\""]
        text += ["    city = \"Hải Phòng\"", f"    data_dir = {self.data}",
                 f"    procedure = {PROCEDURE}", f"    base_port = {self.base}"]
        if role == "city":
            text += ["routing", f"    rules = {os.path.join(ROOT, 'deploy', 'config', 'routing-city.conf')}"]
        if city is not None:
            text += ["endpoints", f"    city = tcp://127.0.0.1:{city.base + 5}"]
        if keys:
            if role == "ward":
                text += ["federation", f"    cert = {keys}/wards/{ward_code}.cert",
                         f"    city_cert = {keys}/city.cert"]
            else:
                text += ["federation", f"    cert = {keys}/city.cert", f"    allow = {keys}/allow"]
        text += ["focal_points", "    main", "        unit = \"UBND\"",
                 "        receiving_phone = 0916588826", "        receiving_email = ubnd@example.vn",
                 "        handling_phone = 0989135250", "        handling_email = xuly@example.vn",
                 "        note = \"bench\"",
                 "notify", "    smtp_url = smtp://127.0.0.1:9", "    webhook_url = \"\"",
                 "deadlines", f"    tick_ms = {P['tick_ms']}"]
        with open(self.config, "w") as f:
            f.write("\n".join(text) + "\n" + extra)
        self.env = dict(os.environ, HOTLINE_CONFIG=self.config, **(env or {}))
        self.env.pop("HOTLINE_ENDPOINT", None)

    def endpoint(self, key):
        keys = ["intake", "intake_feed", "archive", "archive_feed", "federation",
                "notification", "federation_return", "monitor", "snapshot"]
        return f"tcp://127.0.0.1:{self.base + 1 + keys.index(key)}"

    def db(self, service):
        return os.path.join(self.data, f"{service}.db")

    def start(self, *services, wait=True):
        started = time.monotonic()
        for service in services:
            log_file = open(os.path.join(self.dir, f"{service}.log"), "ab")
            self.logs[service] = log_file
            self.procs[service] = subprocess.Popen(
                [os.path.join(BUILD, f"hotline-{service}"), "-c", self.config],
                env=self.env, stdout=log_file, stderr=subprocess.STDOUT, cwd=ROOT)
        if wait:
            self.wait_up(services)
        return time.monotonic() - started

    def wait_up(self, services, timeout=60):
        def up():
            for service in services:
                proc = self.procs[service]
                if proc.poll() is not None:
                    raise RuntimeError(f"{self.name} {service} exited {proc.returncode}:\n"
                                       + self.log(service)[-2000:])
            if "intake" in services:
                r = subprocess.run([CLI, "--endpoint", self.endpoint("intake"), "--tries", "1",
                                    "--timeout", "500", "ping"], capture_output=True, env=self.env)
                if r.returncode != 0:
                    return False
            if "archive" in services and not port_open(self.base + 3):
                return False
            return True
        wait_for(up, timeout=timeout, what=f"{self.name} up")

    def log(self, service):
        try:
            with open(os.path.join(self.dir, f"{service}.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def pid(self, service):
        return self.procs[service].pid

    def rss(self):
        return {s: rss_kb(p.pid) for s, p in self.procs.items() if p.poll() is None}

    def pids(self, prefix=""):
        return {prefix + s: p.pid for s, p in self.procs.items() if p.poll() is None}

    def stop(self, *services):
        for service in list(services or self.procs):
            proc = self.procs.pop(service)
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            self.logs.pop(service).close()


def sched(pid):
    """(seconds on a CPU, seconds runnable but waiting for one), all threads."""
    run = wait = 0
    for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(path) as f:
                r, w, _ = f.read().split()
            run, wait = run + int(r), wait + int(w)
        except (OSError, ValueError):
            pass
    return run / 1e9, wait / 1e9


def io_write_bytes(pid):
    try:
        with open(f"/proc/{pid}/io") as f:
            for line in f:
                if line.startswith("write_bytes:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def machine_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v), v[3] + v[4]


class Probe:
    """CPU use over a window: the machine's, and each watched process's time
    on a CPU and waiting for one (the machine is shared with other work; a
    service that waits for a CPU is slowed by its neighbours, not by itself)."""

    def __init__(self, pids):
        self.pids = dict(pids)
        self.t = time.monotonic()
        self.m = machine_ticks()
        self.s = {k: sched(p) for k, p in self.pids.items()}
        self.w = {k: io_write_bytes(p) for k, p in self.pids.items()}

    def stop(self, extra_ours_s=0.0):
        dt = time.monotonic() - self.t
        m = machine_ticks()
        total, idle = m[0] - self.m[0], m[1] - self.m[1]
        busy = (total - idle) / total * os.cpu_count() if total else 0
        procs, ours = {}, extra_ours_s / dt
        for k, p in self.pids.items():
            r, w = sched(p)
            run, wait = (r - self.s[k][0]) / dt, (w - self.s[k][1]) / dt
            procs[k] = {"cpu": round(run, 2), "runqueue_wait": round(wait, 2),
                        "disk_write_mb": round((io_write_bytes(p) - self.w[k]) / 1e6, 2)}
            ours += run
        return {"seconds": round(dt, 2), "machine_busy_cores": round(busy, 2),
                "ours_cores": round(ours, 2), "foreign_cores": round(max(0.0, busy - ours), 2),
                "loadavg": open("/proc/loadavg").read().split()[0], "procs": procs}


# --------------------------------------------------------------------- rows

BENCH_RUNS = 0
R = {}          # results by row
CONDITIONS = ""
NODES = []      # for cleanup


def node(*args, **kwargs):
    n = Node(*args, **kwargs)
    NODES.append(n)
    return n


def cpu_summary(c):
    procs = ", ".join(f"{k} {v['cpu']:.2f} (+{v['runqueue_wait']:.2f} waiting)" for k, v in c["procs"].items())
    return f"cores: {procs}; machine busy {c['machine_busy_cores']:.2f}, others {c['foreign_cores']:.2f}"


def row1():
    """Durable intake throughput, and its raw SQLite limits."""
    ward = node("r1-ward")
    ward.start("archive", "intake")
    sweep = []
    for clients, depth in P["sweep"]:
        probe = Probe(ward.pids())
        res = bench("drive", "--endpoint", ward.endpoint("intake"), "--tag", f"r1-{clients}x{depth}",
                    "--clients", clients, "--depth", depth,
                    "--seconds", P["seconds"], "--warmup", P["warmup"])
        res["cpu"] = probe.stop(res["generator_cpu_s"])
        sweep.append(res)
        log(f"row 1: {clients}x{depth} in flight: {res['acks_per_s']:.0f} acks/s,"
            f" ack p50 {res['ack'].get('p50_ms', 0):.2f} ms, {cpu_summary(res['cpu'])}")
    best = max(sweep, key=lambda r: r["acks_per_s"])
    size = int(query(ward.db("intake"), "SELECT avg(length(event)) FROM log WHERE case_id <> ''",
                     default=400))
    R["_ward1"] = ward
    R[1] = {"sweep": sweep, "best": best, "event_bytes": size,
            "batch": min(256, best["clients"] * best["depth"])}


def row1_raw():
    """Raw limits of row 1: SQLite WAL FULL, batched and one fsync per row."""
    r = R[1]
    d = os.path.join(WORK, "r1-ward", "data")
    r["raw_batched"] = bench("sqlite", "--db", os.path.join(d, "raw.db"), "--size", r["event_bytes"],
                             "--batch", r["batch"], "--seconds", P["raw_seconds"])
    r["raw_per_row"] = bench("sqlite", "--db", os.path.join(d, "raw.db"), "--size", r["event_bytes"],
                             "--batch", 1, "--seconds", P["raw_seconds"])
    # The rows intake writes per case (its tables, nine statements), bare C
    r["raw_cases"] = bench("sqlite", "--db", os.path.join(d, "raw.db"), "--size", r["event_bytes"],
                           "--batch", r["batch"], "--seconds", P["raw_seconds"], "--shape", "case",
                           "--schema-from", os.path.join(d, "intake.db"))
    for f in ("raw.db", "raw.db-wal", "raw.db-shm"):
        if os.path.exists(os.path.join(d, f)):
            os.unlink(os.path.join(d, f))
    log(f"row 1: raw batched({r['batch']}) {r['raw_batched']['rows_per_s']:.0f} rows/s,"
        f" per-row fsync {r['raw_per_row']['rows_per_s']:.0f} rows/s,"
        f" intake's rows per case {r['raw_cases']['rows_per_s']:.0f} cases/s")


def wait_archived(ward, timeout=300):
    """The ward's archive has applied everything intake wrote: a latency run
    measures the node at its offered load, not the backlog of the run before
    it (after row 1 the archive is ~100,000 events behind for a few seconds)."""
    def caught_up():
        head = query(ward.db("intake"), "SELECT max(seq) FROM log", default=0) or 0
        got = query(ward.db("archive"), "SELECT seq FROM hop_cursor WHERE stream = 'intake'",
                    default=0) or 0
        return got >= head
    started = time.monotonic()
    wait_for(caught_up, timeout=timeout, interval=0.2, what="the ward archive to catch up")
    return time.monotonic() - started


def row2():
    """Submit->ack latency at a fixed offered load of 50% of row 1's maximum."""
    ward = R.get("_ward1")
    if ward is None:
        ward = node("r2-ward")
        ward.start("archive", "intake")
    best = R[1]["best"]["acks_per_s"] if 1 in R else 2000
    rate = round(best * 0.5)
    waited = wait_archived(ward)
    log(f"row 2: the archive caught up with row 1's backlog in {waited:.1f} s")
    probe = Probe(ward.pids())
    res = bench("drive", "--endpoint", ward.endpoint("intake"), "--tag", "r2", "--rate", rate,
                "--seconds", P["latency_seconds"], "--warmup", P["warmup"])
    res["cpu"] = probe.stop(res["generator_cpu_s"])
    log(f"row 2: at {rate}/s ack p50/p99/p99.9 = {res['ack']['p50_ms']:.2f}/"
        f"{res['ack']['p99_ms']:.2f}/{res['ack']['p999_ms']:.2f} ms, {cpu_summary(res['cpu'])}")
    # Lighter loads: where the p99 comes within the 5 ms target
    lighter = []
    for share in (0.25, 0.1):
        wait_archived(ward)
        r = bench("drive", "--endpoint", ward.endpoint("intake"), "--tag", f"r2-{int(share * 100)}",
                  "--rate", round(best * share), "--seconds", P["latency_seconds"], "--warmup", P["warmup"])
        r["share"], r["rate"] = share, round(best * share)
        lighter.append(r)
        log(f"row 2: at {r['rate']}/s ({int(share * 100)}% of max) ack p50/p99/p99.9 ="
            f" {r['ack']['p50_ms']:.2f}/{r['ack']['p99_ms']:.2f}/{r['ack']['p999_ms']:.2f} ms")
    ward.stop()
    R[2] = {"rate": rate, "result": res, "lighter": lighter}


def row2_raw():
    """Raw limit of row 2: REQ/REP round trip plus one fdatasync."""
    size = R[1]["event_bytes"] if 1 in R else 400
    res = bench("rtt", "--file", os.path.join(WORK, "rtt.dat"), "--size", max(size, 16),
                "--seconds", P["raw_seconds"] * 2)
    R.setdefault(2, {})["raw"] = res
    log(f"row 2: raw REQ/REP+fdatasync p50/p99/p99.9 = {res['rtt_fsync']['p50_ms']:.2f}/"
        f"{res['rtt_fsync']['p99_ms']:.2f}/{res['rtt_fsync']['p999_ms']:.2f} ms")


def federated_pair(tag, services=("archive", "intake"), start_city=True):
    keys = os.path.join(WORK, f"keys-{tag}")
    bench("keys", "--dir", keys, "--codes", "31001")
    city = node(f"{tag}-city", role="city", keys=keys)
    ward = node(f"{tag}-ward", keys=keys, city=city)
    return city, ward


def wait_linked(city, ward, timeout=30):
    """The city has applied the ward's log up to the ward archive's head."""
    def linked():
        head = query(ward.db("archive"), "SELECT max(seq) FROM log", default=0)
        got = query(city.db("archive"), "SELECT seq FROM hop_cursor WHERE stream = 'ward:31001'",
                    default=0)
        return head > 0 and got >= head
    wait_for(linked, timeout=timeout, what="ward and city linked")


def row3():
    """End to end: submit -> archived (ward) and submit -> city, CurveZMQ link."""
    city, ward = federated_pair("r3")
    city.start("archive", "intake")
    ward.start("archive", "intake")
    wait_linked(city, ward)
    best = R[1]["best"] if 1 in R else {"clients": 16, "depth": 16}
    probe = Probe({**ward.pids(), **city.pids("city-")})
    thr = bench("drive", "--endpoint", ward.endpoint("intake"), "--tag", "r3-thr",
                "--clients", best["clients"], "--depth", best["depth"], "--count", P["e2e_count"],
                "--ward-feed", ward.endpoint("archive_feed"), "--city-feed", city.endpoint("archive_feed"))
    thr["cpu"] = probe.stop(thr["generator_cpu_s"])
    # Latency at 50% of this federated setup's own maximum (ward and city
    # share the two cores)
    rate = round(0.5 * min(thr["acks_per_s"], thr["city"].get("per_s") or thr["acks_per_s"]))
    probe = Probe({**ward.pids(), **city.pids("city-")})
    lat = bench("drive", "--endpoint", ward.endpoint("intake"), "--tag", "r3-lat", "--rate", rate,
                "--seconds", P["latency_seconds"], "--warmup", P["warmup"],
                "--ward-feed", ward.endpoint("archive_feed"), "--city-feed", city.endpoint("archive_feed"))
    lat["cpu"] = probe.stop(lat["generator_cpu_s"])
    ward.stop()
    city.stop()
    R[3] = {"rate": rate, "latency": lat, "throughput": thr}
    log(f"row 3: archived p50/p99 {lat['ward']['latency']['p50_ms']:.2f}/"
        f"{lat['ward']['latency']['p99_ms']:.2f} ms, city p50/p99 {lat['city']['latency']['p50_ms']:.2f}/"
        f"{lat['city']['latency']['p99_ms']:.2f} ms; throughput acks {thr['acks_per_s']:.0f}/s,"
        f" archived {thr['ward'].get('per_s', 0):.0f}/s, city {thr['city'].get('per_s', 0):.0f}/s")


def city_ingest(tag, links, events, link_timeout_ms=0):
    keys = os.path.join(WORK, f"keys-{tag}")
    gen = bench("keys", "--dir", keys, "--first", 40001, "--count", links)
    log(f"row 4: {links} ward certificates in {gen['seconds']:.1f} s;"
        f" zcertstore lookup {gen['zcertstore_lookup_ms']:.1f} ms")
    city = node(f"{tag}-city", role="city", keys=keys)
    city.start("archive")
    time.sleep(1)
    idle_rss = rss_kb(city.pid("archive"))
    probe = Probe(city.pids("city-"))
    sim = bench("wards", "--city", city.endpoint("federation"), "--keys", keys, "--first", 40001,
                "--links", links, "--events", events, "--city-pid", city.pid("archive"),
                "--connect-timeout", P["connect_cap_s"], "--timeout", P["ingest_cap_s"],
                "--link-timeout", link_timeout_ms)
    sim["cpu"] = probe.stop()
    sim["city_log_rows"] = query(city.db("archive"), "SELECT count(*) FROM log", default=0)
    sim["city_rss_idle_kb"] = idle_rss
    sim["keys"] = gen
    city.stop()
    log(f"row 4: {sim['connected']}/{links} links connected in {sim['connect_s']:.1f} s"
        f" ({sim['links_per_s']:.0f}/s); {sim['events_per_s']:.0f} events/s at the city"
        f" ({sim['city_log_rows']} rows), {sim['sent_items']} items sent for {links * events},"
        f" {cpu_summary(sim['cpu'])}")
    return sim


def row4():
    """City ingest: N simulated ward links at once over CurveZMQ."""
    # Every link with the hop defaults (3 s timeout). Until the city answered
    # handshakes from its own key table (czmq's zauth rescanned the whole
    # allow directory per handshake) and its receiver stopped asking busy
    # links to rewind, this pass needed a 10 s link timeout (RESULTS.md)
    sim = city_ingest("r4", P["links"], P["link_events"])
    # The same with fewer links and longer backlogs: the ingest path itself,
    # when admitting links is not what limits it
    small = city_ingest("r4s", P["links_small"], P["link_events_small"])
    size = int(sim.get("payload_avg") or small.get("payload_avg") or 400)
    plain = bench("pushpull", "--size", size, "--count", P["pushpull"])
    curve = bench("pushpull", "--size", size, "--count", P["pushpull"], "--curve", 1)
    R[4] = {"sim": sim, "small": small, "raw_plain": plain, "raw_curve": curve, "keys": sim["keys"]}
    log(f"row 4: raw PUSH/PULL {plain['msgs_per_s']:.0f}/s (curve {curve['msgs_per_s']:.0f}/s)")


def row5():
    """Catch-up: a ward with a backlog after a partition converges with the city."""
    city, ward = federated_pair("r5")
    ward.start("archive", "intake")
    best = R[1]["best"] if 1 in R else {"clients": 16, "depth": 16}
    t = time.monotonic()
    fill = bench("drive", "--endpoint", ward.endpoint("intake"), "--tag", "r5",
                 "--clients", best["clients"], "--depth", best["depth"], "--count", P["backlog"])
    head_intake = query(ward.db("intake"), "SELECT max(seq) FROM log", default=0)
    wait_for(lambda: query(ward.db("archive"), "SELECT seq FROM hop_cursor WHERE stream = 'intake'",
                           default=0) >= head_intake, timeout=300, what="ward archive caught up")
    fill_s = time.monotonic() - t
    head = query(ward.db("archive"), "SELECT max(seq) FROM log", default=0)
    log(f"row 5: backlog of {head} events at the ward ({fill['acks_per_s']:.0f} acks/s,"
        f" archived in {fill_s:.1f} s); starting the city")
    t0 = time.monotonic()
    city.start("archive", "intake", wait=False)
    probe = Probe({**ward.pids(), **city.pids("city-")})
    first = None
    def converged():
        nonlocal first
        got = query(city.db("archive"), "SELECT seq FROM hop_cursor WHERE stream = 'ward:31001'",
                    default=0)
        if got and first is None:
            first = time.monotonic()
        return got >= head
    wait_for(converged, timeout=600, interval=0.02, what="city converged")
    converge = time.monotonic() - t0
    transfer = time.monotonic() - (first or t0)
    cpu = probe.stop()
    city_rows = query(city.db("archive"), "SELECT count(*) FROM log WHERE origin = 'ward:31001'",
                      default=0)
    ward.stop()
    city.stop()
    raw = R[1]["raw_batched"]["rows_per_s"] if 1 in R and "raw_batched" in R[1] else None
    R[5] = {"backlog": head, "fill": fill, "fill_s": fill_s, "converge_s": converge,
            "transfer_s": transfer, "per_s": head / converge, "city_rows": city_rows,
            "raw_rows_per_s": raw, "raw_s": head / raw if raw else None, "cpu": cpu}
    log(f"row 5: converged in {converge:.1f} s (first event after {converge - transfer:.1f} s),"
        f" {head / converge:.0f} events/s")


def watch(w, clock, k, window, fire_at):
    """Start the watcher on its filled store with a fake intake; measure the
    restart (spawn -> loaded), memory, and firing lateness."""
    fake = subprocess.Popen([BENCH, "fake-intake", "--endpoint", w.endpoint("intake"),
                             "--expect", str(k), "--timeout", "30"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(w.env, HOTLINE_LOG_LEVEL="warn"))
    assert fake.stdout.readline().strip() == "ready"
    t0 = time.monotonic()
    w.start("deadline-watcher", wait=False)
    line = wait_for(lambda: re.search(r"loaded (\d+) open deadline\(s\), (\d+) pending firing\(s\) in (\d+) ms",
                                      w.log("deadline-watcher")), timeout=120, interval=0.01,
                    what="watcher loaded")
    ready = time.monotonic() - t0
    pid = w.pid("deadline-watcher")
    time.sleep(0.5)
    rss_loaded, hwm_loaded = rss_kb(pid), hwm_kb(pid)
    # Move the node clock so that the K firings fall due over the next window
    offset = fire_at - 1500 - int(time.time() * 1000)
    with open(clock + ".tmp", "w") as f:
        f.write(f"{offset}\n")
    os.replace(clock + ".tmp", clock)
    probe = Probe(w.pids())
    out, err = fake.communicate(timeout=window / 1000 + 90)
    cpu = probe.stop()
    res = json.loads([l for l in out.splitlines() if l.startswith("{")][-1])
    rss_after = rss_kb(pid)
    w.stop()
    return {"loaded_rows": int(line.group(1)), "pending_firings": int(line.group(2)),
            "load_ms_logged": int(line.group(3)), "ready_s": ready, "rss_loaded_kb": rss_loaded,
            "hwm_loaded_kb": hwm_loaded, "rss_after_kb": rss_after, "firing": res, "cpu": cpu}


def row6():
    """Deadline-watcher with a million open deadlines."""
    n, k, window = P["deadlines"], P["firings"], P["fire_window_ms"]
    clocks = [os.path.join(WORK, f"r6-clock-{i}") for i in range(2)]
    for clock in clocks:
        with open(clock, "w") as f:
            f.write("0\n")
    # Baseline: the watcher with no deadlines
    empty = node("r6-empty", env={"HOTLINE_CLOCK_FILE": clocks[0]})
    empty.start("deadline-watcher", wait=False)
    wait_for(lambda: "loaded 0 open" in empty.log("deadline-watcher"), what="empty watcher")
    time.sleep(0.5)
    rss_empty = rss_kb(empty.pid("deadline-watcher"))
    empty.stop()
    # One store, two copies: the deployed tick, and a fine tick (10 ms) that
    # shows the watcher's own firing cost rather than the tick's
    runs = [node("r6-watcher", env={"HOTLINE_CLOCK_FILE": clocks[0]}),
            node("r6-watcher-10ms", env={"HOTLINE_CLOCK_FILE": clocks[1],
                                         "HOTLINE_DEADLINES_TICK_MS": "10"})]
    for w in runs:
        os.makedirs(w.data, exist_ok=True)
    fire_at = int(time.time() * 1000) + 3600 * 1000
    fill = bench("deadlines", "--db", runs[0].db("deadline"), "--count", n, "--fire", k,
                 "--fire-at", fire_at, "--window", window)
    shutil.copyfile(runs[0].db("deadline"), runs[1].db("deadline"))
    log(f"row 6: {n} deadlines written in {fill['seconds']:.1f} s")
    main = watch(runs[0], clocks[0], k, window, fire_at)
    fine = watch(runs[1], clocks[1], k, window, fire_at)
    R[6] = {"deadlines": n, "fill": fill, "rss_empty_kb": rss_empty, **main,
            "bytes_per_deadline": (main["rss_loaded_kb"] - rss_empty) * 1024 / n,
            "peak_bytes_per_deadline": (main["hwm_loaded_kb"] - rss_empty) * 1024 / n,
            "firing_rate": k / (window / 1000), "tick_ms": P["tick_ms"], "tick_10ms": fine}
    lat, lat10 = main["firing"]["lateness"], fine["firing"]["lateness"]
    log(f"row 6: ready in {main['ready_s']:.2f} s (logged {main['load_ms_logged']} ms),"
        f" {R[6]['bytes_per_deadline']:.0f} B/deadline, lateness p50/p99 {lat.get('p50_ms', 0):.0f}/"
        f"{lat.get('p99_ms', 0):.0f} ms (tick {P['tick_ms']} ms), {lat10.get('p50_ms', 0):.0f}/"
        f"{lat10.get('p99_ms', 0):.0f} ms (tick 10 ms) over {main['firing']['fired']} firings")


def row7():
    """Memory of an idle ward (five services) and an idle city (five services)."""
    city, ward = federated_pair("r7")
    city.start(*SERVICES)
    ward.start(*SERVICES)
    wait_linked(city, ward)
    time.sleep(P["settle"])
    wr, cr = ward.rss(), city.rss()
    ward.stop()
    city.stop()
    d = os.path.join(WORK, "r7-idle")
    os.makedirs(d, exist_ok=True)
    idle = subprocess.Popen([BENCH, "idle", "--endpoint", f"tcp://127.0.0.1:{free_base(2) + 1}",
                             "--db", os.path.join(d, "idle.db"), "--seconds", "30"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert idle.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    floor = rss_kb(idle.pid)
    idle.kill()
    idle.wait()
    R[7] = {"ward_kb": wr, "city_kb": cr, "ward_total_kb": sum(wr.values()),
            "city_total_kb": sum(cr.values()), "floor_kb": floor}
    log(f"row 7: ward {sum(wr.values()) / 1024:.1f} MB, city {sum(cr.values()) / 1024:.1f} MB"
        f" (bare process floor {floor / 1024:.1f} MB)")


LIST_COLUMNS = ("case_id, ward, state, regime, type, scope, channel, urgent, anonymous,"
                " received_ms, updated_ms, assignee, duplicate_of, location,"
                " origin_case, origin_ward, department_case, department_state, next_due_ms, next_deadline")


def row8():
    """The case list: archive query latency at 100,000 cases, against SQLite in-process."""
    n = 100000 if not QUICK else 10000
    queries = 1000 if not QUICK else 200
    ward = node("r8-ward")
    ward.start("archive", "intake")
    best = R[1]["best"] if 1 in R else {"clients": 16, "depth": 16}
    t = time.monotonic()
    fill = bench("drive", "--endpoint", ward.endpoint("intake"), "--tag", "r8",
                 "--clients", best["clients"], "--depth", best["depth"], "--count", n)
    head_intake = query(ward.db("intake"), "SELECT max(seq) FROM log", default=0)
    wait_for(lambda: query(ward.db("archive"), "SELECT seq FROM hop_cursor WHERE stream = 'intake'",
                           default=0) >= head_intake, timeout=600, what="ward archive caught up")
    cases = query(ward.db("archive"), "SELECT count(*) FROM cases", default=0)
    log(f"row 8: {cases} cases at the ward ({fill['acks_per_s']:.0f} acks/s, archived in"
        f" {time.monotonic() - t:.1f} s)")
    where = "WHERE 1"                   # no period asked: as the archive builds it
    fts = " AND +cases.rowid IN (SELECT rowid FROM cases_fts WHERE cases_fts MATCH '\"nước\"*')"
    shapes = [
        ("due", dict(order="due", text=""),
         f"SELECT {LIST_COLUMNS} FROM cases {where} AND next_due_ms IS NOT NULL"
         " ORDER BY next_due_ms, cases.rowid LIMIT ?1 OFFSET ?2"),
        ("newest", dict(order="", text=""),
         f"SELECT {LIST_COLUMNS} FROM cases {where} ORDER BY received_ms DESC, case_id DESC LIMIT ?1 OFFSET ?2"),
        ("search", dict(order="due", text="nước"),
         f"SELECT {LIST_COLUMNS} FROM cases {where} AND next_due_ms IS NOT NULL{fts}"
         " ORDER BY next_due_ms, cases.rowid LIMIT ?1 OFFSET ?2"),
    ]
    out = {"cases": cases, "queries": queries, "page": 50, "pages": 10}
    for name, q, sql in shapes:
        ours = bench("list", "--endpoint", ward.endpoint("archive"), "--queries", queries,
                     "--order", q["order"], "--text", q["text"], "--limit", 50, "--pages", 10)
        raw = bench("list-raw", "--db", ward.db("archive"), "--sql", sql, "--queries", queries,
                    "--limit", 50, "--pages", 10)
        out[name] = {"ours": ours, "raw": raw}
        log(f"row 8: {name}: p50/p99 {ours['p50_ms']:.2f}/{ours['p99_ms']:.2f} ms"
            f" ({ours['rows']} rows); raw SQLite {raw['p50_ms']:.2f}/{raw['p99_ms']:.2f} ms")
    R[8] = out


def row9():
    """SSE fan-out: 200 dashboards on the city's web service, one event."""
    bench_dashboard.row9(sys.modules[__name__])


def row10():
    """GET /api/v1/wards latency with 3,321 wards."""
    bench_dashboard.row10(sys.modules[__name__])


def row11():
    """City ingest with 200 dashboards connected, against none."""
    bench_dashboard.row11(sys.modules[__name__])


# -------------------------------------------------------------------- table

def machine():
    def read(path):
        try:
            with open(path) as f:
                return f.read()
        except OSError:
            return ""
    cpu = re.search(r"model name\s*:\s*(.*)", read("/proc/cpuinfo"))
    mem = re.search(r"MemTotal:\s*(\d+)", read("/proc/meminfo"))
    df = subprocess.run(["df", "-T", BUILD], capture_output=True, text=True).stdout.splitlines()
    dev = df[-1].split() if len(df) > 1 else ["?", "?"]
    rota = read(f"/sys/block/{os.path.basename(dev[0])}/queue/rotational").strip()
    versions = {}
    for pkg in ("libczmq", "libzmq", "sqlite3", "libprotobuf-c"):
        r = subprocess.run(["pkg-config", "--modversion", pkg], capture_output=True, text=True)
        versions[pkg] = r.stdout.strip()
    return {"nproc": os.cpu_count(), "cpu": cpu.group(1).strip() if cpu else platform.processor(),
            "memory_mb": int(mem.group(1)) // 1024 if mem else None,
            "disk": f"{dev[0]} ({dev[1]}{', reports rotational' if rota == '1' else ''})",
            "kernel": platform.release(), "versions": versions,
            "python": platform.python_version()}


def fmt_n(x, unit=""):
    if x is None:
        return "—"
    return f"{x:,.0f}{unit}"


def pct(a, b):
    return f"{100.0 * a / b:.1f}%" if a is not None and b else "—"


def times(a, b):
    return f"{a / b:.1f}×" if a is not None and b else "—"


def ok(flag):
    return "met" if flag else "**not met**"


def table():
    rows = []   # (row, metric, hotline, raw, ratio, target)
    if 1 in R:
        b = R[1]["best"]
        rb, rr = R[1].get("raw_batched", {}), R[1].get("raw_per_row", {})
        rows.append(("1", f"Durable intake: cases acked/s ({b['clients']} clients × {b['depth']} in flight)",
                     fmt_n(b["acks_per_s"], "/s"),
                     f"{fmt_n(rb.get('rows_per_s'), ' rows/s')} (SQLite WAL FULL, {R[1]['batch']}-row batches, {R[1]['event_bytes']} B rows)",
                     pct(b["acks_per_s"], rb.get("rows_per_s")),
                     f"≥ 50%: {ok(rb.get('rows_per_s') and b['acks_per_s'] >= 0.5 * rb['rows_per_s'])}"))
        rows.append(("1", "  … against one fsync per row", fmt_n(b["acks_per_s"], "/s"),
                     fmt_n(rr.get("rows_per_s"), " rows/s"), times(b["acks_per_s"], rr.get("rows_per_s")), ""))
        rc = R[1].get("raw_cases", {})
        if rc:
            rows.append(("1", "  … against the rows intake writes per case (its tables, 9 statements), bare C",
                         fmt_n(b["acks_per_s"], "/s"),
                         f"{fmt_n(rc.get('rows_per_s'), ' cases/s')} ({R[1]['batch']}-case batches, hl_store)",
                         pct(b["acks_per_s"], rc.get("rows_per_s")), ""))
    if 2 in R and "result" in R[2]:
        a = R[2]["result"]["ack"]
        raw = R[2].get("raw", {}).get("rtt_fsync", {})
        rows.append(("2", f"Submit→ack p50 / p99 / p99.9 at {R[2]['rate']:,}/s (50% of max, open loop)",
                     f"{a['p50_ms']:.2f} / {a['p99_ms']:.2f} / {a['p999_ms']:.2f} ms",
                     f"{raw.get('p50_ms', 0):.2f} / {raw.get('p99_ms', 0):.2f} / {raw.get('p999_ms', 0):.2f} ms (REQ/REP + fdatasync)",
                     f"p99 {times(a['p99_ms'], raw.get('p99_ms'))}",
                     f"p99 ≤ 5 ms: {ok(a['p99_ms'] <= 5)}"))
        for r in R[2].get("lighter", []):
            b = r["ack"]
            rows.append(("2", f"  the same at {r['rate']:,}/s ({int(r['share'] * 100)}% of max)",
                         f"{b['p50_ms']:.2f} / {b['p99_ms']:.2f} / {b['p999_ms']:.2f} ms", "—",
                         f"p99 {times(b['p99_ms'], raw.get('p99_ms'))}", ""))
    if 3 in R:
        l, t = R[3]["latency"], R[3]["throughput"]
        a = R[2]["result"]["ack"] if 2 in R and "result" in R[2] else None
        rows.append(("3", f"Submit→archived p50 / p99 at {R[3]['rate']:,}/s (50% of row 3's max)",
                     f"{l['ward']['latency']['p50_ms']:.2f} / {l['ward']['latency']['p99_ms']:.2f} ms",
                     f"{l['ack']['p50_ms']:.2f} / {l['ack']['p99_ms']:.2f} ms (its own ack)",
                     times(l['ward']['latency']['p50_ms'], l['ack']['p50_ms']) + " at p50", ""))
        rows.append(("3", f"Submit→city p50 / p99 at {R[3]['rate']:,}/s (CurveZMQ link)",
                     f"{l['city']['latency']['p50_ms']:.2f} / {l['city']['latency']['p99_ms']:.2f} ms",
                     f"{l['ack']['p50_ms']:.2f} / {l['ack']['p99_ms']:.2f} ms (its own ack)",
                     times(l['city']['latency']['p50_ms'], l['ack']['p50_ms']) + " at p50", ""))
        rows.append(("3", f"End-to-end throughput, {t['sent']:,} cases: archived/s, at city/s",
                     f"{fmt_n(t['ward'].get('per_s'))} / {fmt_n(t['city'].get('per_s'))} /s",
                     f"{fmt_n(t['acks_per_s'], '/s')} (acks, same run)",
                     pct(t['city'].get('per_s'), t['acks_per_s']) + " (city/acks)", ""))
    if 4 in R:
        s, p, c = R[4]["sim"], R[4]["raw_plain"], R[4]["raw_curve"]
        rows.append(("4", f"City ingest: events/s, {s['links']:,} CurveZMQ links × {s['events_per_link']} events"
                          f" (links' hop timeout {s.get('link_timeout_ms', 3000) // 1000} s)",
                     fmt_n(s["events_per_s"], "/s"),
                     f"{fmt_n(p['msgs_per_s'], ' msgs/s')} PUSH/PULL ({p['size']} B; Curve: {fmt_n(c['msgs_per_s'], '/s')})",
                     pct(s["events_per_s"], p["msgs_per_s"]),
                     f"≥ 30%: {ok(s['events_per_s'] >= 0.3 * p['msgs_per_s'])}"))
        if s["connected"] < s["links"] or s["links_done"] < s["connected"]:
            rows[-1] = rows[-1][:2] + (rows[-1][2] + f" ({s['connected']:,} links admitted,"
                                       f" {s.get('live_at_release', 0):,} still connected when the"
                                       f" backlogs were released, {s['links_done']:,} delivered all)",) + rows[-1][3:]
        rows.append(("4", f"  links admitted/s (CurveZMQ, the city's ZAP handler, {R[4]['keys']['certs']:,} certificates);"
                          f" {s['connected']:,} connected in {s['connect_s']:.0f} s",
                     f"{s['links_per_s']:.0f}/s", f"{R[4]['keys']['zcertstore_lookup_ms']:.0f} ms per lookup if czmq's zauth"
                     " were used (zcertstore rescan)", "—", ""))
        if 1 in R and "raw_batched" in R[1]:
            raw = R[1]["raw_batched"]["rows_per_s"]
            best = max((x for x in (s, R[4].get("small")) if x), key=lambda x: x["events_per_s"])
            rows.append(("4", f"  best ingest above ({best['links']:,} links) against the batched-insert limit of row 1",
                         fmt_n(best["events_per_s"], "/s"), fmt_n(raw, " rows/s"),
                         pct(best["events_per_s"], raw), ""))
        m = R[4].get("small")
        clean = [x for x in (s, m) if x and x.get("city_kb_per_link") is not None
                 and x["connected"] == x["links"] and x.get("live_at_release", 0) >= 0.95 * x["links"]]
        if clean:
            x = clean[0]
            rows.append(("4", f"  memory per connected link (city archive RSS, {x['links']:,} links up)",
                         f"{x['city_kb_per_link']:.1f} KB", "—", "—", ""))
        m = R[4].get("small")
        if m:
            rows.append(("4", f"  the same with {m['links']:,} links × {m['events_per_link']} events (admission not limiting; hop defaults)",
                         fmt_n(m["events_per_s"], "/s") + ("" if m["links_done"] == m["links"] else
                                                          f" ({m['links_done']} of {m['links']} links done)")
                         + f"; {m['sent_items'] / max(1, m['events']):.1f} sends per event",
                         fmt_n(p["msgs_per_s"], " msgs/s PUSH/PULL"), pct(m["events_per_s"], p["msgs_per_s"]),
                         f"≥ 30%: {ok(m['events_per_s'] >= 0.3 * p['msgs_per_s'])}"))
    if 5 in R:
        r5 = R[5]
        rows.append(("5", f"Catch-up: {r5['backlog']:,}-event backlog → converged with the city",
                     f"{r5['converge_s']:.1f} s ({fmt_n(r5['per_s'], ' events/s')})",
                     f"{r5['raw_s']:.2f} s (same rows at the batched-insert limit)" if r5.get("raw_s") else "—",
                     times(r5["converge_s"], r5.get("raw_s")) if r5.get("raw_s") else "—", ""))
    if 6 in R:
        r6 = R[6]
        n = r6["deadlines"]
        rows.append(("6", f"Deadline-watcher: memory per open deadline ({n:,} open)",
                     f"{r6['bytes_per_deadline']:.0f} B ({(r6['rss_loaded_kb'] - r6['rss_empty_kb']) / 1024:.0f} MB; peak {(r6['hwm_loaded_kb'] - r6['rss_empty_kb']) / 1024:.0f} MB)",
                     "32 B (two 16-byte heap entries)", times(r6["bytes_per_deadline"], 32),
                     f"1M in ≤ 200 MB: {ok(r6['bytes_per_deadline'] * 1e6 <= 200 * 1024 * 1024)}"))
        rows.append(("6", "  load on restart (spawn → ready; logged load time)",
                     f"{r6['ready_s']:.2f} s ({r6['load_ms_logged']} ms)", "—", "—",
                     f"1M in ≤ 5 s: {ok(r6['ready_s'] * 1e6 / n <= 5)}"))
        for sub, tick in ((r6, r6["tick_ms"]), (r6.get("tick_10ms"), 10)):
            if not sub:
                continue
            lat = sub["firing"]["lateness"]
            rows.append(("6", f"  firing lateness p50 / p99, {sub['firing']['fired']:,} firings at {r6['firing_rate']:,.0f}/s, tick {tick} ms",
                         f"{lat.get('p50_ms', 0):.0f} / {lat.get('p99_ms', 0):.0f} ms",
                         f"{tick} ms (the tick)", times(lat.get('p99_ms', 0), tick) + " at p99", ""))
    if 7 in R:
        r7 = R[7]
        rows.append(("7", "Idle ward RSS (five services)", f"{r7['ward_total_kb'] / 1024:.1f} MB",
                     f"{5 * r7['floor_kb'] / 1024:.1f} MB (5 × bare process)", times(r7['ward_total_kb'], 5 * r7['floor_kb']), ""))
        rows.append(("7", "Idle city RSS (five services)", f"{r7['city_total_kb'] / 1024:.1f} MB",
                     f"{5 * r7['floor_kb'] / 1024:.1f} MB (5 × bare process)", times(r7['city_total_kb'], 5 * r7['floor_kb']), ""))
    if 8 in R:
        r8 = R[8]
        labels = {"due": "order=due", "newest": "newest first", "search": "order=due + search \"nước\" (every case matches)"}
        for name in ("due", "newest", "search"):
            if name not in r8:
                continue
            ours, raw = r8[name]["ours"], r8[name]["raw"]
            first = name == "due"
            metric = (f"Case list query p50 / p99 at {r8['cases']:,} cases, page of {r8['page']}, {labels[name]}"
                      f" (archive over ZeroMQ, pages 1-{r8['pages']})" if first else f"  the same, {labels[name]}")
            target = ""
            if first:
                target = f"p99 ≤ 20 ms: {'met' if ours['p99_ms'] <= 20 else '**not met**'}"
            rows.append(("8", metric, f"{ours['p50_ms']:.2f} / {ours['p99_ms']:.2f} ms",
                         f"{raw['p50_ms']:.2f} / {raw['p99_ms']:.2f} ms (the same page, SQLite in-process)",
                         times(ours['p99_ms'], raw['p99_ms']) + " at p99", target))
    rows += bench_dashboard.table_rows(sys.modules[__name__])
    rows += bench_web.table_rows(sys.modules[__name__])
    global CONDITIONS
    cond = []
    for key, get in (("1", lambda: R[1]["best"]["cpu"]), ("2", lambda: R[2]["result"]["cpu"]),
                     ("3", lambda: R[3]["latency"]["cpu"]), ("4", lambda: R[4]["sim"]["cpu"]),
                     ("5", lambda: R[5]["cpu"]), ("6", lambda: R[6]["cpu"])):
        try:
            c = get()
            cond.append(f"row {key} {c['foreign_cores']:.1f}")
        except (KeyError, TypeError):
            pass
    CONDITIONS = ("Cores busy with other work on this machine during the measurements (of "
                  f"{os.cpu_count()}): " + ", ".join(cond) + ".") if cond else ""
    head = ("Row", "Metric", "Hotline", "Raw limit (same run)", "Ratio", "Target")
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(r) + " |")
    return "\n".join(lines)


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    os.makedirs(RESULTS_DIR, exist_ok=True)
    started = time.monotonic()
    errors = {}
    plan = [("1", row1), ("2", row2), ("1", row1_raw), ("2", row2_raw), ("3", row3), ("4", row4),
            ("5", row5), ("6", row6), ("7", row7), ("8", row8),
            ("9", row9), ("10", row10), ("11", row11)]
    plan.append(("12", bench_web.row12))
    for key, fn in plan:
        if key not in ROWS or (fn is row1_raw and 1 not in R):
            continue
        t = time.monotonic()
        try:
            log(fn.__doc__.splitlines()[0] if fn.__doc__ else fn.__name__)
            fn()
            if fn is row1 and "2" not in ROWS:
                R.pop("_ward1").stop()      # the raw limits run alone
        except Exception as e:  # report, and go on with the next row
            errors[key] = str(e)[-2000:]
            log(f"row {key} FAILED: {e}")
        finally:
            if fn is not row1:
                R.pop("_ward1", None)
            for n in NODES:
                if n is not R.get("_ward1"):
                    n.stop()
        log(f"  ({time.monotonic() - t:.0f} s)")
    R.pop("_ward1", None)
    elapsed = time.monotonic() - started
    when = datetime.datetime.now().astimezone()
    result = {"when": when.isoformat(timespec="seconds"), "quick": QUICK, "elapsed_s": round(elapsed, 1),
              "machine": machine(), "params": P, "rows": {str(k): v for k, v in R.items()},
              "errors": errors, "build_note": os.environ.get("BENCH_BUILD_NOTE", "")}
    text = json.dumps(result, indent=2, ensure_ascii=False, default=str)
    with open(os.path.join(RESULTS_DIR, "latest.json"), "w") as f:
        f.write(text)
    with open(os.path.join(RESULTS_DIR, when.strftime("%Y%m%d-%H%M%S") + ".json"), "w") as f:
        f.write(text)
    m = result["machine"]
    md = table()
    desc = (f"Machine: {m['nproc']} CPU ({m['cpu']}), {m['memory_mb']:,} MB RAM, disk {m['disk']},"
            f" Linux {m['kernel']}; libzmq {m['versions'].get('libzmq')}, czmq {m['versions'].get('libczmq')},"
            f" SQLite {m['versions'].get('sqlite3')}. Run {result['when']}"
            f"{' (BENCH_QUICK=1)' if QUICK else ''}, {elapsed:.0f} s. {CONDITIONS}")
    print()
    print(md)
    print()
    print(desc)
    if errors:
        print("\nRows that failed: " + ", ".join(sorted(errors)))
        for k, v in sorted(errors.items()):
            print(f"  row {k}: {v.splitlines()[0] if v else ''}")
    print(f"\nJSON: {os.path.relpath(os.path.join(RESULTS_DIR, 'latest.json'), ROOT)}")
    if not QUICK and set(ROWS) >= {"1", "2", "3", "4", "5", "6", "7"}:
        write_md(md, desc, errors, when.strftime("%Y%m%d-%H%M%S") + ".json")
    return 0


def write_md(md, desc, errors, json_name):
    """tests/bench/RESULTS.md: the table, the machine, and the notes kept below
    the marker line (hand-written analysis survives re-runs)."""
    marker = "<!-- notes: kept across runs -->"
    notes = ""
    if os.path.exists(RESULTS_MD):
        with open(RESULTS_MD) as f:
            old = f.read()
        if marker in old:
            notes = old.split(marker, 1)[1]
    with open(RESULTS_MD, "w") as f:
        f.write("# Hotline benchmark results (`make bench`)\n\n")
        f.write("Latest full run, written by tests/bench/bench.py. Each row's raw limit was measured"
                " in the same run, on the same disk and loopback. JSON of this run:"
                f" build-bench/bench-results/{json_name} (latest.json is the newest run of any kind).\n\n")
        f.write(md + "\n\n" + desc + "\n")
        if errors:
            f.write("\nRows that failed in this run: " + ", ".join(sorted(errors)) + "\n")
        f.write("\n" + marker + notes)


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        for n in NODES:
            try:
                n.stop()
            except Exception:
                pass
