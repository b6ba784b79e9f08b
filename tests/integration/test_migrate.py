"""Issue 15 item 5: schema versions. Stores made by the previous release
(no user_version; intake's requests without command_hash, notify's outbox
without the resend columns: 1ad76d2's DDL) are migrated at start-up and
their data served; a store newer than the code is refused."""
import os
import sqlite3
import subprocess

from conftest import BUILD, wait_for

# The previous release's DDL of what changed since (git show 1ad76d2:...)
OLD_REQUESTS = "CREATE TABLE requests (request_id TEXT PRIMARY KEY, reply BLOB NOT NULL)"
OLD_OUTBOX_COLUMNS = ("id, idempotency_key, event_id, case_id, recipient, template, channel, address,"
                      " subject, body, attempts, next_attempt_ms, status, last_error, created_ms, sent_ms")


def to_previous_release(data):
    """Rewrite a stopped node's stores as the previous release made them."""
    conn = sqlite3.connect(os.path.join(data, "intake.db"))
    conn.executescript("BEGIN;"
                       "ALTER TABLE requests RENAME TO requests_new;"
                       f"{OLD_REQUESTS};"
                       "INSERT INTO requests SELECT request_id, reply FROM requests_new;"
                       "DROP TABLE requests_new; PRAGMA user_version = 0; COMMIT;")
    conn.close()
    conn = sqlite3.connect(os.path.join(data, "notify.db"))
    conn.executescript("BEGIN;"
                       "ALTER TABLE outbox DROP COLUMN resends; ALTER TABLE outbox DROP COLUMN resent_ms;"
                       "PRAGMA user_version = 0; COMMIT;")
    conn.close()
    for name in ("archive.db", "routing.db", "web.db"):
        path = os.path.join(data, name)
        if os.path.exists(path):
            conn = sqlite3.connect(path)
            conn.execute("PRAGMA user_version = 0")
            conn.commit()
            conn.close()


def version(node, service):
    return node.query(service, "PRAGMA user_version")[0][0]


def test_previous_release_stores_are_migrated_and_served(full_ward):
    ward = full_ward
    ward.web_user("old", "officer")
    old = [ward.submit(request_id=f"old-{i}") for i in range(3)]
    for case in old:
        ward.wait_archived(case, "routed_ward")
    ward.stop()
    to_previous_release(ward.data)
    assert [c[1] for c in ward.query("intake", "PRAGMA table_info(requests)")] == ["request_id", "reply"]

    ward.start()
    # Migrated: versioned, the new columns there, every row kept
    wait_for(lambda: [version(ward, s) for s in ("intake", "notification", "archive", "routing")]
             == [2, 2, 1, 1], what="every store migrated")
    assert "command_hash" in [c[1] for c in ward.query("intake", "PRAGMA table_info(requests)")]
    assert ward.query("notification", "SELECT count(*) FROM outbox WHERE resends = 0")[0][0] > 0
    assert "schema set to version 2" in ward.log("intake")
    # ... and served: the old cases, a retry of an old request (its row has no
    # hash: answered as before), a new case, and the old web account
    for case in old:
        assert ward.show(case)["case_id"] == case
    assert ward.submit(request_id="old-1") == old[1]
    new = ward.submit(request_id="new-0")
    ward.wait_archived(new, "routed_ward")
    assert new.endswith("000004")
    subprocess.run([os.path.join(BUILD, "hotline"), "-c", ward.config, "user", "list"],
                   env=ward.env, check=True, capture_output=True, timeout=60)
    assert version(ward, "web") == 1


def test_a_store_newer_than_the_code_is_refused(full_ward):
    ward = full_ward
    case = ward.submit()
    ward.wait_archived(case)
    ward.stop()
    conn = sqlite3.connect(os.path.join(ward.data, "intake.db"))
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    proc = subprocess.run([os.path.join(BUILD, "hotline-intake"), "-c", ward.config],
                          env=ward.env, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "schema version 99, newer than this release knows (2)" in proc.stdout + proc.stderr
    # Nothing was changed
    assert version(ward, "intake") == 99
