/*  hl_keyring — a certificate directory as a key table, and its ZAP
 *  handler. See hl_keyring.h.
 *
 *  Read top to bottom: the table (s_load, hl_keyring_lookup), the ZAP
 *  handler (s_zap_request, hl_keyring_serve), the selftest.
 */
#include "hotline.h"
#include <sys/stat.h>
#include <fcntl.h>

#define S_ZAP_ENDPOINT      "inproc://zeromq.zap.01"
#define S_RELOAD_MS         5000    //  an unknown key reloads at most this often
                                    //  when the directory itself did not change

struct _hl_keyring_t {
    char *dir;
    char *meta;                 //  the metadata key: "ward", "actor"
    char *name;                 //  for log lines
    zhashx_t *keys;             //  public key (z85) -> s_key_t
    struct timespec dir_mtime;  //  of dir when the table was loaded
    int64_t loaded_at;
    zsock_t *zap;               //  REP at inproc://zeromq.zap.01, once served
    zloop_t *loop;
    uint64_t refused;
    hl_ratelimit_t rl_zap;
};

//  An admitted key: what it speaks for, and the certificate file it came
//  from, as it was when loaded
typedef struct {
    char *value;
    char *path;
    struct timespec mtime;
} s_key_t;

static void
s_key_free (void **item)
{
    s_key_t *key = (s_key_t *) *item;
    if (key) {
        free (key->value);
        free (key->path);
        free (key);
        *item = NULL;
    }
}

static bool
s_stat_mtime (const char *path, struct timespec *mtime)
{
    struct stat st;
    if (stat (path, &st))
        return false;
    *mtime = st.st_mtim;
    return true;
}

static bool
s_same_time (struct timespec a, struct timespec b)
{
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

// ---------------------------------------------------------------- the table

static void
s_load (hl_keyring_t *self)
{
    zhashx_purge (self->keys);
    s_stat_mtime (self->dir, &self->dir_mtime);
    self->loaded_at = zclock_mono ();
    zdir_t *dir = zdir_new (self->dir, NULL);
    if (!dir)
        return;
    zlist_t *files = zdir_list (dir);
    for (zfile_t *file = (zfile_t *) zlist_first (files); file; file = (zfile_t *) zlist_next (files)) {
        const char *path = zfile_filename (file, NULL);
        struct timespec mtime;
        if (!s_stat_mtime (path, &mtime))
            continue;
        zcert_t *cert = zcert_load (path);
        if (!cert)
            continue;
        const char *value = zcert_meta (cert, self->meta);
        if (value && *value) {
            s_key_t *key = (s_key_t *) zmalloc (sizeof (s_key_t));
            key->value = hl_strdup (value);
            key->path = hl_strdup (path);
            key->mtime = mtime;
            zhashx_update (self->keys, zcert_public_txt (cert), key);
        }
        else
            hl_warn ("%s: certificate %s has no %s metadata: ignored", self->name, path, self->meta);
        zcert_destroy (&cert);
    }
    zlist_destroy (&files);
    zdir_destroy (&dir);
}

hl_keyring_t *
hl_keyring_new (const char *dir, const char *meta, const char *name)
{
    assert (dir && meta && name);
    struct stat st;
    if (stat (dir, &st) || !S_ISDIR (st.st_mode))
        return NULL;
    hl_keyring_t *self = (hl_keyring_t *) zmalloc (sizeof (hl_keyring_t));
    self->dir = hl_strdup (dir);
    self->meta = hl_strdup (meta);
    self->name = hl_strdup (name);
    self->keys = zhashx_new ();
    zhashx_set_destructor (self->keys, s_key_free);
    s_load (self);
    return self;
}

void
hl_keyring_destroy (hl_keyring_t **self_p)
{
    assert (self_p);
    hl_keyring_t *self = *self_p;
    if (self) {
        if (self->zap) {
            zloop_reader_end (self->loop, self->zap);
            zsock_destroy (&self->zap);
        }
        zhashx_destroy (&self->keys);
        free (self->dir);
        free (self->meta);
        free (self->name);
        free (self);
        *self_p = NULL;
    }
}

//  O(1) per call: a known key costs one stat of its certificate file (a
//  retired or rotated key changes or removes it: reload); an unknown key
//  reloads the directory when it changed, or at most every few seconds
//  (a certificate added to a subdirectory does not touch the top one).
const char *
hl_keyring_lookup (hl_keyring_t *self, const char *public_txt)
{
    assert (self);
    if (!public_txt)
        return NULL;
    s_key_t *key = (s_key_t *) zhashx_lookup (self->keys, public_txt);
    struct timespec mtime;
    bool reload;
    if (key)
        reload = !s_stat_mtime (key->path, &mtime) || !s_same_time (mtime, key->mtime);
    else
        reload = !s_stat_mtime (self->dir, &mtime)
              || !s_same_time (mtime, self->dir_mtime)
              || zclock_mono () - self->loaded_at > S_RELOAD_MS;
    if (reload) {
        s_load (self);
        key = (s_key_t *) zhashx_lookup (self->keys, public_txt);
    }
    return key? key->value: NULL;
}

size_t
hl_keyring_size (hl_keyring_t *self)
{
    assert (self);
    return zhashx_size (self->keys);
}

uint64_t
hl_keyring_refused (hl_keyring_t *self)
{
    assert (self);
    return self->refused;
}

// ---------------------------------------------------------------- ZAP

//  One ZAP request (RFC 27): version, request id, domain, address,
//  identity, mechanism, credentials; answered with version, request id,
//  status, text, user id, metadata. User-Id = the client's public key in
//  z85, as zauth sets it.
static int
s_zap_request (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    hl_keyring_t *self = (hl_keyring_t *) arg;
    zmsg_t *request = zmsg_recv (sock);
    if (!request)
        return 0;
    char *version = zmsg_popstr (request);
    char *request_id = zmsg_popstr (request);
    char *domain = zmsg_popstr (request);
    char *address = zmsg_popstr (request);
    zframe_t *identity = zmsg_pop (request);
    char *mechanism = zmsg_popstr (request);
    zframe_t *client_key = zmsg_pop (request);
    const char *status = "400", *text = "no access";
    char public_txt [41] = "";
    if (version && streq (version, "1.0") && mechanism && streq (mechanism, "CURVE")
    &&  client_key && zframe_size (client_key) == 32) {
        zmq_z85_encode (public_txt, zframe_data (client_key), 32);
        if (hl_keyring_lookup (self, public_txt)) {
            status = "200";
            text = "OK";
        }
        else {
            self->refused++;
            hl_metrics_add (hl_metrics_default (), "hotline_zap_refused_total", 1);
            if (hl_ratelimit (&self->rl_zap) >= 0)
                hl_warn ("%s: CurveZMQ key %.12s... from %s is not in %s: refused"
                         " (%" PRIu64 " refused so far)", self->name, public_txt,
                         address? address: "?", self->dir, self->refused);
        }
    }
    else {
        self->refused++;
        hl_metrics_add (hl_metrics_default (), "hotline_zap_refused_total", 1);
        if (hl_ratelimit (&self->rl_zap) >= 0)
            hl_warn ("%s: ZAP request for mechanism %s refused", self->name,
                     mechanism? mechanism: "?");
    }
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, "1.0");
    zmsg_addstr (reply, request_id? request_id: "");
    zmsg_addstr (reply, status);
    zmsg_addstr (reply, text);
    zmsg_addstr (reply, streq (status, "200")? public_txt: "");
    zmsg_addmem (reply, NULL, 0);       //  no metadata
    zmsg_send (&reply, sock);
    zstr_free (&version);
    zstr_free (&request_id);
    zstr_free (&domain);
    zstr_free (&address);
    zframe_destroy (&identity);
    zstr_free (&mechanism);
    zframe_destroy (&client_key);
    zmsg_destroy (&request);
    return 0;
}

int
hl_keyring_serve (hl_keyring_t *self, zloop_t *loop)
{
    assert (self && loop);
    assert (!self->zap);
    self->zap = zsock_new (ZMQ_REP);
    if (!self->zap || zsock_bind (self->zap, S_ZAP_ENDPOINT)) {
        hl_error ("%s: cannot start the ZAP handler (%s): %s", self->name, S_ZAP_ENDPOINT,
                  zmq_strerror (zmq_errno ()));
        zsock_destroy (&self->zap);
        return -1;
    }
    if (zloop_reader (loop, self->zap, s_zap_request, self)) {
        hl_error ("%s: cannot read the ZAP handler in the loop", self->name);
        zsock_destroy (&self->zap);
        return -1;
    }
    self->loop = loop;
    //  The counter exists (at 0) before the first refusal
    hl_metrics_add (hl_metrics_default (), "hotline_zap_refused_total", 0);
    return 0;
}

// ---------------------------------------------------------------- selftest

typedef struct {
    zsock_t *server;
    char user_id [64];
    char body [64];
    hl_keyring_t *keyring;
    uint64_t refused_target;
} t_state_t;

//  Server side: one message, then stop the loop
static int
t_server_readable (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    t_state_t *state = (t_state_t *) arg;
    zmsg_t *msg = zmsg_recv (sock);
    assert (msg && zmsg_size (msg) == 2);
    zframe_t *id = zmsg_pop (msg);
    zframe_t *body = zmsg_pop (msg);
    const char *user_id = zframe_meta (body, "User-Id");
    snprintf (state->user_id, sizeof state->user_id, "%s", user_id? user_id: "");
    snprintf (state->body, sizeof state->body, "%.*s", (int) zframe_size (body),
              (const char *) zframe_data (body));
    zframe_destroy (&id);
    zframe_destroy (&body);
    zmsg_destroy (&msg);
    return -1;
}

//  Until the keyring has refused refused_target handshakes
static int
t_refused_timer (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    t_state_t *state = (t_state_t *) arg;
    return hl_keyring_refused (state->keyring) >= state->refused_target? -1: 0;
}

static int
t_give_up (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id; (void) arg;
    return -1;
}

static zsock_t *
t_client (zcert_t *cert, zcert_t *server_cert, int port)
{
    zsock_t *client = zsock_new (ZMQ_DEALER);
    assert (client);
    zsock_set_linger (client, 0);
    if (cert) {
        zcert_apply (cert, client);
        zsock_set_curve_serverkey (client, zcert_public_txt (server_cert));
    }
    int rc = zsock_connect (client, "tcp://127.0.0.1:%d", port);
    assert (rc == 0);
    return client;
}

//  Run the loop until the server got a message or the keyring refused
//  refused_target handshakes, at most 5 s
static void
t_run (zloop_t *loop, t_state_t *state)
{
    int poll = zloop_timer (loop, 5, 0, t_refused_timer, state);
    int limit = zloop_timer (loop, 5000, 1, t_give_up, state);
    zloop_start (loop);
    zloop_timer_end (loop, poll);
    zloop_timer_end (loop, limit);
}

void
hl_keyring_test (bool verbose)
{
    (void) verbose;
    printf (" * hl_keyring: ");
    char dir [] = "/tmp/hl-keyring-test-XXXXXX";
    assert (mkdtemp (dir));
    char path [128], sub [96];

    //  Certificates: one per actor, one without the metadata, one in a
    //  subdirectory; a key that is not there at all
    zcert_t *lan = zcert_new ();
    zcert_set_meta (lan, "actor", "officer:lan");
    snprintf (path, sizeof path, "%s/client-lan.cert", dir);
    int rc = zcert_save_public (lan, path);
    assert (rc == 0);
    zcert_t *bare = zcert_new ();
    snprintf (path, sizeof path, "%s/bare.cert", dir);
    rc = zcert_save_public (bare, path);
    assert (rc == 0);
    zcert_t *deep = zcert_new ();
    zcert_set_meta (deep, "actor", "leader:binh");
    snprintf (sub, sizeof sub, "%s/more", dir);
    rc = mkdir (sub, 0700);
    assert (rc == 0);
    snprintf (path, sizeof path, "%s/client-binh.cert", sub);
    rc = zcert_save_public (deep, path);
    assert (rc == 0);
    zcert_t *stranger = zcert_new ();
    zcert_t *server_cert = zcert_new ();

    assert (hl_keyring_new ("/nonexistent/hl-keyring", "actor", "test") == NULL);
    hl_keyring_t *keyring = hl_keyring_new (dir, "actor", "test");
    assert (keyring);
    assert (hl_keyring_size (keyring) == 2);
    const char *value = hl_keyring_lookup (keyring, zcert_public_txt (lan));
    assert (value && streq (value, "officer:lan"));
    value = hl_keyring_lookup (keyring, zcert_public_txt (deep));
    assert (value && streq (value, "leader:binh"));
    assert (hl_keyring_lookup (keyring, zcert_public_txt (bare)) == NULL);
    assert (hl_keyring_lookup (keyring, zcert_public_txt (stranger)) == NULL);
    assert (hl_keyring_lookup (keyring, NULL) == NULL);
    //  Another metadata key sees other keys: a ward table ignores actors
    hl_keyring_t *wards = hl_keyring_new (dir, "ward", "test-wards");
    assert (wards && hl_keyring_size (wards) == 0);
    hl_keyring_destroy (&wards);

    //  ZAP: an admitted key gets through with User-Id = its key; a stranger
    //  and a plaintext client are refused at the handshake, and counted
    zloop_t *loop = zloop_new ();
    assert (loop);
    rc = hl_keyring_serve (keyring, loop);
    assert (rc == 0);
    hl_keyring_t *second = hl_keyring_new (dir, "actor", "second");
    assert (hl_keyring_serve (second, loop) == -1);     //  one handler per process
    hl_keyring_destroy (&second);
    zsock_t *server = zsock_new (ZMQ_ROUTER);
    assert (server);
    zcert_apply (server_cert, server);
    zsock_set_curve_server (server, 1);
    int port = zsock_bind (server, "tcp://127.0.0.1:*");
    assert (port > 0);
    t_state_t state;
    memset (&state, 0, sizeof state);
    state.keyring = keyring;
    state.refused_target = UINT64_MAX;
    rc = zloop_reader (loop, server, t_server_readable, &state);
    assert (rc == 0);

    zsock_t *client = t_client (lan, server_cert, port);
    zstr_send (client, "hello");
    t_run (loop, &state);
    assert (streq (state.body, "hello"));
    assert (streq (state.user_id, zcert_public_txt (lan)));
    assert (hl_keyring_refused (keyring) == 0);
    zsock_destroy (&client);

    state.body [0] = 0;
    state.refused_target = 1;
    client = t_client (stranger, server_cert, port);
    zstr_send (client, "stranger");
    t_run (loop, &state);
    assert (hl_keyring_refused (keyring) >= 1);
    assert (state.body [0] == 0);
    zsock_destroy (&client);

    //  A plaintext client never gets to ZAP (the mechanisms differ): the
    //  server hears nothing
    client = t_client (NULL, NULL, port);
    zstr_send (client, "plaintext");
    int limit = zloop_timer (loop, 300, 1, t_give_up, &state);
    zloop_start (loop);
    zloop_timer_end (loop, limit);
    assert (state.body [0] == 0);
    zsock_destroy (&client);

    //  Revocation: deleting the certificate drops the key at the next
    //  lookup (and the next handshake); a new certificate is admitted
    snprintf (path, sizeof path, "%s/client-lan.cert", dir);
    rc = unlink (path);
    assert (rc == 0);
    assert (hl_keyring_lookup (keyring, zcert_public_txt (lan)) == NULL);
    uint64_t refused = hl_keyring_refused (keyring);
    state.refused_target = refused + 1;
    client = t_client (lan, server_cert, port);
    zstr_send (client, "revoked");
    t_run (loop, &state);
    assert (hl_keyring_refused (keyring) == refused + 1);
    assert (state.body [0] == 0);
    zsock_destroy (&client);
    snprintf (path, sizeof path, "%s/client-stranger.cert", dir);
    zcert_set_meta (stranger, "actor", "officer:new");
    rc = zcert_save_public (stranger, path);
    assert (rc == 0);
    value = hl_keyring_lookup (keyring, zcert_public_txt (stranger));
    assert (value && streq (value, "officer:new"));
    //  A changed certificate (rotated metadata) is read again
    zcert_t *rewritten = zcert_new_from (zcert_public_key (deep), zcert_secret_key (deep));
    assert (rewritten);
    zcert_set_meta (rewritten, "actor", "leader:an");
    snprintf (path, sizeof path, "%s/client-binh.cert", sub);
    struct timespec before = { 0, 0 };
    s_stat_mtime (path, &before);
    rc = zcert_save_public (rewritten, path);
    zcert_destroy (&rewritten);
    assert (rc == 0);
    struct timespec later = { before.tv_sec + 1, 0 };
    struct timespec times [2] = { later, later };
    rc = utimensat (AT_FDCWD, path, times, 0);
    assert (rc == 0);
    value = hl_keyring_lookup (keyring, zcert_public_txt (deep));
    assert (value && streq (value, "leader:an"));

    zloop_reader_end (loop, server);
    zsock_destroy (&server);
    hl_keyring_destroy (&keyring);
    zloop_destroy (&loop);
    zcert_destroy (&lan);
    zcert_destroy (&bare);
    zcert_destroy (&deep);
    zcert_destroy (&stranger);
    zcert_destroy (&server_cert);
    snprintf (path, sizeof path, "%s/client-binh.cert", sub);
    unlink (path);
    rmdir (sub);
    snprintf (path, sizeof path, "%s/bare.cert", dir);
    unlink (path);
    snprintf (path, sizeof path, "%s/client-stranger.cert", dir);
    unlink (path);
    rmdir (dir);
    printf ("OK\n");
}
