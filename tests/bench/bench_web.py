"""tests/bench/bench_web.py — row 12 of `make bench`: the web API.

    12  the API's case list (GET /api/v1/cases?page=P&per_page=50, default
        order: overdue first, then by next due time) at 100,000 cases at the
        ward, keep-alive HTTP from one client and from 4 at once, p50 / p99;
        against the archive's own list query over ZeroMQ (row 8's client,
        `hotline-bench list --order due`), on the same node, same run
    12  submit through HTTP (POST /api/v1/cases, keep-alive, K in flight)
        against submit through ZeroMQ (row 1's `hotline-bench drive`,
        K clients × 1 in flight) on the same node: cases/s and p50 / p99

The HTTP client is C (`hotline-bench web-list`, `web-submit`: libcurl multi,
one easy handle per keep-alive connection), like the ZeroMQ clients it is
compared with. A Python client (http.client, one connection) is also timed
on the list, into the JSON only (`python_list`), to show the choice of
client does not make the figure.

bench.py calls row12() and table_rows(); both find bench.py's helpers (Node,
R, P, bench(), wait_archived...) as the running __main__ module.
"""
import http.client
import json
import os
import random
import subprocess
import sys
import time

PASSWORD = "bench-web-password-0123456789"

# More connections than the defaults (32 per address) allow, and room for
# the submit's K connections plus the list's 4
WEB_CONFIG = ("web\n"
              "    per_ip_limit = 256\n"
              "    connection_limit = 512\n")


def _b():
    return sys.modules["__main__"]


def _login(port, user):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/api/v1/session", json.dumps({"user": user, "password": PASSWORD}),
                 {"Content-Type": "application/json"})
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        raise RuntimeError(f"login: HTTP {r.status} {body[:200]!r}")
    cookie = r.getheader("Set-Cookie").split(";")[0]
    conn.close()
    return cookie, json.loads(body)["csrf"]


def _python_list(port, cookie, queries, pages):
    """The same pages with Python's http.client over one keep-alive
    connection, JSON decoded: what a Python client would measure."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    samples = []
    for _ in range(queries):
        t = time.perf_counter()
        conn.request("GET", f"/api/v1/cases?page={random.randrange(pages) + 1}&per_page=50",
                     headers={"Cookie": cookie})
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise RuntimeError(f"python list: HTTP {r.status}")
        json.loads(body)
        samples.append((time.perf_counter() - t) * 1000)
    conn.close()
    samples.sort()
    return {"n": len(samples), "p50_ms": samples[len(samples) // 2],
            "p99_ms": samples[min(len(samples) - 1, int(0.99 * len(samples)))]}


def row12():
    """Web API: the case list at 100,000 cases, and submit through HTTP against ZeroMQ."""
    B = _b()
    n = 100000 if not B.QUICK else 10000
    queries = 1000 if not B.QUICK else 200
    seconds, warmup = B.P["seconds"], B.P["warmup"]
    # 4: the web service's worker threads (web/threads), each of which waits for
    # its own call to intake (web_api_call): 16 connections are 4 in flight there
    inflight = [1, 4, 16]
    ward = B.node("r12-ward", extra=WEB_CONFIG)
    ward.start("archive", "intake", "web")
    port = ward.base + 10
    B.wait_for(lambda: B.port_open(port), what="the ward's web service")
    r = subprocess.run([B.CLI, "-c", ward.config, "user", "add", "bench", "--role", "officer",
                        "--password-stdin"], input=PASSWORD + "\n", capture_output=True,
                       text=True, env=ward.env, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"hotline user add: {r.stderr.strip()}")
    # 100,000 cases as row 8 loads them: through intake, then the archive
    best = B.R[1]["best"] if 1 in B.R else {"clients": 16, "depth": 16}
    t = time.monotonic()
    fill = B.bench("drive", "--endpoint", ward.endpoint("intake"), "--tag", "r12",
                   "--clients", best["clients"], "--depth", best["depth"], "--count", n)
    B.wait_archived(ward, timeout=600)
    cases = B.query(ward.db("archive"), "SELECT count(*) FROM cases", default=0)
    B.log(f"row 12: {cases} cases at the ward ({fill['acks_per_s']:.0f} acks/s, archived in"
          f" {time.monotonic() - t:.1f} s)")
    cookie, csrf = _login(port, "bench")
    url = f"http://127.0.0.1:{port}/api/v1/cases"
    out = {"cases": cases, "queries": queries, "page": 50, "pages": 10}

    # The list: the archive over ZeroMQ (row 8's client), then the API
    probe = B.Probe(ward.pids())
    out["zmq_list"] = B.bench("list", "--endpoint", ward.endpoint("archive"), "--queries", queries,
                              "--order", "due", "--text", "", "--limit", 50, "--pages", 10)
    out["zmq_list"]["cpu"] = probe.stop(out["zmq_list"].get("generator_cpu_s", 0))
    for conns in (1, 4):
        probe = B.Probe(ward.pids())
        res = B.bench("web-list", "--url", url, "--cookie", cookie, "--queries", queries,
                      "--conns", conns, "--per-page", 50, "--pages", 10)
        res["cpu"] = probe.stop(res["generator_cpu_s"])
        out[f"http_list_{conns}"] = res
        B.log(f"row 12: GET /api/v1/cases ×{conns}: p50/p99 {res['p50_ms']:.2f}/{res['p99_ms']:.2f} ms,"
              f" {res['per_s']:.0f}/s ({res['rows']} rows, {res['page_bytes']} B),"
              f" {B.cpu_summary(res['cpu'])}")
    # Each API page is two archive queries: the page, and a count of every
    # case matching the filters (the answer's "total"). The count alone,
    # straight from SQLite, is its share of the difference
    out["count_raw"] = B.bench("list-raw", "--db", ward.db("archive"), "--sql",
                               "SELECT count(*) FROM cases WHERE 1", "--queries", min(queries, 200))
    B.log(f"row 12: SELECT count(*) over the {cases} cases, SQLite in-process: p50/p99"
          f" {out['count_raw']['p50_ms']:.2f}/{out['count_raw']['p99_ms']:.2f} ms")
    z = out["zmq_list"]
    B.log(f"row 12: archive list over ZeroMQ p50/p99 {z['p50_ms']:.2f}/{z['p99_ms']:.2f} ms")
    out["python_list"] = _python_list(port, cookie, min(queries, 300), 10)
    B.log(f"row 12: the same pages from a Python client: p50/p99 {out['python_list']['p50_ms']:.2f}/"
          f"{out['python_list']['p99_ms']:.2f} ms")

    # Submit: HTTP against ZeroMQ, at the same number in flight, alternated
    out["submit"] = []
    for k in inflight:
        pair = {"inflight": k}
        for how in ("zmq", "http"):
            B.wait_archived(ward)
            probe = B.Probe(ward.pids())
            if how == "zmq":
                res = B.bench("drive", "--endpoint", ward.endpoint("intake"), "--tag", f"r12z-{k}",
                              "--clients", k, "--depth", 1, "--seconds", seconds, "--warmup", warmup)
                res["per_s"] = res["acks_per_s"]
                res.update({q: res["ack"].get(q) for q in ("p50_ms", "p99_ms")})
            else:
                res = B.bench("web-submit", "--url", url, "--cookie", cookie, "--csrf", csrf,
                              "--tag", f"r12h-{k}", "--conns", k, "--seconds", seconds,
                              "--warmup", warmup)
            res["cpu"] = probe.stop(res["generator_cpu_s"])
            pair[how] = res
            B.log(f"row 12: submit {how} {k} in flight: {res['per_s']:.0f}/s, p50/p99"
                  f" {res['p50_ms']:.2f}/{res['p99_ms']:.2f} ms, {B.cpu_summary(res['cpu'])}")
        out["submit"].append(pair)
    B.R[12] = out


def table_rows(B):
    if 12 not in B.R:
        return []
    r = B.R[12]
    z = r["zmq_list"]
    rows = []
    for conns in (1, 4):
        h = r.get(f"http_list_{conns}")
        if not h:
            continue
        if conns == 1:
            metric = (f"API case list p50 / p99 at {r['cases']:,} cases, page of {r['page']}, default order"
                      f" (keep-alive HTTP, 1 client, pages 1-{r['pages']})")
            met = h["p99_ms"] <= 20
            c = h.get("cpu", {})
            why = (f" (p50 {h['p50_ms']:.1f} ms; other work held {c.get('foreign_cores', 0):.1f} of"
                   f" {os.cpu_count()} cores; RESULTS.md)")
            target = "p99 ≤ 20 ms: " + ("met" if met else "**not met**" + why)
        else:
            metric = f"  the same, {conns} clients at once ({h['per_s']:,.0f} pages/s)"
            target = ""
        rows.append(("12", metric, f"{h['p50_ms']:.2f} / {h['p99_ms']:.2f} ms",
                     f"{z['p50_ms']:.2f} / {z['p99_ms']:.2f} ms (the archive's list query over ZeroMQ)",
                     B.times(h["p99_ms"], z["p99_ms"]) + " at p99", target))
    for pair in r.get("submit", []):
        k, h, zq = pair["inflight"], pair.get("http"), pair.get("zmq")
        if not h or not zq:
            continue
        rows.append(("12", f"Submit through HTTP (POST /api/v1/cases, keep-alive), {k} in flight:"
                           " cases/s; p50 / p99",
                     f"{B.fmt_n(h['per_s'], '/s')}; {h['p50_ms']:.2f} / {h['p99_ms']:.2f} ms",
                     f"{B.fmt_n(zq['per_s'], '/s')}; {zq['p50_ms']:.2f} / {zq['p99_ms']:.2f} ms"
                     f" (submit over ZeroMQ, {k} × 1 in flight)",
                     B.pct(h["per_s"], zq["per_s"]), ""))
    return rows
