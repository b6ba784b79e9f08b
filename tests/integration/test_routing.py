"""Routing by jurisdiction (thẩm quyền), through real processes.

Once the leaders are informed, hotline-routing applies the rules of
routing.conf and records "route ward" or "route department" with the rule
that decided, as system:routing. An officer who routes first wins; intake
being down only delays the decision; nothing is routed twice.
"""
import json
import os
import sqlite3
import subprocess

import pytest

from conftest import BUILD, wait_for

NODE = ("archive", "intake", "routing")


def routes(node, case):
    """The route events of a case: (actor, variant, reason) ([] while the
    archive has not got the case yet)."""
    result = node.cli("show", case, "--json", check=False)
    if result.returncode != 0:
        return []
    return [(e["actor"], e.get("variant", ""), e.get("args", {}).get("reason", ""))
            for e in json.loads(result.stdout)["history"] if e["action"] == "route"]


def inform(node, case):
    node.cli("inform_leaders", case)


def routed(node, case, timeout=20):
    """Wait until the case has left the routable state; return its route events."""
    wait_for(lambda: routes(node, case), timeout=timeout, what=f"{case} routed")
    return routes(node, case)


def caught_up(node, service):
    """The service has applied the whole log (its durable cursor = log head)."""
    head = node.query("archive", "SELECT coalesce(max(seq), 0) FROM log")[0][0]
    try:
        rows = node.query(service, "SELECT seq FROM hop_cursor WHERE stream = 'log'")
    except sqlite3.OperationalError:
        return False                # not created yet
    return rows and rows[0][0] == head


@pytest.fixture
def node(node_factory):
    return node_factory(services=NODE).start()


RULES = [
    # (report fields, variant, reason) against deploy/config/routing.conf
    ({"scope": "beyond_city"}, "department", "rule 1: scope beyond_city"),
    ({"scope": "several_wards"}, "department", "rule 1: scope several_wards"),
    ({"polluter_category": "industrial_zone"}, "department",
     "rule 2: polluter_category industrial_zone"),
    ({"sudden": True, "description": "Phát hiện TRÀN DẦU loang trên sông Lạch Tray"},
     "department", 'rule 3: sudden yes, keyword "tràn dầu"'),
    # the keyword without "sudden": the rule needs both
    ({"description": "Vết tràn dầu cũ ở bãi xe"}, "ward", "default: no rule matched"),
    ({"scope": "within_ward", "type": "noise", "description": "Karaoke đến 2 giờ sáng"},
     "ward", "default: no rule matched"),
]


@pytest.fixture(scope="class")
def rules_node(class_node_factory):
    """One node for every rule: each case is its own and routed on its own."""
    return class_node_factory(services=NODE).start()


class TestRules:
    @pytest.mark.parametrize("fields,variant,reason", RULES,
                             ids=[f"{i}-{r[1]}" for i, r in enumerate(RULES)])
    def test_rules_decide_and_the_reason_is_recorded(self, rules_node, fields, variant, reason):
        node = rules_node
        case = node.submit(**fields)
        inform(node, case)
        assert routed(node, case) == [("system:routing", variant, reason)]
        view = node.show(case)
        assert view["state"] == ("forwarded" if variant == "department" else "routed_ward")


def test_nothing_routes_before_the_leaders_are_informed(node):
    early = node.submit(scope="beyond_city")
    later = node.submit(scope="beyond_city")
    inform(node, later)
    routed(node, later)
    # routing has seen every event, early's submit included, and left it alone
    wait_for(lambda: caught_up(node, "routing"), what="routing caught up")
    assert routes(node, early) == []
    assert node.show(early)["state"] == "received"


def test_officer_override_wins_and_routing_treats_409_as_handled(node_factory):
    node = node_factory(services=("archive", "intake")).start()
    case = node.submit(scope="beyond_city")           # the rules would say department
    inform(node, case)
    node.cli("route", case, "--to", "ward", "--reason", "phường tự xác minh")
    node.start("routing")
    wait_for(lambda: caught_up(node, "routing"), what="routing caught up")
    # Needs the procedure to let the SYSTEM route only from the state where
    # leaders are informed: if "system" may also "route department" from
    # routed_ward, intake accepts routing's late decision over the officer's.
    assert routes(node, case) == [("officer:test", "ward", "phường tự xác minh")], \
        "routing overrode the officer: the procedure lets the system re-route a routed case"
    assert node.show(case)["state"] == "routed_ward"
    decisions = node.query("routing", "SELECT variant, reason, code FROM routing_decisions"
                                      " WHERE case_id = ?", case)
    assert len(decisions) == 1 and decisions[0][:2] == ("department", "rule 1: scope beyond_city")
    assert decisions[0][2] in (403, 409)        # refused: the case had moved on
    assert node.alive("routing")


def test_routed_once_even_when_the_state_allows_it_again(node):
    # routed_ward and verifying also allow "route department" for the system;
    # routing must not second-guess the decision (or a person's) later on
    case = node.submit(type="noise")
    inform(node, case)
    assert routed(node, case) == [("system:routing", "ward", "default: no rule matched")]
    node.cli("assign", case, "--to", "specialist:hoa", actor="leader:minh")
    node.cli("consult", case, "--with", "Sở Xây dựng", "--note", "hỏi ý kiến")
    wait_for(lambda: caught_up(node, "routing"), what="routing caught up")
    assert len(routes(node, case)) == 1
    assert node.show(case)["state"] == "verifying"
    # and what it kept of the report is gone once the case is routed
    rows = node.query("routing", "SELECT description, done_ms IS NOT NULL FROM routing_cases"
                                 " WHERE case_id = ?", case)
    assert rows == [(None, 1)]


def test_intake_down_delays_routing_and_nothing_is_lost_or_doubled(node_factory):
    node = node_factory(services=("archive", "intake")).start()
    case = node.submit(scope="several_wards")
    inform(node, case)
    node.wait_archived(case, "leaders_informed")
    node.kill("intake")
    node.start("routing")
    wait_for(lambda: "intake unavailable" in node.log("routing"), timeout=30,
             what="routing noticing intake is down")
    node.start("intake")
    assert routed(node, case, timeout=30) == [
        ("system:routing", "department", "rule 1: scope several_wards")]
    wait_for(lambda: caught_up(node, "routing"), what="routing caught up")
    assert len(routes(node, case)) == 1
    assert node.alive("routing")


def test_kill_9_and_restart_does_not_route_twice(node):
    cases = [node.submit(scope="beyond_city" if i % 2 else "within_ward") for i in range(6)]
    for case in cases[:3]:
        inform(node, case)
    for case in cases[:3]:
        routed(node, case)
    node.kill("routing")
    for case in cases[3:]:
        inform(node, case)
    node.start("routing")
    for case in cases[3:]:
        routed(node, case)
    wait_for(lambda: caught_up(node, "routing"), what="routing caught up")
    for i, case in enumerate(cases):
        assert routes(node, case) == [("system:routing", "department" if i % 2 else "ward",
                                       "rule 1: scope beyond_city" if i % 2
                                       else "default: no rule matched")]


def test_rules_come_from_the_configured_file(node_factory, tmp_path):
    rules = tmp_path / "rules.conf"
    rules.write_text("# noise is the Department's here\n"
                     "rule department type=noise urgent=yes\n"
                     "rule department keyword=\"KHÓI ĐEN\"\n"
                     "default ward\n", encoding="utf-8")
    node = node_factory(services=NODE, extra=f"routing\n    rules = {rules}\n").start()
    loud = node.submit(type="noise", urgent=True)
    smoke = node.submit(type="air_emissions", description="Ống khói xả khói đen đặc cả ngày")
    water = node.submit(scope="beyond_city")          # rule 1 of the default file, not here
    for case in (loud, smoke, water):
        inform(node, case)
    assert routed(node, loud) == [("system:routing", "department", "rule 1: type noise, urgent yes")]
    assert routed(node, smoke) == [("system:routing", "department", 'rule 2: keyword "KHÓI ĐEN"')]
    assert routed(node, water) == [("system:routing", "ward", "default: no rule matched")]


@pytest.mark.parametrize("text,line", [
    ("rule department scope=galaxy\ndefault ward\n", 1),
    ("default ward\nrule nowhere type=noise\n", 2),
    ("rule department type=noise\n", None),
])
def test_invalid_rules_refuse_to_start_and_name_the_line(node_factory, tmp_path, text, line):
    rules = tmp_path / "bad.conf"
    rules.write_text(text, encoding="utf-8")
    node = node_factory(services=NODE, extra=f"routing\n    rules = {rules}\n")
    result = subprocess.run([os.path.join(BUILD, "hotline-routing"), "-c", node.config],
                            env=node.env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    where = f"{rules}:{line}:" if line else f"{rules}:"
    assert where in result.stderr, result.stderr


def test_city_routes_its_own_reports_to_the_department(node_factory):
    """At the city every case is the Department's (deploy/config/routing-city.conf)."""
    rules = os.path.join(os.path.dirname(__file__), "..", "..", "deploy", "config", "routing-city.conf")
    city = node_factory(name="city", role="city", ward_code="",
                        services=("archive", "intake", "routing"), node_extra="    city_code = 31\n",
                        extra=f"federation\n    plaintext = 1\nrouting\n    rules = {os.path.abspath(rules)}\n")
    city.start()
    case = city.cli("submit", "--phone", "0912345678", "--type", "waste_water",
                    "--location", "Sông Cấm", "--description", "Nước thải từ khu công nghiệp",
                    actor="department:lan").stdout.strip()
    assert case.startswith("31-")
    city.cli("inform_leaders", case, actor="officer:lan")
    city.wait_archived(case, "forwarded")
    assert [(r[0], r[1]) for r in routes(city, case)] == [("system:routing", "department")]


def test_rules_selftest():
    result = subprocess.run([os.path.join(BUILD, "hotline-routing"), "--selftest"],
                            capture_output=True, text=True, timeout=60,
                            cwd=os.path.join(os.path.dirname(__file__), "..", ".."))
    assert result.returncode == 0 and "OK" in result.stdout, result.stdout + result.stderr
