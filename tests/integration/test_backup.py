"""`hotline backup` under load, `hotline restore` into a
wiped ward, which then catches up with the city; and the city's per-ward
metrics. Real processes; the backup runs while cases arrive."""
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import urllib.request

from conftest import BUILD, wait_for
from federation_util import (make_city, ward_extra, ward_events, city_events, ward_settled,
                             wait_converged)

WARD_SERVICES = ("archive", "intake", "routing", "notification")


def hotline(node, *args):
    return subprocess.run([os.path.join(BUILD, "hotline"), "-c", node.config, *args],
                          env=node.env, capture_output=True, text=True, timeout=120)


def test_backup_under_load_restore_and_catch_up(node_factory, tmp_path):
    city = make_city(node_factory, plaintext=True, services=("archive", "intake")).start()
    ward = node_factory(extra=ward_extra(city, plaintext=True), services=WARD_SERVICES)
    os.makedirs(ward.data, exist_ok=True)
    ward.start()
    before = [ward.submit(request_id=f"before-{i}") for i in range(5)]
    # Every store made and migrated before the backup: the archive, which
    # start() does not wait for (under valgrind it can still be opening
    # archive.db, whose copy would then be an empty store, schema step 0)
    ward.wait_archived(before[-1])
    evidence = os.path.join(ward.data, "evidence", "ab")
    os.makedirs(evidence)
    with open(os.path.join(evidence, "ab" + "0" * 62), "wb") as f:
        f.write(b"a photo")

    # Cases keep arriving while the backup runs
    during, stop = [], threading.Event()

    def load():
        i = 0
        while not stop.is_set():
            during.append(ward.submit(request_id=f"during-{i}"))
            i += 1
    writer = threading.Thread(target=load)
    writer.start()
    try:
        wait_for(lambda: len(during) >= 3, what="load running")
        backup = os.path.join(str(tmp_path), "backup")
        result = hotline(ward, "backup", "--to", backup)
    finally:
        stop.set()
        writer.join()
    assert result.returncode == 0, result.stderr
    manifest = json.load(open(os.path.join(backup, "MANIFEST.json")))
    files = {f["file"]: f for f in manifest["files"]}
    assert {"intake.db", "archive.db", "routing.db", "notify.db"} <= set(files)
    assert files["intake.db"]["schema_version"] == 3 and files["archive.db"]["schema_version"] == 12
    assert files["evidence/ab/ab" + "0" * 62]["size"] == 7
    assert len(files["intake.db"]["sha256"]) == 64
    # A backup is never overwritten
    assert hotline(ward, "backup", "--to", backup).returncode == 2

    # Refused while the node runs, and when a file does not match
    refused = hotline(ward, "restore", "--from", backup)
    assert refused.returncode == 2 and "answers" in refused.stderr
    ward.stop()
    tampered = os.path.join(str(tmp_path), "tampered")
    shutil.copytree(backup, tampered)
    with open(os.path.join(tampered, "routing.db"), "ab") as f:
        f.write(b"x")
    refused = hotline(ward, "restore", "--from", tampered)
    assert refused.returncode == 2 and "does not match the manifest" in refused.stderr
    # Stores there already: only with --force
    assert hotline(ward, "restore", "--from", backup).returncode == 2

    shutil.rmtree(ward.data)                    # the disk is lost
    restored = hotline(ward, "restore", "--from", backup)
    assert restored.returncode == 0, restored.stderr
    ward.start()
    # Every case acknowledged before the backup began is there; the ward's
    # archive catches up with its intake, and the city holds every event
    # of the restored ward
    wait_for(lambda: ward_settled(ward), what="the ward's archive caught up")
    for case in before:
        assert ward.show(case)["case_id"] == case
    backed = {row[0] for row in ward.query("intake", "SELECT case_id FROM cases")}
    assert set(before) <= backed and backed <= set(before + during)
    # Up to the backup's head. Beyond it, what the node acknowledged after
    # the copy is lost at the ward; when the city holds some of it, the ward
    # refuses to send (the test below)
    import sqlite3
    head = sqlite3.connect(os.path.join(backup, "intake.db")).execute("SELECT max(seq) FROM log").fetchone()[0]
    wait_for(lambda: {e for e in ward_events(ward) if e[0] <= head} <= city_events(city, "31001"),
             what="the city holds the ward's log up to the backup")
    assert open(os.path.join(ward.data, "evidence", "ab", "ab" + "0" * 62), "rb").read() == b"a photo"

    # The city's per-ward gauges name the ward, with its cursor
    def city_metric(name):
        with urllib.request.urlopen(f"http://127.0.0.1:{city.base + 12}/metrics", timeout=5) as answer:
            text = answer.read().decode()
        match = re.search(rf'^{name}{{[^}}]*ward="31001"}} (\S+)$', text, re.M)
        return float(match.group(1)) if match else None
    # The gauge is the city's cursor on the ward's log, which has passed the
    # backup's head. (It need not reach the restored ward's own head: when
    # the city received events the backup missed and the restored ward then
    # wrote new ones under their seqs, the ward refuses to send; the test
    # below.)
    def city_cursor():
        return city.query("archive", "SELECT seq FROM hop_cursor WHERE stream = 'ward:31001'")[0][0]
    wait_for(lambda: city_metric("hotline_ward_cursor") == city_cursor() >= head, what="ward cursor gauge")
    assert city_metric("hotline_ward_last_event_timestamp_seconds") > 1e9
    assert city_metric("hotline_ward_last_event_age_seconds") >= 0


def archive_http(node, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{node.base + 12}{path}", timeout=5) as answer:
        return answer.status, answer.read().decode()


def archive_metric(node, name):
    """A metric of the node archive's, None while it has none (or is starting)."""
    try:
        text = archive_http(node, "/metrics")[1]
    except OSError:
        return None
    match = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)
    return float(match.group(1)) if match else None


def test_a_ward_restored_behind_the_city_refuses_to_send(node_factory, tmp_path):
    """The city holds more of the ward's log than the backup: restored, the
    ward would write its next events under the seqs and case numbers of the
    lost ones, which the city has. It sends the city nothing from then on,
    says so, and keeps its own events."""
    city = make_city(node_factory, plaintext=True, services=("archive", "intake")).start()
    ward = node_factory(extra=ward_extra(city, plaintext=True), services=("archive", "intake")).start()
    kept = [ward.submit(request_id=f"kept-{i}") for i in range(2)]
    wait_converged(city, {"31001": ward})
    backup = os.path.join(str(tmp_path), "backup")
    assert hotline(ward, "backup", "--to", backup).returncode == 0
    lost = [ward.submit(request_id=f"lost-{i}", description=f"Vụ sau bản sao {i}") for i in range(3)]
    wait_converged(city, {"31001": ward})

    def city_cursor():
        return city.query("archive", "SELECT seq FROM hop_cursor WHERE stream = 'ward:31001'")[0][0]
    cursor = city_cursor()
    assert not ward.stop()
    restored = hotline(ward, "restore", "--from", backup, "--force")
    assert restored.returncode == 0, restored.stderr
    ward.start()
    # Refused, loudly: the gauge, the log, /readyz's reason (still 200: the
    # ward's own work goes on)
    wait_for(lambda: archive_metric(ward, "hotline_federation_diverged") == 1, what="the refusal")
    head = ward.query("archive", "SELECT max(seq) FROM log")[0][0]
    assert head < cursor
    assert f"NOT SENDING to the city: it has applied our log up to seq {cursor}, ours ended at {head}" \
        in ward.log("archive")
    status, body = archive_http(ward, "/readyz")
    assert status == 200 and "NOT SENDING to the city" in body
    # The ward takes cases and keeps them. The restored intake numbers them
    # as it numbered the lost ones, which the city holds as they were
    new = [ward.submit(request_id=f"new-{i}", description=f"Vụ mới {i}") for i in range(5)]
    assert new[:3] == lost and set(kept).isdisjoint(new)
    for case in new:
        ward.wait_archived(case)
    assert ward.show(new[0])["report"]["description"] == "Vụ mới 0"
    asked = archive_metric(ward, "hotline_federation_refused_total")
    wait_for(lambda: archive_metric(ward, "hotline_federation_refused_total") > asked,
             what="the city asked for the ward's log again, and was refused")
    assert city_cursor() == cursor
    assert city.show(lost[0])["report"]["description"] == "Vụ sau bản sao 0"
    # The ward's log has passed the city's cursor now: restarted, the ward
    # still refuses (the refusal is in its store)
    assert ward.query("archive", "SELECT max(seq) FROM log")[0][0] > cursor
    ward.kill("archive", signal.SIGTERM)
    ward.start("archive")
    wait_for(lambda: (archive_metric(ward, "hotline_federation_refused_total") or 0) >= 1,
             what="the restarted archive asked, and refused")
    assert archive_metric(ward, "hotline_federation_diverged") == 1
    assert city_cursor() == cursor
    held = {r[0] for r in city.query("archive", "SELECT case_id FROM cases WHERE ward = '31001'")}
    assert held == set(kept + lost)
