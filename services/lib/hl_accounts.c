/*  hl_accounts — the web console's accounts, sessions, login audit, API
 *  keys and report prose, in web.db.
 *
 *  Reading this file: the schema and its version; small helpers (errors,
 *  names, tokens, hashes); users; the login check (password, then TOTP);
 *  the audit; sessions; API keys; the report's prose; the selftest, which
 *  is also the example of use.
 *
 *  Costs: one Argon2id hash (crypto_pwhash_str at the INTERACTIVE limits,
 *  2 passes over 64 MiB) takes about 0.1 s of one core and 64 MiB of memory,
 *  and under valgrind some seconds. It is paid by user add, user passwd and
 *  every login (a successful or a failed one alike, an unknown user
 *  included, so that timing does not tell which names exist). Sessions and
 *  API keys are checked with one SHA-256 and one indexed lookup.
 */
#include "hotline.h"
#include <pthread.h>
#include <sodium.h>
#include <liboath/oath.h>

//  The last step of s_migrations: a web.db written by a newer version is
//  refused rather than misread
#define S_SCHEMA_VERSION    2
#define S_PASSWORD_MIN      10
#define S_PASSWORD_MAX      256
#define S_TOTP_STEP         30
#define S_TOTP_DIGITS       6
#define S_TOTP_SECRET_BYTES 20      //  160 bits, RFC 4226's recommendation
#define S_REPORT_TEXT_MAX   20000
//  A session's last use is written at most this often: a write is an fsync
//  (synchronous=FULL), and a page makes several requests a second. Idle
//  expiry is therefore exact to within this much.
#define S_SEEN_GRANULARITY_MS   5000
//  The login audit keeps a year
#define S_AUDIT_KEEP_MS     (366LL * 24 * 3600 * 1000)
#define S_LOGIN_FAILED      "wrong user, password or code"

//  Step 1 of web.db's accounts: the schema of the first release with them
static const char s_schema [] =
    "CREATE TABLE IF NOT EXISTS users ("
    "  name TEXT PRIMARY KEY,"
    "  role TEXT NOT NULL,"
    "  hash TEXT NOT NULL,"                     //  crypto_pwhash_str's string
    "  disabled INTEGER NOT NULL DEFAULT 0,"
    "  totp_secret TEXT,"                       //  base32, NULL = none
    "  totp_last_step INTEGER NOT NULL DEFAULT 0,"  //  a code is good once
    "  created_ms INTEGER NOT NULL,"
    "  last_login_ms INTEGER NOT NULL DEFAULT 0);"
    //  The token is kept as its SHA-256 only. The CSRF token is kept in
    //  clear: the check must hand it back to the page, and it is worth
    //  nothing without the session cookie.
    "CREATE TABLE IF NOT EXISTS sessions ("
    "  token_hash TEXT PRIMARY KEY,"
    "  user TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,"
    "  role TEXT NOT NULL,"
    "  csrf TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  last_seen_ms INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user);"
    "CREATE TABLE IF NOT EXISTS login_audit ("
    "  id INTEGER PRIMARY KEY,"
    "  at_ms INTEGER NOT NULL,"
    "  name TEXT,"
    "  ip TEXT,"
    "  ok INTEGER NOT NULL,"
    "  reason TEXT);"
    "CREATE INDEX IF NOT EXISTS login_audit_name ON login_audit (name, at_ms);"
    "CREATE INDEX IF NOT EXISTS login_audit_ip ON login_audit (ip, at_ms);"
    "CREATE TABLE IF NOT EXISTS apikeys ("
    "  name TEXT PRIMARY KEY,"
    "  key_hash TEXT NOT NULL UNIQUE,"
    "  created_ms INTEGER NOT NULL,"
    "  revoked_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS report_text ("
    "  period TEXT PRIMARY KEY,"
    "  letter TEXT NOT NULL,"
    "  practice TEXT NOT NULL,"
    "  difficulties TEXT NOT NULL,"
    "  proposals TEXT NOT NULL,"
    "  updated_ms INTEGER NOT NULL);";

//  web.db's schema versions (hl_store_migrate): append, never edit. The
//  file also holds hl_public's tables: one list, so one version, for both
//  classes (each opens the file with it). 2: those tables, which the
//  previous release made outside the versions (IF NOT EXISTS: its stores
//  may have them)
static const hl_store_migration_t s_migrations [] = {
    { 1, s_schema, NULL },
    { 2, hl_public_schema, NULL },
    { 0, NULL, NULL }
};

const hl_store_migration_t *
hl_accounts_migrations (void)
{
    return s_migrations;
}

static const char *s_text_keys [] = { "letter", "practice", "difficulties", "proposals", NULL };

struct _hl_accounts_t {
    hl_store_t *store;
    char *path;
    //  Argon2id cost: the INTERACTIVE limits. Only the selftest lowers them
    //  (to libsodium's minimum) so that it runs in seconds under valgrind;
    //  a hash string carries its own parameters, so either verifies.
    unsigned long long opslimit;
    size_t memlimit;
    //  A hash of a random password, made on the first login of an unknown
    //  or malformed name, so that such a login costs what a real one does
    char *dummy_hash;
};

//  --------------------------------------------------------------------------
//  Helpers

static pthread_once_t s_init_once = PTHREAD_ONCE_INIT;
static int s_init_rc = 0;

static void
s_init (void)
{
    //  sodium_init: picks the CPU's fastest implementations and seeds the
    //  RNG; oath_init: the crypto backend. Both once per process.
    if (sodium_init () < 0)
        s_init_rc = -1;
    else
    if (oath_init () != OATH_OK)
        s_init_rc = -1;
}

static int
s_fail (char *err, size_t errsize, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static int
s_fail (char *err, size_t errsize, const char *fmt, ...)
{
    if (err && errsize) {
        va_list args;
        va_start (args, fmt);
        vsnprintf (err, errsize, fmt, args);
        va_end (args);
    }
    return -1;
}

static int
s_store_fail (hl_accounts_t *self, char *err, size_t errsize)
{
    hl_error ("%s: %s", self->path, hl_store_error (self->store));
    return s_fail (err, errsize, "the accounts store failed: %s", hl_store_error (self->store));
}

//  1-max of [a-z0-9] plus extra, starting with a letter
static bool
s_name_ok (const char *name, size_t max, const char *extra)
{
    if (!name || !*name || strlen (name) > max || !(*name >= 'a' && *name <= 'z'))
        return false;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || strchr (extra, *c)))
            return false;
    return true;
}

static bool
s_user_name_ok (const char *name)
{
    return s_name_ok (name, 64, "._-");
}

static bool
s_role_ok (const char *role)
{
    return s_name_ok (role, 32, "_-");
}

//  A 256-bit random token, as 64 lowercase hex digits
static void
s_token_new (char *token)
{
    unsigned char raw [32];
    randombytes_buf (raw, sizeof raw);
    sodium_bin2hex (token, HL_TOKEN_HEX, raw, sizeof raw);
    sodium_memzero (raw, sizeof raw);
}

static bool
s_token_ok (const char *token)
{
    if (!token || strlen (token) != HL_TOKEN_HEX - 1)
        return false;
    for (const char *c = token; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
            return false;
    return true;
}

//  SHA-256 of a token, hex: what the store keeps
static void
s_token_hash (const char *token, char *hash)
{
    unsigned char digest [crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (digest, (const unsigned char *) token, strlen (token));
    sodium_bin2hex (hash, HL_TOKEN_HEX, digest, sizeof digest);
}

static int
s_hash_password (hl_accounts_t *self, const char *password, char *hash)
{
    return crypto_pwhash_str (hash, password, strlen (password), self->opslimit, self->memlimit);
}

static int
s_password_check (const char *password, char *err, size_t errsize)
{
    if (!password)
        return s_fail (err, errsize, "a password is needed");
    size_t length = strlen (password);
    if (length < S_PASSWORD_MIN)
        return s_fail (err, errsize, "the password is too short: at least %d characters", S_PASSWORD_MIN);
    if (length > S_PASSWORD_MAX)
        return s_fail (err, errsize, "the password is too long: at most %d bytes", S_PASSWORD_MAX);
    return 0;
}

static void
s_account_read (sqlite3_stmt *stmt, int first, hl_account_t *account)
{
    //  columns: name, role, disabled, totp (bool), created_ms, last_login_ms
    memset (account, 0, sizeof *account);
    snprintf (account->name, sizeof account->name, "%s", (const char *) sqlite3_column_text (stmt, first));
    snprintf (account->role, sizeof account->role, "%s", (const char *) sqlite3_column_text (stmt, first + 1));
    account->disabled = sqlite3_column_int (stmt, first + 2) != 0;
    account->totp = sqlite3_column_int (stmt, first + 3) != 0;
    account->created_ms = sqlite3_column_int64 (stmt, first + 4);
    account->last_login_ms = sqlite3_column_int64 (stmt, first + 5);
}

//  Step a prepared statement that changes rows (in the open transaction,
//  or as its own). Returns the number of rows changed, or -1.
static int
s_step_change (hl_accounts_t *self, sqlite3_stmt *stmt)
{
    if (!stmt)
        return -1;
    int rc = sqlite3_step (stmt);
    sqlite3_reset (stmt);
    if (rc != SQLITE_DONE)
        return -1;
    return sqlite3_changes (hl_store_db (self->store));
}

//  End every session of user name (a new password, a disabled account).
//  Returns the number ended, or -1.
static int
s_end_sessions (hl_accounts_t *self, const char *name)
{
    sqlite3_stmt *stmt = hl_store_prepare (self->store, "DELETE FROM sessions WHERE user = ?");
    if (stmt)
        sqlite3_bind_text (stmt, 1, name, -1, SQLITE_TRANSIENT);
    return s_step_change (self, stmt);
}

//  The end of a list's rows: list, or NULL (logged, list freed) if the
//  last step (rc) was not the end of the rows but a failed read
static json_t *
s_list_end (hl_accounts_t *self, sqlite3_stmt *stmt, int rc, json_t *list)
{
    sqlite3_reset (stmt);
    if (rc != SQLITE_DONE) {
        hl_error ("%s: %s", self->path, hl_store_error (self->store));
        json_decref (list);
        return NULL;
    }
    return list;
}

//  The first column of a count (*) statement's row, or -1 if it fails
static int
s_count (sqlite3_stmt *stmt)
{
    int count = -1;
    if (sqlite3_step (stmt) == SQLITE_ROW)
        count = sqlite3_column_int (stmt, 0);
    sqlite3_reset (stmt);
    return count;
}

//  --------------------------------------------------------------------------
//  Open and close

hl_accounts_t *
hl_accounts_new (const char *path)
{
    assert (path);
    pthread_once (&s_init_once, s_init);
    if (s_init_rc) {
        hl_error ("libsodium or liboath failed to initialise: no accounts store");
        return NULL;
    }
    hl_accounts_t *self = (hl_accounts_t *) zmalloc (sizeof (hl_accounts_t));
    self->path = hl_strdup (path);
    self->opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
    self->memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
    self->store = hl_store_new (path, NULL);
    if (!self->store) {
        hl_accounts_destroy (&self);
        return NULL;
    }
    //  The schema is created, and its version stamped, in one transaction
    //  (two processes, the web and the CLI, may open a new file at once);
    //  a file from a newer release is refused
    if (hl_store_migrate (self->store, "web.db", s_migrations, NULL)) {
        hl_accounts_destroy (&self);
        return NULL;
    }
    //  Forget login attempts older than a year
    sqlite3_stmt *stmt = hl_store_prepare (self->store, "DELETE FROM login_audit WHERE at_ms < ?");
    if (stmt) {
        sqlite3_bind_int64 (stmt, 1, hl_clock_now () - S_AUDIT_KEEP_MS);
        s_step_change (self, stmt);
    }
    return self;
}

void
hl_accounts_destroy (hl_accounts_t **self_p)
{
    assert (self_p);
    hl_accounts_t *self = *self_p;
    if (self) {
        hl_store_destroy (&self->store);
        free (self->dummy_hash);
        free (self->path);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Users

int
hl_accounts_add (hl_accounts_t *self, const char *name, const char *role,
                 const char *password, char *err, size_t errsize)
{
    assert (self);
    if (!s_user_name_ok (name))
        return s_fail (err, errsize, "bad user name '%.64s': 1-64 of a-z 0-9 . _ -, starting with a letter",
                       name? name: "");
    if (!s_role_ok (role))
        return s_fail (err, errsize, "bad role '%.32s': 1-32 of a-z 0-9 _ -, starting with a letter",
                       role? role: "");
    if (s_password_check (password, err, errsize))
        return -1;
    hl_account_t existing;
    if (hl_accounts_get (self, name, &existing) == 0)
        return s_fail (err, errsize, "user '%s' exists", name);
    char hash [crypto_pwhash_STRBYTES];
    if (s_hash_password (self, password, hash))
        return s_fail (err, errsize, "cannot hash the password (out of memory)");
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "INSERT INTO users (name, role, hash, created_ms) VALUES (?, ?, ?, ?)");
    if (!stmt)
        return s_store_fail (self, err, errsize);
    sqlite3_bind_text (stmt, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (stmt, 2, role, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (stmt, 3, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64 (stmt, 4, hl_clock_now ());
    int rc = sqlite3_step (stmt);
    sqlite3_reset (stmt);
    if (rc == SQLITE_CONSTRAINT)        //  added meanwhile by another process
        return s_fail (err, errsize, "user '%s' exists", name);
    if (rc != SQLITE_DONE)
        return s_store_fail (self, err, errsize);
    return 0;
}

int
hl_accounts_passwd (hl_accounts_t *self, const char *name, const char *password,
                    char *err, size_t errsize)
{
    assert (self);
    if (s_password_check (password, err, errsize))
        return -1;
    hl_account_t account;
    if (hl_accounts_get (self, name, &account))
        return s_fail (err, errsize, "no user '%.64s'", name? name: "");
    char hash [crypto_pwhash_STRBYTES];
    if (s_hash_password (self, password, hash))
        return s_fail (err, errsize, "cannot hash the password (out of memory)");
    //  A new password ends the user's sessions: it is set when the old one
    //  may be known to someone else
    if (hl_store_begin (self->store))
        return s_store_fail (self, err, errsize);
    sqlite3_stmt *stmt = hl_store_prepare (self->store, "UPDATE users SET hash = ? WHERE name = ?");
    if (stmt) {
        sqlite3_bind_text (stmt, 1, hash, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text (stmt, 2, name, -1, SQLITE_TRANSIENT);
    }
    if (s_step_change (self, stmt) != 1)
        goto failed;
    if (s_end_sessions (self, name) < 0 || hl_store_commit (self->store))
        goto failed;
    return 0;
failed:
    s_store_fail (self, err, errsize);
    hl_store_rollback (self->store);
    return -1;
}

int
hl_accounts_disable (hl_accounts_t *self, const char *name, bool disabled,
                     char *err, size_t errsize)
{
    assert (self);
    hl_account_t account;
    if (hl_accounts_get (self, name, &account))
        return s_fail (err, errsize, "no user '%.64s'", name? name: "");
    if (hl_store_begin (self->store))
        return s_store_fail (self, err, errsize);
    sqlite3_stmt *stmt;
    if (disabled && streq (account.role, "admin")) {
        //  Counted inside the write transaction (BEGIN IMMEDIATE), so two
        //  admins disabling each other at once, from the console and the
        //  CLI, cannot both pass: the second one counts after the first
        stmt = hl_store_prepare (self->store,
            "SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0 AND name <> ?");
        if (!stmt)
            goto failed;
        sqlite3_bind_text (stmt, 1, name, -1, SQLITE_TRANSIENT);
        int others = s_count (stmt);
        if (others < 0)
            goto failed;
        if (others == 0 && !account.disabled) {
            hl_store_rollback (self->store);
            s_fail (err, errsize, "'%.64s' is the last enabled admin: add or enable another admin "
                    "first", name);
            return HL_CONFLICT;
        }
    }
    stmt = hl_store_prepare (self->store, "UPDATE users SET disabled = ? WHERE name = ?");
    if (stmt) {
        sqlite3_bind_int (stmt, 1, disabled? 1: 0);
        sqlite3_bind_text (stmt, 2, name, -1, SQLITE_TRANSIENT);
    }
    if (s_step_change (self, stmt) != 1)
        goto failed;
    if (disabled && s_end_sessions (self, name) < 0)
        goto failed;
    if (hl_store_commit (self->store))
        goto failed;
    return 0;
failed:
    s_store_fail (self, err, errsize);
    hl_store_rollback (self->store);
    return -1;
}

int
hl_accounts_totp_set (hl_accounts_t *self, const char *name, char *secret, size_t size,
                      char *err, size_t errsize)
{
    assert (self);
    assert (secret);
    if (size < 33)
        return s_fail (err, errsize, "no room for the secret (33 bytes needed)");
    hl_account_t account;
    if (hl_accounts_get (self, name, &account))
        return s_fail (err, errsize, "no user '%.64s'", name? name: "");
    char raw [S_TOTP_SECRET_BYTES];
    randombytes_buf (raw, sizeof raw);
    char *base32 = NULL;
    size_t length = 0;
    int rc = oath_base32_encode (raw, sizeof raw, &base32, &length);
    sodium_memzero (raw, sizeof raw);
    if (rc != OATH_OK || !base32 || length != 32) {
        free (base32);
        return s_fail (err, errsize, "cannot encode the TOTP secret");
    }
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "UPDATE users SET totp_secret = ?, totp_last_step = 0 WHERE name = ?");
    if (stmt) {
        sqlite3_bind_text (stmt, 1, base32, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text (stmt, 2, name, -1, SQLITE_TRANSIENT);
    }
    if (s_step_change (self, stmt) != 1) {
        sodium_memzero (base32, length);
        free (base32);
        return s_store_fail (self, err, errsize);
    }
    snprintf (secret, size, "%s", base32);
    sodium_memzero (base32, length);
    free (base32);
    return 0;
}

int
hl_accounts_totp_clear (hl_accounts_t *self, const char *name, char *err, size_t errsize)
{
    assert (self);
    hl_account_t account;
    if (hl_accounts_get (self, name, &account))
        return s_fail (err, errsize, "no user '%.64s'", name? name: "");
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "UPDATE users SET totp_secret = NULL, totp_last_step = 0 WHERE name = ?");
    if (stmt)
        sqlite3_bind_text (stmt, 1, name, -1, SQLITE_TRANSIENT);
    if (s_step_change (self, stmt) != 1)
        return s_store_fail (self, err, errsize);
    return 0;
}

int
hl_accounts_get (hl_accounts_t *self, const char *name, hl_account_t *account)
{
    assert (self);
    assert (account);
    if (!s_user_name_ok (name))
        return -1;
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "SELECT name, role, disabled, totp_secret IS NOT NULL, created_ms, last_login_ms"
        " FROM users WHERE name = ?");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, name, -1, SQLITE_TRANSIENT);
    int rc = -1;
    if (sqlite3_step (stmt) == SQLITE_ROW) {
        s_account_read (stmt, 0, account);
        rc = 0;
    }
    sqlite3_reset (stmt);
    return rc;
}

json_t *
hl_accounts_list (hl_accounts_t *self)
{
    assert (self);
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "SELECT name, role, disabled, totp_secret IS NOT NULL, created_ms, last_login_ms"
        " FROM users ORDER BY name");
    if (!stmt)
        return NULL;
    json_t *list = json_array ();
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        hl_account_t account;
        s_account_read (stmt, 0, &account);
        json_array_append_new (list, json_pack ("{s:s, s:s, s:b, s:b, s:I, s:I}",
            "name", account.name, "role", account.role, "disabled", account.disabled,
            "totp", account.totp, "created_ms", (json_int_t) account.created_ms,
            "last_login_ms", (json_int_t) account.last_login_ms));
    }
    return s_list_end (self, stmt, rc, list);
}

int
hl_accounts_count (hl_accounts_t *self)
{
    assert (self);
    return (int) hl_store_int (self->store, "SELECT count(*) FROM users", -1);
}

//  --------------------------------------------------------------------------
//  The login check

//  A TOTP code: is it right for secret (base32) now, one step either side,
//  and newer than the last code used (RFC 6238 5.2: a code is good once)?
//  Returns its time step, or -1.
static int64_t
s_totp_check (const char *secret, int64_t last_step, const char *otp)
{
    if (!otp || strlen (otp) != S_TOTP_DIGITS)
        return -1;
    for (const char *c = otp; *c; c++)
        if (*c < '0' || *c > '9')
            return -1;
    char *raw = NULL;
    size_t length = 0;
    if (oath_base32_decode (secret, strlen (secret), &raw, &length) != OATH_OK)
        return -1;
    time_t now = (time_t) (hl_clock_now () / 1000);
    int position = 0;
    int rc = oath_totp_validate2 (raw, length, now, S_TOTP_STEP, 0, 1, &position, otp);
    sodium_memzero (raw, length);
    free (raw);
    if (rc < 0)
        return -1;
    int64_t step = (int64_t) now / S_TOTP_STEP + position;
    return step > last_step? step: -1;
}

int
hl_accounts_verify (hl_accounts_t *self, const char *name, const char *password,
                    const char *otp, hl_account_t *account, char *err, size_t errsize)
{
    assert (self);
    assert (account);
    memset (account, 0, sizeof *account);
    if (!password || strlen (password) > S_PASSWORD_MAX)
        return s_fail (err, errsize, S_LOGIN_FAILED);
    char hash [crypto_pwhash_STRBYTES] = "";
    char secret [64] = "";
    int64_t last_step = 0;
    bool found = false;
    hl_account_t row;
    memset (&row, 0, sizeof row);
    if (s_user_name_ok (name)) {
        sqlite3_stmt *stmt = hl_store_prepare (self->store,
            "SELECT name, role, disabled, totp_secret IS NOT NULL, created_ms, last_login_ms,"
            " hash, coalesce (totp_secret, ''), totp_last_step FROM users WHERE name = ?");
        if (!stmt)
            return s_store_fail (self, err, errsize);
        sqlite3_bind_text (stmt, 1, name, -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step (stmt);
        if (rc == SQLITE_ROW) {
            found = true;
            s_account_read (stmt, 0, &row);
            snprintf (hash, sizeof hash, "%s", (const char *) sqlite3_column_text (stmt, 6));
            snprintf (secret, sizeof secret, "%s", (const char *) sqlite3_column_text (stmt, 7));
            last_step = sqlite3_column_int64 (stmt, 8);
        }
        sqlite3_reset (stmt);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return s_store_fail (self, err, errsize);   //  not "wrong password"
    }
    if (!found) {
        //  The same work as for a real user, against a hash of nothing known
        if (!self->dummy_hash) {
            char dummy [S_PASSWORD_MAX + 1];
            s_token_new (dummy);
            char dummy_hash [crypto_pwhash_STRBYTES];
            if (s_hash_password (self, dummy, dummy_hash) == 0)
                self->dummy_hash = hl_strdup (dummy_hash);
        }
        if (self->dummy_hash && crypto_pwhash_str_verify (self->dummy_hash, password, strlen (password)) == 0)
            hl_warn ("a random password was guessed");     //  cannot happen

        return s_fail (err, errsize, S_LOGIN_FAILED);
    }
    if (crypto_pwhash_str_verify (hash, password, strlen (password)) != 0
    ||  row.disabled)
        return s_fail (err, errsize, S_LOGIN_FAILED);
    int64_t step = 0;
    if (*secret) {
        step = s_totp_check (secret, last_step, otp);
        sodium_memzero (secret, sizeof secret);
        if (step < 0)
            return s_fail (err, errsize, S_LOGIN_FAILED);
    }
    int64_t now = hl_clock_now ();
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "UPDATE users SET last_login_ms = ?, totp_last_step = max (totp_last_step, ?) WHERE name = ?");
    if (stmt) {
        sqlite3_bind_int64 (stmt, 1, now);
        sqlite3_bind_int64 (stmt, 2, step);
        sqlite3_bind_text (stmt, 3, name, -1, SQLITE_TRANSIENT);
    }
    if (s_step_change (self, stmt) != 1)
        return s_store_fail (self, err, errsize);
    row.last_login_ms = now;
    *account = row;
    return 0;
}

//  --------------------------------------------------------------------------
//  The login audit

int
hl_accounts_audit (hl_accounts_t *self, const char *name, const char *ip, bool ok,
                   const char *reason)
{
    assert (self);
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "INSERT INTO login_audit (at_ms, name, ip, ok, reason) VALUES (?, ?, ?, ?, ?)");
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, hl_clock_now ());
    //  What was typed as a name, at most 64 bytes: never a password
    if (name)
        sqlite3_bind_text (stmt, 2, name, (int) strnlen (name, 64), SQLITE_TRANSIENT);
    if (ip)
        sqlite3_bind_text (stmt, 3, ip, (int) strnlen (ip, 64), SQLITE_TRANSIENT);
    sqlite3_bind_int (stmt, 4, ok? 1: 0);
    if (reason)
        sqlite3_bind_text (stmt, 5, reason, (int) strnlen (reason, 200), SQLITE_TRANSIENT);
    return s_step_change (self, stmt) == 1? 0: -1;
}

int
hl_accounts_failures (hl_accounts_t *self, const char *name, const char *ip, int64_t since_ms)
{
    assert (self);
    sqlite3_stmt *stmt = hl_store_prepare (self->store, name
        ? "SELECT count(*) FROM login_audit WHERE name = ? AND at_ms >= ? AND ok = 0"
        : "SELECT count(*) FROM login_audit WHERE ip = ? AND at_ms >= ? AND ok = 0");
    if (!stmt)
        return -1;
    const char *key = name? name: (ip? ip: "");
    sqlite3_bind_text (stmt, 1, key, (int) strnlen (key, 64), SQLITE_TRANSIENT);
    sqlite3_bind_int64 (stmt, 2, since_ms);
    return s_count (stmt);
}

//  --------------------------------------------------------------------------
//  Sessions

int
hl_accounts_session_new (hl_accounts_t *self, const char *user, const char *role,
                         char *token, char *csrf)
{
    assert (self);
    assert (token);
    assert (csrf);
    if (!s_user_name_ok (user) || !s_role_ok (role))
        return -1;
    char hash [HL_TOKEN_HEX];
    s_token_new (token);
    s_token_new (csrf);
    s_token_hash (token, hash);
    int64_t now = hl_clock_now ();
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "INSERT INTO sessions (token_hash, user, role, csrf, created_ms, last_seen_ms)"
        " VALUES (?, ?, ?, ?, ?, ?)");
    if (stmt) {
        sqlite3_bind_text (stmt, 1, hash, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text (stmt, 2, user, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text (stmt, 3, role, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text (stmt, 4, csrf, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64 (stmt, 5, now);
        sqlite3_bind_int64 (stmt, 6, now);
    }
    if (s_step_change (self, stmt) != 1) {
        hl_error ("%s: cannot store a session: %s", self->path, hl_store_error (self->store));
        *token = *csrf = 0;
        return -1;
    }
    return 0;
}

static void
s_session_delete (hl_accounts_t *self, const char *hash)
{
    sqlite3_stmt *stmt = hl_store_prepare (self->store, "DELETE FROM sessions WHERE token_hash = ?");
    if (stmt) {
        sqlite3_bind_text (stmt, 1, hash, -1, SQLITE_TRANSIENT);
        s_step_change (self, stmt);
    }
}

int
hl_accounts_session_check (hl_accounts_t *self, const char *token, int64_t idle_ms,
                           int64_t max_ms, hl_session_info_t *info)
{
    assert (self);
    assert (info);
    memset (info, 0, sizeof *info);
    if (!s_token_ok (token))
        return -1;
    char hash [HL_TOKEN_HEX];
    s_token_hash (token, hash);
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "SELECT s.token_hash, s.user, s.role, s.csrf, s.created_ms, s.last_seen_ms, u.disabled"
        " FROM sessions s JOIN users u ON u.name = s.user WHERE s.token_hash = ?");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, hash, -1, SQLITE_TRANSIENT);
    bool found = false, disabled = false;
    if (sqlite3_step (stmt) == SQLITE_ROW) {
        //  The index found it; compare the whole hash in constant time anyway
        const char *stored = (const char *) sqlite3_column_text (stmt, 0);
        found = stored && strlen (stored) == HL_TOKEN_HEX - 1
             && sodium_memcmp (stored, hash, HL_TOKEN_HEX - 1) == 0;
        snprintf (info->user, sizeof info->user, "%s", (const char *) sqlite3_column_text (stmt, 1));
        snprintf (info->role, sizeof info->role, "%s", (const char *) sqlite3_column_text (stmt, 2));
        snprintf (info->csrf, sizeof info->csrf, "%s", (const char *) sqlite3_column_text (stmt, 3));
        info->created_ms = sqlite3_column_int64 (stmt, 4);
        info->last_seen_ms = sqlite3_column_int64 (stmt, 5);
        disabled = sqlite3_column_int (stmt, 6) != 0;
    }
    sqlite3_reset (stmt);
    if (!found) {
        memset (info, 0, sizeof *info);
        return -1;
    }
    int64_t now = hl_clock_now ();
    if (disabled || now - info->last_seen_ms > idle_ms || now - info->created_ms > max_ms) {
        s_session_delete (self, hash);
        memset (info, 0, sizeof *info);
        return -1;
    }
    if (now - info->last_seen_ms >= S_SEEN_GRANULARITY_MS) {
        stmt = hl_store_prepare (self->store,
            "UPDATE sessions SET last_seen_ms = ? WHERE token_hash = ?");
        if (stmt) {
            sqlite3_bind_int64 (stmt, 1, now);
            sqlite3_bind_text (stmt, 2, hash, -1, SQLITE_TRANSIENT);
        }
        //  A failed refresh is not a failed check: the session is good now
        if (s_step_change (self, stmt) == 1)
            info->last_seen_ms = now;
    }
    return 0;
}

int
hl_accounts_session_end (hl_accounts_t *self, const char *token)
{
    assert (self);
    if (!s_token_ok (token))
        return -1;
    char hash [HL_TOKEN_HEX];
    s_token_hash (token, hash);
    sqlite3_stmt *stmt = hl_store_prepare (self->store, "DELETE FROM sessions WHERE token_hash = ?");
    if (stmt)
        sqlite3_bind_text (stmt, 1, hash, -1, SQLITE_TRANSIENT);
    return s_step_change (self, stmt) == 1? 0: -1;
}

int
hl_accounts_session_count (hl_accounts_t *self, int64_t idle_ms, int64_t max_ms)
{
    assert (self);
    int64_t now = hl_clock_now ();
    //  Sessions that expired unseen are forgotten here (a check deletes the
    //  ones it finds expired; the rest would stay forever)
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "DELETE FROM sessions WHERE last_seen_ms < ? OR created_ms < ?");
    if (stmt) {
        sqlite3_bind_int64 (stmt, 1, now - idle_ms);
        sqlite3_bind_int64 (stmt, 2, now - max_ms);
    }
    if (s_step_change (self, stmt) < 0)
        return -1;
    stmt = hl_store_prepare (self->store,
        "SELECT count(*) FROM sessions s JOIN users u ON u.name = s.user WHERE u.disabled = 0");
    if (!stmt)
        return -1;
    return s_count (stmt);
}

//  --------------------------------------------------------------------------
//  API keys

int
hl_accounts_apikey_add (hl_accounts_t *self, const char *name, char *key,
                        char *err, size_t errsize)
{
    assert (self);
    assert (key);
    *key = 0;
    if (!s_user_name_ok (name))
        return s_fail (err, errsize, "bad key name '%.64s': 1-64 of a-z 0-9 . _ -, starting with a letter",
                       name? name: "");
    char fresh [HL_TOKEN_HEX], hash [HL_TOKEN_HEX];
    s_token_new (fresh);
    s_token_hash (fresh, hash);
    //  A revoked key's name may be given to a new key (it replaces the
    //  revoked row); a live key's may not
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "INSERT INTO apikeys (name, key_hash, created_ms) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET key_hash = excluded.key_hash,"
        " created_ms = excluded.created_ms, revoked_ms = 0 WHERE revoked_ms != 0");
    if (!stmt)
        return s_store_fail (self, err, errsize);
    sqlite3_bind_text (stmt, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (stmt, 2, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64 (stmt, 3, hl_clock_now ());
    int changed = s_step_change (self, stmt);
    if (changed < 0)
        return s_store_fail (self, err, errsize);
    if (changed == 0)
        return s_fail (err, errsize, "an API key named '%s' exists (revoke it first)", name);
    memcpy (key, fresh, HL_TOKEN_HEX);
    sodium_memzero (fresh, sizeof fresh);
    return 0;
}

int
hl_accounts_apikey_revoke (hl_accounts_t *self, const char *name, char *err, size_t errsize)
{
    assert (self);
    if (!s_user_name_ok (name))
        return s_fail (err, errsize, "no API key '%.64s'", name? name: "");
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "UPDATE apikeys SET revoked_ms = ? WHERE name = ? AND revoked_ms = 0");
    if (stmt) {
        sqlite3_bind_int64 (stmt, 1, hl_clock_now ());
        sqlite3_bind_text (stmt, 2, name, -1, SQLITE_TRANSIENT);
    }
    int changed = s_step_change (self, stmt);
    if (changed < 0)
        return s_store_fail (self, err, errsize);
    if (changed == 0)
        return s_fail (err, errsize, "no live API key '%s'", name);
    return 0;
}

int
hl_accounts_apikey_check (hl_accounts_t *self, const char *key, char *name, size_t size)
{
    assert (self);
    if (name && size)
        *name = 0;
    if (!s_token_ok (key))
        return -1;
    char hash [HL_TOKEN_HEX];
    s_token_hash (key, hash);
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "SELECT key_hash, name FROM apikeys WHERE key_hash = ? AND revoked_ms = 0");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, hash, -1, SQLITE_TRANSIENT);
    int rc = -1;
    if (sqlite3_step (stmt) == SQLITE_ROW) {
        const char *stored = (const char *) sqlite3_column_text (stmt, 0);
        if (stored && strlen (stored) == HL_TOKEN_HEX - 1
        &&  sodium_memcmp (stored, hash, HL_TOKEN_HEX - 1) == 0) {
            if (name && size)
                snprintf (name, size, "%s", (const char *) sqlite3_column_text (stmt, 1));
            rc = 0;
        }
    }
    sqlite3_reset (stmt);
    return rc;
}

json_t *
hl_accounts_apikey_list (hl_accounts_t *self)
{
    assert (self);
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "SELECT name, created_ms, revoked_ms FROM apikeys ORDER BY name");
    if (!stmt)
        return NULL;
    json_t *list = json_array ();
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        json_array_append_new (list, json_pack ("{s:s, s:I, s:b}",
            "name", (const char *) sqlite3_column_text (stmt, 0),
            "created_ms", (json_int_t) sqlite3_column_int64 (stmt, 1),
            "revoked", sqlite3_column_int64 (stmt, 2) != 0));
    return s_list_end (self, stmt, rc, list);
}

//  --------------------------------------------------------------------------
//  The report's prose

//  "YYYY-MM-DD..YYYY-MM-DD"
static bool
s_period_ok (const char *period)
{
    if (!period || strlen (period) != 22 || strncmp (period + 10, "..", 2))
        return false;
    for (int half = 0; half < 2; half++) {
        const char *date = period + half * 12;
        for (int i = 0; i < 10; i++)
            if (i == 4 || i == 7? date [i] != '-': (date [i] < '0' || date [i] > '9'))
                return false;
    }
    return true;
}

json_t *
hl_accounts_report_text (hl_accounts_t *self, const char *period)
{
    assert (self);
    if (!s_period_ok (period))
        return NULL;
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "SELECT letter, practice, difficulties, proposals FROM report_text WHERE period = ?");
    if (!stmt)
        return NULL;
    sqlite3_bind_text (stmt, 1, period, -1, SQLITE_TRANSIENT);
    json_t *text = json_object ();
    int rc = sqlite3_step (stmt);
    for (int i = 0; s_text_keys [i]; i++)
        json_object_set_new (text, s_text_keys [i], json_string (rc == SQLITE_ROW
            ? (const char *) sqlite3_column_text (stmt, i): ""));
    sqlite3_reset (stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        hl_error ("%s: %s", self->path, hl_store_error (self->store));
        json_decref (text);
        return NULL;
    }
    return text;
}

int
hl_accounts_report_text_set (hl_accounts_t *self, const char *period, json_t *text,
                             char *err, size_t errsize)
{
    assert (self);
    if (!s_period_ok (period))
        return s_fail (err, errsize, "bad period '%.40s': YYYY-MM-DD..YYYY-MM-DD", period? period: "");
    if (!json_is_object (text))
        return s_fail (err, errsize, "the report's text is not an object");
    const char *key;
    json_t *value;
    json_object_foreach (text, key, value) {
        bool known = false;
        for (int i = 0; s_text_keys [i]; i++)
            known |= streq (key, s_text_keys [i]);
        if (!known)
            return s_fail (err, errsize, "%.40s: unknown field", key);
        if (!json_is_string (value))
            return s_fail (err, errsize, "%s: not a string", key);
        if (json_string_length (value) > S_REPORT_TEXT_MAX)
            return s_fail (err, errsize, "%s: longer than %d bytes", key, S_REPORT_TEXT_MAX);
    }
    sqlite3_stmt *stmt = hl_store_prepare (self->store,
        "INSERT OR REPLACE INTO report_text (period, letter, practice, difficulties, proposals, updated_ms)"
        " VALUES (?, ?, ?, ?, ?, ?)");
    if (!stmt)
        return s_store_fail (self, err, errsize);
    sqlite3_bind_text (stmt, 1, period, -1, SQLITE_TRANSIENT);
    for (int i = 0; s_text_keys [i]; i++) {
        json_t *field = json_object_get (text, s_text_keys [i]);
        sqlite3_bind_text (stmt, 2 + i, field? json_string_value (field): "",
                           field? (int) json_string_length (field): 0, SQLITE_TRANSIENT);
    }
    sqlite3_bind_int64 (stmt, 6, hl_clock_now ());
    if (s_step_change (self, stmt) != 1)
        return s_store_fail (self, err, errsize);
    return 0;
}

//  --------------------------------------------------------------------------
//  Selftest

//  Move the node clock (HOTLINE_CLOCK_FILE) to offset ms ahead of real time
static void
s_clock_set (const char *path, int64_t offset)
{
    FILE *file = fopen (path, "w");
    assert (file);
    fprintf (file, "%" PRId64 "\n", offset);
    fclose (file);
    //  hl_clock re-reads the file when its mtime changes; make sure it does
    zclock_sleep (2);
}

//  The TOTP code an authenticator app would show now + skew_steps
static void
s_totp_code (const char *secret, int skew_steps, char *code)
{
    char *raw = NULL;
    size_t length = 0;
    assert (oath_base32_decode (secret, strlen (secret), &raw, &length) == OATH_OK);
    time_t when = (time_t) (hl_clock_now () / 1000) + skew_steps * S_TOTP_STEP;
    assert (oath_totp_generate (raw, length, when, S_TOTP_STEP, 0, S_TOTP_DIGITS, code) == OATH_OK);
    free (raw);
}

void
hl_accounts_test (bool verbose)
{
    printf (" * hl_accounts: ");
    char dir [] = "/tmp/hl_accounts_XXXXXX";
    assert (mkdtemp (dir));
    char path [64], clock_path [64];
    snprintf (path, sizeof path, "%s/web.db", dir);
    snprintf (clock_path, sizeof clock_path, "%s/clock", dir);
    s_clock_set (clock_path, 0);
    setenv ("HOTLINE_CLOCK_FILE", clock_path, 1);
    char err [256];

    hl_accounts_t *accounts = hl_accounts_new (path);
    assert (accounts);
    //  The schema is stamped with its version
    assert (hl_store_int (accounts->store, "PRAGMA user_version", -1) == S_SCHEMA_VERSION);
    assert (hl_accounts_count (accounts) == 0);

    //  One user at the real cost, to prove the production path: the hash
    //  string names Argon2id at the INTERACTIVE limits. (Two hashes at this
    //  cost; under valgrind each takes seconds.)
    assert (hl_accounts_add (accounts, "lan", "officer", "correct horse battery", err, sizeof err) == 0);
    hl_account_t account;
    assert (hl_accounts_verify (accounts, "lan", "correct horse battery", NULL, &account, err, sizeof err) == 0);
    assert (streq (account.name, "lan") && streq (account.role, "officer"));
    assert (account.last_login_ms > 0 && !account.totp && !account.disabled);
    {
        char hash [crypto_pwhash_STRBYTES];
        sqlite3_stmt *stmt = hl_store_prepare (accounts->store, "SELECT hash FROM users WHERE name = 'lan'");
        assert (stmt && sqlite3_step (stmt) == SQLITE_ROW);
        snprintf (hash, sizeof hash, "%s", (const char *) sqlite3_column_text (stmt, 0));
        sqlite3_reset (stmt);
        assert (strncmp (hash, "$argon2id$", 10) == 0);
        assert (crypto_pwhash_str_needs_rehash (hash, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                                crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0);
        assert (!strstr (hash, "correct horse"));
    }
    //  The rest of the test hashes at libsodium's minimum cost
    accounts->opslimit = crypto_pwhash_OPSLIMIT_MIN;
    accounts->memlimit = crypto_pwhash_MEMLIMIT_MIN;

    //  Users: bad names, bad roles, short and long passwords, duplicates
    assert (hl_accounts_add (accounts, "Lan", "officer", "0123456789", err, sizeof err) == -1);
    assert (strstr (err, "bad user name"));
    assert (hl_accounts_add (accounts, "9lan", "officer", "0123456789", err, sizeof err) == -1);
    assert (hl_accounts_add (accounts, "la n", "officer", "0123456789", err, sizeof err) == -1);
    assert (hl_accounts_add (accounts, "", "officer", "0123456789", err, sizeof err) == -1);
    assert (hl_accounts_add (accounts, NULL, "officer", "0123456789", err, sizeof err) == -1);
    char long_name [80];
    memset (long_name, 'a', 65);
    long_name [65] = 0;
    assert (hl_accounts_add (accounts, long_name, "officer", "0123456789", err, sizeof err) == -1);
    long_name [64] = 0;         //  64 is the most
    assert (hl_accounts_add (accounts, long_name, "viewer", "0123456789", err, sizeof err) == 0);
    assert (hl_accounts_add (accounts, "minh", "Officer!", "0123456789", err, sizeof err) == -1);
    assert (strstr (err, "bad role"));
    assert (hl_accounts_add (accounts, "minh", "officer", "short", err, sizeof err) == -1);
    assert (strstr (err, "too short"));
    char long_password [300];
    memset (long_password, 'x', 257);
    long_password [257] = 0;
    assert (hl_accounts_add (accounts, "minh", "officer", long_password, err, sizeof err) == -1);
    assert (strstr (err, "too long"));
    assert (hl_accounts_add (accounts, "lan", "leader", "0123456789", err, sizeof err) == -1);
    assert (strstr (err, "exists"));
    assert (hl_accounts_add (accounts, "minh.tran", "leader", "mật khẩu dài", err, sizeof err) == 0);
    assert (hl_accounts_add (accounts, "admin", "admin", "0123456789ab", err, sizeof err) == 0);
    assert (hl_accounts_count (accounts) == 4);
    assert (hl_accounts_get (accounts, "nobody", &account) == -1);
    assert (hl_accounts_get (accounts, "minh.tran", &account) == 0);
    assert (streq (account.role, "leader") && account.last_login_ms == 0 && account.created_ms > 0);
    json_t *list = hl_accounts_list (accounts);
    assert (list && json_array_size (list) == 4);
    assert (streq (json_string_value (json_object_get (json_array_get (list, 0), "name")), long_name));
    assert (streq (json_string_value (json_object_get (json_array_get (list, 1), "name")), "admin"));
    assert (json_is_false (json_object_get (json_array_get (list, 1), "totp")));
    json_decref (list);

    //  Logins: every failure gives the same message
    assert (hl_accounts_verify (accounts, "minh.tran", "mật khẩu dài", NULL, &account, err, sizeof err) == 0);
    assert (hl_accounts_verify (accounts, "minh.tran", "wrong password", NULL, &account, err, sizeof err) == -1);
    assert (streq (err, S_LOGIN_FAILED) && account.name [0] == 0);
    assert (hl_accounts_verify (accounts, "nobody", "mật khẩu dài", NULL, &account, err, sizeof err) == -1);
    assert (streq (err, S_LOGIN_FAILED));
    assert (hl_accounts_verify (accounts, "../etc", "x", NULL, &account, err, sizeof err) == -1);
    assert (hl_accounts_verify (accounts, "minh.tran", long_password, NULL, &account, err, sizeof err) == -1);
    assert (hl_accounts_verify (accounts, "minh.tran", NULL, NULL, &account, err, sizeof err) == -1);

    //  A new password: the old one stops working, sessions end
    char token [HL_TOKEN_HEX], csrf [HL_TOKEN_HEX];
    hl_session_info_t info;
    assert (hl_accounts_session_new (accounts, "minh.tran", "leader", token, csrf) == 0);
    assert (hl_accounts_passwd (accounts, "minh.tran", "short", err, sizeof err) == -1);
    assert (hl_accounts_passwd (accounts, "nobody", "0123456789", err, sizeof err) == -1);
    assert (strstr (err, "no user"));
    assert (hl_accounts_passwd (accounts, "minh.tran", "a new long password", err, sizeof err) == 0);
    assert (hl_accounts_session_check (accounts, token, 60000, 3600000, &info) == -1);
    assert (hl_accounts_verify (accounts, "minh.tran", "mật khẩu dài", NULL, &account, err, sizeof err) == -1);
    assert (hl_accounts_verify (accounts, "minh.tran", "a new long password", NULL, &account, err, sizeof err) == 0);

    //  Disabled users cannot log in and their sessions end
    assert (hl_accounts_session_new (accounts, "minh.tran", "leader", token, csrf) == 0);
    assert (hl_accounts_session_check (accounts, token, 60000, 3600000, &info) == 0);
    assert (hl_accounts_session_count (accounts, 60000, 3600000) == 1);
    assert (hl_accounts_disable (accounts, "nobody", true, err, sizeof err) == -1);
    assert (hl_accounts_disable (accounts, "minh.tran", true, err, sizeof err) == 0);
    assert (hl_accounts_get (accounts, "minh.tran", &account) == 0 && account.disabled);
    assert (hl_accounts_session_check (accounts, token, 60000, 3600000, &info) == -1);
    assert (hl_accounts_session_count (accounts, 60000, 3600000) == 0);
    assert (hl_accounts_verify (accounts, "minh.tran", "a new long password", NULL, &account, err, sizeof err) == -1);
    assert (streq (err, S_LOGIN_FAILED));
    assert (hl_accounts_disable (accounts, "minh.tran", false, err, sizeof err) == 0);
    assert (hl_accounts_verify (accounts, "minh.tran", "a new long password", NULL, &account, err, sizeof err) == 0);
    //  The last enabled admin stays enabled; with another one, either may go
    assert (hl_accounts_disable (accounts, "admin", true, err, sizeof err) == HL_CONFLICT);
    assert (strstr (err, "last enabled admin"));
    assert (hl_accounts_get (accounts, "admin", &account) == 0 && !account.disabled);
    assert (hl_accounts_add (accounts, "admin2", "admin", "0123456789ab", err, sizeof err) == 0);
    assert (hl_accounts_disable (accounts, "admin", true, err, sizeof err) == 0);
    assert (hl_accounts_disable (accounts, "admin2", true, err, sizeof err) == HL_CONFLICT);
    assert (hl_accounts_disable (accounts, "admin", true, err, sizeof err) == 0);   //  already
    assert (hl_accounts_disable (accounts, "admin", false, err, sizeof err) == 0);
    assert (hl_accounts_disable (accounts, "admin2", true, err, sizeof err) == 0);
    assert (hl_accounts_get (accounts, "admin2", &account) == 0 && account.disabled);

    //  TOTP: the right code, one step of skew either side; not two, not a
    //  wrong one, not none, and a code only once
    //  Start one second into a 30 s step, so that no step boundary falls
    //  between making a code and checking it, however slow the run
    int64_t real_ms = hl_clock_now ();
    s_clock_set (clock_path, (S_TOTP_STEP * 1000 - real_ms % (S_TOTP_STEP * 1000)) + 1000);
    char secret [33];
    assert (hl_accounts_totp_set (accounts, "nobody", secret, sizeof secret, err, sizeof err) == -1);
    assert (hl_accounts_totp_set (accounts, "admin", secret, 8, err, sizeof err) == -1);
    assert (hl_accounts_totp_set (accounts, "admin", secret, sizeof secret, err, sizeof err) == 0);
    assert (strlen (secret) == 32);
    assert (hl_accounts_get (accounts, "admin", &account) == 0 && account.totp);
    char code [S_TOTP_DIGITS + 1], wrong [S_TOTP_DIGITS + 2];
    assert (hl_accounts_verify (accounts, "admin", "0123456789ab", NULL, &account, err, sizeof err) == -1);
    assert (hl_accounts_verify (accounts, "admin", "0123456789ab", "12345", &account, err, sizeof err) == -1);
    assert (hl_accounts_verify (accounts, "admin", "0123456789ab", "abcdef", &account, err, sizeof err) == -1);
    s_totp_code (secret, 0, code);
    snprintf (wrong, sizeof wrong, "%06d", (atoi (code) + 1) % 1000000);
    assert (hl_accounts_verify (accounts, "admin", "0123456789ab", wrong, &account, err, sizeof err) == -1);
    assert (streq (err, S_LOGIN_FAILED));
    s_totp_code (secret, 2, code);
    assert (hl_accounts_verify (accounts, "admin", "0123456789ab", code, &account, err, sizeof err) == -1);
    s_totp_code (secret, -2, code);
    assert (hl_accounts_verify (accounts, "admin", "0123456789ab", code, &account, err, sizeof err) == -1);
    s_totp_code (secret, -1, code);
    assert (hl_accounts_verify (accounts, "admin", "0123456789ab", code, &account, err, sizeof err) == 0);
    assert (hl_accounts_verify (accounts, "admin", "0123456789ab", code, &account, err, sizeof err) == -1);
    s_totp_code (secret, 1, code);      //  a later step still works
    assert (hl_accounts_verify (accounts, "admin", "0123456789ab", code, &account, err, sizeof err) == 0);
    s_totp_code (secret, 0, code);      //  ... and then the earlier one not
    assert (hl_accounts_verify (accounts, "admin", "0123456789ab", code, &account, err, sizeof err) == -1);
    //  The right code with the wrong password fails too
    assert (hl_accounts_verify (accounts, "admin", "wrong password", code, &account, err, sizeof err) == -1);
    assert (hl_accounts_totp_clear (accounts, "admin", err, sizeof err) == 0);
    assert (hl_accounts_get (accounts, "admin", &account) == 0 && !account.totp);
    assert (hl_accounts_verify (accounts, "admin", "0123456789ab", NULL, &account, err, sizeof err) == 0);
    assert (hl_accounts_totp_clear (accounts, "nobody", err, sizeof err) == -1);
    s_clock_set (clock_path, 0);

    //  The login audit: failures per name and per IP, since a time
    int64_t start = hl_clock_now ();
    assert (hl_accounts_audit (accounts, "lan", "10.0.0.1", false, "bad password") == 0);
    assert (hl_accounts_audit (accounts, "lan", "10.0.0.2", false, "bad password") == 0);
    assert (hl_accounts_audit (accounts, "khoa", "10.0.0.1", false, "unknown user") == 0);
    assert (hl_accounts_audit (accounts, "lan", "10.0.0.1", true, NULL) == 0);
    assert (hl_accounts_audit (accounts, NULL, NULL, false, NULL) == 0);
    assert (hl_accounts_failures (accounts, "lan", NULL, start) == 2);
    assert (hl_accounts_failures (accounts, NULL, "10.0.0.1", start) == 2);
    assert (hl_accounts_failures (accounts, "lan", NULL, start + 3600000) == 0);
    assert (hl_accounts_failures (accounts, "khoa", NULL, 0) == 1);

    //  Sessions: tokens are 64 hex digits; only the token's hash is stored
    assert (hl_accounts_session_new (accounts, "lan", "officer", token, csrf) == 0);
    assert (strlen (token) == 64 && strlen (csrf) == 64 && !streq (token, csrf));
    {
        sqlite3_stmt *stmt = hl_store_prepare (accounts->store, "SELECT count(*) FROM sessions WHERE token_hash = ?");
        sqlite3_bind_text (stmt, 1, token, -1, SQLITE_TRANSIENT);
        assert (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_int (stmt, 0) == 0);
        sqlite3_reset (stmt);
    }
    assert (hl_accounts_session_check (accounts, token, 60000, 3600000, &info) == 0);
    assert (streq (info.user, "lan") && streq (info.role, "officer") && streq (info.csrf, csrf));
    assert (hl_accounts_session_check (accounts, csrf, 60000, 3600000, &info) == -1);
    assert (hl_accounts_session_check (accounts, "not a token", 60000, 3600000, &info) == -1);
    assert (hl_accounts_session_check (accounts, NULL, 60000, 3600000, &info) == -1);
    assert (hl_accounts_session_new (accounts, "Bad Name", "officer", token, csrf) == -1);
    //  Idle expiry: used within 60 s keeps it; 61 s idle ends it
    assert (hl_accounts_session_new (accounts, "lan", "officer", token, csrf) == 0);
    s_clock_set (clock_path, 50000);
    assert (hl_accounts_session_check (accounts, token, 60000, 3600000, &info) == 0);
    assert (info.last_seen_ms >= start + 50000);
    s_clock_set (clock_path, 100000);       //  50 s after its last use
    assert (hl_accounts_session_check (accounts, token, 60000, 3600000, &info) == 0);
    s_clock_set (clock_path, 161000);       //  61 s idle
    assert (hl_accounts_session_check (accounts, token, 60000, 3600000, &info) == -1);
    //  ... and an expired session is gone, even for a looser check
    assert (hl_accounts_session_check (accounts, token, 3600000, 3600000, &info) == -1);
    //  Absolute expiry: in use every 50 s, it still ends after max_ms
    assert (hl_accounts_session_new (accounts, "lan", "officer", token, csrf) == 0);
    for (int64_t t = 161000 + 50000; t < 161000 + 300000; t += 50000) {
        s_clock_set (clock_path, t);
        assert (hl_accounts_session_check (accounts, token, 60000, 300000, &info) == 0);
    }
    s_clock_set (clock_path, 161000 + 301000);
    assert (hl_accounts_session_check (accounts, token, 60000, 300000, &info) == -1);
    //  Logout; counting forgets sessions that expired unseen
    char other [HL_TOKEN_HEX];
    assert (hl_accounts_session_new (accounts, "lan", "officer", token, csrf) == 0);
    assert (hl_accounts_session_new (accounts, "admin", "admin", other, csrf) == 0);
    assert (hl_accounts_session_count (accounts, 60000, 300000) >= 2);
    assert (hl_accounts_session_end (accounts, token) == 0);
    assert (hl_accounts_session_end (accounts, token) == -1);
    assert (hl_accounts_session_check (accounts, token, 60000, 300000, &info) == -1);
    assert (hl_accounts_session_count (accounts, 60000, 300000) == 1);
    s_clock_set (clock_path, 161000 + 301000 + 61000);
    assert (hl_accounts_session_count (accounts, 60000, 300000) == 0);
    assert (hl_store_int (accounts->store, "SELECT count(*) FROM sessions", -1) == 0);
    s_clock_set (clock_path, 0);

    //  API keys: shown once, stored hashed, revocable; a revoked name can
    //  be given to a new key
    char key [HL_TOKEN_HEX], key_name [65];
    assert (hl_accounts_apikey_add (accounts, "Open 311", key, err, sizeof err) == -1);
    assert (hl_accounts_apikey_add (accounts, "open311", key, err, sizeof err) == 0);
    assert (strlen (key) == 64);
    char old_key [HL_TOKEN_HEX];
    memcpy (old_key, key, sizeof key);
    assert (hl_accounts_apikey_add (accounts, "open311", key, err, sizeof err) == -1);
    assert (strstr (err, "exists") && *key == 0);
    assert (hl_accounts_apikey_check (accounts, old_key, key_name, sizeof key_name) == 0);
    assert (streq (key_name, "open311"));
    assert (hl_accounts_apikey_check (accounts, "0000000000000000000000000000000000000000000000000000000000000000",
                                      key_name, sizeof key_name) == -1);
    assert (hl_accounts_apikey_check (accounts, "short", key_name, sizeof key_name) == -1);
    assert (hl_accounts_apikey_check (accounts, NULL, key_name, sizeof key_name) == -1);
    assert (hl_accounts_apikey_revoke (accounts, "open311", err, sizeof err) == 0);
    assert (hl_accounts_apikey_check (accounts, old_key, key_name, sizeof key_name) == -1);
    assert (hl_accounts_apikey_revoke (accounts, "open311", err, sizeof err) == -1);
    assert (hl_accounts_apikey_revoke (accounts, "nothing", err, sizeof err) == -1);
    list = hl_accounts_apikey_list (accounts);
    assert (list && json_array_size (list) == 1);
    assert (json_is_true (json_object_get (json_array_get (list, 0), "revoked")));
    json_decref (list);
    assert (hl_accounts_apikey_add (accounts, "open311", key, err, sizeof err) == 0);
    assert (hl_accounts_apikey_check (accounts, key, key_name, sizeof key_name) == 0);
    assert (hl_accounts_apikey_check (accounts, old_key, key_name, sizeof key_name) == -1);

    //  The report's prose, per period
    json_t *text = hl_accounts_report_text (accounts, "2026-01-01..2026-12-31");
    assert (text && streq (json_string_value (json_object_get (text, "practice")), ""));
    json_decref (text);
    assert (hl_accounts_report_text (accounts, "2026") == NULL);
    text = json_pack ("{s:s, s:s}", "practice", "Tiếp nhận qua điện thoại", "letter", "Công văn 12/STNMT");
    assert (hl_accounts_report_text_set (accounts, "2026-01-01..2026-12-31", text, err, sizeof err) == 0);
    assert (hl_accounts_report_text_set (accounts, "2026-01-01", text, err, sizeof err) == -1);
    json_object_set_new (text, "other", json_string ("x"));
    assert (hl_accounts_report_text_set (accounts, "2026-01-01..2026-12-31", text, err, sizeof err) == -1);
    assert (strstr (err, "other"));
    json_object_del (text, "other");
    json_object_set_new (text, "proposals", json_integer (1));
    assert (hl_accounts_report_text_set (accounts, "2026-01-01..2026-12-31", text, err, sizeof err) == -1);
    char *huge = (char *) zmalloc (S_REPORT_TEXT_MAX + 2);
    memset (huge, 'a', S_REPORT_TEXT_MAX + 1);
    json_object_set_new (text, "proposals", json_string (huge));
    free (huge);
    assert (hl_accounts_report_text_set (accounts, "2026-01-01..2026-12-31", text, err, sizeof err) == -1);
    json_decref (text);
    assert (hl_accounts_report_text_set (accounts, "2026-01-01..2026-12-31", NULL, err, sizeof err) == -1);
    text = hl_accounts_report_text (accounts, "2026-01-01..2026-12-31");
    assert (streq (json_string_value (json_object_get (text, "practice")), "Tiếp nhận qua điện thoại"));
    assert (streq (json_string_value (json_object_get (text, "difficulties")), ""));
    json_decref (text);
    hl_accounts_destroy (&accounts);

    //  Reopen: everything is there; no password, token or key in clear
    accounts = hl_accounts_new (path);
    assert (accounts);
    assert (hl_accounts_count (accounts) == 5);          //  with admin2
    assert (hl_accounts_apikey_check (accounts, key, key_name, sizeof key_name) == 0);
    hl_accounts_destroy (&accounts);
    char cmd [256];
    snprintf (cmd, sizeof cmd, "grep -a -q -e 'correct horse' -e '0123456789ab' -e '%s' %s/web.db*", key, dir);
    assert (system (cmd) != 0);

    //  A file from a newer version is refused
    {
        hl_store_t *store = hl_store_new (path, NULL);
        assert (hl_store_exec (store, "PRAGMA user_version = 99") == 0);
        hl_store_destroy (&store);
        assert (hl_accounts_new (path) == NULL);
        store = hl_store_new (path, NULL);
        assert (hl_store_exec (store, "PRAGMA user_version = 1") == 0);
        hl_store_destroy (&store);
    }
    //  A store error: every call fails cleanly, with a message
    accounts = hl_accounts_new (path);
    assert (accounts);
    assert (hl_store_exec (accounts->store, "DROP TABLE sessions; DROP TABLE users; DROP TABLE apikeys;"
                                            " DROP TABLE login_audit; DROP TABLE report_text") == 0);
    assert (hl_accounts_add (accounts, "new", "officer", "0123456789", err, sizeof err) == -1);
    assert (strstr (err, "store"));
    assert (hl_accounts_list (accounts) == NULL);
    assert (hl_accounts_count (accounts) == -1);
    assert (hl_accounts_verify (accounts, "lan", "0123456789", NULL, &account, err, sizeof err) == -1);
    assert (hl_accounts_session_new (accounts, "lan", "officer", token, csrf) == -1);
    assert (*token == 0);
    assert (hl_accounts_session_count (accounts, 1, 1) == -1);
    assert (hl_accounts_audit (accounts, "lan", "ip", false, NULL) == -1);
    assert (hl_accounts_failures (accounts, "lan", NULL, 0) == -1);
    assert (hl_accounts_apikey_add (accounts, "k", key, err, sizeof err) == -1);
    assert (hl_accounts_apikey_list (accounts) == NULL);
    assert (hl_accounts_report_text (accounts, "2026-01-01..2026-12-31") == NULL);
    hl_accounts_destroy (&accounts);
    assert (hl_accounts_new ("/nonexistent/dir/web.db") == NULL);

    unsetenv ("HOTLINE_CLOCK_FILE");
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    if (system (cmd)) {}
    if (verbose)
        printf ("(%s) ", path);
    printf ("OK\n");
}
