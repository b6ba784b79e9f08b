/*  fuzz_node.h — a real Hotline node inside a fuzz harness.
 *
 *  fuzz_node_new (role, services) starts intake and/or archive on ONE
 *  hl_service (one zloop), with every endpoint on inproc:// (no ports, no
 *  clash between harnesses running side by side), the data directory in
 *  the harness's private tmp directory and, for a city, plaintext
 *  federation. fuzz_node_spin (node, n) runs n passes of the loop without
 *  blocking: each pass polls once and handles every ready reader and due
 *  timer, so a frame sent on an inproc socket before the call has been
 *  handled when it returns.
 *
 *  Each node gets a fresh generation number in its endpoint names, so a
 *  node can be destroyed and a new one made (to keep the databases small)
 *  without waiting for libzmq to release the old inproc names.
 */
#ifndef HL_FUZZ_NODE_H_INCLUDED
#define HL_FUZZ_NODE_H_INCLUDED

#include "fuzz.h"
#include "../../services/intake/intake.h"
#include "../../services/archive/archive.h"

#ifndef FUZZ_ROOT
#   define FUZZ_ROOT "."
#endif

typedef struct {
    hl_service_t *service;
    intake_t *intake;
    archive_t *archive;
    char dir [300];             //  node directory (config, data/)
    char data [320];            //  data directory
    char tag [64];              //  inproc name prefix
    zsock_t *sink;              //  binds intake_feed when there is no intake
    int once_timer;
    int once_phase;
    bool city;
} fuzz_node_t;

static int fuzz_node_generation = 0;

//  The sink reads and drops what the archive's receiver sends it (and so
//  processes libzmq's commands: a closed peer's pipe is released only when
//  the other end acknowledges it)
static int
s_fuzz_sink_readable (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop; (void) arg;
    zmsg_t *msg = zmsg_recv (sock);
    zmsg_destroy (&msg);
    return 0;
}

static int
s_fuzz_once (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    fuzz_node_t *node = (fuzz_node_t *) arg;
    //  First call of a pass: let readers run; second: end the pass
    node->once_phase = !node->once_phase;
    return node->once_phase? 0: -1;
}

//  An inproc endpoint of this node: inproc://<tag>-<key>
static inline const char *
fuzz_node_endpoint (fuzz_node_t *node, const char *key)
{
    return hl_service_endpoint (node->service, key);
}

//  role: "ward" or "city"; with_intake / with_archive: which services
static inline fuzz_node_t *
fuzz_node_new (const char *harness, const char *role, bool with_intake, bool with_archive)
{
    fuzz_node_t *node = (fuzz_node_t *) zmalloc (sizeof (fuzz_node_t));
    FUZZ_CHECK (node);
    node->city = streq (role, "city");
    int generation = ++fuzz_node_generation;
    snprintf (node->tag, sizeof node->tag, "%s-%s-%d", harness, role, generation);
    snprintf (node->dir, sizeof node->dir, "%s/%s", fuzz_tmpdir (harness), node->tag);
    snprintf (node->data, sizeof node->data, "%s/data", node->dir);
    FUZZ_CHECK (zsys_dir_create ("%s", node->data) == 0);
    char config [400];
    snprintf (config, sizeof config, "%s/node.cfg", node->dir);
    FILE *file = fopen (config, "w");
    FUZZ_CHECK (file);
    const char *t = node->tag;
    fprintf (file,
        "node\n"
        "    role = %s\n"
        "    name = %s\n"
        "    ward_code = %s\n"
        "    ward_name = \"Phường Fuzz\"\n"
        "    city = \"Hải Phòng\"\n"
        "    city_code = 31\n"
        "    data_dir = %s\n"
        "    procedure = %s/deploy/config/procedure.conf\n"
        "endpoints\n"
        "    intake = inproc://%s-intake\n"
        "    intake_feed = inproc://%s-intake-feed\n"
        "    archive = inproc://%s-archive\n"
        "    archive_feed = inproc://%s-archive-feed\n"
        "    federation = inproc://%s-federation\n"
        "    federation_return = inproc://%s-federation-return\n"
        "    notification = inproc://%s-notification\n"
        "    monitor = inproc://%s-monitor\n"
        "    snapshot = inproc://%s-snapshot\n"
        "federation\n"
        "    plaintext = 1\n"
        "focal_points\n"
        "    main\n"
        "        unit = \"UBND phường Fuzz\"\n"
        "        receiving_phone = 0916588826\n"
        "        receiving_email = ubnd@example.vn\n"
        "        handling_phone = 0989135250\n"
        "        handling_email = xuly@example.vn\n"
        "        note = \"Ghi chú\"\n",
        role, node->city? "city": "ward-31001", node->city? "0": "31001",
        node->data, FUZZ_ROOT, t, t, t, t, t, t, t, t, t);
    fclose (file);
    char *argv [] = { (char *) "fuzz", (char *) "-c", config, NULL };
    node->service = hl_service_new ("fuzz", 3, argv);
    FUZZ_CHECK (node->service);
    if (with_intake) {
        node->intake = intake_new (node->service);
        FUZZ_CHECK (node->intake);
    }
    else {
        //  Someone must bind what the archive connects to: libzmq keeps a
        //  socket whose inproc connect never found its peer (and its file
        //  descriptor) until the process ends
        node->sink = zsock_new (ZMQ_ROUTER);
        FUZZ_CHECK (node->sink);
        zsock_set_linger (node->sink, 0);
        FUZZ_CHECK (zsock_bind (node->sink, "%s", fuzz_node_endpoint (node, "intake_feed")) == 0);
        zloop_reader (hl_service_loop (node->service), node->sink, s_fuzz_sink_readable, NULL);
    }
    if (with_archive) {
        node->archive = archive_new (node->service);
        FUZZ_CHECK (node->archive);
        //  The fuzzer's speed: no fsync (the data directory is scratch)
        hl_store_exec (archive_store (node->archive), "PRAGMA synchronous=OFF");
    }
    node->once_timer = zloop_timer (hl_service_loop (node->service), 0, 0, s_fuzz_once, node);
    FUZZ_CHECK (node->once_timer != -1);
    return node;
}

static inline void
fuzz_node_destroy (fuzz_node_t **node_p)
{
    fuzz_node_t *node = *node_p;
    if (!node)
        return;
    intake_destroy (&node->intake);
    archive_destroy (&node->archive);
    if (node->sink)
        zloop_reader_end (hl_service_loop (node->service), node->sink);
    zsock_destroy (&node->sink);
    hl_service_destroy (&node->service);
    char cmd [400];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", node->dir);
    if (system (cmd)) {}
    free (node);
    *node_p = NULL;
}

//  Run n passes of the node's loop, without blocking
static inline void
fuzz_node_spin (fuzz_node_t *node, int passes)
{
    for (int i = 0; i < passes; i++) {
        node->once_phase = 0;
        zloop_start (hl_service_loop (node->service));
    }
}

//  Path of a file in the node's data directory (static buffer)
static inline const char *
fuzz_node_file (fuzz_node_t *node, const char *name)
{
    static char path [400];
    snprintf (path, sizeof path, "%s/%s", node->data, name);
    return path;
}

//  One integer from a SQL query on a side connection (-1 on error)
static inline int64_t
fuzz_sql_int (sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    int64_t value = -1;
    if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) == SQLITE_OK
    &&  sqlite3_step (stmt) == SQLITE_ROW)
        value = sqlite3_column_int64 (stmt, 0);
    sqlite3_finalize (stmt);
    return value;
}

//  The log of a store is gap-free: seq 1..max, each once
static inline bool
fuzz_log_gap_free (sqlite3 *db)
{
    return fuzz_sql_int (db, "SELECT count(*) = coalesce (max (seq), 0)"
                             " AND coalesce (min (seq), 1) = 1 FROM log") == 1;
}

//  A DEALER connected to endpoint (NULL on error)
static inline zsock_t *
fuzz_dealer (const char *endpoint)
{
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    FUZZ_CHECK (sock);
    zsock_set_linger (sock, 0);
    zsock_set_sndhwm (sock, 0);
    zsock_set_rcvhwm (sock, 0);
    FUZZ_CHECK (zsock_connect (sock, "%s", endpoint) == 0);
    return sock;
}

#endif
