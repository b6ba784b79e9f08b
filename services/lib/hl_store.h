/*  hl_store — one SQLite database file owned by one service.
 *
 *  Opened in WAL mode with synchronous=FULL: a commit returns only after
 *  fsync, so a service may acknowledge right after hl_store_commit().
 *  Group commit is the caller's loop: begin, apply a whole batch, commit once.
 *  Prepared statements are cached by SQL text. A background thread (its own
 *  connection) checkpoints the WAL every 250 ms, so commits never do.
 *
 *  Schema versions: a store's PRAGMA user_version says which of its
 *  service's migration steps it has. hl_store_migrate applies the missing
 *  ones in order, in one transaction with the new version, at start-up; a
 *  store newer than the code (written by a later release) is refused, so
 *  a rolled-back binary never runs on a schema it does not know.
 */
#ifndef HL_STORE_H_INCLUDED
#define HL_STORE_H_INCLUDED

typedef struct _hl_store_t hl_store_t;

//  Open (create) the database and run schema (idempotent DDL). NULL on error,
//  logged.
hl_store_t *hl_store_new (const char *path, const char *schema);
void hl_store_destroy (hl_store_t **self_p);
sqlite3 *hl_store_db (hl_store_t *self);
//  BEGIN IMMEDIATE / COMMIT / ROLLBACK. 0 or -1 (logged).
int hl_store_begin (hl_store_t *self);
int hl_store_commit (hl_store_t *self);
int hl_store_rollback (hl_store_t *self);
//  Run SQL without results. 0 or -1.
int hl_store_exec (hl_store_t *self, const char *sql);
//  A cached prepared statement, reset and with bindings cleared. NULL on error.
sqlite3_stmt *hl_store_prepare (hl_store_t *self, const char *sql);
//  Step a prepared statement that returns no rows (INSERT, UPDATE, DELETE)
//  and reset it. 0 if it ran to SQLITE_DONE; -1 if stmt is NULL (the
//  prepare logged why) or the step failed (logged with the store's path).
int hl_store_step_done (hl_store_t *self, sqlite3_stmt *stmt);
//  Single integer result of a query with no parameters (or dflt: no row, a
//  NULL, or an error, which is logged; pass a dflt no answer can be).
int64_t hl_store_int (hl_store_t *self, const char *sql, int64_t dflt);
//  One step of a store's schema, applied once when the store's
//  user_version is below version: sql, else fn (for a step that must look
//  before it changes, e.g. a column that unversioned stores made by the
//  latest unversioned release already have). fn returns 0 or -1 (logged).
typedef int (hl_store_step_fn) (hl_store_t *store, void *arg);
typedef struct {
    int version;                //  1, 2, ... ascending; 0 ends the list
    const char *sql;
    hl_store_step_fn *fn;
} hl_store_migration_t;

//  Bring the store up to the last step's version: every step above its
//  user_version, in order, then the new user_version, in one transaction.
//  name names the store in messages ("intake.db"); arg is passed to fn.
//  0; -1 (logged, nothing changed) if a step fails or the store's version
//  is above the last step's (a newer release wrote it: refuse to start).
int hl_store_migrate (hl_store_t *self, const char *name,
                      const hl_store_migration_t *steps, void *arg);
//  The store's PRAGMA user_version (0: unversioned or new), -1 on error
int hl_store_version (hl_store_t *self);
//  The path the store was opened with
const char *hl_store_path (hl_store_t *self);

//  The last SQLite error message.
const char *hl_store_error (hl_store_t *self);

void hl_store_test (bool verbose);
#endif
