/*  cli_keys — hotline keys: CurveZMQ certificates of the city and its wards.
 *
 *      hotline keys init --dir DIR --wards "31001 31002 ..."
 *      hotline keys generate --dir DIR --ward CODE [--force]
 *      hotline keys rotate --dir DIR --ward CODE
 *      hotline keys show --dir DIR
 *      hotline keys client NAME --actor ROLE:USER --dir DIR [--force]
 *      hotline keys split --dir DIR --wards "31001 ..." --to OUT [--owner UID:GID]
 *      (init takes --to OUT [--owner UID:GID] too: init, then split)
 *
 *  Layout of DIR (czmq zcert files; a keypair is NAME and NAME_secret):
 *
 *      city.cert, city.cert_secret             the city's federation endpoint
 *      ward-<code>.cert, ward-<code>.cert_secret   one per ward, metadata
 *                                              ward = "<code>", role = "ward"
 *      allow/ward-<code>.cert                  public copies: the city's
 *                                              certificate directory
 *      retired/ward-<code>-<time>.cert         public certs taken out of allow/
 *
 *  The same commands keep the keys of a node's remote front door (intake's
 *  front/remote), in a directory of their own (not the city's):
 *
 *      front.cert, front.cert_secret           the node's keypair (front/cert)
 *      client-<name>.cert, client-<name>.cert_secret   one per CLI, metadata
 *                                              actor = "<role>:<user>", role = "client"
 *      allow/client-<name>.cert                public copies: front/allow
 *
 *  A client key may act only as its actor; deleting its allow/ copy revokes
 *  it (intake looks the key up again on every request).
 *
 *  Give each ward node its ward-<code>.cert_secret and city.cert (public);
 *  the city uses city.cert_secret and allow/. retired/ is a sibling of
 *  allow/, never inside it. `keys split` does exactly that into one
 *  directory per node (compose's keys-init: one volume per node, without a
 *  shell in the image):
 *
 *      OUT/city/       city.cert, city.cert_secret, allow/ (the certificates of DIR/allow)
 *      OUT/<code>/     ward-<code>.cert, ward-<code>.cert_secret, city.cert
 *
 *  Every key file of another node found there is removed (a node's
 *  directory holds its own secret and nothing else's); directories 0700,
 *  secrets 0600, public certificates 0644, all owned by --owner (the
 *  services' user) when given. A file already there with the same content
 *  is left as it is (the city's allow table does not reload for nothing);
 *  a changed one is replaced in one rename.
 *
 *  When does the city notice? The city archive answers each CurveZMQ
 *  handshake (ZAP) from a table of the certificates in allow/: a known key
 *  costs one stat of its file, and a changed or removed file reloads the
 *  table; an unknown key reloads it when allow/ changed (or at most every
 *  5 s). We still stamp a rotated allow/ file with a time newer than any
 *  other file there. New and rotated keys are therefore accepted, and
 *  retired keys refused, on the next handshake, without a restart.
 *  Connections already established are not re-checked: restart the city
 *  (or the ward) to cut off a retired key at once.
 *
 *  Exit codes: 0 done; 2 bad input or the directory cannot be written.
 */
#include "hotline.h"
#include "cli.h"
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#define S_MAX_WARDS     1000

typedef struct {
    const char *dir;
    const char *wards;
    const char *ward;
    const char *actor;
    const char *to;
    const char *owner;
    bool force;
} s_keys_opts_t;

static int
s_bad (const char *command, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    fprintf (stderr, "hotline keys%s%s: ", command? " ": "", command? command: "");
    vfprintf (stderr, fmt, args);
    fprintf (stderr, "\n");
    va_end (args);
    return CLI_BAD_INPUT;
}

//  accepts: which of dir wards ward force the command takes
static int
s_parse (s_keys_opts_t *opts, const char *command, int argc, char **argv, const char *accepts)
{
    memset (opts, 0, sizeof *opts);
    for (int i = 0; i < argc; i++) {
        const char *word = argv [i];
        if (strncmp (word, "--", 2) != 0)
            return s_bad (command, "unexpected argument '%s'", word);
        const char *key = word + 2;
        char pattern [64], padded [128];
        snprintf (pattern, sizeof pattern, " %s ", key);
        snprintf (padded, sizeof padded, " %s ", accepts);
        if (!*key || strchr (key, ' ') || !strstr (padded, pattern))
            return s_bad (command, "unknown option %s", word);
        if (streq (key, "force")) {
            opts->force = true;
            continue;
        }
        if (i + 1 >= argc)
            return s_bad (command, "%s needs a value", word);
        const char *value = argv [++i];
        if (streq (key, "dir"))
            opts->dir = value;
        else
        if (streq (key, "wards"))
            opts->wards = value;
        else
        if (streq (key, "actor"))
            opts->actor = value;
        else
        if (streq (key, "to"))
            opts->to = value;
        else
        if (streq (key, "owner"))
            opts->owner = value;
        else
            opts->ward = value;
    }
    if (!opts->dir || !*opts->dir)
        return s_bad (command, "--dir DIR is required (the certificate directory)");
    if (strlen (opts->dir) > 3000)
        return s_bad (command, "--dir is too long");
    return 0;
}

//  Ward codes: 1 to 10 digits (as in case numbers)
static bool
s_ward_ok (const char *code)
{
    size_t len = code? strlen (code): 0;
    return len >= 1 && len <= 10 && strspn (code, "0123456789") == len;
}

static bool
s_exists (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0;
}

//  mkdir, fine if it is already a directory
static int
s_mkdir (const char *path, mode_t mode)
{
    struct stat st;
    if (stat (path, &st) == 0)
        return S_ISDIR (st.st_mode)? 0: -1;
    if (mkdir (path, mode) == 0 || errno == EEXIST)
        return 0;
    return -1;
}

static int
s_prepare_dir (const char *command, const char *dir)
{
    char path [4096];
    if (s_mkdir (dir, 0700))
        return s_bad (command, "cannot create directory %s: %s", dir, strerror (errno));
    snprintf (path, sizeof path, "%s/allow", dir);
    if (s_mkdir (path, 0755))
        return s_bad (command, "cannot create directory %s: %s", path, strerror (errno));
    snprintf (path, sizeof path, "%s/retired", dir);
    if (s_mkdir (path, 0700))
        return s_bad (command, "cannot create directory %s: %s", path, strerror (errno));
    return 0;
}

//  Copy src to dst through a temporary file in dst_tmp_dir and a rename,
//  so a reader never sees half a certificate. The copy is created with
//  mode (a secret is never readable by others, not even for a moment).
//  0 or -1 (errno).
static int
s_copy_file (const char *src, const char *dst, const char *tmp_dir, mode_t mode)
{
    char tmp [4200];
    snprintf (tmp, sizeof tmp, "%s/.hotline-keys-%d.tmp", tmp_dir, (int) getpid ());
    FILE *in = fopen (src, "rb");
    if (!in)
        return -1;
    unlink (tmp);
    int fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    FILE *out = fd < 0? NULL: fdopen (fd, "wb");
    if (!out) {
        int err = errno;
        if (fd >= 0)
            close (fd);
        fclose (in);
        errno = err;
        return -1;
    }
    char buffer [4096];
    size_t got;
    int rc = 0;
    while ((got = fread (buffer, 1, sizeof buffer, in)) > 0)
        if (fwrite (buffer, 1, got, out) != got) {
            rc = -1;
            break;
        }
    if (ferror (in))
        rc = -1;
    int err = errno;
    fclose (in);
    if (fclose (out))
        rc = -1;
    if (rc == 0 && rename (tmp, dst))
        rc = -1;
    if (rc) {
        err = errno;
        unlink (tmp);
        errno = err;
    }
    return rc;
}

//  Newest modification time (seconds) of the files in dir
static time_t
s_newest (const char *dir)
{
    time_t newest = 0;
    DIR *handle = opendir (dir);
    if (!handle)
        return 0;
    struct dirent *entry;
    while ((entry = readdir (handle)) != NULL) {
        if (entry->d_name [0] == '.')
            continue;
        char path [4400];
        snprintf (path, sizeof path, "%s/%s", dir, entry->d_name);
        struct stat st;
        if (stat (path, &st) == 0 && st.st_mtime > newest)
            newest = st.st_mtime;
    }
    closedir (handle);
    return newest;
}

//  Put the ward's public cert into allow/. A replacement is stamped newer
//  than anything there (including the file it replaces), so that whatever
//  watches the directory by file times (the city's key table; czmq's
//  zcertstore, which compares whole seconds) sees the change even within
//  the same second (see the header).
static int
s_allow_file (const char *command, const char *dir, const char *name)
{
    char src [4096], dst [4200], allow [4096];
    snprintf (src, sizeof src, "%s/%s", dir, name);
    snprintf (allow, sizeof allow, "%s/allow", dir);
    snprintf (dst, sizeof dst, "%s/%s", allow, name);
    bool replacing = s_exists (dst);
    time_t newest = s_newest (allow);
    if (s_copy_file (src, dst, dir, 0644))
        return s_bad (command, "cannot write %s: %s", dst, strerror (errno));
    if (!replacing)
        return 0;
    time_t now = time (NULL);
    struct timespec times [2];
    times [0].tv_sec = times [1].tv_sec = now > newest? now: newest + 1;
    times [0].tv_nsec = times [1].tv_nsec = 0;
    utimensat (AT_FDCWD, dst, times, 0);
    return 0;
}

static int
s_allow (const char *command, const char *dir, const char *code)
{
    char name [64];
    snprintf (name, sizeof name, "ward-%s.cert", code);
    return s_allow_file (command, dir, name);
}

//  Same file content?
static bool
s_same_file (const char *a, const char *b)
{
    FILE *fa = fopen (a, "rb"), *fb = fopen (b, "rb");
    bool same = fa && fb;
    while (same) {
        int ca = fgetc (fa), cb = fgetc (fb);
        if (ca != cb)
            same = false;
        if (ca == EOF || cb == EOF)
            break;
    }
    if (fa)
        fclose (fa);
    if (fb)
        fclose (fb);
    return same;
}

//  Move the ward's public cert out of allow/ into retired/ (copy first,
//  so that a new one can replace it atomically). *retired_p gets the path.
static int
s_retire (const char *command, const char *dir, const char *code, bool remove_it,
          char *retired, size_t retired_size)
{
    char allowed [4096], keypair [4096];
    snprintf (allowed, sizeof allowed, "%s/allow/ward-%s.cert", dir, code);
    snprintf (keypair, sizeof keypair, "%s/ward-%s.cert", dir, code);
    const char *source = s_exists (allowed)? allowed: keypair;
    if (!s_exists (source)) {
        *retired = 0;
        return 0;
    }
    char stamp [32];
    time_t now = time (NULL);
    struct tm tm;
    gmtime_r (&now, &tm);
    strftime (stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    for (int n = 0; n < 1000; n++) {
        if (n)
            snprintf (retired, retired_size, "%s/retired/ward-%s-%s-%d.cert", dir, code, stamp, n);
        else
            snprintf (retired, retired_size, "%s/retired/ward-%s-%s.cert", dir, code, stamp);
        if (!s_exists (retired))
            break;
    }
    char tmp_dir [4096];
    snprintf (tmp_dir, sizeof tmp_dir, "%s/retired", dir);
    if (s_copy_file (source, retired, tmp_dir, 0644))
        return s_bad (command, "cannot write %s: %s", retired, strerror (errno));
    if (remove_it && source == allowed && unlink (allowed))
        return s_bad (command, "cannot remove %s: %s", allowed, strerror (errno));
    return 0;
}

//  A new keypair at DIR/NAME (+ _secret), with metadata: role, and
//  key = value if key is set
static zcert_t *
s_keypair_new_meta (const char *command, const char *dir, const char *name,
                    const char *role, const char *key, const char *value)
{
    char path [4200];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    zcert_t *cert = zcert_new ();
    if (!cert) {
        s_bad (command, "cannot generate a keypair");
        return NULL;
    }
    if (key)
        zcert_set_meta (cert, key, "%s", value);
    zcert_set_meta (cert, "role", "%s", role);
    //  The secret file is written with mode 0600 (zcert_save_secret)
    if (zcert_save (cert, path)) {
        s_bad (command, "cannot write %s: %s", path, strerror (errno));
        zcert_destroy (&cert);
        return NULL;
    }
    char secret [4300];
    snprintf (secret, sizeof secret, "%s_secret", path);
    chmod (secret, 0600);
    return cert;
}

//  A ward's keypair (metadata ward = code), or the city's (code NULL)
static zcert_t *
s_keypair_new (const char *command, const char *dir, const char *name, const char *code)
{
    return code? s_keypair_new_meta (command, dir, name, "ward", "ward", code)
               : s_keypair_new_meta (command, dir, name, "city", NULL, NULL);
}

//  An existing keypair: 1 = present and whole (*cert_p loaded), 0 = absent,
//  -1 = broken (message printed)
static int
s_keypair_load (const char *command, const char *dir, const char *name, const char *code,
                zcert_t **cert_p)
{
    char path [4200], secret [4300];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    snprintf (secret, sizeof secret, "%s_secret", path);
    *cert_p = NULL;
    if (!s_exists (path) && !s_exists (secret))
        return 0;
    if (!s_exists (secret)) {
        s_bad (command, "%s exists without its secret %s: restore it, or remove %s to make a new one",
               path, secret, path);
        return -1;
    }
    zcert_t *cert = zcert_load (path);
    if (!cert) {
        s_bad (command, "%s is not a readable certificate", path);
        return -1;
    }
    const char *meta = zcert_meta (cert, "ward");
    if (code && (!meta || strneq (meta, code))) {
        s_bad (command, "%s belongs to ward '%s', not %s", path, meta? meta: "", code);
        zcert_destroy (&cert);
        return -1;
    }
    *cert_p = cert;
    return 1;
}

static int
s_compare (const void *a, const void *b)
{
    return strcmp (*(char * const *) a, *(char * const *) b);
}

//  Sorted names of the certificate files (not _secret, not hidden) in dir;
//  NULL-terminated, caller frees with s_names_free. NULL if no such dir.
static char **
s_names (const char *dir)
{
    DIR *handle = opendir (dir);
    if (!handle)
        return NULL;
    size_t n = 0, max = 16;
    char **names = (char **) zmalloc (max * sizeof (char *));
    struct dirent *entry;
    while ((entry = readdir (handle)) != NULL) {
        size_t len = strlen (entry->d_name);
        if (entry->d_name [0] == '.'
        || (len > 7 && streq (entry->d_name + len - 7, "_secret")))
            continue;
        char path [4400];
        snprintf (path, sizeof path, "%s/%s", dir, entry->d_name);
        struct stat st;
        if (stat (path, &st) || !S_ISREG (st.st_mode))
            continue;
        if (n + 1 >= max) {
            max *= 2;
            names = (char **) hl_realloc (names, max * sizeof (char *));
        }
        names [n++] = hl_strdup (entry->d_name);
    }
    closedir (handle);
    qsort (names, n, sizeof (char *), s_compare);
    names [n] = NULL;
    return names;
}

static void
s_names_free (char **names)
{
    for (size_t i = 0; names && names [i]; i++)
        free (names [i]);
    free (names);
}

//  --wards "CODE CODE ...": every code checked, duplicates dropped, into
//  codes (pointing into *list_p, which the caller frees). CLI_OK or
//  CLI_BAD_INPUT (printed).
static int
s_ward_list (const char *command, const char *wards, char **list_p, char **codes, size_t *count)
{
    *count = 0;
    *list_p = NULL;
    if (!wards)
        return s_bad (command, "--wards \"CODE CODE ...\" is required");
    char *list = *list_p = hl_strdup (wards);
    char *save = NULL;
    size_t n = 0;
    for (char *code = strtok_r (list, " ,\t\n", &save); code; code = strtok_r (NULL, " ,\t\n", &save)) {
        if (!s_ward_ok (code))
            return s_bad (command, "'%s' is not a ward code (1 to 10 digits)", code);
        bool dup = false;
        for (size_t i = 0; i < n; i++)
            dup = dup || streq (codes [i], code);
        if (dup)
            continue;
        if (n == S_MAX_WARDS)
            return s_bad (command, "at most %d wards at once", S_MAX_WARDS);
        codes [n++] = code;
    }
    if (n == 0)
        return s_bad (command, "--wards lists no ward code");
    *count = n;
    return CLI_OK;
}

//  ---------------------------------------------------------------- split
//  One directory per node, with what that node needs (see the header)

typedef struct {
    bool set;
    uid_t uid;
    gid_t gid;
} s_owner_t;

//  --owner UID:GID, numbers only (the image has no user database to ask)
static int
s_owner_parse (const char *command, const char *text, s_owner_t *owner)
{
    memset (owner, 0, sizeof *owner);
    if (!text)
        return CLI_OK;
    const char *colon = strchr (text, ':');
    size_t uid_len = colon? (size_t) (colon - text): 0;
    if (!colon || uid_len == 0 || uid_len > 9 || strspn (text, "0123456789") != uid_len
    ||  !colon [1] || strlen (colon + 1) > 9 || strspn (colon + 1, "0123456789") != strlen (colon + 1))
        return s_bad (command, "--owner %s: must be UID:GID in numbers, e.g. 10001:10001", text);
    owner->set = true;
    owner->uid = (uid_t) strtoul (text, NULL, 10);
    owner->gid = (gid_t) strtoul (colon + 1, NULL, 10);
    return CLI_OK;
}

//  A node's directory (or its allow/): made if missing, never through a
//  symbolic link, mode 0700, the owner's
static int
s_node_dir (const char *command, const char *path, const s_owner_t *owner)
{
    struct stat st;
    if (lstat (path, &st) && (errno != ENOENT || mkdir (path, 0700) || lstat (path, &st)))
        return s_bad (command, "cannot create directory %s: %s", path, strerror (errno));
    if (!S_ISDIR (st.st_mode))
        return s_bad (command, "%s is not a directory", path);
    if ((owner->set && lchown (path, owner->uid, owner->gid)) || chmod (path, 0700))
        return s_bad (command, "cannot set the owner or mode of %s: %s", path, strerror (errno));
    return CLI_OK;
}

//  dir/name from src (unless it holds the same already), then its mode and owner
static int
s_put (const char *command, const char *src, const char *dir, const char *name, mode_t mode,
       const s_owner_t *owner)
{
    char dst [4400];
    snprintf (dst, sizeof dst, "%s/%s", dir, name);
    struct stat st;
    bool there = lstat (dst, &st) == 0;
    if (there && !S_ISREG (st.st_mode))
        return s_bad (command, "%s is not a regular file", dst);
    if ((!there || !s_same_file (src, dst)) && s_copy_file (src, dst, dir, mode))
        return s_bad (command, "cannot write %s: %s", dst, strerror (errno));
    if ((owner->set && lchown (dst, owner->uid, owner->gid)) || chmod (dst, mode))
        return s_bad (command, "cannot set the owner or mode of %s: %s", dst, strerror (errno));
    return CLI_OK;
}

static bool
s_is_key_file (const char *name)
{
    size_t len = strlen (name);
    return (len > 5 && streq (name + len - 5, ".cert"))
        || (len > 12 && streq (name + len - 12, ".cert_secret"));
}

static bool
s_listed (char **names, const char *name)
{
    for (size_t i = 0; names && names [i]; i++)
        if (streq (names [i], name))
            return true;
    return false;
}

//  Remove every key file in dir that is not in keep (NULL-terminated)
static int
s_prune (const char *command, const char *dir, char **keep)
{
    DIR *handle = opendir (dir);
    if (!handle)
        return s_bad (command, "cannot read %s: %s", dir, strerror (errno));
    int rc = CLI_OK;
    struct dirent *entry;
    while ((entry = readdir (handle)) != NULL && rc == CLI_OK) {
        if (entry->d_name [0] == '.' || !s_is_key_file (entry->d_name) || s_listed (keep, entry->d_name))
            continue;
        char path [4400];
        snprintf (path, sizeof path, "%s/%s", dir, entry->d_name);
        if (unlink (path))
            rc = s_bad (command, "cannot remove %s: %s", path, strerror (errno));
        else
            printf ("removed  %s (not this node's)\n", path);
    }
    closedir (handle);
    return rc;
}

static int
s_split (const char *command, const char *dir, char **codes, size_t n, const char *to,
         const s_owner_t *owner)
{
    if (strlen (to) > 3000)
        return s_bad (command, "--to is too long");
    //  Everything it copies must be there and whole before anything is written
    zcert_t *cert = NULL;
    int found = s_keypair_load (command, dir, "city.cert", NULL, &cert);
    zcert_destroy (&cert);
    if (found == 0)
        return s_bad (command, "no city.cert in %s (hotline keys init first)", dir);
    for (size_t i = 0; i < n && found > 0; i++) {
        char name [64];
        snprintf (name, sizeof name, "ward-%s.cert", codes [i]);
        found = s_keypair_load (command, dir, name, codes [i], &cert);
        zcert_destroy (&cert);
        if (found == 0)
            return s_bad (command, "ward %s has no key in %s (hotline keys init or generate)",
                          codes [i], dir);
    }
    if (found < 0)
        return CLI_BAD_INPUT;
    char allow [4096];
    snprintf (allow, sizeof allow, "%s/allow", dir);
    char **allowed = s_names (allow);
    if (!allowed)
        return s_bad (command, "no directory %s (hotline keys init first)", allow);
    //  OUT itself only holds the nodes' directories (in a container, the
    //  mount points of their volumes, on a read-only root): made if
    //  missing, otherwise left as it is
    struct stat st;
    bool made = lstat (to, &st) == 0
             || (errno == ENOENT && mkdir (to, 0700) == 0 && lstat (to, &st) == 0);
    if (!made || !S_ISDIR (st.st_mode)) {
        int err = made? ENOTDIR: errno;
        s_names_free (allowed);
        return s_bad (command, "cannot use %s: %s", to, strerror (err));
    }
    //  The city: its keypair, and the wards' public certificates (allow/)
    char node [4200], node_allow [4300], src [4400];
    snprintf (node, sizeof node, "%s/city", to);
    snprintf (node_allow, sizeof node_allow, "%s/allow", node);
    char *city_keep [] = { "city.cert", "city.cert_secret", NULL };
    size_t certs = 0;
    int rc = s_node_dir (command, node, owner)
          || s_node_dir (command, node_allow, owner)? CLI_BAD_INPUT: CLI_OK;
    for (size_t i = 0; rc == CLI_OK && allowed [i]; i++) {
        if (!s_is_key_file (allowed [i]))
            continue;
        snprintf (src, sizeof src, "%s/%s", allow, allowed [i]);
        rc = s_put (command, src, node_allow, allowed [i], 0644, owner);
        certs++;
    }
    for (size_t i = 0; rc == CLI_OK && city_keep [i]; i++) {
        snprintf (src, sizeof src, "%s/%s", dir, city_keep [i]);
        rc = s_put (command, src, node, city_keep [i], i? 0600: 0644, owner);
    }
    if (rc == CLI_OK)
        rc = s_prune (command, node_allow, allowed);
    if (rc == CLI_OK)
        rc = s_prune (command, node, city_keep);
    if (rc == CLI_OK)
        printf ("split    %-8s -> %s: city.cert, city.cert_secret, allow/ (%zu certificate%s)\n",
                "city", node, certs, certs == 1? "": "s");
    //  Each ward: its keypair and the city's public certificate
    for (size_t i = 0; i < n && rc == CLI_OK; i++) {
        char cert_name [64], secret_name [80];
        snprintf (cert_name, sizeof cert_name, "ward-%s.cert", codes [i]);
        snprintf (secret_name, sizeof secret_name, "ward-%s.cert_secret", codes [i]);
        char *keep [] = { cert_name, secret_name, "city.cert", NULL };
        snprintf (node, sizeof node, "%s/%s", to, codes [i]);
        rc = s_node_dir (command, node, owner);
        for (size_t k = 0; rc == CLI_OK && keep [k]; k++) {
            snprintf (src, sizeof src, "%s/%s", dir, keep [k]);
            rc = s_put (command, src, node, keep [k], k == 1? 0600: 0644, owner);
        }
        //  A ward has no allow/ (a stale one would hold other wards' keys)
        snprintf (node_allow, sizeof node_allow, "%s/allow", node);
        if (rc == CLI_OK && lstat (node_allow, &st) == 0)
            rc = s_bad (command, "%s should not be there (a ward needs no allow/): remove it", node_allow);
        if (rc == CLI_OK)
            rc = s_prune (command, node, keep);
        if (rc == CLI_OK)
            printf ("split    %-8s -> %s: %s, %s, city.cert\n", codes [i], node, cert_name, secret_name);
    }
    s_names_free (allowed);
    return rc;
}

static int
s_keys_split (int argc, char **argv)
{
    s_keys_opts_t opts;
    if (s_parse (&opts, "split", argc, argv, "dir wards to owner"))
        return CLI_BAD_INPUT;
    if (!opts.to || !*opts.to)
        return s_bad ("split", "--to OUT is required (OUT/city and OUT/<code> get each node's keys)");
    s_owner_t owner;
    if (s_owner_parse ("split", opts.owner, &owner))
        return CLI_BAD_INPUT;
    char *list, *codes [S_MAX_WARDS];
    size_t n;
    int rc = s_ward_list ("split", opts.wards, &list, codes, &n);
    if (rc == CLI_OK)
        rc = s_split ("split", opts.dir, codes, n, opts.to, &owner);
    free (list);
    return rc;
}

static int
s_keys_init (int argc, char **argv)
{
    s_keys_opts_t opts;
    if (s_parse (&opts, "init", argc, argv, "dir wards to owner"))
        return CLI_BAD_INPUT;
    s_owner_t owner;
    if (opts.owner && !opts.to)
        return s_bad ("init", "--owner is for the nodes' directories: give --to OUT too");
    if (opts.to && !*opts.to)
        return s_bad ("init", "--to needs a directory");
    if (s_owner_parse ("init", opts.owner, &owner))
        return CLI_BAD_INPUT;
    //  Check every code before touching the disk
    char *list, *codes [S_MAX_WARDS];
    size_t n;
    int rc = s_ward_list ("init", opts.wards, &list, codes, &n);
    if (rc == CLI_OK)
        rc = s_prepare_dir ("init", opts.dir);

    zcert_t *cert = NULL;
    if (rc == CLI_OK) {
        int found = s_keypair_load ("init", opts.dir, "city.cert", NULL, &cert);
        if (found < 0)
            rc = CLI_BAD_INPUT;
        else
        if (found == 0) {
            cert = s_keypair_new ("init", opts.dir, "city.cert", NULL);
            if (cert)
                printf ("created  city.cert         %s\n", zcert_public_txt (cert));
            else
                rc = CLI_BAD_INPUT;
        }
        else
            printf ("kept     city.cert         %s\n", zcert_public_txt (cert));
        zcert_destroy (&cert);
    }
    for (size_t i = 0; i < n && rc == CLI_OK; i++) {
        char name [64];
        snprintf (name, sizeof name, "ward-%s.cert", codes [i]);
        int found = s_keypair_load ("init", opts.dir, name, codes [i], &cert);
        if (found < 0) {
            rc = CLI_BAD_INPUT;
            break;
        }
        if (found == 0)
            cert = s_keypair_new ("init", opts.dir, name, codes [i]);
        if (!cert) {
            rc = CLI_BAD_INPUT;
            break;
        }
        char src [4200], dst [4200];
        snprintf (src, sizeof src, "%s/%s", opts.dir, name);
        snprintf (dst, sizeof dst, "%s/allow/%s", opts.dir, name);
        bool allowed = s_same_file (src, dst);
        if (!allowed && s_allow ("init", opts.dir, codes [i]))
            rc = CLI_BAD_INPUT;
        else
            printf ("%-8s %-18s %s%s\n", found? "kept": "created", name, zcert_public_txt (cert),
                    allowed? "": "  (now allowed)");
        zcert_destroy (&cert);
    }
    if (rc == CLI_OK && opts.to)
        rc = s_split ("init", opts.dir, codes, n, opts.to, &owner);
    free (list);
    return rc;
}

static int
s_keys_generate (int argc, char **argv, bool rotate)
{
    const char *command = rotate? "rotate": "generate";
    s_keys_opts_t opts;
    if (s_parse (&opts, command, argc, argv, rotate? "dir ward": "dir ward force"))
        return CLI_BAD_INPUT;
    if (!opts.ward)
        return s_bad (command, "--ward CODE is required");
    if (!s_ward_ok (opts.ward))
        return s_bad (command, "'%s' is not a ward code (1 to 10 digits)", opts.ward);
    char name [64];
    snprintf (name, sizeof name, "ward-%s.cert", opts.ward);
    if (rotate && !s_exists (opts.dir))
        return s_bad (command, "no directory %s (hotline keys init first)", opts.dir);
    if (s_prepare_dir (command, opts.dir))
        return CLI_BAD_INPUT;
    char path [4200], secret [4300];
    snprintf (path, sizeof path, "%s/%s", opts.dir, name);
    snprintf (secret, sizeof secret, "%s_secret", path);
    bool found = s_exists (path) || s_exists (secret);
    if (rotate && !found)
        return s_bad (command, "ward %s has no key in %s (use hotline keys generate)",
                      opts.ward, opts.dir);
    if (!rotate && found && !opts.force)
        return s_bad (command, "%s/%s exists (--force replaces it; hotline keys rotate retires it)",
                      opts.dir, name);
    //  Replacing a key: its public cert goes to retired/ first
    char retired [4300] = "";
    if (found && s_retire (command, opts.dir, opts.ward, false, retired, sizeof retired))
        return CLI_BAD_INPUT;
    zcert_t *cert = s_keypair_new (command, opts.dir, name, opts.ward);
    if (!cert)
        return CLI_BAD_INPUT;
    //  The new public cert replaces the old one in allow/ in one rename
    int rc = s_allow (command, opts.dir, opts.ward)? CLI_BAD_INPUT: CLI_OK;
    if (rc == CLI_OK) {
        if (rotate)
            printf ("%s\n", zcert_public_txt (cert));
        else
            printf ("created  %-18s %s\n", name, zcert_public_txt (cert));
        if (*retired)
            fprintf (stderr, "hotline keys: the old key of ward %s is retired: %s\n",
                     opts.ward, retired);
        fprintf (stderr, "hotline keys: give %s/%s_secret and %s/city.cert to the ward node;"
                 " the city accepts the new key at the next connection\n",
                 opts.dir, name, opts.dir);
    }
    zcert_destroy (&cert);
    return rc;
}


static void
s_show_one (const char *dir, const char *name, const char *status)
{
    char path [4400];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    zcert_t *cert = zcert_load (path);
    if (!cert) {
        printf ("%-34s %-10s %-12s %s\n", name, "-", "unreadable", "-");
        return;
    }
    const char *ward = zcert_meta (cert, "ward");
    const char *actor = zcert_meta (cert, "actor");
    const char *role = zcert_meta (cert, "role");
    char kind [128];
    snprintf (kind, sizeof kind, "%s", ward? ward: actor? actor: !role? "-":
              streq (role, "city")? "(city)": streq (role, "front")? "(front)": "-");
    printf ("%-34s %-10s %-12s %s\n", name, kind, status, zcert_public_txt (cert));
    zcert_destroy (&cert);
}

static int
s_keys_show (int argc, char **argv)
{
    s_keys_opts_t opts;
    if (s_parse (&opts, "show", argc, argv, "dir"))
        return CLI_BAD_INPUT;
    char **names = s_names (opts.dir);
    if (!names)
        return s_bad ("show", "no certificate directory %s (hotline keys init)", opts.dir);
    char allow [4096], retired [4096];
    snprintf (allow, sizeof allow, "%s/allow", opts.dir);
    snprintf (retired, sizeof retired, "%s/retired", opts.dir);
    printf ("%-34s %-10s %-12s %s\n", "CERTIFICATE", "WARD", "STATUS", "PUBLIC KEY");
    for (size_t i = 0; names [i]; i++) {
        char path [4400], allowed [4400], secret [4500];
        snprintf (path, sizeof path, "%s/%s", opts.dir, names [i]);
        snprintf (allowed, sizeof allowed, "%s/%s", allow, names [i]);
        snprintf (secret, sizeof secret, "%s_secret", path);
        const char *status = streq (names [i], "city.cert") || streq (names [i], "front.cert")? "server"
                           : s_same_file (path, allowed)? "allowed"
                           : s_exists (allowed)? "MISMATCH": "not-allowed";
        if (!s_exists (secret))
            status = "no-secret";
        s_show_one (opts.dir, names [i], status);
    }
    //  Allowed certificates without a keypair here, then retired ones
    char **allowed = s_names (allow);
    for (size_t i = 0; allowed && allowed [i]; i++) {
        char here [4400];
        snprintf (here, sizeof here, "%s/%s", opts.dir, allowed [i]);
        if (!s_exists (here)) {
            char shown [4400];
            snprintf (shown, sizeof shown, "allow/%s", allowed [i]);
            s_show_one (opts.dir, shown, "allowed");
        }
    }
    char **old = s_names (retired);
    for (size_t i = 0; old && old [i]; i++) {
        char shown [4400];
        snprintf (shown, sizeof shown, "retired/%s", old [i]);
        s_show_one (opts.dir, shown, "retired");
    }
    s_names_free (old);
    s_names_free (allowed);
    s_names_free (names);
    return CLI_OK;
}

//  Client names: letters, digits, '.', '_', '-'; 1 to 64, not starting with '.'
static bool
s_name_ok (const char *name)
{
    size_t len = name? strlen (name): 0;
    return len >= 1 && len <= 64 && *name != '.'
        && strspn (name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == len;
}

//  Actors: ROLE:USER, ROLE lower-case letters and '_', USER without spaces
//  or ':'. Not system:*, the node's own services, which use the local door.
static const char *
s_actor_problem (const char *actor)
{
    const char *colon = actor? strchr (actor, ':'): NULL;
    if (!colon || colon == actor || !colon [1] || strlen (actor) > 90)
        return "must be ROLE:USER, e.g. officer:lan";
    if ((size_t) (colon - actor) != strspn (actor, "abcdefghijklmnopqrstuvwxyz_"))
        return "ROLE must be lower-case letters (officer, division, leader, department, viewer ...)";
    for (const char *c = colon + 1; *c; c++)
        if (*c == ':' || isspace ((unsigned char) *c) || (unsigned char) *c < 32)
            return "USER may not contain spaces or ':'";
    if (strncmp (actor, "system:", 7) == 0)
        return "system:* is the node's own services: they use the local front door";
    return NULL;
}

//  hotline keys client NAME --actor ROLE:USER --dir DIR [--force]
static int
s_keys_client (int argc, char **argv)
{
    const char *command = "client";
    if (argc < 1 || strncmp (argv [0], "--", 2) == 0)
        return s_bad (command, "which client? hotline keys client NAME --actor ROLE:USER --dir DIR");
    const char *name = argv [0];
    if (!s_name_ok (name))
        return s_bad (command, "'%s' is not a client name (letters, digits, '.', '_', '-';"
                      " at most 64)", name);
    s_keys_opts_t opts;
    if (s_parse (&opts, command, argc - 1, argv + 1, "dir actor force"))
        return CLI_BAD_INPUT;
    if (!opts.actor)
        return s_bad (command, "--actor ROLE:USER is required (the one actor this key may act as)");
    const char *problem = s_actor_problem (opts.actor);
    if (problem)
        return s_bad (command, "--actor %s: %s", opts.actor, problem);
    if (s_prepare_dir (command, opts.dir))
        return CLI_BAD_INPUT;
    //  The node's own keypair, once
    zcert_t *front = NULL;
    int found = s_keypair_load (command, opts.dir, "front.cert", NULL, &front);
    if (found < 0)
        return CLI_BAD_INPUT;
    if (found == 0) {
        front = s_keypair_new_meta (command, opts.dir, "front.cert", "front", NULL, NULL);
        if (!front)
            return CLI_BAD_INPUT;
        printf ("created  %-24s %s\n", "front.cert", zcert_public_txt (front));
    }
    char file [128], path [4300], secret [4400];
    snprintf (file, sizeof file, "client-%s.cert", name);
    snprintf (path, sizeof path, "%s/%s", opts.dir, file);
    snprintf (secret, sizeof secret, "%s_secret", path);
    int rc = CLI_OK;
    if ((s_exists (path) || s_exists (secret)) && !opts.force)
        rc = s_bad (command, "%s exists (--force replaces it, and revokes the old key)", path);
    zcert_t *cert = rc? NULL: s_keypair_new_meta (command, opts.dir, file, "client", "actor", opts.actor);
    if (rc == CLI_OK && !cert)
        rc = CLI_BAD_INPUT;
    if (rc == CLI_OK && s_allow_file (command, opts.dir, file))
        rc = CLI_BAD_INPUT;
    if (rc == CLI_OK) {
        printf ("created  %-24s %s  acts as %s\n", file, zcert_public_txt (cert), opts.actor);
        fprintf (stderr, "hotline keys: give the officer's PC %s and %s_secret, and %s/front.cert"
                 " (public); the node: front/cert = %s/front.cert, front/allow = %s/allow."
                 " To revoke: delete %s/allow/%s\n",
                 path, path, opts.dir, opts.dir, opts.dir, opts.dir, file);
    }
    zcert_destroy (&cert);
    zcert_destroy (&front);
    return rc;
}

int
cli_keys (cli_t *cli, int argc, char **argv)
{
    (void) cli;
    if (argc < 1)
        return s_bad (NULL, "which command? init, generate, rotate, show, client or split (see hotline help)");
    const char *command = argv [0];
    if (streq (command, "init"))
        return s_keys_init (argc - 1, argv + 1);
    if (streq (command, "generate"))
        return s_keys_generate (argc - 1, argv + 1, false);
    if (streq (command, "rotate"))
        return s_keys_generate (argc - 1, argv + 1, true);
    if (streq (command, "show"))
        return s_keys_show (argc - 1, argv + 1);
    if (streq (command, "client"))
        return s_keys_client (argc - 1, argv + 1);
    if (streq (command, "split"))
        return s_keys_split (argc - 1, argv + 1);
    return s_bad (NULL, "unknown command '%s' (init, generate, rotate, show, client, split)", command);
}
