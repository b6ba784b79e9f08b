/*  hl_store — one SQLite database file owned by one service.  */
#include "hotline.h"
#include <sys/stat.h>

#define S_CHECKPOINT_MS     250     //  background checkpoint interval

struct _hl_store_t {
    sqlite3 *db;
    char *path;
    zhashx_t *statements;       //  SQL text -> sqlite3_stmt *
    zactor_t *checkpointer;
};

//  The checkpointer: its own connection, in its own thread, copies the WAL
//  back into the database (PASSIVE: it never blocks the writer) every
//  S_CHECKPOINT_MS. The writer's connection has wal_autocheckpoint off, so
//  a commit never pays for a checkpoint (1,000 pages and two fsyncs, every
//  few hundred cases at intake): that was the tail of the ack latency.
//  The writer rewinds the WAL to its start once all of it has been copied.
static void
s_checkpointer (zsock_t *pipe, void *arg)
{
    const char *path = (const char *) arg;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        hl_warn ("%s: checkpointer cannot open the database (%s): the WAL is checkpointed"
                 " only when the service stops", path, db? sqlite3_errmsg (db): "out of memory");
        sqlite3_close (db);
        zsock_signal (pipe, 0);
        zstr_free ((char **) &arg);
        char *command = zstr_recv (pipe);      //  wait for $TERM
        zstr_free (&command);
        return;
    }
    sqlite3_busy_timeout (db, 100);
    sqlite3_exec (db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, NULL);
    int failures = 0;
    while (true) {
        zsock_t *which = (zsock_t *) zpoller_wait (poller, S_CHECKPOINT_MS);
        if (which == pipe || zpoller_terminated (poller))
            break;
        int frames = 0, copied = 0;
        int rc = sqlite3_wal_checkpoint_v2 (db, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY && failures++ % 240 == 0)
            hl_warn ("%s: background checkpoint failed: %s (will retry)", path, sqlite3_errmsg (db));
        else
        if (rc == SQLITE_OK)
            failures = 0;
    }
    zpoller_destroy (&poller);
    sqlite3_close (db);
    zstr_free ((char **) &arg);
    char *command = zstr_recv (pipe);          //  $TERM, if it was not read yet
    zstr_free (&command);
}

static void
s_finalize (void **item)
{
    sqlite3_finalize ((sqlite3_stmt *) *item);
    *item = NULL;
}

hl_store_t *
hl_store_new (const char *path, const char *schema)
{
    assert (path);
    hl_store_t *self = (hl_store_t *) zmalloc (sizeof (hl_store_t));
    self->path = hl_strdup (path);
    self->statements = zhashx_new ();
    zhashx_set_destructor (self->statements, s_finalize);
    int rc = sqlite3_open_v2 (path, &self->db,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        hl_error ("cannot open %s: %s", path, self->db? sqlite3_errmsg (self->db): "out of memory");
        hl_store_destroy (&self);
        return NULL;
    }
    sqlite3_busy_timeout (self->db, 5000);
    //  SQLite falls back to read-only when it cannot write the file (a
    //  read-only mount or directory) and would stay so after the disk is
    //  writable again: refuse to start instead, with the cause
    if (sqlite3_db_readonly (self->db, "main") == 1) {
        hl_error ("cannot open %s for writing: the data directory is read-only"
                  " (check its mount and permissions)", path);
        hl_store_destroy (&self);
        return NULL;
    }
    //  WAL + synchronous=FULL: COMMIT returns after the WAL is fsynced
    if (hl_store_exec (self, "PRAGMA journal_mode=WAL")
    ||  hl_store_exec (self, "PRAGMA synchronous=FULL")
    ||  hl_store_exec (self, "PRAGMA foreign_keys=ON")
    ||  (schema && hl_store_exec (self, schema))) {
        hl_store_destroy (&self);
        return NULL;
    }
    //  journal_mode can silently stay "delete" (e.g. on some filesystems)
    if (hl_store_int (self, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode='wal'", 0) != 1)
        hl_warn ("%s is not in WAL mode", path);
    else {
        //  Checkpoints in the background, not inside our commits
        hl_store_exec (self, "PRAGMA wal_autocheckpoint=0");
        self->checkpointer = zactor_new (s_checkpointer, hl_strdup (path));
    }
    return self;
}

void
hl_store_destroy (hl_store_t **self_p)
{
    assert (self_p);
    hl_store_t *self = *self_p;
    if (self) {
        zactor_destroy (&self->checkpointer);
        zhashx_destroy (&self->statements);
        if (self->db)
            sqlite3_close (self->db);
        free (self->path);
        free (self);
        *self_p = NULL;
    }
}

sqlite3 *
hl_store_db (hl_store_t *self)
{
    return self->db;
}

int
hl_store_exec (hl_store_t *self, const char *sql)
{
    char *errmsg = NULL;
    if (sqlite3_exec (self->db, sql, NULL, NULL, &errmsg) != SQLITE_OK) {
        hl_error ("%s: %s (in: %.60s)", self->path, errmsg? errmsg: "?", sql);
        sqlite3_free (errmsg);
        return -1;
    }
    return 0;
}

int
hl_store_begin (hl_store_t *self)
{
    return hl_store_exec (self, "BEGIN IMMEDIATE");
}

int
hl_store_commit (hl_store_t *self)
{
    if (hl_store_exec (self, "COMMIT") == 0)
        return 0;
    //  A failed COMMIT (disk full, I/O error) may leave the transaction open
    if (!sqlite3_get_autocommit (self->db))
        hl_store_exec (self, "ROLLBACK");
    return -1;
}

int
hl_store_rollback (hl_store_t *self)
{
    if (sqlite3_get_autocommit (self->db))
        return 0;               //  nothing open (SQLite rolled back already)
    return hl_store_exec (self, "ROLLBACK");
}

sqlite3_stmt *
hl_store_prepare (hl_store_t *self, const char *sql)
{
    sqlite3_stmt *stmt = (sqlite3_stmt *) zhashx_lookup (self->statements, sql);
    if (stmt) {
        sqlite3_reset (stmt);
        sqlite3_clear_bindings (stmt);
        return stmt;
    }
    if (sqlite3_prepare_v2 (self->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        hl_error ("%s: %s (in: %.60s)", self->path, sqlite3_errmsg (self->db), sql);
        return NULL;
    }
    zhashx_insert (self->statements, sql, stmt);
    return stmt;
}

int
hl_store_step_done (hl_store_t *self, sqlite3_stmt *stmt)
{
    if (!stmt)
        return -1;
    int rc = sqlite3_step (stmt);
    sqlite3_reset (stmt);
    if (rc != SQLITE_DONE) {
        hl_error ("%s: %s", self->path, sqlite3_errmsg (self->db));
        return -1;
    }
    return 0;
}

int64_t
hl_store_int (hl_store_t *self, const char *sql, int64_t dflt)
{
    sqlite3_stmt *stmt = hl_store_prepare (self, sql);
    int64_t value = dflt;
    if (!stmt)
        return value;
    int rc = sqlite3_step (stmt);
    if (rc == SQLITE_ROW && sqlite3_column_type (stmt, 0) != SQLITE_NULL)
        value = sqlite3_column_int64 (stmt, 0);
    else
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        hl_error ("store: %s: %s", sql, sqlite3_errmsg (self->db));
    sqlite3_reset (stmt);
    return value;
}

const char *
hl_store_error (hl_store_t *self)
{
    return sqlite3_errmsg (self->db);
}

const char *
hl_store_path (hl_store_t *self)
{
    return self->path;
}

int
hl_store_version (hl_store_t *self)
{
    //  Not through the statement cache: PRAGMA results are not re-read by
    //  a cached statement in every SQLite version
    sqlite3_stmt *stmt = NULL;
    int version = -1;
    if (sqlite3_prepare_v2 (self->db, "PRAGMA user_version", -1, &stmt, NULL) == SQLITE_OK
    &&  sqlite3_step (stmt) == SQLITE_ROW)
        version = sqlite3_column_int (stmt, 0);
    sqlite3_finalize (stmt);
    return version;
}

int
hl_store_migrate (hl_store_t *self, const char *name, const hl_store_migration_t *steps, void *arg)
{
    assert (self && name && steps);
    int last = 0;
    for (const hl_store_migration_t *step = steps; step->version; step++) {
        assert (step->version > last);          //  a programmer's error: the list's order
        assert (step->sql || step->fn);
        last = step->version;
    }
    //  BEGIN IMMEDIATE first: two processes opening one new file (the web
    //  and the CLI share web.db) must not both apply the steps
    if (hl_store_begin (self))
        return -1;
    int version = hl_store_version (self);
    if (version < 0) {
        hl_error ("%s: cannot read its schema version: %s", self->path, sqlite3_errmsg (self->db));
        hl_store_rollback (self);
        return -1;
    }
    if (version > last) {
        hl_error ("%s (%s) has schema version %d, newer than this release knows (%d): it was"
                  " written by a newer Hotline. Run that release, or restore the backup taken"
                  " before the upgrade (deploy/README.md, \"Upgrades and backups\")",
                  name, self->path, version, last);
        hl_store_rollback (self);
        return -1;
    }
    if (version == last)
        return hl_store_commit (self);
    //  A new file is not news (and the CLI, which opens web.db, must not
    //  print it between its prompts); an unversioned store with tables is
    bool fresh = version == 0
              && hl_store_int (self, "SELECT count(*) FROM sqlite_master", -1) == 0;
    for (const hl_store_migration_t *step = steps; step->version; step++) {
        if (step->version <= version)
            continue;
        int rc = step->sql? hl_store_exec (self, step->sql): step->fn (self, arg);
        if (rc) {
            hl_error ("%s: schema step %d failed (%s): nothing was changed",
                      name, step->version, sqlite3_errmsg (self->db));
            hl_store_rollback (self);
            return -1;
        }
    }
    char stamp [64];
    snprintf (stamp, sizeof stamp, "PRAGMA user_version = %d", last);
    if (hl_store_exec (self, stamp) || hl_store_commit (self)) {
        hl_store_rollback (self);
        return -1;
    }
    if (version)
        hl_info ("%s: schema upgraded from version %d to %d", name, version, last);
    else
    if (fresh)
        hl_debug ("%s: new store, schema version %d", name, last);
    else
        hl_info ("%s: schema set to version %d (an unversioned store)", name, last);
    return 0;
}

//  The selftest's step 3: a column that the store may already have
static int
s_test_add_note (hl_store_t *store, void *arg)
{
    (*(int *) arg)++;
    if (hl_store_int (store, "SELECT count(*) FROM pragma_table_info ('kv') WHERE name = 'note'", -1) > 0)
        return 0;
    return hl_store_exec (store, "ALTER TABLE kv ADD COLUMN note TEXT NOT NULL DEFAULT ''");
}

void
hl_store_test (bool verbose)
{
    printf (" * hl_store: ");
    char dir [] = "/tmp/hl_store_XXXXXX";
    assert (mkdtemp (dir));
    char path [64];
    snprintf (path, sizeof path, "%s/test.db", dir);
    hl_store_t *store = hl_store_new (path,
        "CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL)");
    assert (store);
    //  Group commit: one transaction, many rows
    assert (hl_store_begin (store) == 0);
    for (int i = 0; i < 100; i++) {
        sqlite3_stmt *stmt = hl_store_prepare (store, "INSERT INTO kv (k, v) VALUES (?, ?)");
        assert (stmt);
        char key [16];
        snprintf (key, sizeof key, "k%d", i);
        sqlite3_bind_text (stmt, 1, key, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int (stmt, 2, i);
        assert (sqlite3_step (stmt) == SQLITE_DONE);
    }
    assert (hl_store_commit (store) == 0);
    assert (hl_store_int (store, "SELECT sum(v) FROM kv", -1) == 4950);
    //  A statement without rows runs to its end, or fails (a duplicate key,
    //  a row where none was expected, no statement at all) with -1
    sqlite3_stmt *change = hl_store_prepare (store, "UPDATE kv SET v = v + 1 WHERE k = ?");
    sqlite3_bind_text (change, 1, "k1", -1, SQLITE_TRANSIENT);
    assert (hl_store_step_done (store, change) == 0);
    assert (hl_store_int (store, "SELECT v FROM kv WHERE k = 'k1'", -1) == 2);
    change = hl_store_prepare (store, "INSERT INTO kv (k, v) VALUES ('k1', 0)");
    assert (hl_store_step_done (store, change) == -1);
    assert (hl_store_step_done (store, hl_store_prepare (store, "SELECT 1")) == -1);
    assert (hl_store_step_done (store, NULL) == -1);
    change = hl_store_prepare (store, "UPDATE kv SET v = v - 1 WHERE k = 'k1'");
    assert (hl_store_step_done (store, change) == 0);
    //  A failed statement inside a transaction, then rollback: nothing changes
    assert (hl_store_begin (store) == 0);
    assert (hl_store_exec (store, "INSERT INTO kv VALUES ('x', 1)") == 0);
    assert (hl_store_exec (store, "INSERT INTO kv VALUES ('x', 2)") == -1);
    assert (hl_store_rollback (store) == 0);
    assert (hl_store_int (store, "SELECT count(*) FROM kv", -1) == 100);
    assert (hl_store_int (store, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode='wal'", 0) == 1);
    assert (hl_store_int (store, "SELECT synchronous FROM pragma_synchronous", 0) == 2);
    //  Commits do not checkpoint; the checkpointer does, in the background:
    //  a 1 MB row lands in the WAL, then in the database file
    assert (hl_store_int (store, "PRAGMA wal_autocheckpoint", -1) == 0);
    struct stat st;
    assert (stat (path, &st) == 0);
    off_t size_before = st.st_size;
    assert (hl_store_exec (store, "CREATE TABLE IF NOT EXISTS blobs (b BLOB)") == 0);
    assert (hl_store_exec (store, "INSERT INTO blobs VALUES (randomblob (1000000))") == 0);
    int64_t deadline = zclock_mono () + 5000;
    while (stat (path, &st) == 0 && st.st_size < size_before + 1000000 && zclock_mono () < deadline)
        zclock_sleep (20);
    assert (st.st_size >= size_before + 1000000);
    hl_store_destroy (&store);
    //  Reopen: the data is there
    store = hl_store_new (path, NULL);
    assert (hl_store_int (store, "SELECT count(*) FROM kv", -1) == 100);
    hl_store_destroy (&store);
    assert (hl_store_new ("/nonexistent/dir/x.db", NULL) == NULL);

    //  Migrations. An unversioned store made by an older release (kv, with
    //  its 100 rows) gains steps 2 and 3; step 1 is its DDL, idempotent
    store = hl_store_new (path, NULL);
    assert (hl_store_version (store) == 0);
    int calls = 0;
    hl_store_migration_t steps [] = {
        { 1, "CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL)", NULL },
        { 2, "CREATE TABLE extra (x INTEGER)", NULL },
        { 3, NULL, s_test_add_note },
        { 0, NULL, NULL }
    };
    assert (hl_store_migrate (store, "test.db", steps, &calls) == 0);
    assert (calls == 1);
    assert (hl_store_version (store) == 3);
    assert (hl_store_int (store, "SELECT count(*) FROM kv WHERE note = ''", -1) == 100);
    //  Again: nothing to do, no step runs (step 2 would fail if it did)
    assert (hl_store_migrate (store, "test.db", steps, &calls) == 0);
    assert (calls == 1);
    //  A failing step changes nothing, the version included
    hl_store_migration_t bad [] = {
        { 1, NULL, s_test_add_note }, { 2, NULL, s_test_add_note }, { 3, NULL, s_test_add_note },
        { 4, "CREATE TABLE more (y INTEGER)", NULL },
        { 5, "CREATE TABLE extra (x INTEGER)", NULL },      //  exists: fails
        { 0, NULL, NULL }
    };
    assert (hl_store_migrate (store, "test.db", bad, &calls) == -1);
    assert (hl_store_version (store) == 3);
    assert (hl_store_int (store, "SELECT count(*) FROM sqlite_master WHERE name = 'more'", -1) == 0);
    //  A store newer than the steps: refused, untouched
    assert (hl_store_exec (store, "PRAGMA user_version = 9") == 0);
    assert (hl_store_migrate (store, "test.db", steps, &calls) == -1);
    assert (hl_store_version (store) == 9);
    assert (calls == 1);
    assert (streq (hl_store_path (store), path));
    hl_store_destroy (&store);
    char cmd [128];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    if (system (cmd)) {}
    if (verbose)
        printf ("(%s) ", path);
    printf ("OK\n");
}
