"""Wards and the city, apart, over CurveZMQ; partitions; crashes."""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.request

import pytest

from conftest import BUILD, ROOT, wait_for
from federation_util import (make_keys, make_city, ward_extra, ward_events, city_events,
                             wait_converged)
from netproxy import Proxy

WARDS = ["31001", "31002", "31003"]
TOTAL = int(os.environ.get("HOTLINE_FED_CASES", "1000"))


def _metric(node, name):
    """One counter of the node archive's /metrics (base+12); 0 while it does
    not exist."""
    with urllib.request.urlopen(f"http://127.0.0.1:{node.base + 12}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    match = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def _submit_many(ward, code, count, department_every=10, start=0):
    """Submit count cases; returns {case: (name, phone, department?)}."""
    out = {}
    for i in range(start, start + count):
        department = department_every and i % department_every == 0
        name = f"Người Báo Tin {code}-{i} Bí Mật"
        phone = f"09{int(code) % 100:02d}{i:06d}"
        result = subprocess.run(
            [os.path.join(BUILD, "hotline"), "--endpoint", ward.endpoint, "submit",
             "--name", name, "--phone", phone, "--type", "waste_water",
             "--scope", "beyond_city" if department else "within_ward",
             "--location", f"Tổ {i % 40}, phường {code}",
             "--description", "Nước thải có mùi hắc chảy ra cống",
             "--request-id", f"fed-{code}-{i}"],
            env=ward.env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        out[result.stdout.strip()] = (name, phone, department)
    return out


def test_three_wards_and_a_city(node_factory, tmp_path, smtp_sink):
    keys = make_keys(tmp_path, WARDS)
    city = make_city(node_factory, keys, services=("archive", "intake", "routing", "notification"),
                     extra=f"notify\n    smtp_url = smtp://127.0.0.1:{smtp_sink.port}\n").start()
    wards = {code: node_factory(name=f"ward-{code}", ward_code=code, ward_name=f"Phường {code}",
                                extra=ward_extra(city, keys, code, smtp_port=smtp_sink.port)).start()
             for code in WARDS}
    cases = {}
    lock = threading.Lock()

    def load(code):
        submitted = _submit_many(wards[code], code, TOTAL // len(WARDS) + (1 if code == WARDS[0] else 0))
        with lock:
            cases.update({c: (code, *v) for c, v in submitted.items()})
    threads = [threading.Thread(target=load, args=(code,)) for code in WARDS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cases) >= TOTAL

    # The city holds exactly the wards' events: compare the sets
    forwarded = {c for c, v in cases.items() if v[3]}
    for code, ward in wards.items():
        mine = [c for c, v in cases.items() if v[0] == code]
        department = [c for c in mine if cases[c][3]]
        # quiet first: every case informed and routed (to the ward or the Department)
        wait_for(lambda: ward.query("archive", "SELECT count(*) FROM cases WHERE state = 'forwarded'")[0][0]
                 == len(department) and
                 ward.query("archive", "SELECT count(*) FROM cases WHERE state = 'routed_ward'")[0][0]
                 == len(mine) - len(department),
                 timeout=180, what=f"ward {code} informed and routed every case")
    wait_converged(city, wards, timeout=120)
    for code, ward in wards.items():
        assert ward_events(ward) == city_events(city, code)
    city_cases = {r[0] for r in city.query("archive", "SELECT case_id FROM cases WHERE ward <> '31'")}
    assert city_cases == set(cases)
    # ... and the city's view of each ward case is the ward's own
    for code, ward in wards.items():
        assert set(ward.query("archive", "SELECT case_id, state FROM cases")) == \
            set(city.query("archive", "SELECT case_id, state FROM cases WHERE ward = ?", code))

    # Department cases: one per forwarded case, linked; the Department's work
    # flows back to the ward that sent it
    wait_for(lambda: {r[0] for r in city.query(
        "archive", "SELECT origin_case FROM cases WHERE origin_case <> ''")} == forwarded,
        timeout=120, what="a Department case for every forwarded case")
    sample = sorted(forwarded)[:3]
    for ward_case in sample:
        dept = city.query("archive", "SELECT case_id FROM cases WHERE origin_case = ?", ward_case)[0][0]
        wait_for(lambda: city.query("archive", "SELECT state FROM cases WHERE case_id = ?", dept)[0][0]
                 == "forwarded", what="Department case routed to the Department")
        city.cli("assign", dept, "--to", "chi-cuc-bvmt", actor="department:hoa")
        city.cli("verify", dept, "--result", "accurate", "--note", "Đã kiểm tra, đúng phản ánh",
                 actor="department:hoa")
        code = cases[ward_case][0]
        wait_for(lambda: wards[code].show(ward_case).get("department_state") == "verified_accurate",
                 timeout=30, what="the ward sees the Department's work")
        view = wards[code].show(ward_case)
        actions = [(h["action"], h.get("origin")) for h in view["history"]]
        assert ("verify", "city") in actions and ("assign", "city") in actions
        assert "Đã kiểm tra, đúng phản ánh" in wards[code].cli("show", ward_case).stdout

    # Confidentiality: no personal data of ward-handled cases at the city, in
    # any of its files (grep the raw bytes, WAL and evidence/ included)
    blobs = b""
    for folder, _, names in os.walk(city.data):
        for name in names:
            with open(os.path.join(folder, name), "rb") as f:
                blobs += f.read()
    for case, (code, name, phone, department) in cases.items():
        if department:
            continue
        assert name.encode() not in blobs, f"{case}: reporter name reached the city"
        assert phone.encode() not in blobs, f"{case}: reporter phone reached the city"
    # ... and the Department does get the reporter of the cases it must answer
    some = sorted(forwarded)[0]
    assert cases[some][2].encode() in blobs

    # City-wide views cover every ward, with a filter by ward
    assert len(city.list("--ward", "31002", "--limit", "5000")) == \
        len([c for c, v in cases.items() if v[0] == "31002"])
    report = city.cli("report", "--from", "2000-01-01", "--to", "2099-12-31", "--format", "json")
    data = json.loads(report.stdout)
    assert data["by"] == "ward"
    by_ward = {row["ward"]: row["received"] for row in data["rows"]}
    for code in WARDS:
        assert by_ward[code] == len([c for c, v in cases.items() if v[0] == code])
    # each case once: a forwarded case's Department case is in the
    # Department's row, not counted again in the total
    assert by_ward["31"] == len(forwarded)
    assert data["totals"]["received"] == len(cases) == sum(by_ward[code] for code in WARDS)
    # the focal-points directory of every ward reached the city
    units = {row["ward"] for row in data["focal_points"]}
    assert set(WARDS) <= units


def test_partition_heals_and_city_crash_loses_nothing(node_factory, tmp_path):
    keys = make_keys(tmp_path, ["31001"])
    city = make_city(node_factory, keys, services=("archive", "intake")).start()
    link = Proxy(city.port("federation")).start()
    back = Proxy(city.port("federation_return")).start()
    try:
        ward = node_factory(extra=ward_extra(city, keys, "31001", port=link.port,
                                             return_port=back.port),
                            services=("archive", "intake")).start()
        _submit_many(ward, "31001", 30, department_every=0)
        wait_converged(city, {"31001": ward})

        # Cut the link: the ward keeps accepting cases
        link.cut()
        back.cut()
        during = _submit_many(ward, "31001", 200, department_every=0, start=1000)
        assert len(during) == 200
        assert not set(during) & {r[0] for r in city.query("archive", "SELECT case_id FROM cases")}
        link.heal()
        back.heal()
        wait_converged(city, {"31001": ward})

        # Backlogs, and the city archive killed with -9 as it catches up
        rng = random.Random(int(os.environ.get("HOTLINE_SEED", "174")))
        backlog = set()
        partial = 0
        for round in range(3):
            link.cut()
            backlog |= set(_submit_many(ward, "31001", 250, department_every=0,
                                        start=5000 + 1000 * round))
            target = len(ward_events(ward))
            link.heal()
            time.sleep(rng.uniform(0.0, 0.05))
            city.kill("archive")
            held = len(city_events(city, "31001"))
            partial += held < target
            city.start("archive")
        wait_converged(city, {"31001": ward})
        held = city.query("archive", "SELECT count(*) FROM log WHERE origin = 'ward:31001'")[0][0]
        assert held == len(ward_events(ward)), "duplicates at the city"
        assert backlog <= {r[0] for r in city.query("archive", "SELECT case_id FROM cases")}
        print(f"\n{partial} of 3 kills landed before catch-up had finished")
    finally:
        link.stop()
        back.stop()


def test_keys_unknown_wrong_ward_and_plaintext_are_refused(node_factory, tmp_path):
    keys = make_keys(tmp_path, ["31001", "31002"])
    stranger = os.path.join(str(tmp_path), "stranger")
    subprocess.run([os.path.join(BUILD, "hotline"), "keys", "generate", "--dir", stranger,
                    "--ward", "31009"], check=True, capture_output=True)
    city = make_city(node_factory, keys, services=("archive", "intake")).start()
    good = node_factory(name="ward-31001", ward_code="31001",
                        extra=ward_extra(city, keys, "31001"), services=("archive", "intake")).start()
    unknown = node_factory(name="ward-31009", ward_code="31009",
                           extra=ward_extra(city, keys, cert=f"{stranger}/ward-31009.cert"),
                           services=("archive", "intake")).start()
    impostor = node_factory(name="ward-31002", ward_code="31002",   # speaks as 31002 with 31001's key
                            extra=ward_extra(city, keys, cert=f"{keys}/ward-31001.cert"),
                            services=("archive", "intake")).start()
    plain = node_factory(name="ward-31003", ward_code="31003",
                         extra=ward_extra(city, plaintext=True), services=("archive", "intake")).start()
    for node in (good, unknown, impostor, plain):
        node.submit()
    wait_converged(city, {"31001": good})
    # The legitimate ward got through. Before checking that the others did
    # not, see each of them try, be refused and try again: the unknown key
    # at the city's handshake (ZAP), the impostor by the key's ward, and the
    # plaintext ward, whose handshake the city cannot even start, by a whole
    # hop timeout without an answer
    wait_for(lambda: _metric(city, "hotline_zap_refused_total") >= 2,
             what="the unknown key refused twice (hotline_zap_refused_total)")
    wait_for(lambda: city.log("archive").count("for ward 31002 (key speaks for 31001)") >= 2,
             what="the impostor refused twice")
    wait_for(lambda: "no answer from" in plain.log("archive"),
             what="the plaintext ward without an answer for a hop timeout")
    origins = {r[0] for r in city.query("archive", "SELECT DISTINCT origin FROM log")}
    assert "ward:31001" in origins
    for code in ("31009", "31002", "31003"):
        assert f"ward:{code}" not in origins, f"ward {code} got through"
    assert city.query("archive", "SELECT count(*) FROM cases WHERE ward <> '31001' AND ward <> '31'")[0][0] == 0
    assert "refused key" in city.log("archive")      # the impostor was seen and refused


def test_keys_added_rotated_and_retired_while_the_city_runs(node_factory, tmp_path):
    """The city answers CurveZMQ handshakes from its table of allow/ (its own
    ZAP handler): a ward added, a key rotated and a key retired take effect
    on the next handshake, without restarting the city."""
    hotline = os.path.join(BUILD, "hotline")
    keys = make_keys(tmp_path, ["31001"])
    city = make_city(node_factory, keys, services=("archive", "intake")).start()
    first = node_factory(name="ward-31001", ward_code="31001",
                         extra=ward_extra(city, keys, "31001"), services=("archive", "intake")).start()
    first.submit()
    wait_converged(city, {"31001": first})
    # A ward whose key was made after the city started
    subprocess.run([hotline, "keys", "init", "--dir", keys, "--wards", "31001 31002"],
                   check=True, capture_output=True)
    second = node_factory(name="ward-31002", ward_code="31002",
                          extra=ward_extra(city, keys, "31002"), services=("archive", "intake")).start()
    second.submit()
    wait_converged(city, {"31002": second})
    # Rotate 31001's key, keeping the old keypair to try it again
    old = os.path.join(str(tmp_path), "old")
    os.makedirs(old)
    for name in ("ward-31001.cert", "ward-31001.cert_secret"):
        shutil.copy(os.path.join(keys, name), os.path.join(old, name))
    subprocess.run([hotline, "keys", "rotate", "--dir", keys, "--ward", "31001"],
                   check=True, capture_output=True)

    def reconfigure(cert):
        first.kill("archive", signal.SIGTERM)
        with open(first.config, "w") as f:
            f.write(first.config_text("Phường An Biên", ward_extra(city, keys, "31001", cert=cert)))
        first.start("archive")

    refused = _metric(city, "hotline_zap_refused_total")
    reconfigure(os.path.join(old, "ward-31001.cert"))       # the retired key
    case = first.submit()
    # Refused, then refused again when the ward reconnected
    wait_for(lambda: _metric(city, "hotline_zap_refused_total") >= refused + 2, timeout=20,
             what="the city to refuse the retired key twice (hotline_zap_refused_total)")
    assert city.query("archive", "SELECT count(*) FROM cases WHERE case_id = ?", case)[0][0] == 0
    reconfigure(os.path.join(keys, "ward-31001.cert"))      # the new key
    wait_converged(city, {"31001": first, "31002": second})
    assert city.query("archive", "SELECT count(*) FROM cases WHERE case_id = ?", case)[0][0] == 1


def _watch(city, *args):
    return subprocess.Popen(
        [os.path.join(BUILD, "hotline"), "watch", "--json",
         "--monitor", f"tcp://127.0.0.1:{city.port('monitor')}",
         "--snapshot", f"tcp://127.0.0.1:{city.port('snapshot')}", *args],
        env=city.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_monitor_late_joiner_gap_and_restart(node_factory, tmp_path):
    keys = make_keys(tmp_path, ["31001"])
    # The city's publisher drops update 6 on purpose: subscribers must notice
    city = node_factory(name="city", role="city", ward_code="0", ward_name="Sở",
                        node_extra="    city_code = 31\n",
                        extra=f"federation\n    cert = {keys}/city.cert\n    allow = {keys}/allow\n",
                        services=("archive", "intake"), env={"HOTLINE_CLONE_DROP": "6"}).start()
    ward = node_factory(extra=ward_extra(city, keys, "31001"), services=("archive", "intake")).start()
    early = _watch(city, "--from", "1", "--count", "40", "--idle-exit", "60")
    first = _submit_many(ward, "31001", 12, department_every=0)
    wait_converged(city, {"31001": ward})
    # The publisher restarts (kill -9) while the early monitor is watching
    city.kill("archive")
    city.start("archive")
    second = _submit_many(ward, "31001", 30, department_every=0, start=100)
    wait_converged(city, {"31001": ward})
    total = city.query("archive", "SELECT max(seq) FROM log")[0][0]
    assert total >= 40
    late = _watch(city, "--from", "1", "--count", str(total), "--idle-exit", "60")
    out_late, err_late = late.communicate(timeout=90)
    out_early, err_early = early.communicate(timeout=90)
    for out, err, count in ((out_early, err_early, 40), (out_late, err_late, total)):
        events = [json.loads(line) for line in out.splitlines() if line.strip()]
        assert [e["seq"] for e in events] == list(range(1, count + 1)), err[-2000:]
    # The early monitor was live when update 6 was dropped: it found the gap
    import re
    repairs = int(re.search(r"(\d+) gap repair", err_early).group(1))
    assert repairs >= 1, err_early
    # Redacted on the wire: no reporter data of these ward cases
    for case, (name, phone, _) in {**first, **second}.items():
        assert name not in out_late and phone not in out_late
    late_cases = {e.get("case_id") for e in map(json.loads, out_late.splitlines())}
    assert set(first) | set(second) <= late_cases


def test_federation_selftests():
    """hotline-archive --selftest: a ward's and a city's federation in one
    process with stub sinks (redaction, the return stream, resume, a ward
    restored behind the city's cursor, a stray case), and the guard."""
    result = subprocess.run([os.path.join(BUILD, "hotline-archive"), "--selftest"],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.count(": OK") == 2, result.stdout[-2000:]
