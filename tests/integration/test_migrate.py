"""Schema versions: every store's schema comes from its ordered migration
steps. Stores made by the previous release (fixtures/previous_release: a
ward and its city, made by that release's own binaries) upgrade in place,
every row kept, served, the link resuming; a fresh store gets the same
schema as an upgraded one; stores from before versions (no user_version,
1ad76d2's DDL) are migrated too; a store newer than the code is refused,
by every service."""
import json
import os
import sqlite3
import subprocess

import pytest

from conftest import BUILD, SERVICES, wait_for
from federation_util import city_extra, make_city, ward_extra, wait_converged
from test_web_api import Web

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "previous_release")
# Each store's current version (its service's last migration step)
CURRENT = {"intake": 3, "archive": 12, "routing": 2, "notify": 3, "deadline": 2, "web": 2}
# What only grows: every row the previous release wrote must still be there
KEPT = {"intake": ("SELECT * FROM log", "SELECT * FROM requests"),
        "archive": ("SELECT * FROM log", "SELECT * FROM case_actions", "SELECT * FROM return_outbox",
                    "SELECT * FROM deadline_cases", "SELECT case_id, ward, received_ms, report FROM cases"),
        "routing": ("SELECT * FROM routing_decisions",),
        "notify": ("SELECT id, idempotency_key, address, body FROM outbox",),
        "deadline": ("SELECT * FROM deadline_cases", "SELECT id, case_id, name, due_ms FROM deadlines"),
        "web": ("SELECT name, hash FROM users", "SELECT * FROM public_tracking")}

# The previous release's DDL of what changed since (git show 1ad76d2:...)
OLD_REQUESTS = "CREATE TABLE requests (request_id TEXT PRIMARY KEY, reply BLOB NOT NULL)"


def to_unversioned_release(data):
    """Rewrite a stopped node's stores as the last release before versions made them."""
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
    for name in ("archive.db", "routing.db", "web.db", "deadline.db"):
        path = os.path.join(data, name)
        if os.path.exists(path):
            conn = sqlite3.connect(path)
            conn.execute("PRAGMA user_version = 0")
            conn.commit()
            conn.close()


def load_previous_release(node):
    """The node's data directory as the previous release left it."""
    os.makedirs(node.data, exist_ok=True)
    for name in sorted(os.listdir(os.path.join(FIXTURES, node.name))):
        conn = sqlite3.connect(os.path.join(node.data, name[:-len(".sql")] + ".db"))
        with open(os.path.join(FIXTURES, node.name, name), encoding="utf-8") as f:
            conn.executescript(f.read())
        conn.close()


def stores(node):
    return sorted(n[:-3] for n in os.listdir(node.data) if n.endswith(".db"))


def version(node, store):
    return node.query(store.replace("deadline", "deadline-watcher").replace("notify", "notification"),
                      "PRAGMA user_version")[0][0]


def rows(path, sql):
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return set(conn.execute(sql).fetchall())
    finally:
        conn.close()


def schema(path):
    """Every table's columns and every index and trigger of a store (the
    FTS index's own tables by name)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        out = {}
        for kind, name, table in conn.execute("SELECT type, name, tbl_name FROM sqlite_master"
                                              " WHERE name NOT LIKE 'sqlite_%'"):
            if kind == "table" and not name.startswith("cases_fts"):
                out[name] = [c[1:] for c in conn.execute(f"PRAGMA table_info('{name}')")]
            else:
                out[name] = (kind, table)
        return out
    finally:
        conn.close()


def test_the_previous_release_upgrades_in_place(node_factory, tmp_path):
    facts = json.load(open(os.path.join(FIXTURES, "facts.json"), encoding="utf-8"))
    city = make_city(node_factory, plaintext=True,
                     services=("archive", "intake", "routing", "notification"))
    ward = node_factory(extra=ward_extra(city, plaintext=True), services=SERVICES + ("web",))
    for node in (city, ward):
        load_previous_release(node)
    old = {(node.name, store): {sql: rows(os.path.join(node.data, f"{store}.db"), sql)
                                for sql in KEPT[store]}
           for node in (city, ward) for store in stores(node)}
    assert all(sum(map(len, kept.values())) for kept in old.values())
    old_cursor = ward.query("deadline-watcher", "SELECT seq FROM hop_cursor WHERE stream = 'log'")[0][0]
    assert version(ward, "deadline") == 0 and version(ward, "intake") == 2
    city.start()
    ward.start()

    # Every store at the current version, every row kept
    for node in (city, ward):
        wait_for(lambda: {s: version(node, s) for s in stores(node)}
                 == {s: CURRENT[s] for s in stores(node)}, what=f"{node.name}'s stores migrated")
        for store in stores(node):
            for sql, before in old[(node.name, store)].items():
                assert before <= rows(os.path.join(node.data, f"{store}.db"), sql), \
                    f"{node.name} {store}.db lost rows: {sql}"
    assert "schema upgraded from version 2 to 3" in ward.log("intake")
    assert "schema set to version 2 (an unversioned store)" in ward.log("deadline-watcher")
    assert f"schema upgraded from version 1 to {CURRENT['archive']}" in city.log("archive")

    # ... and served. The old cases, with their reporter, found by the
    # search index and ordered by the deadline columns the previous release
    # had made outside the versions
    local = ward.show(facts["local"])
    assert local["report"]["reporter"]["name"] == "Trần Văn Cũ"
    found = {c["case_id"] for c in ward.list("--search", "Kênh")}
    assert {facts["local"], facts["forwarded"]} <= found
    assert {c["case_id"] for c in ward.list("--order", "due")} >= \
        {facts["local"], facts["forwarded"], facts["public"]}
    # the watcher resumed from its cursor, not from the start
    assert ward.query("deadline-watcher", "SELECT seq FROM hop_cursor WHERE stream = 'log'")[0][0] >= old_cursor
    # the web: the old account, and the citizen's tracking link
    web = Web(ward)
    web.login(facts["officer"], facts["password"])
    track = web.request("GET", f"/api/v1/public/track/{facts['tracking_token']}")
    assert track.status == 200 and track.json["case_id"] == facts["public"]
    # a new case takes the next number, and reaches the city over the
    # resumed link; the city's work on the old Department case comes back
    new = ward.submit(request_id="after-upgrade")
    assert new not in (facts["local"], facts["forwarded"], facts["public"])
    if new[6:10] == facts["local"][6:10]:
        assert new.endswith("000004")
    ward.wait_archived(new)
    wait_converged(city, {"31001": ward})
    city.cli("verify", facts["department"], "--result", "accurate", "--note", "Đã kiểm tra",
             actor="department:hoa")
    wait_for(lambda: ward.show(facts["forwarded"]).get("department_state") == "verified_accurate",
             what="the city's work on the old Department case back at the ward")

    # A fresh ward and city get the same schema as the upgraded ones
    fresh_city = node_factory(name="fresh-city", role="city", ward_code="0", ward_name="Sở",
                              node_extra="    city_code = 31\n", extra=city_extra(plaintext=True),
                              services=("archive",)).start()
    fresh = node_factory(name="fresh-ward", services=SERVICES).start()
    fresh.web_user("fresh", "officer")
    wait_for(lambda: version(fresh_city, "archive") == CURRENT["archive"], what="fresh city archive")
    wait_for(lambda: {s: version(fresh, s) for s in stores(fresh)}
             == {s: CURRENT[s] for s in stores(ward)}, what="fresh ward stores")
    for upgraded, made in ((ward, fresh), (city, fresh_city)):
        for store in stores(made):
            assert schema(os.path.join(upgraded.data, f"{store}.db")) == \
                schema(os.path.join(made.data, f"{store}.db")), f"{upgraded.name} {store}.db"


def test_unversioned_stores_are_migrated_and_served(full_ward):
    ward = full_ward
    ward.web_user("old", "officer")
    old = [ward.submit(request_id=f"old-{i}") for i in range(3)]
    for case in old:
        ward.wait_archived(case, "routed_ward")
    ward.stop()
    to_unversioned_release(ward.data)
    assert [c[1] for c in ward.query("intake", "PRAGMA table_info(requests)")] == ["request_id", "reply"]

    ward.start()
    # Migrated: versioned, the new columns there, every row kept (web.db
    # when the CLI opens it, below: no web service runs here)
    running = [s for s in stores(ward) if s != "web"]
    wait_for(lambda: {s: version(ward, s) for s in running} == {s: CURRENT[s] for s in running},
             what="every store migrated")
    assert "command_hash" in [c[1] for c in ward.query("intake", "PRAGMA table_info(requests)")]
    assert ward.query("notification", "SELECT count(*) FROM outbox WHERE resends = 0")[0][0] > 0
    assert "schema set to version 3" in ward.log("intake")
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
    assert version(ward, "web") == CURRENT["web"]


@pytest.mark.parametrize("service,store", [("intake", "intake"), ("archive", "archive"),
                                           ("routing", "routing"), ("notification", "notify"),
                                           ("deadline-watcher", "deadline"), ("web", "web")])
def test_a_store_newer_than_the_code_is_refused(node_factory, service, store):
    ward = node_factory(name="ward-31001")
    load_previous_release(ward)
    path = os.path.join(ward.data, f"{store}.db")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    before = schema(path)
    proc = subprocess.run([os.path.join(BUILD, f"hotline-{service}"), "-c", ward.config],
                          env=ward.env, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert (f"{store}.db ({path}) has schema version 99, newer than this release knows"
            f" ({CURRENT[store]})") in proc.stdout + proc.stderr
    # Nothing was changed
    assert schema(path) == before
    assert version(ward, store) == 99
