/*  hl_store — one SQLite database file owned by one service.
 *
 *  Opened in WAL mode with synchronous=FULL: a commit returns only after
 *  fsync, so a service may acknowledge right after hl_store_commit().
 *  Group commit is the caller's loop: begin, apply a whole batch, commit once.
 *  Prepared statements are cached by SQL text. A background thread (its own
 *  connection) checkpoints the WAL every 250 ms, so commits never do.
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
//  Single integer result of a query with no parameters (or dflt).
int64_t hl_store_int (hl_store_t *self, const char *sql, int64_t dflt);
//  The last SQLite error message.
const char *hl_store_error (hl_store_t *self);

void hl_store_test (bool verbose);
#endif
