/*  hl_public — tracking tokens and public submissions in web.db (see
 *  hl_public.h)
 */
#include "hotline.h"
#include "hl_public.h"
#include <sodium.h>

#define S_KEEP_MS   (7LL * 24 * 3600 * 1000)

//  Step 2 of web.db (hl_accounts_migrations): frozen, as every step is
const char hl_public_schema [] =
    "CREATE TABLE IF NOT EXISTS public_tracking ("
    "  token_hash TEXT PRIMARY KEY,"
    "  case_id TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS public_submissions ("
    "  id INTEGER PRIMARY KEY,"
    "  at_ms INTEGER NOT NULL,"
    "  ip TEXT NOT NULL,"
    "  phone_hash TEXT);"
    "CREATE INDEX IF NOT EXISTS public_submissions_ip ON public_submissions (ip, at_ms);"
    "CREATE INDEX IF NOT EXISTS public_submissions_phone ON public_submissions (phone_hash, at_ms);";

struct _hl_public_t {
    hl_store_t *store;
};

static void
s_sha256_hex (const char *text, char *hex)
{
    unsigned char digest [crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (digest, (const unsigned char *) text, strlen (text));
    sodium_bin2hex (hex, HL_TOKEN_HEX, digest, sizeof digest);
}

//  A phone number's digits, hashed: "0916 588 826" and "0916.588.826" are
//  one number. false when it has no digits.
static bool
s_phone_hash (const char *phone, char *hex)
{
    char digits [64];
    size_t n = 0;
    for (const char *c = phone? phone: ""; *c && n + 1 < sizeof digits; c++)
        if (*c >= '0' && *c <= '9')
            digits [n++] = *c;
    digits [n] = 0;
    if (!n)
        return false;
    s_sha256_hex (digits, hex);
    return true;
}

static int
s_step (sqlite3_stmt *stmt)
{
    if (!stmt)
        return -1;
    int rc = sqlite3_step (stmt);
    sqlite3_reset (stmt);
    return rc == SQLITE_DONE? 0: -1;
}

hl_public_t *
hl_public_new (const char *path)
{
    if (sodium_init () < 0)
        return NULL;
    hl_public_t *self = (hl_public_t *) zmalloc (sizeof (hl_public_t));
    //  web.db's one list of steps, so that hl_accounts and this class,
    //  whichever opens the file first, agree on its version
    self->store = hl_store_new (path, NULL);
    if (!self->store || hl_store_migrate (self->store, "web.db", hl_accounts_migrations (), NULL)) {
        hl_public_destroy (&self);
        return NULL;
    }
    sqlite3_stmt *stmt = hl_store_prepare (self->store, "DELETE FROM public_submissions WHERE at_ms < ?");
    if (stmt) {
        sqlite3_bind_int64 (stmt, 1, hl_clock_now () - S_KEEP_MS);
        s_step (stmt);
    }
    return self;
}

void
hl_public_destroy (hl_public_t **self_p)
{
    assert (self_p);
    hl_public_t *self = *self_p;
    if (self) {
        hl_store_destroy (&self->store);
        free (self);
        *self_p = NULL;
    }
}

int
hl_public_track_new (hl_public_t *self, const char *case_id, char *token)
{
    unsigned char raw [32];
    randombytes_buf (raw, sizeof raw);
    sodium_bin2hex (token, HL_TOKEN_HEX, raw, sizeof raw);
    char hash [HL_TOKEN_HEX];
    s_sha256_hex (token, hash);
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "INSERT INTO public_tracking (token_hash, case_id, created_ms) VALUES (?, ?, ?)");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (stmt, 2, case_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64 (stmt, 3, hl_clock_now ());
    if (s_step (stmt)) {
        hl_error ("web.db: cannot keep a tracking token: %s", hl_store_error (self->store));
        return -1;
    }
    return 0;
}

int
hl_public_track_case (hl_public_t *self, const char *token, char *case_id, size_t size)
{
    if (!token || strlen (token) != HL_TOKEN_HEX - 1 || strspn (token, "0123456789abcdef") != HL_TOKEN_HEX - 1)
        return 1;
    char hash [HL_TOKEN_HEX];
    s_sha256_hex (token, hash);
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "SELECT case_id FROM public_tracking WHERE token_hash = ?");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, hash, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step (stmt);
    int result = 1;
    if (rc == SQLITE_ROW) {
        snprintf (case_id, size, "%s", (const char *) sqlite3_column_text (stmt, 0));
        result = 0;
    }
    else
    if (rc != SQLITE_DONE) {
        hl_error ("web.db: %s", hl_store_error (self->store));
        result = -1;
    }
    sqlite3_reset (stmt);
    return result;
}

int
hl_public_submission_add (hl_public_t *self, const char *ip, const char *phone)
{
    char hash [HL_TOKEN_HEX];
    bool has_phone = s_phone_hash (phone, hash);
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "INSERT INTO public_submissions (at_ms, ip, phone_hash) VALUES (?, ?, ?)");
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, hl_clock_now ());
    sqlite3_bind_text (stmt, 2, ip? ip: "", -1, SQLITE_TRANSIENT);
    if (has_phone)
        sqlite3_bind_text (stmt, 3, hash, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null (stmt, 3);
    return s_step (stmt);
}

static int
s_count (hl_public_t *self, const char *sql, const char *value, int64_t since_ms, int *count)
{
    sqlite3_stmt *stmt = hl_store_prepare (self->store, sql);
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, value, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64 (stmt, 2, since_ms);
    int rc = sqlite3_step (stmt);
    if (rc == SQLITE_ROW)
        *count = sqlite3_column_int (stmt, 0);
    sqlite3_reset (stmt);
    return rc == SQLITE_ROW? 0: -1;
}

int
hl_public_submissions (hl_public_t *self, const char *ip, const char *phone, int64_t since_ms,
                       int *by_ip, int *by_phone)
{
    *by_ip = *by_phone = 0;
    if (s_count (self, "SELECT count(*) FROM public_submissions WHERE ip = ? AND at_ms >= ?",
                 ip? ip: "", since_ms, by_ip))
        return -1;
    char hash [HL_TOKEN_HEX];
    if (s_phone_hash (phone, hash)
    &&  s_count (self, "SELECT count(*) FROM public_submissions WHERE phone_hash = ? AND at_ms >= ?",
                 hash, since_ms, by_phone))
        return -1;
    return 0;
}

void
hl_public_test (bool verbose)
{
    printf (" * hl_public: ");
    char dir [] = "/tmp/hl_public_XXXXXX";
    assert (mkdtemp (dir));
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/web.db", dir);
    //  A web.db of the previous release: version 1 (the accounts' tables),
    //  with or without this class's tables, which it made outside the
    //  versions. Both are brought to version 2, rows kept
    for (int had = 0; had < 2; had++) {
        hl_store_t *store = hl_store_new (path, NULL);
        assert (store);
        assert (hl_store_exec (store, "CREATE TABLE users (name TEXT PRIMARY KEY);"
                                      "PRAGMA user_version = 1") == 0);
        if (had)
            assert (hl_store_exec (store, "CREATE TABLE public_tracking (token_hash TEXT PRIMARY KEY,"
                                          " case_id TEXT NOT NULL, created_ms INTEGER NOT NULL);"
                                          "INSERT INTO public_tracking VALUES ('x', 'c', 1)") == 0);
        hl_store_destroy (&store);
        hl_public_t *old = hl_public_new (path);
        assert (old);
        assert (hl_store_version (old->store) == 2);
        assert (hl_store_int (old->store, "SELECT count(*) FROM public_tracking", -1) == had);
        assert (hl_store_int (old->store, "SELECT count(*) FROM sqlite_master"
                                          " WHERE name = 'public_submissions_phone'", -1) == 1);
        hl_public_destroy (&old);
        unlink (path);
    }
    //  A newer one is refused
    {
        hl_store_t *store = hl_store_new (path, NULL);
        assert (hl_store_exec (store, "PRAGMA user_version = 99") == 0);
        hl_store_destroy (&store);
        assert (hl_public_new (path) == NULL);
        unlink (path);
    }
    hl_public_t *self = hl_public_new (path);
    assert (self);
    assert (hl_store_version (self->store) == 2);
    char token [HL_TOKEN_HEX], other [HL_TOKEN_HEX], case_id [32];
    assert (hl_public_track_new (self, "31001-2026-000001", token) == 0);
    assert (hl_public_track_new (self, "31001-2026-000001", other) == 0);
    assert (strlen (token) == 64 && strneq (token, other));
    assert (hl_public_track_case (self, token, case_id, sizeof case_id) == 0);
    assert (streq (case_id, "31001-2026-000001"));
    other [0] = other [0] == 'a'? 'b': 'a';
    assert (hl_public_track_case (self, other, case_id, sizeof case_id) == 1);
    assert (hl_public_track_case (self, "31001-2026-000001", case_id, sizeof case_id) == 1);
    assert (hl_public_track_case (self, NULL, case_id, sizeof case_id) == 1);
    //  Only the hash is kept
    sqlite3 *db;
    assert (sqlite3_open (path, &db) == SQLITE_OK);
    char sql [256];
    snprintf (sql, sizeof sql, "SELECT count(*) FROM public_tracking WHERE token_hash = '%s'", token);
    sqlite3_stmt *stmt;
    assert (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) == SQLITE_OK);
    assert (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_int (stmt, 0) == 0);
    sqlite3_finalize (stmt);
    sqlite3_close (db);

    int by_ip, by_phone;
    assert (hl_public_submission_add (self, "10.0.0.1", "0916 588 826") == 0);
    assert (hl_public_submission_add (self, "10.0.0.1", NULL) == 0);
    assert (hl_public_submission_add (self, "10.0.0.2", "0916.588.826") == 0);
    assert (hl_public_submissions (self, "10.0.0.1", "0916588826", 0, &by_ip, &by_phone) == 0);
    assert (by_ip == 2 && by_phone == 2);
    assert (hl_public_submissions (self, "10.0.0.3", "", 0, &by_ip, &by_phone) == 0);
    assert (by_ip == 0 && by_phone == 0);
    assert (hl_public_submissions (self, "10.0.0.1", NULL, hl_clock_now () + 1000, &by_ip, &by_phone) == 0);
    assert (by_ip == 0);
    hl_public_destroy (&self);
    assert (!self);
    char cmd [PATH_MAX + 16];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    if (system (cmd)) {}
    if (verbose)
        printf ("(%s) ", dir);
    printf ("OK\n");
}
