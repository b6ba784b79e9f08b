"""Deadline warnings and breaches, through real processes, on an accelerated
clock (HOTLINE_CLOCK_FILE: a test jumps minutes or hours in one write).

No timing assertions: a firing is awaited, never timed. "Not early" is
proved by order instead: the watcher fires due entries in fire-time order,
so once a firing due at T is in the log, nothing due before T can still be
pending, and nothing due after the clock can have fired.

Default procedure figures used here (deploy/config/procedure.conf), all
counted from receipt, warning at 75%:
    inform_leaders  normal 15m (warn 11m15s)   urgent 5m  (warn 3m45s)
    route           normal 2h  (warn 1h30m)    urgent 30m (warn 22m30s)
    verify          normal 24h (warn 18h)      urgent 4h  (warn 3h)
"""
import re
import sqlite3

import pytest

from conftest import wait_for

NODE = ("archive", "intake", "deadline-watcher")
MIN = 60_000
HOUR = 60 * MIN


@pytest.fixture
def node(node_factory):
    return node_factory(services=NODE).start()


def firings(node, case):
    """Deadline events of a case, in log order: (kind, deadline, event)."""
    out = []
    for e in node.show(case)["history"]:
        if e["action"] in ("deadline_warn", "deadline_breach"):
            out.append((e["action"][len("deadline_"):], e["args"]["deadline"], e))
    return out


def kinds(node, case):
    return [(kind, name) for kind, name, _ in firings(node, case)]


def wait_fired(node, case, kind, name, timeout=20):
    wait_for(lambda: (kind, name) in kinds(node, case), timeout=timeout,
             what=f"{kind} of {name} for {case}")


def deadlines(node, case):
    return {d["name"]: d for d in node.show(case)["deadlines"]}


def watcher_has(node, *cases):
    """The watcher's store holds every deadline the archive shows for cases."""
    try:
        for case in cases:
            want = len(node.show(case)["deadlines"])
            got = node.query("deadline-watcher",
                             "SELECT count(*) FROM deadlines WHERE case_id = ?", case)[0][0]
            if want == 0 or got != want:
                return False
        return True
    except (sqlite3.OperationalError, AssertionError):
        return False


def watcher_caught_up(node):
    head = node.query("archive", "SELECT coalesce(max(seq), 0) FROM log")[0][0]
    try:
        rows = node.query("deadline-watcher", "SELECT seq FROM hop_cursor WHERE stream = 'log'")
    except sqlite3.OperationalError:
        return False
    return rows and rows[0][0] == head


def submit_all(node, *specs):
    cases = [node.submit(**spec) for spec in specs]
    for case in cases:
        node.wait_archived(case)
    wait_for(lambda: watcher_has(node, *cases), what="watcher has the deadlines")
    return cases


def sent_lines(node, case, name, what):
    """Watcher log lines reporting a firing it got accepted."""
    pattern = re.compile(rf"case={re.escape(case)} .*deadline {name} {what}")
    return len([l for l in node.log("deadline-watcher").splitlines() if pattern.search(l)])


def test_due_times_follow_the_regime(node):
    normal, urgent = submit_all(node, {}, {"urgent": True})
    for case, minutes in ((normal, (15, 120, 24 * 60)), (urgent, (5, 30, 4 * 60))):
        view = node.show(case)
        received = view["received_ms"]
        d = deadlines(node, case)
        for name, m in zip(("inform_leaders", "route", "verify"), minutes):
            assert d[name]["due_ms"] == received + m * MIN, (case, name)
            assert d[name]["warn_ms"] == received + m * MIN * 75 // 100, (case, name)
            assert d[name]["status"] == "running" and d[name]["met_ms"] is None


def test_warn_then_breach_each_exactly_once_at_their_moment(node):
    urgent, normal = submit_all(node, {"urgent": True}, {})

    node.advance(4 * MIN)                               # urgent warn (3m45s) is due
    wait_fired(node, urgent, "warn", "inform_leaders")
    assert kinds(node, urgent) == [("warn", "inform_leaders")]
    assert kinds(node, normal) == []

    node.advance(2 * MIN)                               # 6m: urgent breach (5m) due
    wait_fired(node, urgent, "breach", "inform_leaders")
    assert kinds(node, urgent) == [("warn", "inform_leaders"), ("breach", "inform_leaders")]
    assert kinds(node, normal) == []                    # its warning is at 11m15s

    node.advance(6 * MIN)                               # 12m
    wait_fired(node, normal, "warn", "inform_leaders")
    assert kinds(node, normal) == [("warn", "inform_leaders")]

    node.advance(4 * MIN)                               # 16m
    wait_fired(node, normal, "breach", "inform_leaders")
    assert kinds(node, normal) == [("warn", "inform_leaders"), ("breach", "inform_leaders")]
    assert kinds(node, urgent) == [("warn", "inform_leaders"), ("breach", "inform_leaders")]

    # Each firing names its instance and due time, as the deadlines show them
    for case in (urgent, normal):
        d = deadlines(node, case)["inform_leaders"]
        assert d["warned"] and d["breached"] and d["status"] == "overdue"
        for kind, name, event in firings(node, case):
            assert event["actor"] == "system:deadline-watcher"
            assert int(event["args"]["started_seq"]) == d["started_seq"]
            assert int(event["args"]["due_ms"]) == d["due_ms"]
            assert event["from"] == event["to"] == "received"
    # And the watcher itself sent each once (no retries hidden by intake)
    wait_for(lambda: watcher_caught_up(node), what="watcher caught up")
    for case in (urgent, normal):
        assert sent_lines(node, case, "inform_leaders", "warning sent") == 1
        assert sent_lines(node, case, "inform_leaders", "breached") == 1


def test_nothing_fires_for_a_case_past_the_state(node):
    urgent, normal = submit_all(node, {"urgent": True}, {})
    # The officer informs the leaders and routes the normal case at once:
    # its inform_leaders and route deadlines are met; verify keeps running
    node.cli("inform_leaders", normal)
    node.cli("route", normal, "--to", "ward", "--reason", "thuộc thẩm quyền phường")
    node.wait_archived(normal, "routed_ward")
    d = deadlines(node, normal)
    assert d["inform_leaders"]["status"] == "met" and d["route"]["status"] == "met"
    assert d["verify"]["status"] == "running"

    node.advance(3 * HOUR + 5 * MIN)
    # The urgent case's verify warning (3h) comes after the normal case's
    # route warning and breach (1h30m, 2h) in fire order: once it is in the
    # log, those were met, checked and dropped
    wait_fired(node, urgent, "warn", "verify")
    assert kinds(node, urgent) == [("warn", "inform_leaders"), ("breach", "inform_leaders"),
                                   ("warn", "route"), ("breach", "route"), ("warn", "verify")]
    assert kinds(node, normal) == []

    node.advance(21 * HOUR)                             # past the normal verify (24h)
    wait_fired(node, normal, "breach", "verify")
    assert kinds(node, normal) == [("warn", "verify"), ("breach", "verify")]


def test_kill_9_between_warn_and_breach_still_exactly_once(node):
    # submitted in this order, so M's firings come before N's at equal offsets
    urgent, moved, normal = submit_all(node, {"urgent": True}, {}, {})

    node.advance(4 * MIN)
    wait_fired(node, urgent, "warn", "inform_leaders")
    wait_for(lambda: watcher_caught_up(node), what="watcher caught up")
    node.kill("deadline-watcher")                       # SIGKILL

    # While it is down: the urgent breach (5m), and both the warning and the
    # breach of the normal cases (11m15s, 15m) fall due; one normal case is
    # taken past its state before the watcher is back
    node.advance(12 * MIN)                              # 16m
    node.cli("inform_leaders", moved)
    node.wait_archived(moved, "leaders_informed")

    node.start("deadline-watcher")
    wait_fired(node, urgent, "breach", "inform_leaders")
    wait_fired(node, normal, "breach", "inform_leaders")
    # Exactly once each, warning before breach even when both were due
    assert kinds(node, urgent) == [("warn", "inform_leaders"), ("breach", "inform_leaders")]
    assert kinds(node, normal) == [("warn", "inform_leaders"), ("breach", "inform_leaders")]
    seqs = [e["seq"] for _, _, e in firings(node, normal)]
    assert seqs[0] < seqs[1]
    # The moved case's deadline was met (late) before the watcher came back:
    # intake refused those firings and nothing reached the log
    assert kinds(node, moved) == []
    assert deadlines(node, moved)["inform_leaders"]["status"] == "met_late"
    wait_for(lambda: watcher_caught_up(node), what="watcher caught up")
    assert sent_lines(node, urgent, "inform_leaders", "warning sent") == 1

    # Once more: killed again and restarted with nothing due, nothing fires
    node.kill("deadline-watcher")
    node.start("deadline-watcher")
    node.advance(10 * MIN)                              # 26m: urgent route warn (22m30s)
    wait_fired(node, urgent, "warn", "route")
    assert kinds(node, urgent) == [("warn", "inform_leaders"), ("breach", "inform_leaders"),
                                   ("warn", "route")]
    assert kinds(node, normal) == [("warn", "inform_leaders"), ("breach", "inform_leaders")]
    assert kinds(node, moved) == []


def test_intake_down_firings_wait_and_are_not_lost(node):
    urgent, = submit_all(node, {"urgent": True})
    node.kill("intake")
    node.advance(6 * MIN)                               # warn and breach both due
    wait_for(lambda: "intake unavailable" in node.log("deadline-watcher"), timeout=30,
             what="watcher noticing intake is down")
    node.start("intake")
    wait_fired(node, urgent, "breach", "inform_leaders", timeout=30)
    assert kinds(node, urgent) == [("warn", "inform_leaders"), ("breach", "inform_leaders")]


def test_restart_rebuilds_from_the_store(node):
    cases = submit_all(node, *[{"urgent": True} if i % 2 == 0 else {} for i in range(6)])
    wait_for(lambda: watcher_caught_up(node), what="watcher caught up")
    node.kill("deadline-watcher")
    node.start("deadline-watcher")
    def loaded():
        return re.findall(r"loaded (\d+) open deadline\(s\), (\d+) pending",
                          node.log("deadline-watcher"))
    wait_for(lambda: len(loaded()) == 2, what="watcher restarted")
    # 6 cases x 3 running deadlines, each with a warning and a breach pending
    assert loaded() == [("0", "0"), ("18", "36")]
    node.advance(25 * HOUR)                             # everything is due
    for case in cases:
        wait_fired(node, case, "breach", "verify")
    for case in cases:
        assert kinds(node, case) == [("warn", "inform_leaders"), ("breach", "inform_leaders"),
                                     ("warn", "route"), ("breach", "route"),
                                     ("warn", "verify"), ("breach", "verify")]


def test_heap_selftest():
    import os
    import subprocess
    from conftest import BUILD
    result = subprocess.run([os.path.join(BUILD, "hotline-deadline-watcher"), "--selftest"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "OK" in result.stdout, result.stdout + result.stderr
