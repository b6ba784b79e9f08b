/*  cli_backup — `hotline backup --to DIR` and `hotline restore --from DIR`.
 *
 *  Like `hotline user`, these open the node's files directly (the node is
 *  found the same way: -c CONFIG, --node NAME through the nodes file, or
 *  $HOTLINE_CONFIG), so they need the rights of the account that runs it.
 *
 *    s_backup_store    one SQLite store, online: the backup API copies it in
 *                      one read transaction (WAL readers never block the
 *                      writer), so the copy is the store at one commit
 *    cli_backup        every store, in the order that keeps each follower's
 *                      cursor at or behind its source, then evidence/ and
 *                      notify.log, then MANIFEST.json (written last: a
 *                      directory without it is not a backup)
 *    cli_restore       refuses while the node answers or when any file does
 *                      not match the manifest; copies through temporary
 *                      names, fsyncs, renames
 *
 *  After a restore the node resumes as after any restart: the archive asks
 *  intake for what it lacks, the consumers ask the archive, a ward's archive
 *  streams to the city from the city's cursor.
 */
#include "hotline.h"
#include "cli.h"
#include <sodium.h>
#include <dirent.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#define S_MANIFEST      "MANIFEST.json"
#define S_FORMAT        1

//  The stores, each copied before the one it follows, so that a restored
//  follower is behind its source (it catches up) and never ahead of it (it
//  would skip what its source writes next): the consumers follow the
//  archive, the archive follows intake. web.db follows nothing.
static const char *s_stores [] = {
    "routing.db", "deadline.db", "notify.db", "web.db", "archive.db", "intake.db", NULL
};
//  Plain files kept beside the stores (appended to; a copy is a prefix)
static const char *s_plain [] = { "notify.log", NULL };

//  SHA-256 of a file as hex, and its size. 0 or -1.
static int
s_sha256 (const char *path, char *hex, int64_t *size)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init (&state);
    unsigned char buf [65536];
    ssize_t got;
    *size = 0;
    while ((got = read (fd, buf, sizeof buf)) > 0) {
        crypto_hash_sha256_update (&state, buf, (unsigned long long) got);
        *size += got;
    }
    close (fd);
    if (got < 0)
        return -1;
    unsigned char digest [crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final (&state, digest);
    sodium_bin2hex (hex, 65, digest, sizeof digest);
    return 0;
}

//  Copy a file's bytes to a temporary name beside to, fsync, rename. 0 or -1.
static int
s_copy_file (const char *from, const char *to)
{
    char *tmp = zsys_sprintf ("%s.tmp", to);
    int in = open (from, O_RDONLY | O_CLOEXEC);
    int out = in < 0? -1: open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    int rc = in < 0 || out < 0? -1: 0;
    char buf [65536];
    ssize_t got;
    while (rc == 0 && (got = read (in, buf, sizeof buf)) != 0) {
        if (got < 0 || write (out, buf, (size_t) got) != got)
            rc = -1;
    }
    if (out >= 0 && (fsync (out) || close (out)))
        rc = -1;
    if (in >= 0)
        close (in);
    if (rc == 0 && rename (tmp, to))
        rc = -1;
    if (rc)
        unlink (tmp);
    free (tmp);
    return rc;
}

//  Make the directories of path (its last component is a file)
static void
s_make_parents (const char *path)
{
    char *dir = hl_strdup (path);
    char *slash = strrchr (dir, '/');
    if (slash) {
        *slash = 0;
        zsys_dir_create ("%s", dir);
    }
    free (dir);
}

//  One store, online. The copy is written to a temporary name and checked
//  (quick_check) before it takes its name. Its schema version, or -1.
static int
s_backup_store (const char *from, const char *to, char *error, size_t size)
{
    sqlite3 *src = NULL, *dst = NULL;
    char *tmp = zsys_sprintf ("%s.tmp", to);
    unlink (tmp);
    int version = -1;
    if (sqlite3_open_v2 (from, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK
    ||  sqlite3_open_v2 (tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        snprintf (error, size, "cannot open: %s", sqlite3_errmsg (src && !dst? src: dst? dst: src));
        goto done;
    }
    sqlite3_busy_timeout (src, 5000);
    sqlite3_backup *backup = sqlite3_backup_init (dst, "main", src, "main");
    if (!backup) {
        snprintf (error, size, "%s", sqlite3_errmsg (dst));
        goto done;
    }
    //  All pages in one step: one read transaction on the source, so the
    //  copy is one commit's state, and a write by the node meanwhile (from
    //  another process) cannot restart it. BUSY/LOCKED: a writer holds a
    //  lock for a moment (a checkpoint); try again
    int rc, tries = 0;
    while ((rc = sqlite3_backup_step (backup, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED) {
        if (++tries > 200)
            break;
        sqlite3_sleep (50);
    }
    sqlite3_backup_finish (backup);
    if (rc != SQLITE_DONE) {
        snprintf (error, size, "copy failed: %s", sqlite3_errstr (rc));
        goto done;
    }
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2 (dst, "PRAGMA quick_check", -1, &stmt, NULL) == SQLITE_OK
    &&  sqlite3_step (stmt) == SQLITE_ROW
    &&  streq ((const char *) sqlite3_column_text (stmt, 0), "ok")) {
        sqlite3_finalize (stmt);
        stmt = NULL;
        if (sqlite3_prepare_v2 (dst, "PRAGMA user_version", -1, &stmt, NULL) == SQLITE_OK
        &&  sqlite3_step (stmt) == SQLITE_ROW)
            version = sqlite3_column_int (stmt, 0);
    }
    else
        snprintf (error, size, "the copy fails its integrity check");
    sqlite3_finalize (stmt);
done:
    sqlite3_close (src);
    if (dst && sqlite3_close (dst) != SQLITE_OK)
        version = -1;
    if (version >= 0) {
        int fd = open (tmp, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fsync (fd) || rename (tmp, to))
            version = -1;
        if (fd >= 0)
            close (fd);
    }
    if (version < 0)
        unlink (tmp);
    free (tmp);
    return version;
}

//  Append one file's entry to the manifest
static int
s_manifest_add (json_t *files, const char *root, const char *name, const char *kind, int version)
{
    char *path = zsys_sprintf ("%s/%s", root, name);
    char hex [65];
    int64_t size;
    int rc = s_sha256 (path, hex, &size);
    free (path);
    if (rc)
        return -1;
    json_t *entry = json_pack ("{s:s, s:s, s:I, s:s}", "file", name, "kind", kind,
                               "size", (json_int_t) size, "sha256", hex);
    if (version >= 0)
        json_object_set_new (entry, "schema_version", json_integer (version));
    json_array_append_new (files, entry);
    return 0;
}

//  Copy evidence/ (content-addressed: a file never changes once named)
//  under dir, relative names in rel. 0 or -1.
static int
s_copy_tree (const char *from_root, const char *to_root, const char *rel, json_t *files)
{
    char *from = zsys_sprintf ("%s/%s", from_root, rel);
    DIR *dir = opendir (from);
    free (from);
    if (!dir)
        return -1;
    int rc = 0;
    struct dirent *entry;
    while (rc == 0 && (entry = readdir (dir))) {
        if (entry->d_name [0] == '.' || streq (entry->d_name, "tmp"))
            continue;           //  tmp/: uploads not yet committed
        char *name = zsys_sprintf ("%s/%s", rel, entry->d_name);
        char *src = zsys_sprintf ("%s/%s", from_root, name);
        struct stat st;
        if (lstat (src, &st) == 0 && S_ISDIR (st.st_mode))
            rc = s_copy_tree (from_root, to_root, name, files);
        else
        if (S_ISREG (st.st_mode)) {
            char *dst = zsys_sprintf ("%s/%s", to_root, name);
            s_make_parents (dst);
            rc = s_copy_file (src, dst) || s_manifest_add (files, to_root, name, "evidence", -1);
            free (dst);
        }
        free (src);
        free (name);
    }
    closedir (dir);
    return rc;
}

static bool
s_dir_empty (const char *path)
{
    DIR *dir = opendir (path);
    if (!dir)
        return true;
    struct dirent *entry;
    bool empty = true;
    while (empty && (entry = readdir (dir)))
        empty = streq (entry->d_name, ".") || streq (entry->d_name, "..");
    closedir (dir);
    return empty;
}

//  Parse --to / --from DIR and --force. 0 or -1 (message printed).
static int
s_args (const char *command, const char *key, int argc, char **argv, const char **dir, bool *force)
{
    *dir = NULL;
    *force = false;
    for (int i = 0; i < argc; i++) {
        if (streq (argv [i], key) && i + 1 < argc)
            *dir = argv [++i];
        else
        if (force && streq (argv [i], "--force") && streq (command, "restore"))
            *force = true;
        else {
            cli_bad (command, "unexpected argument '%s' (usage: hotline %s %s DIR%s)", argv [i],
                   command, key, streq (command, "restore")? " [--force]": "");
            return -1;
        }
    }
    if (!*dir || !**dir) {
        cli_bad (command, "give %s DIR", key);
        return -1;
    }
    return 0;
}

int
cli_backup (const char *node, const char *config_path, int argc, char **argv)
{
    const char *to;
    bool force;
    if (s_args ("backup", "--to", argc, argv, &to, &force))
        return CLI_BAD_INPUT;
    if (sodium_init () < 0)
        return cli_bad ("backup", "libsodium failed to initialise");
    hl_config_t *config = cli_node_config ("backup", node, config_path);
    if (!config)
        return CLI_BAD_INPUT;
    char *data = cli_data_dir (config);
    int rc = CLI_OK;
    if (!zsys_file_exists (data)) {
        rc = cli_bad ("backup", "the node's data directory %s does not exist", data);
        goto done;
    }
    if (!s_dir_empty (to)) {
        rc = cli_bad ("backup", "%s is not empty: give a new directory (a backup is never overwritten)", to);
        goto done;
    }
    if (zsys_dir_create ("%s", to) && !zsys_file_exists (to)) {
        rc = cli_bad ("backup", "cannot create %s: %s", to, strerror (errno));
        goto done;
    }
    json_t *files = json_array ();
    int stores = 0;
    for (int i = 0; s_stores [i] && rc == CLI_OK; i++) {
        char *from = zsys_sprintf ("%s/%s", data, s_stores [i]);
        char *dst = zsys_sprintf ("%s/%s", to, s_stores [i]);
        if (zsys_file_exists (from)) {
            char error [300] = "";
            int version = s_backup_store (from, dst, error, sizeof error);
            if (version < 0 || s_manifest_add (files, to, s_stores [i], "sqlite", version))
                rc = cli_bad ("backup", "%s: %s", from, *error? error: strerror (errno));
            else {
                printf ("%-12s schema %d\n", s_stores [i], version);
                stores++;
            }
        }
        free (from);
        free (dst);
    }
    for (int i = 0; s_plain [i] && rc == CLI_OK; i++) {
        char *from = zsys_sprintf ("%s/%s", data, s_plain [i]);
        char *dst = zsys_sprintf ("%s/%s", to, s_plain [i]);
        if (zsys_file_exists (from)
        &&  (s_copy_file (from, dst) || s_manifest_add (files, to, s_plain [i], "file", -1)))
            rc = cli_bad ("backup", "%s: %s", from, strerror (errno));
        free (from);
        free (dst);
    }
    char *evidence = zsys_sprintf ("%s/evidence", data);
    if (rc == CLI_OK && zsys_file_exists (evidence)
    &&  s_copy_tree (data, to, "evidence", files))
        rc = cli_bad ("backup", "cannot copy %s: %s", evidence, strerror (errno));
    free (evidence);
    if (rc == CLI_OK && stores == 0)
        rc = cli_bad ("backup", "no store in %s: is it the node's data directory?", data);
    if (rc == CLI_OK) {
        const char *name = hl_config_get (config, "node/name", "");
        json_t *manifest = json_pack ("{s:i, s:s, s:s, s:s, s:I, s:o}", "format", S_FORMAT,
            "node", name, "role", hl_config_get (config, "node/role", "ward"),
            "hotline_version", HOTLINE_VERSION, "created_ms", (json_int_t) hl_clock_now (),
            "files", files);
        files = NULL;
        char *path = zsys_sprintf ("%s/%s", to, S_MANIFEST);
        char *tmp = zsys_sprintf ("%s.tmp", path);
        int fd;
        if (json_dump_file (manifest, tmp, JSON_INDENT (2) | JSON_SORT_KEYS)
        ||  (fd = open (tmp, O_RDONLY | O_CLOEXEC)) < 0 || fsync (fd) || close (fd) || rename (tmp, path))
            rc = cli_bad ("backup", "cannot write %s: %s", path, strerror (errno));
        else
            fprintf (stderr, "backup of %s in %s: %zu file(s)\n", data, to,
                     json_array_size (json_object_get (manifest, "files")));
        free (tmp);
        free (path);
        json_decref (manifest);
    }
    json_decref (files);
done:
    free (data);
    hl_config_destroy (&config);
    return rc;
}

//  Does a service of the node answer a ping at endpoint (1 s)?
static bool
s_answers (const char *endpoint)
{
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    zsock_set_linger (sock, 0);
    bool answered = false;
    if (zsock_connect (sock, "%s", endpoint) == 0) {
        Hotline__Request request = HOTLINE__REQUEST__INIT;
        request.kind_case = HOTLINE__REQUEST__KIND_PING;
        request.ping = true;
        request.request_id = "restore-check";
        Hotline__Envelope env = HOTLINE__ENVELOPE__INIT;
        env.body_case = HOTLINE__ENVELOPE__BODY_REQUEST;
        env.request = &request;
        zpoller_t *poller = zpoller_new (sock, NULL);
        if (hl_msg_send (sock, NULL, &env) == 0 && zpoller_wait (poller, 1000) == sock)
            answered = true;
        zpoller_destroy (&poller);
    }
    zsock_destroy (&sock);
    return answered;
}

int
cli_restore (const char *node, const char *config_path, int argc, char **argv)
{
    const char *from;
    bool force;
    if (s_args ("restore", "--from", argc, argv, &from, &force))
        return CLI_BAD_INPUT;
    if (sodium_init () < 0)
        return cli_bad ("restore", "libsodium failed to initialise");
    hl_config_t *config = cli_node_config ("restore", node, config_path);
    if (!config)
        return CLI_BAD_INPUT;
    char *data = cli_data_dir (config);
    char *path = zsys_sprintf ("%s/%s", from, S_MANIFEST);
    json_error_t jerror;
    json_t *manifest = json_load_file (path, 0, &jerror);
    json_t *files = json_object_get (manifest, "files");
    int rc = CLI_OK;
    //  1. The manifest, and every file it names, as written
    if (!manifest || !json_is_array (files)
    ||  json_integer_value (json_object_get (manifest, "format")) != S_FORMAT) {
        rc = cli_bad ("restore", "%s is not a Hotline backup manifest%s%s", path,
                    manifest? "": ": ", manifest? "": jerror.text);
        goto done;
    }
    size_t i;
    json_t *entry;
    json_array_foreach (files, i, entry) {
        const char *name = json_string_value (json_object_get (entry, "file"));
        const char *want = json_string_value (json_object_get (entry, "sha256"));
        //  Names come from a file someone may have edited: never outside
        if (!name || !want || *name == '/' || strstr (name, "..")) {
            rc = cli_bad ("restore", "%s: entry %zu has no file or sha256, or leaves the backup", path, i);
            goto done;
        }
        char *file = zsys_sprintf ("%s/%s", from, name);
        char hex [65];
        int64_t size;
        bool ok = s_sha256 (file, hex, &size) == 0 && streq (hex, want)
               && size == json_integer_value (json_object_get (entry, "size"));
        free (file);
        if (!ok) {
            rc = cli_bad ("restore", "%s/%s does not match the manifest (missing, changed or"
                        " truncated): nothing restored", from, name);
            goto done;
        }
    }
    //  2. The node is stopped: none of its services answers
    int base = (int) hl_config_int (config, "node/base_port",
                                    streq (hl_config_get (config, "node/role", "ward"), "city")? 7000: 7100);
    const char *keys [] = { "intake", "archive", "notification", NULL };
    for (int k = 0; keys [k]; k++) {
        char key [64], buf [128];
        snprintf (key, sizeof key, "endpoints/%s", keys [k]);
        const char *endpoint = hl_config_get (config, key,
            hl_service_default_endpoint (keys [k], base, buf, sizeof buf));
        if (endpoint && s_answers (endpoint)) {
            rc = cli_bad ("restore", "the node's %s answers at %s: stop the node's services first"
                        " (nothing restored)", keys [k], endpoint);
            goto done;
        }
    }
    //  3. What is there already: refused, or moved aside with --force
    zsys_dir_create ("%s", data);
    bool occupied = false;
    for (int k = 0; s_stores [k]; k++) {
        char *file = zsys_sprintf ("%s/%s", data, s_stores [k]);
        occupied = occupied || zsys_file_exists (file);
        free (file);
    }
    if (occupied && !force) {
        rc = cli_bad ("restore", "%s holds stores already: give --force to move them aside"
                    " (into %s/pre-restore-TIME/)", data, data);
        goto done;
    }
    if (occupied) {
        char *aside = zsys_sprintf ("%s/pre-restore-%" PRId64, data, hl_clock_now ());
        zsys_dir_create ("%s", aside);
        DIR *dir = opendir (data);
        struct dirent *item;
        while (dir && (item = readdir (dir))) {
            bool store = strstr (item->d_name, ".db") || streq (item->d_name, "notify.log")
                      || streq (item->d_name, "evidence");
            if (!store || strncmp (item->d_name, "pre-restore-", 12) == 0)
                continue;
            char *src = zsys_sprintf ("%s/%s", data, item->d_name);
            char *dst = zsys_sprintf ("%s/%s", aside, item->d_name);
            if (rename (src, dst))
                rc = cli_bad ("restore", "cannot move %s aside: %s", src, strerror (errno));
            free (src);
            free (dst);
        }
        if (dir)
            closedir (dir);
        fprintf (stderr, "hotline restore: the node's previous files are in %s\n", aside);
        free (aside);
        if (rc)
            goto done;
    }
    //  4. Copy, each through a temporary name; stale WAL files of a wiped
    //  store must not be applied to the restored one
    json_array_foreach (files, i, entry) {
        const char *name = json_string_value (json_object_get (entry, "file"));
        char *src = zsys_sprintf ("%s/%s", from, name);
        char *dst = zsys_sprintf ("%s/%s", data, name);
        char *wal = zsys_sprintf ("%s-wal", dst), *shm = zsys_sprintf ("%s-shm", dst);
        unlink (wal);
        unlink (shm);
        s_make_parents (dst);
        if (s_copy_file (src, dst))
            rc = cli_bad ("restore", "cannot write %s: %s", dst, strerror (errno));
        free (src);
        free (dst);
        free (wal);
        free (shm);
        if (rc)
            goto done;
    }
    printf ("restored %zu file(s) into %s; start the node: it catches up by the usual resume\n",
            json_array_size (files), data);
done:
    json_decref (manifest);
    free (path);
    free (data);
    hl_config_destroy (&config);
    return rc;
}
