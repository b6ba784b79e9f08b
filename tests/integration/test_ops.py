"""Health, readiness, status and metrics of every service over HTTP;
`hotline status`; bind addresses apart from connect addresses."""
import json
import os
import re
import subprocess
import urllib.error
import urllib.request

from conftest import BUILD, wait_for

SERVICES = ("intake", "archive", "routing", "deadline-watcher", "notification")   # base+11 ...


def get(ward, service, path):
    port = ward.base + 11 + SERVICES.index(service)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def ready(ward, service):
    """Is the service's /readyz 200? A service whose HTTP port is not bound
    yet (it starts after intake answers, slowly under load) is not ready."""
    try:
        return get(ward, service, "/readyz")[0] == 200
    except urllib.error.URLError:
        return False


def metrics(ward, service):
    """{name: value} of the samples of one service (histogram series by full name)."""
    code, text = get(ward, service, "/metrics")
    assert code == 200
    values = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        match = re.match(r'^([a-z_]+)(\{[^}]*\})? (\S+)$', line)
        assert match, f"not Prometheus text: {line!r}"
        labels = match.group(2) or ""
        assert f'service="{service}"' in labels and f'node="{ward.name}"' in labels
        le = re.search(r'le="([^"]+)"', labels)
        values[match.group(1) + (f"[{le.group(1)}]" if le else "")] = float(match.group(3))
    return values


def status(ward, *args):
    return subprocess.run([os.path.join(BUILD, "hotline"), "--endpoint", ward.endpoint, "status", *args],
                          env=ward.env, capture_output=True, text=True, timeout=60)


def test_probes_and_metrics_match_the_work(full_ward):
    ward = full_ward
    for service in SERVICES:
        wait_for(lambda: ready(ward, service), what=f"{service} ready")
        assert get(ward, service, "/healthz") == (200, "ok\n")
        assert get(ward, service, "/nope")[0] == 404
    before = metrics(ward, "intake")
    cases = [ward.submit(request_id=f"ops-{i}") for i in range(5)]
    ward.submit(request_id="ops-0")             # a retry: no new case, no new event
    for case in cases:
        ward.wait_archived(case, "routed_ward")
    after = metrics(ward, "intake")
    assert after["hotline_cases_received_total"] - before.get("hotline_cases_received_total", 0) == 5
    events = ward.query("intake", "SELECT count(*) FROM log WHERE case_id <> ''")[0][0]
    assert after["hotline_events_written_total"] == events      # submit, inform_leaders, route
    assert after["hotline_ack_latency_seconds_count"] >= 5
    assert after["hotline_ack_latency_seconds_bucket[+Inf]"] == after["hotline_ack_latency_seconds_count"]
    routing = metrics(ward, "routing")
    assert routing["hotline_routing_decisions_total"] == 5
    # Gauges refresh every second: they settle on the work done
    wait_for(lambda: metrics(ward, "intake").get("hotline_outbox_backlog") == 0, what="backlog 0")
    wait_for(lambda: metrics(ward, "archive").get("hotline_open_cases") == 5, what="5 open cases")
    wait_for(lambda: metrics(ward, "routing").get("hotline_consumer_lag") == 0, what="routing lag 0")
    seq = ward.query("intake", "SELECT max(seq) FROM log")[0][0]
    wait_for(lambda: metrics(ward, "intake").get("hotline_intake_log_seq") == seq, what="log seq gauge")

    code, text = get(ward, "archive", "/status")
    doc = json.loads(text)
    assert code == 200 and doc["service"] == "archive" and doc["node"] == ward.name
    assert doc["state"] == "running" and doc["ready"] is True and doc["role"] == "ward"
    assert doc["queues"]["hotline_open_cases"] == 5
    assert doc["version"] and doc["uptime_s"] >= 0 and doc["last_error"] == ""


def test_hotline_status(full_ward):
    ward = full_ward
    for service in SERVICES:
        wait_for(lambda: ready(ward, service), what=f"{service} ready")
    result = status(ward)
    assert result.returncode == 0, result.stdout + result.stderr
    for service in SERVICES:
        assert re.search(rf"^{service} +up ", result.stdout, re.M), result.stdout
    rows = json.loads(status(ward, "--json").stdout)
    assert [r["service"] for r in rows] == list(SERVICES)
    assert all(r["state"] == "up" for r in rows)
    # One service down: the table says so and the exit code is 3
    ward.kill("routing")
    result = status(ward)
    assert result.returncode == 3
    assert re.search(r"^routing +down ", result.stdout, re.M), result.stdout
    assert re.search(r"^intake +up ", result.stdout, re.M)
    # Explicit ports
    result = status(ward, "--http-base", str(ward.base + 11), "--services", "intake archive")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "routing" not in result.stdout


def test_bind_address_apart_from_connect_address(node_factory):
    """A service binds bind/<key> (here every interface) while the others
    connect to endpoints/<key>; HTTP can be moved or turned off the same way.
    127.0.0.2 reaches a socket bound to 0.0.0.0, not one bound to 127.0.0.1."""
    ward = node_factory()
    ward.env.update({"HOTLINE_BIND_INTAKE": f"tcp://0.0.0.0:{ward.base + 1}",
                     "HOTLINE_BIND_HTTP_INTAKE": f"tcp://0.0.0.0:{ward.base + 11}",
                     "HOTLINE_ENDPOINTS_HTTP_ROUTING": "off"})
    ward.start()
    other_address = ward.cli("--endpoint", f"tcp://127.0.0.2:{ward.base + 1}", "ping")
    assert other_address.returncode == 0
    with urllib.request.urlopen(f"http://127.0.0.2:{ward.base + 11}/healthz", timeout=5) as answer:
        assert answer.status == 200
    # Not moved: the archive's HTTP stays on 127.0.0.1 only
    assert get(ward, "archive", "/healthz")[0] == 200
    for host, service in (("127.0.0.2", "archive"), ("127.0.0.1", "routing")):
        port = ward.base + 11 + SERVICES.index(service)
        try:
            urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=5)
            assert False, f"{service} answers on {host}"
        except urllib.error.URLError:
            pass


def test_logs_carry_no_personal_data(full_ward):
    """Every service logs logfmt lines with level, service and case; the
    reporter's name, phone, e-mail, address and description never appear."""
    ward = full_ward
    secret = {"name": "Trần Thị Bímật", "phone": "0987654321", "email": "bimat.tran@example.com",
              "address": "Số 99 ngõ Bímật", "description": "Khói đen bímật từ xưởng"}
    case = ward.submit(**secret)
    ward.wait_archived(case, "routed_ward")
    ward.cli("show", case)
    for service in SERVICES:
        log = ward.log(service)
        for field, value in secret.items():
            assert value not in log, f"{service} logged the reporter's {field}"
        for line in log.splitlines():
            assert re.match(r'^ts=\S+ level=(debug|info|warn|error) service=\S+ ', line), line
    assert f"case={case}" in ward.log("intake")


def test_cli_straight_at_the_archive(ward):
    """Operators point the CLI at the archive's query endpoint when intake
    is down: list and show still answer, with times in the node's zone
    (the CLI's zone question, a ping, is answered by the archive too)."""
    case = ward.submit()
    ward.wait_archived(case)
    ward.kill("intake")
    archive = f"tcp://127.0.0.1:{ward.port('archive')}"
    cmd = [os.path.join(BUILD, "hotline"), "--endpoint", archive, "--tries", "1", "--timeout", "5000"]
    shown = subprocess.run(cmd + ["show", case, "--json"], env=ward.env, capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["case_id"] == case
    listed = subprocess.run(cmd + ["list"], env=ward.env, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0 and case in listed.stdout, listed.stderr
