"""Nothing acknowledged is lost, and retries create no duplicates,
while intake and archive are killed with SIGKILL at random moments."""
import os
import random
import subprocess
import threading
import time

from conftest import BUILD, wait_for

CLIENTS = int(os.environ.get("HOTLINE_CRASH_CLIENTS", "4"))
PER_CLIENT = int(os.environ.get("HOTLINE_CRASH_CASES", "250"))
SEED = int(os.environ.get("HOTLINE_SEED", "174"))


def test_kill_9_intake_and_archive_under_load(node_factory):
    ward = node_factory(services=("archive", "intake")).start()
    rng = random.Random(SEED)
    acked = {}                      # request id -> case number
    lock = threading.Lock()
    done = threading.Event()
    errors = []

    def client(n):
        for i in range(PER_CLIENT):
            request_id = f"crash-{n}-{i}"
            for attempt in range(200):
                result = subprocess.run(
                    [os.path.join(BUILD, "hotline"), "--endpoint", ward.endpoint,
                     "--tries", "1", "--timeout", "1500", "submit",
                     "--request-id", request_id, "--phone", "0912345678", "--type", "noise",
                     "--location", f"Tổ {n}, số {i}", "--description", "Tiếng ồn từ công trường"],
                    env=ward.env, capture_output=True, text=True, timeout=30)
                if result.returncode == 0:
                    with lock:
                        if request_id in acked and acked[request_id] != result.stdout.strip():
                            errors.append(f"{request_id}: two different case numbers")
                        acked[request_id] = result.stdout.strip()
                    break
                if result.returncode != 3:
                    errors.append(f"{request_id}: exit {result.returncode}: {result.stderr}")
                    break
                time.sleep(0.05)
            else:
                errors.append(f"{request_id}: never acknowledged")

    def killer():
        kills = 0
        while not done.is_set():
            time.sleep(rng.uniform(0.2, 0.7))
            victim = rng.choice(["intake", "archive"])
            if ward.alive(victim):
                ward.kill(victim)
                kills += 1
                time.sleep(rng.uniform(0.0, 0.3))
                ward.start(victim) if victim == "archive" else _restart_intake(ward)
        stats["kills"] = kills

    stats = {}
    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    chaos = threading.Thread(target=killer)
    for t in threads:
        t.start()
    chaos.start()
    for t in threads:
        t.join()
    done.set()
    chaos.join()
    assert not errors, errors[:5]
    assert stats["kills"] >= 3, "the schedule injected too few faults to prove anything"
    assert len(acked) == CLIENTS * PER_CLIENT

    # Everything restarted: the archive catches up with intake
    for service in ("intake", "archive"):
        if not ward.alive(service):
            ward.start(service)
    total = ward.query("intake", "SELECT count(*) FROM log")[0][0]
    wait_for(lambda: ward.query("archive", "SELECT count(*) FROM log")[0][0] == total,
             timeout=30, what="archive caught up")

    # Every acknowledged case exists exactly once, at intake and in the archive
    cases = list(acked.values())
    assert len(set(cases)) == len(cases), "two requests got the same case number"
    intake_cases = [r[0] for r in ward.query("intake", "SELECT case_id FROM cases")]
    archive_cases = [r[0] for r in ward.query("archive", "SELECT case_id FROM cases")]
    assert sorted(intake_cases) == sorted(cases), "intake holds cases nobody was told about, or lost some"
    assert sorted(archive_cases) == sorted(cases)
    # The archive's history is complete: the same events, in the same order
    intake_log = ward.query("intake", "SELECT seq, case_id FROM log ORDER BY seq")
    archive_log = ward.query("archive", "SELECT origin_seq, case_id FROM log ORDER BY seq")
    assert intake_log == archive_log
    assert [s for s, _ in intake_log] == list(range(1, len(intake_log) + 1))
    assert len([c for _, c in intake_log if c]) == len(cases)     # one submit event each
    # Case numbers are dense: no number was burnt by a retry
    numbers = sorted(int(c.rsplit("-", 1)[1]) for c in cases)
    assert numbers == list(range(1, len(cases) + 1))
    print(f"\n{stats['kills']} kills, {len(cases)} cases acknowledged, all present once")


def _restart_intake(ward):
    # Restart without waiting on a ping from this thread's point of view
    ward.start("intake")
