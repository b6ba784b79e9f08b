/*  hl_accounts — the web console's own small store: accounts, sessions,
 *  the login audit, API keys and the report's prose, in one SQLite file
 *  (web.db in the node's data directory).
 *
 *  Used by the `web` service and by `hotline user ...` (the CLI opens the
 *  same file: SQLite in WAL serialises the two). Case data is never stored
 *  here: it lives in the archive, and the web asks the node for it.
 *
 *  Rules for callers:
 *  - Passwords are hashed with Argon2id (libsodium crypto_pwhash_str,
 *    interactive limits); a password is never stored or logged in clear.
 *  - Session tokens, CSRF tokens and API keys are 256-bit random values,
 *    hex-encoded (64 characters). Only a SHA-256 of a session token or an
 *    API key is stored, so a copy of web.db lets nobody in.
 *  - Roles: the procedure's roles (officer, division, leader, department)
 *    plus "viewer" (read-only) and "admin" (users, no case actions). The
 *    caller checks a role against the procedure; this class only checks
 *    that it is a well-formed name.
 *  - Every function returns 0 on success and -1 on failure, with a message
 *    for a person in err (may be NULL), unless it says otherwise. Nothing
 *    is half-written: each write is one transaction.
 *  - One object per thread: the web service opens one per worker thread.
 */
#ifndef HL_ACCOUNTS_H_INCLUDED
#define HL_ACCOUNTS_H_INCLUDED

typedef struct _hl_accounts_t hl_accounts_t;

#define HL_TOKEN_HEX    65      //  a 256-bit token in hex, with its NUL

//  One user, as read back
typedef struct {
    char name [65];
    char role [33];
    bool disabled;
    bool totp;                  //  a TOTP second factor is set
    int64_t created_ms;
    int64_t last_login_ms;      //  0 = never
} hl_account_t;

//  A live session, as checked
typedef struct {
    char user [65];
    char role [33];
    char csrf [HL_TOKEN_HEX];
    int64_t created_ms;
    int64_t last_seen_ms;
} hl_session_info_t;

//  Open (creating if needed) the store at path. NULL on error (logged).
hl_accounts_t *hl_accounts_new (const char *path);
//  web.db's migration steps (hl_store_migrate), ended by { 0 }: this
//  class's tables and hl_public's, which share the file and its version
const hl_store_migration_t *hl_accounts_migrations (void);
void hl_accounts_destroy (hl_accounts_t **self_p);

//  --- Users
//  Names: 1-64 of [a-z0-9._-], starting with a letter. Passwords: 10-256
//  bytes. -1 with a message if the name exists, is malformed, the role is
//  malformed or the password too short.
int hl_accounts_add (hl_accounts_t *self, const char *name, const char *role,
                     const char *password, char *err, size_t errsize);
//  A new password ends the user's sessions.
int hl_accounts_passwd (hl_accounts_t *self, const char *name, const char *password,
                        char *err, size_t errsize);
//  Disable (true) or enable (false); disabling ends the user's sessions.
//  The last enabled "admin" is not disabled: that returns HL_CONFLICT with
//  a message, and nothing changes (with no admin left, nobody could add a
//  user, reset a password or enable an admin through the console). -1 for
//  an unknown user or a store error.
int hl_accounts_disable (hl_accounts_t *self, const char *name, bool disabled,
                         char *err, size_t errsize);
//  Set a TOTP secret (RFC 6238, SHA-1, 30 s, 6 digits): writes its base32
//  form into secret (at least 33 bytes) for the user's authenticator app.
//  hl_accounts_totp_clear removes it.
int hl_accounts_totp_set (hl_accounts_t *self, const char *name, char *secret, size_t size,
                          char *err, size_t errsize);
int hl_accounts_totp_clear (hl_accounts_t *self, const char *name, char *err, size_t errsize);
//  Read one user: 0, or -1 if unknown
int hl_accounts_get (hl_accounts_t *self, const char *name, hl_account_t *account);
//  Every user, ordered by name: a JSON array of objects with the fields of
//  hl_account_t (caller json_decref's it); NULL on a store error
json_t *hl_accounts_list (hl_accounts_t *self);
//  How many users there are (-1 on a store error)
int hl_accounts_count (hl_accounts_t *self);

//  Check a login. 0 and the account if the user exists, is enabled, the
//  password matches and (when set) the TOTP code is right (one step of
//  clock skew either side); -1 otherwise, with the same message for every
//  cause ("wrong user, password or code") so that a caller cannot probe
//  which user names exist. Records last_login_ms on success. A TOTP code
//  is good once: a code of the same or an earlier step than the last one
//  accepted is refused (RFC 6238 5.2), so a second login within 30 s needs
//  the next code.
int hl_accounts_verify (hl_accounts_t *self, const char *name, const char *password,
                        const char *otp, hl_account_t *account, char *err, size_t errsize);

//  --- Login audit: every attempt, without the password
int hl_accounts_audit (hl_accounts_t *self, const char *name, const char *ip, bool ok,
                       const char *reason);
//  Failed attempts for name (or for ip, when name is NULL) since since_ms
int hl_accounts_failures (hl_accounts_t *self, const char *name, const char *ip,
                          int64_t since_ms);

//  --- Sessions
//  Start a session for user with role: writes a new token and CSRF token
//  (HL_TOKEN_HEX bytes each). Only the token's hash is stored.
int hl_accounts_session_new (hl_accounts_t *self, const char *user, const char *role,
                             char *token, char *csrf);
//  Check token: 0 and the session if it exists, its user is still enabled,
//  it has been used within idle_ms and started within max_ms; refreshes its
//  last use (written at most every 5 s, so idle expiry is exact to 5 s).
//  -1 otherwise (and an expired session is deleted).
int hl_accounts_session_check (hl_accounts_t *self, const char *token, int64_t idle_ms,
                               int64_t max_ms, hl_session_info_t *info);
int hl_accounts_session_end (hl_accounts_t *self, const char *token);
//  Live sessions (a gauge); -1 on a store error
int hl_accounts_session_count (hl_accounts_t *self, int64_t idle_ms, int64_t max_ms);

//  --- API keys (Open311 and other apps): the key is shown once
//  Writes the new key (HL_TOKEN_HEX bytes) into key. Names as for users;
//  -1 if a live key has the name (a revoked key's name may be reused).
int hl_accounts_apikey_add (hl_accounts_t *self, const char *name, char *key,
                            char *err, size_t errsize);
int hl_accounts_apikey_revoke (hl_accounts_t *self, const char *name, char *err, size_t errsize);
//  0 and the key's name (at least 65 bytes) if key is live, else -1
int hl_accounts_apikey_check (hl_accounts_t *self, const char *key, char *name, size_t size);
//  [{"name", "created_ms", "revoked"}] (caller json_decref's it)
json_t *hl_accounts_apikey_list (hl_accounts_t *self);

//  --- The report's prose, per period (section 2 of the ward's report)
//  A JSON object {"letter", "practice", "difficulties", "proposals"} for
//  the period "FROM..TO" (dates YYYY-MM-DD); empty strings when none saved.
json_t *hl_accounts_report_text (hl_accounts_t *self, const char *period);
//  Save it (the same four keys, each a string of at most 20,000 bytes)
int hl_accounts_report_text_set (hl_accounts_t *self, const char *period, json_t *text,
                                 char *err, size_t errsize);

void hl_accounts_test (bool verbose);
#endif
