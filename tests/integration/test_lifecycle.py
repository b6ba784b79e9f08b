"""Graceful shutdown. SIGTERM to each service of a running ward node
under load: the service exits 0 within 5 s, having finished (or cleanly left
for redelivery) what it had in flight, and no acknowledged case is lost."""
import os
import signal
import subprocess
import threading
import urllib.request

import pytest

from conftest import BUILD, wait_for

CLIENTS = int(os.environ.get("HOTLINE_LIFECYCLE_CLIENTS", "3"))
PER_CLIENT = int(os.environ.get("HOTLINE_LIFECYCLE_CASES", "120"))
ORDER = ("intake", "archive", "routing", "deadline-watcher", "notification")
HTTP_ORDER = ("intake", "archive", "routing", "deadline-watcher", "notification")   # base+11 ...


def _terminate(ward, service):
    """SIGTERM one service; its exit code, or a failure if it is still up after 5 s."""
    proc = ward.procs[service]
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{service} still running 5 s after SIGTERM:\n{ward.log(service)[-2000:]}")
    ward.kill(service)          # forget the exited process, close its log
    return rc


def test_sigterm_each_service_under_load(node_factory):
    ward = node_factory().start()
    acked = {}                  # request id -> case number
    lock = threading.Lock()
    errors = []

    def client(n):
        for i in range(PER_CLIENT):
            request_id = f"life-{n}-{i}"
            for _ in range(400):
                result = subprocess.run(
                    [os.path.join(BUILD, "hotline"), "--endpoint", ward.endpoint,
                     "--tries", "1", "--timeout", "1500", "submit", "--request-id", request_id,
                     "--phone", "0912345678", "--type", "noise", "--location", f"Tổ {n}, số {i}",
                     "--description", "Tiếng ồn từ công trường ban đêm"],
                    env=ward.env, capture_output=True, text=True, timeout=30)
                if result.returncode == 0:
                    with lock:
                        if acked.get(request_id, result.stdout.strip()) != result.stdout.strip():
                            errors.append(f"{request_id}: two case numbers")
                        acked[request_id] = result.stdout.strip()
                    break
                if result.returncode != 3:      # 3: unavailable, nothing acknowledged: retry
                    errors.append(f"{request_id}: exit {result.returncode}: {result.stderr}")
                    break
            else:
                errors.append(f"{request_id}: never acknowledged")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    codes = {}
    try:
        for service in ORDER:
            # Let some work through since the last restart, so each SIGTERM
            # lands while cases are flowing through every stage
            with lock:
                target = len(acked) + 10
            wait_for(lambda: len(acked) >= target or not any(t.is_alive() for t in threads),
                     timeout=60, what=f"load before stopping {service}")
            codes[service] = _terminate(ward, service)
            assert "stopping" in ward.log(service), f"{service} did not log a clean stop"
            ward.start(service)
    finally:
        for t in threads:
            t.join()
    assert not errors, errors[:5]
    assert codes == {service: 0 for service in ORDER}, codes
    assert len(acked) == CLIENTS * PER_CLIENT

    # The consumers stopped and restarted mid-stream: each case is informed
    # and routed once (a batch cut short by SIGTERM came again; intake's
    # request ids made any repeat harmless)
    def per_case(action):
        rows = ward.query("archive", "SELECT case_id, count(*) FROM log WHERE action = ? GROUP BY case_id",
                          action)
        return dict(rows)
    cases = sorted(acked.values())
    wait_for(lambda: len(per_case("route")) == len(cases), timeout=60, what="every case routed")
    wait_for(lambda: len(per_case("inform_leaders")) == len(cases), timeout=60,
             what="every case's leaders informed")

    # Every acknowledged case is there exactly once, at intake and in the archive
    def caught_up():
        return (ward.query("intake", "SELECT count(*) FROM log")[0][0]
                == ward.query("archive", "SELECT count(*) FROM log")[0][0])
    wait_for(caught_up, timeout=60, what="archive caught up with intake")
    assert len(set(cases)) == len(cases)
    assert sorted(r[0] for r in ward.query("intake", "SELECT case_id FROM cases")) == cases
    assert sorted(r[0] for r in ward.query("archive", "SELECT case_id FROM cases")) == cases
    assert (ward.query("intake", "SELECT seq, case_id FROM log ORDER BY seq")
            == ward.query("archive", "SELECT origin_seq, case_id FROM log ORDER BY seq"))
    assert set(per_case("route").values()) == {1}
    assert set(per_case("inform_leaders").values()) == {1}


def _ready(ward, service):
    port = ward.base + 11 + HTTP_ORDER.index(service)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def test_sigterm_when_idle_and_right_after_ready(node_factory):
    """An idle node stops at once; so does a service told to stop as soon as
    its readiness probe says yes."""
    ward = node_factory().start()
    ward.submit()
    for service in ORDER:
        assert _terminate(ward, service) == 0
    for service in ORDER:
        ward.start(service)
        wait_for(lambda: _ready(ward, service), what=f"{service} ready")
        assert _terminate(ward, service) == 0
