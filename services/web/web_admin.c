/*  web_admin — administration under /api/v1/ (see web_admin.h, API.md):
 *  the users, the dead letters, and the first admin.
 *
 *  How to read this file, top to bottom:
 *    1. users: the list, adding one, a new password, disabling (admin only)
 *    2. dead letters, from the notification service, the reporter's
 *       address emptied for a role that may not see reporters
 *    3. the first admin (hotline-web --init-admin)
 *    4. the selftest
 */
#include "hotline.h"
#include "web_admin.h"
#include <sys/random.h>

// ------------------------------------------------------------- 1. users

//  GET|POST /api/v1/users
void
web_admin_users (web_api_t *api, web_request_t *request, hl_session_info_t *session)
{
    static const char *fields [] = { "name", "role", "password", NULL };
    if (!web_api_is_admin (request, session))
        return;
    hl_accounts_t *accounts = web_api_accounts (api);
    if (streq (request->method, "GET")) {
        json_t *list = accounts? hl_accounts_list (accounts): NULL;
        if (!list)
            web_request_unavailable (request);
        else
            web_request_json (request, 200, list);
        return;
    }
    json_t *body = web_request_body (request, fields);
    if (!body)
        return;
    const char *name, *role, *password;
    if (web_request_string (request, body, "name", 64, &name)
    ||  web_request_string (request, body, "role", 32, &role)
    ||  web_request_string (request, body, "password", 256, &password))
        goto done;
    if (!name || !*name) {
        web_request_error (request, 400, "name", "Thiếu tên (name is required)");
        goto done;
    }
    if (!web_api_role_valid (api, role)) {
        web_request_error (request, 400, "role", "Vai trò không hợp lệ (role must be one of the procedure's, "
                           "viewer or admin)");
        goto done;
    }
    if (!password) {
        web_request_error (request, 400, "password", "Thiếu mật khẩu (password is required)");
        goto done;
    }
    char err [256] = "";
    if (!accounts || hl_accounts_add (accounts, name, role, password, err, sizeof err))
        web_request_error (request, 400, strstr (err, "assword")? "password": "name", "%s",
                           *err? err: "cannot add the user");
    else {
        hl_info ("web: %s added user %s (%s)", session->user, name, role);
        json_t *answer = json_object ();
        json_object_set_new (answer, "name", json_string (name));
        json_object_set_new (answer, "role", json_string (role));
        web_request_json (request, 201, answer);
    }
done:
    json_decref (body);
}

//  POST /api/v1/users/{name}/password | /disable
void
web_admin_user (web_api_t *api, web_request_t *request, hl_session_info_t *session,
                const char *name, const char *what)
{
    static const char *password_fields [] = { "password", NULL };
    static const char *disable_fields [] = { "disabled", NULL };
    if (!web_api_is_admin (request, session))
        return;
    bool password = streq (what, "password");
    json_t *body = web_request_body (request, password? password_fields: disable_fields);
    if (!body)
        return;
    hl_accounts_t *accounts = web_api_accounts (api);
    hl_account_t account;
    char err [256] = "";
    if (!accounts || hl_accounts_get (accounts, name, &account)) {
        web_request_error (request, 404, "name", "Không có người dùng (no such user)");
        goto done;
    }
    int rc;
    if (password) {
        const char *text;
        if (web_request_string (request, body, "password", 256, &text))
            goto done;
        if (!text) {
            web_request_error (request, 400, "password", "Thiếu mật khẩu (password is required)");
            goto done;
        }
        rc = hl_accounts_passwd (accounts, name, text, err, sizeof err);
    }
    else {
        json_t *value = json_object_get (body, "disabled");
        if (!json_is_boolean (value)) {
            web_request_error (request, 400, "disabled", "'disabled' là true/false (must be a boolean)");
            goto done;
        }
        rc = hl_accounts_disable (accounts, name, json_is_true (value), err, sizeof err);
    }
    if (rc == HL_CONFLICT)
        web_request_error (request, 409, "disabled", "Không thể vô hiệu hoá quản trị viên cuối cùng "
                           "(%s)", err);
    else
    if (rc)
        web_request_error (request, 400, password? "password": "disabled", "%s", *err? err: "refused");
    else {
        hl_info ("web: %s changed %s of user %s", session->user, what, name);
        web_request_json (request, 200, json_object ());
    }
done:
    json_decref (body);
}

// ------------------------------------------------------------- 2. dead letters

static const char *
s_text (json_t *object, const char *key)
{
    const char *value = json_string_value (json_object_get (object, key));
    return value? value: "";
}

//  GET /api/v1/deadletters[?all=1&case=&limit=]: from the notification
//  service. A message to the reporter shows its address only to a role
//  that may see reporters.
void
web_admin_deadletters (web_api_t *api, web_request_t *request, hl_session_info_t *session)
{
    if (streq (session->role, "viewer")) {
        web_request_error (request, 403, NULL, "Vai trò 'viewer' không xem được (viewer may not)");
        return;
    }
    Hotline__Query query = HOTLINE__QUERY__INIT;
    const char *all = web_request_arg (request, "all");
    query.kind = all && streq (all, "1")? "outbox": "deadletter";
    const char *case_id = web_request_arg (request, "case");
    if (case_id && *case_id) {
        if (!hl_case_id_valid (case_id)) {
            web_request_error (request, 400, "case", "'case' không phải số hồ sơ (not a case number)");
            return;
        }
        query.case_id = (char *) case_id;
    }
    long limit = 0;
    if (web_request_int (request, "limit", 10000, &limit) < 0)
        return;
    query.limit = (uint32_t) limit;
    char actor [128];
    web_api_actor (session, actor, sizeof actor);
    json_t *rows = web_api_query (api, request, &query, actor, true);
    if (!rows)
        return;
    bool see = web_api_can_see_reporter (api, session->role, NULL);
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row)
        if (!see && streq (s_text (row, "recipient"), "reporter"))
            json_object_set_new (row, "address", json_string (""));
    web_request_json (request, 200, rows);
}

// ------------------------------------------------------------- 3. the first admin

int
web_admin_init (web_api_t *api, const char *path)
{
    hl_accounts_t *accounts = web_api_accounts (api);
    if (!accounts) {
        fprintf (stderr, "hotline-web: cannot open %s\n", web_api_db_path (api));
        return -1;
    }
    int users = hl_accounts_count (accounts);
    if (users < 0) {
        fprintf (stderr, "hotline-web: cannot read %s\n", web_api_db_path (api));
        return -1;
    }
    if (users > 0)
        return 1;
    //  20 characters from a 32-letter alphabet without look-alikes: 100 bits
    static const char alphabet [] = "abcdefghjkmnpqrstuvwxyz23456789A";
    unsigned char random [20];
    if (getrandom (random, sizeof random, 0) != (ssize_t) sizeof random) {
        fprintf (stderr, "hotline-web: no randomness: %s\n", strerror (errno));
        return -1;
    }
    char password [21];
    for (size_t i = 0; i < 20; i++)
        password [i] = alphabet [random [i] & 31];
    password [20] = 0;
    //  The file first, then the user, then the file in place: an admin whose
    //  password was never written down would lock the node's web out (the
    //  next --init-admin finds a user and writes nothing). A fresh file, so
    //  0600 holds even where an old one was readable by others.
    char *temp = zsys_sprintf ("%s.tmp", path);
    unlink (temp);
    int fd = open (temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    FILE *file = fd >= 0? fdopen (fd, "w"): NULL;
    if (!file) {
        fprintf (stderr, "hotline-web: cannot write %s: %s\n", temp, strerror (errno));
        if (fd >= 0)
            close (fd);
        zstr_free (&temp);
        return -1;
    }
    bool written = fprintf (file, "user = admin\npassword = %s\n", password) > 0
                && fflush (file) == 0 && fsync (fileno (file)) == 0;
    if (fclose (file) || !written) {
        fprintf (stderr, "hotline-web: cannot write %s: %s\n", temp, strerror (errno));
        unlink (temp);
        zstr_free (&temp);
        return -1;
    }
    char err [256] = "";
    if (hl_accounts_add (accounts, "admin", "admin", password, err, sizeof err)) {
        fprintf (stderr, "hotline-web: cannot add the first admin: %s\n", err);
        unlink (temp);
        zstr_free (&temp);
        return -1;
    }
    int rc = rename (temp, path);
    if (rc)
        fprintf (stderr, "hotline-web: the first admin is added but %s could not be renamed to %s: %s\n",
                 temp, path, strerror (errno));
    zstr_free (&temp);
    return rc? -1: 0;
}

// ------------------------------------------------------------- 4. selftest

void
web_admin_test (bool verbose)
{
    printf (" * web_admin: ");
    json_t *row = json_pack ("{s:s, s:i}", "recipient", "reporter", "attempts", 3);
    assert (streq (s_text (row, "recipient"), "reporter"));
    assert (streq (s_text (row, "attempts"), ""));          //  not a string
    assert (streq (s_text (row, "absent"), ""));
    json_decref (row);
    if (verbose)
        printf ("(text) ");
    printf ("OK\n");
}
