/*  hl_store — one SQLite database file owned by one service.  */
#include "hotline.h"

struct _hl_store_t {
    sqlite3 *db;
    char *path;
    zhashx_t *statements;       //  SQL text -> sqlite3_stmt *
};

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
    self->path = strdup (path);
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
    return self;
}

void
hl_store_destroy (hl_store_t **self_p)
{
    assert (self_p);
    hl_store_t *self = *self_p;
    if (self) {
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

int64_t
hl_store_int (hl_store_t *self, const char *sql, int64_t dflt)
{
    sqlite3_stmt *stmt = hl_store_prepare (self, sql);
    int64_t value = dflt;
    if (stmt && sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_type (stmt, 0) != SQLITE_NULL)
        value = sqlite3_column_int64 (stmt, 0);
    if (stmt)
        sqlite3_reset (stmt);
    return value;
}

const char *
hl_store_error (hl_store_t *self)
{
    return sqlite3_errmsg (self->db);
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
    //  A failed statement inside a transaction, then rollback: nothing changes
    assert (hl_store_begin (store) == 0);
    assert (hl_store_exec (store, "INSERT INTO kv VALUES ('x', 1)") == 0);
    assert (hl_store_exec (store, "INSERT INTO kv VALUES ('x', 2)") == -1);
    assert (hl_store_rollback (store) == 0);
    assert (hl_store_int (store, "SELECT count(*) FROM kv", -1) == 100);
    assert (hl_store_int (store, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode='wal'", 0) == 1);
    assert (hl_store_int (store, "SELECT synchronous FROM pragma_synchronous", 0) == 2);
    hl_store_destroy (&store);
    //  Reopen: the data is there
    store = hl_store_new (path, NULL);
    assert (hl_store_int (store, "SELECT count(*) FROM kv", -1) == 100);
    hl_store_destroy (&store);
    assert (hl_store_new ("/nonexistent/dir/x.db", NULL) == NULL);
    char cmd [128];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    if (system (cmd)) {}
    if (verbose)
        printf ("(%s) ", path);
    printf ("OK\n");
}
