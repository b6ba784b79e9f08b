/*  web_stream — Server-Sent Events from the city's Clone stream (see
 *  web_stream.h).
 *
 *  How to read this file, top to bottom:
 *    1. the ring: frames by seq, the floor below which it cannot resume
 *    2. an event as SSE: the whitelist of fields
 *    3. the object and its clients
 *    4. the content reader MHD calls for each dashboard: fill its chunk
 *       (preamble, snapshot, events, keep-alive) or park the connection
 *    5. the thread: find the head, fill the ring from head - ring, then
 *       follow; wake the parked, drop those the ring passed
 *    6. the handler (GET /api/v1/stream)
 *    7. the selftest
 *
 *  Locking: one mutex guards the ring and the clients. MHD's worker
 *  threads take it in the content reader and when a response is freed; the
 *  thread takes it to append a batch. MHD_suspend_connection and
 *  MHD_resume_connection are called under it (lock order: ours, then
 *  MHD's); MHD calls neither the reader nor the free callback holding a
 *  lock of its own. A client is in the list from before its response is
 *  queued until MHD frees the response, which MHD does before it closes the
 *  socket: so the socket of a listed client is open, and shutdown () on it
 *  (to drop a client that does not read) cannot reach another connection.
 */
#include "hotline.h"
#include "hl_clone.h"
#include "web_request.h"
#include "web_stream.h"
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <math.h>
#include <microhttpd.h>

#define S_SLICE_MS          200     //  the thread's wait per call (stop, keep-alive)
#define S_BATCH             2048    //  events appended under one lock (at most half the ring)
#define S_COALESCE_MS       25      //  under load, one round of wake-ups per this: 200 dashboards
                                    //  woken per event cost 200 eventfd writes each (MHD's resume)
#define S_RETRY_MS          2000    //  the browser's reconnection delay (SSE retry:)
#define S_STALL_MS          2000    //  a client whose socket took nothing this long, with
                                    //  bytes waiting, has stopped reading (s_after_batch)

// ------------------------------------------------------------- 1. the ring

typedef struct {
    uint64_t seq;
    char *frame;                //  "id: ...\nevent: ...\ndata: JSON\n\n"
    size_t size;
    size_t json_at, json_size;  //  the JSON inside the frame
} s_entry_t;

typedef struct {
    s_entry_t *entries;
    size_t capacity, start, count;
    uint64_t floor;             //  every event after floor, up to last, is here
    uint64_t last;
} s_ring_t;

static void
s_ring_init (s_ring_t *ring, size_t capacity, uint64_t from)
{
    ring->entries = (s_entry_t *) zmalloc (capacity * sizeof (s_entry_t));
    ring->capacity = capacity;
    ring->start = ring->count = 0;
    ring->floor = ring->last = from;
}

static void
s_ring_clear (s_ring_t *ring)
{
    for (size_t i = 0; i < ring->count; i++)
        free (ring->entries [(ring->start + i) % ring->capacity].frame);
    free (ring->entries);
    memset (ring, 0, sizeof *ring);
}

static s_entry_t *
s_ring_at (s_ring_t *ring, size_t index)
{
    return &ring->entries [(ring->start + index) % ring->capacity];
}

//  Append (takes frame); the oldest entry goes when full and the floor
//  rises to it
static void
s_ring_push (s_ring_t *ring, s_entry_t *entry)
{
    assert (entry->seq > ring->last);
    if (ring->count == ring->capacity) {
        s_entry_t *oldest = s_ring_at (ring, 0);
        ring->floor = oldest->seq;
        free (oldest->frame);
        ring->start = (ring->start + 1) % ring->capacity;
        ring->count--;
    }
    *s_ring_at (ring, ring->count) = *entry;
    ring->count++;
    ring->last = entry->seq;
}

//  Index of the first entry after seq (count if none)
static size_t
s_ring_after (s_ring_t *ring, uint64_t seq)
{
    size_t lo = 0, hi = ring->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s_ring_at (ring, mid)->seq <= seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

// ------------------------------------------------------------- 2. SSE

//  The data of one event: a whitelist, so no reporter, note, description or
//  actor can reach a dashboard, whatever the event carries. NULL if it
//  cannot be formatted.
static char *
s_event_json (uint64_t seq, const Hotline__Event *event)
{
    json_t *json = json_object ();
    json_object_set_new (json, "seq", json_integer ((json_int_t) seq));
    const char *names [] = { "ward", "case_id", "action", "variant", "from_state", "to_state" };
    const char *values [] = { event->ward, event->case_id, event->action, event->variant,
                              event->from_state, event->to_state };
    for (size_t i = 0; i < sizeof names / sizeof names [0]; i++) {
        const char *value = values [i]? values [i]: "";
        json_object_set_new (json, names [i], json_string (hl_text_check (value, HL_MAX_FIELD)? "": value));
    }
    json_object_set_new (json, "at_ms", json_integer (event->at_ms));
    if (event->report) {
        json_object_set_new (json, "type", json_string (hl_type_name (event->report->type)));
        json_object_set_new (json, "urgent", json_boolean (event->report->urgent));
        if (event->report->has_coordinates && isfinite (event->report->latitude)
        &&  isfinite (event->report->longitude)) {
            json_object_set_new (json, "lat", json_real (event->report->latitude));
            json_object_set_new (json, "lon", json_real (event->report->longitude));
        }
    }
    if (event->ward_name && *event->ward_name && !hl_text_check (event->ward_name, HL_MAX_FIELD))
        json_object_set_new (json, "ward_name", json_string (event->ward_name));
    char *text = json_dumps (json, JSON_COMPACT);
    json_decref (json);
    return text;
}

//  One ring entry from an encoded (redacted) Event; -1 if it is unreadable
static int
s_entry_make (s_entry_t *entry, uint64_t seq, const uint8_t *data, size_t size)
{
    const char *reason = "malformed";
    Hotline__Event *event = hotline__event__unpack (NULL, size, data);
    if (!event || hl_msg_check (&event->base, &reason)) {
        if (event)
            hotline__event__free_unpacked (event, NULL);
        return -1;
    }
    //  The stream is redacted at the publisher; redact again here so that
    //  this class never holds a reporter even if a publisher did not
    hl_event_redact (event);
    char *json = s_event_json (seq, event);
    bool directory = !event->case_id || !*event->case_id;
    //  The city's filing at a ward (federation.h, "Filing"): no case here,
    //  and no ward directory either; the pages listen for neither name
    bool filing = directory && event->action && streq (event->action, HL_ACTION_FILE);
    hotline__event__free_unpacked (event, NULL);
    if (!json)
        return -1;
    char head [80];
    int len = snprintf (head, sizeof head, "id: %" PRIu64 "\nevent: %s\ndata: ", seq,
                        filing? "filing": directory? "directory": "case");
    entry->seq = seq;
    entry->frame = zsys_sprintf ("%s%s\n\n", head, json);
    assert (entry->frame);
    entry->size = strlen (entry->frame);
    entry->json_at = (size_t) len;
    entry->json_size = strlen (json);
    free (json);
    return 0;
}

// ------------------------------------------------------------- 3. object

typedef struct _s_client_t s_client_t;

struct _web_stream_t {
    hl_service_t *service;
    char *monitor, *snapshot;
    size_t ring_size, recent, chunk;
    int64_t keepalive_ms;
    pthread_t thread;
    bool started;
    atomic_bool stopping;
    pthread_mutex_t mutex;
    //  Under mutex
    s_ring_t ring;
    bool ready;                 //  the ring has caught up with the head found at start
    uint64_t head;              //  newest seq the city reported
    unsigned epoch;             //  keep-alive round
    zlistx_t *clients;
    _Atomic uint64_t last;      //  ring.last, read without the lock
};

struct _s_client_t {
    web_stream_t *stream;
    struct MHD_Connection *connection;
    int fd;
    void *handle;               //  in stream->clients
    uint64_t cursor;            //  the last seq put into its chunk
    bool fresh;                 //  no Last-Event-ID: a snapshot first
    bool started;               //  the preamble is out
    bool live;                  //  served from the ring: its cursor is in it
    bool suspended;
    bool dropped;
    int64_t took;               //  zclock_mono when MHD last asked for bytes (its socket took ours)
    unsigned epoch;
    char *chunk;                //  bytes not yet handed to MHD
    size_t size, sent, capacity;
};

static web_stream_t *s_default = NULL;

web_stream_t *
web_stream_default (void)
{
    return s_default;
}

uint64_t
web_stream_last (web_stream_t *self)
{
    return self? atomic_load (&self->last): 0;
}

static void
s_chunk_add (s_client_t *client, const char *data, size_t size)
{
    if (client->size + size > client->capacity) {
        client->capacity = (client->size + size) * 2;
        client->chunk = (char *) hl_realloc (client->chunk, client->capacity);
    }
    memcpy (client->chunk + client->size, data, size);
    client->size += size;
}

//  Wake a parked client (under the lock)
static void
s_wake (s_client_t *client)
{
    if (client->suspended) {
        client->suspended = false;
        MHD_resume_connection (client->connection);
    }
}

// ------------------------------------------------------------- 4. reader

//  The snapshot event: the newest events, as one JSON array
static void
s_snapshot (web_stream_t *self, s_client_t *client, const char *reason)
{
    s_ring_t *ring = &self->ring;
    size_t from = ring->count > self->recent? ring->count - self->recent: 0;
    char head [160];
    snprintf (head, sizeof head, "id: %" PRIu64 "\nevent: snapshot\ndata: {\"seq\":%" PRIu64
              ",\"reason\":\"%s\",\"floor\":%" PRIu64 ",\"events\":[", ring->last, ring->last, reason,
              ring->floor);
    s_chunk_add (client, head, strlen (head));
    for (size_t i = from; i < ring->count; i++) {
        s_entry_t *entry = s_ring_at (ring, i);
        if (i > from)
            s_chunk_add (client, ",", 1);
        s_chunk_add (client, entry->frame + entry->json_at, entry->json_size);
    }
    s_chunk_add (client, "]}\n\n", 4);
    client->cursor = ring->last;
    client->fresh = false;
    hl_metrics_add (hl_metrics_default (), "hotline_web_stream_snapshots_total", 1);
}

//  Put what the client should get next into its chunk (under the lock)
static void
s_fill (web_stream_t *self, s_client_t *client)
{
    if (!client->started) {
        char retry [32];
        snprintf (retry, sizeof retry, "retry: %d\n\n", S_RETRY_MS);
        s_chunk_add (client, retry, strlen (retry));
        client->started = true;
        client->epoch = self->epoch;
    }
    if (!self->ready)
        return;                 //  still finding the city's head
    s_ring_t *ring = &self->ring;
    if (client->fresh)
        s_snapshot (self, client, "new");
    else
    if (client->cursor < ring->floor)
        s_snapshot (self, client, "behind");
    else
    if (client->cursor > ring->last && client->cursor > self->head)
        s_snapshot (self, client, "ahead");
    client->live = true;
    for (size_t i = s_ring_after (ring, client->cursor); i < ring->count && client->size < self->chunk; i++) {
        s_entry_t *entry = s_ring_at (ring, i);
        s_chunk_add (client, entry->frame, entry->size);
        client->cursor = entry->seq;
    }
    if (client->size == 0 && client->epoch != self->epoch)
        s_chunk_add (client, ": keep-alive\n\n", 14);
    client->epoch = self->epoch;
}

static ssize_t
s_reader (void *cls, uint64_t pos, char *buf, size_t max)
{
    (void) pos;
    s_client_t *client = (s_client_t *) cls;
    web_stream_t *self = client->stream;
    pthread_mutex_lock (&self->mutex);
    if (client->dropped || atomic_load (&self->stopping)) {
        pthread_mutex_unlock (&self->mutex);
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    client->took = zclock_mono ();
    if (client->sent == client->size) {
        client->sent = client->size = 0;
        s_fill (self, client);
    }
    if (client->size == 0) {
        //  Nothing to send: park the connection until s_wake
        client->suspended = true;
        MHD_suspend_connection (client->connection);
        pthread_mutex_unlock (&self->mutex);
        return 0;
    }
    size_t size = client->size - client->sent;
    if (size > max)
        size = max;
    memcpy (buf, client->chunk + client->sent, size);
    client->sent += size;
    pthread_mutex_unlock (&self->mutex);
    return (ssize_t) size;
}

//  MHD frees the response: the connection is done
static void
s_client_free (void *cls)
{
    s_client_t *client = (s_client_t *) cls;
    web_stream_t *self = client->stream;
    pthread_mutex_lock (&self->mutex);
    zlistx_delete (self->clients, client->handle);
    hl_metrics_set (hl_metrics_default (), "hotline_web_stream_clients", (double) zlistx_size (self->clients));
    pthread_mutex_unlock (&self->mutex);
    free (client->chunk);
    free (client);
}

// ------------------------------------------------------------- 5. thread

//  After a batch (under the lock): wake the parked; drop the clients the
//  ring has passed that have stopped reading: bytes wait for them (not
//  parked) and their socket has taken none for S_STALL_MS. One the ring
//  passed only because this service fell behind (its HTTP threads yield
//  to ingest when the CPU is short: web_server.c, s_nice), and that takes
//  what it is given, is not dropped: its next fill is a "behind" snapshot
//  (s_fill), what it would get by reconnecting, without the reconnection.
static void
s_after_batch (web_stream_t *self)
{
    int64_t now = zclock_mono ();
    for (s_client_t *client = (s_client_t *) zlistx_first (self->clients); client;
         client = (s_client_t *) zlistx_next (self->clients)) {
        if (client->dropped)
            continue;
        if (client->live && client->cursor < self->ring.floor
        &&  !client->suspended && now - client->took > S_STALL_MS) {
            client->dropped = true;
            hl_metrics_add (hl_metrics_default (), "hotline_web_stream_dropped_total", 1);
            if (!client->suspended && client->fd >= 0)
                shutdown (client->fd, SHUT_RDWR);   //  MHD sees the error and closes
        }
        s_wake (client);
    }
}

//  Find the city's head (a subscriber from the head), so the ring can be
//  filled from head - ring: a dashboard that reconnects after this service
//  restarted still resumes. 0, or -1 when stopping.
static int
s_find_head (web_stream_t *self, uint64_t *head)
{
    hl_clone_sub_t *sub = hl_clone_sub_new (self->monitor, self->snapshot, HL_CLONE_FROM_HEAD);
    if (!sub)
        return -1;
    int64_t noted = zclock_mono ();
    while (!atomic_load (&self->stopping) && !hl_clone_sub_synced (sub)) {
        uint64_t seq;
        uint8_t *data = NULL;
        size_t size;
        if (hl_clone_sub_next (sub, S_SLICE_MS, &seq, &data, &size) == 0)
            free (data);
        else
        if (zsys_interrupted)
            zclock_sleep (S_SLICE_MS);
        if (zclock_mono () - noted > 10000) {
            hl_warn ("web: the city's stream at %s does not answer yet", self->snapshot);
            noted = zclock_mono ();
        }
    }
    *head = hl_clone_sub_last (sub);
    hl_clone_sub_destroy (&sub);
    return atomic_load (&self->stopping)? -1: 0;
}

static void *
s_thread (void *arg)
{
    web_stream_t *self = (web_stream_t *) arg;
    uint64_t head = 0;
    if (s_find_head (self, &head))
        return NULL;
    uint64_t from = head > self->ring_size? head - self->ring_size: 0;
    hl_clone_sub_t *sub = hl_clone_sub_new (self->monitor, self->snapshot, from);
    if (!sub) {
        hl_error ("web: cannot follow the city's stream at %s", self->monitor);
        return NULL;
    }
    pthread_mutex_lock (&self->mutex);
    s_ring_clear (&self->ring);
    s_ring_init (&self->ring, self->ring_size, from);
    self->head = head;
    self->ready = head == from;
    atomic_store (&self->last, from);
    pthread_mutex_unlock (&self->mutex);
    hl_info ("web: following the city's stream from seq %" PRIu64 " (head %" PRIu64 ")", from, head);
    int64_t keepalive_at = zclock_mono () + self->keepalive_ms;
    size_t limit = self->ring_size / 2 < S_BATCH? self->ring_size / 2: S_BATCH;
    s_entry_t *batch = (s_entry_t *) zmalloc (limit * sizeof (s_entry_t));
    int64_t published = 0;      //  when the clients were last woken for events
    while (!atomic_load (&self->stopping)) {
        size_t count = 0;
        uint64_t seq;
        uint8_t *data;
        size_t size;
        int wait = S_SLICE_MS;
        int64_t window_end = 0;
        //  The first event of a quiet spell goes out at once; under load
        //  the events of S_COALESCE_MS go out together
        while (count < limit && hl_clone_sub_next (sub, wait, &seq, &data, &size) == 0) {
            if (s_entry_make (&batch [count], seq, data, size) == 0)
                count++;
            else
                hl_warn ("web: city event %" PRIu64 " unreadable, not streamed", seq);
            free (data);
            int64_t now = zclock_mono ();
            if (!window_end)
                window_end = published + S_COALESCE_MS > now? published + S_COALESCE_MS: now;
            if (now >= window_end)
                break;
            wait = (int) (window_end - now);
        }
        if (count)
            published = zclock_mono ();
        if (count == 0 && zsys_interrupted)
            zclock_sleep (S_SLICE_MS);
        bool keepalive = zclock_mono () >= keepalive_at;
        if (keepalive)
            keepalive_at = zclock_mono () + self->keepalive_ms;
        uint64_t city_head = hl_clone_sub_head (sub);
        if (count == 0 && !keepalive && self->ready && city_head <= self->head)
            continue;       //  only this thread writes ready and head
        pthread_mutex_lock (&self->mutex);
        for (size_t i = 0; i < count; i++)
            s_ring_push (&self->ring, &batch [i]);
        if (city_head > self->head)
            self->head = city_head;
        //  Caught up with the head found at start (or the source has
        //  nothing more: placeholders at the tail)
        bool was_ready = self->ready;
        if (!self->ready && (self->ring.last >= head || (count == 0 && hl_clone_sub_synced (sub))))
            self->ready = true;
        if (keepalive)
            self->epoch++;
        atomic_store (&self->last, self->ring.last);
        //  Wake the parked only when there is something for them
        if (count || keepalive || self->ready != was_ready)
            s_after_batch (self);
        pthread_mutex_unlock (&self->mutex);
        if (count) {
            hl_metrics_add (hl_metrics_default (), "hotline_web_stream_events_total", count);
            hl_metrics_set (hl_metrics_default (), "hotline_web_stream_last_seq", (double) self->ring.last);
            //  Snapshot pages this subscriber needed once live: PUB drops it
            //  repaired, each a query the city's archive answered
            hl_metrics_set (hl_metrics_default (), "hotline_web_stream_repairs",
                            (double) hl_clone_sub_repairs (sub));
        }
    }
    free (batch);
    hl_clone_sub_destroy (&sub);
    return NULL;
}

web_stream_t *
web_stream_new (hl_service_t *service)
{
    assert (!s_default);
    hl_config_t *config = hl_service_config (service);
    int64_t ring = hl_config_int (config, "web/stream_ring", 65536);
    int64_t recent = hl_config_int (config, "web/stream_recent", 50);
    int64_t buffer = hl_config_int (config, "web/stream_buffer", 65536);
    int64_t keepalive = hl_config_int (config, "web/stream_keepalive_s", 15);
    if (ring < 16 || ring > 1000000 || recent < 0 || recent > ring || recent > 1000
    ||  buffer < 8192 || buffer > 64 * 1024 * 1024 || keepalive < 1 || keepalive > 3600) {
        fprintf (stderr, "hotline-web: web/stream_ring (16-1000000), stream_recent (0-1000, at most the ring),"
                         " stream_buffer (8192-64 MiB) and stream_keepalive_s (1-3600) are out of range\n");
        return NULL;
    }
    web_stream_t *self = (web_stream_t *) zmalloc (sizeof (web_stream_t));
    self->service = service;
    self->monitor = hl_strdup (hl_service_endpoint (service, "monitor"));
    self->snapshot = hl_strdup (hl_service_endpoint (service, "snapshot"));
    self->ring_size = (size_t) ring;
    self->recent = (size_t) recent;
    self->chunk = (size_t) buffer / 2;
    self->keepalive_ms = keepalive * 1000;
    pthread_mutex_init (&self->mutex, NULL);
    s_ring_init (&self->ring, self->ring_size, 0);
    self->clients = zlistx_new ();
    hl_metrics_set (hl_metrics_default (), "hotline_web_stream_clients", 0);
    hl_metrics_add (hl_metrics_default (), "hotline_web_stream_dropped_total", 0);
    hl_metrics_add (hl_metrics_default (), "hotline_web_stream_events_total", 0);
    hl_metrics_add (hl_metrics_default (), "hotline_web_stream_snapshots_total", 0);
    if (pthread_create (&self->thread, NULL, s_thread, self)) {
        web_stream_destroy (&self);
        return NULL;
    }
    self->started = true;
    s_default = self;
    return self;
}

void
web_stream_stop (web_stream_t *self)
{
    if (!self || atomic_exchange (&self->stopping, true))
        return;
    if (self->started)
        pthread_join (self->thread, NULL);
    self->started = false;
    //  Every dashboard's response ends: the reader answers END_WITH_ERROR
    pthread_mutex_lock (&self->mutex);
    for (s_client_t *client = (s_client_t *) zlistx_first (self->clients); client;
         client = (s_client_t *) zlistx_next (self->clients))
        s_wake (client);
    pthread_mutex_unlock (&self->mutex);
}

void
web_stream_destroy (web_stream_t **self_p)
{
    assert (self_p);
    web_stream_t *self = *self_p;
    if (self) {
        web_stream_stop (self);
        //  The server is gone (web_stream.h): its responses, and so the
        //  clients, were freed with it
        assert (zlistx_size (self->clients) == 0);
        zlistx_destroy (&self->clients);
        s_ring_clear (&self->ring);
        pthread_mutex_destroy (&self->mutex);
        free (self->monitor);
        free (self->snapshot);
        if (s_default == self)
            s_default = NULL;
        free (self);
        *self_p = NULL;
    }
}

// ------------------------------------------------------------- 6. handler

//  A sequence number: digits, at most 19 of them; 0 or -1
static int
s_seq_parse (const char *text, uint64_t *seq)
{
    size_t len = text? strlen (text): 0;
    if (len == 0 || len > 19 || strspn (text, "0123456789") != len)
        return -1;
    *seq = strtoull (text, NULL, 10);
    return 0;
}

void
web_stream_handle (web_stream_t *self, web_request_t *request)
{
    if (!self) {
        web_request_error (request, 404, NULL,
            "Luồng trực tiếp chỉ có ở nút thành phố (the live stream is the city's)");
        return;
    }
    //  Where to resume: the browser's Last-Event-ID on its own
    //  reconnection, or ?last_event_id= from a page that reconnects itself
    const char *last = web_request_header (request, "Last-Event-ID");
    const char *field = "Last-Event-ID";
    if (!last || !*last) {
        last = web_request_arg (request, "last_event_id");
        field = "last_event_id";
    }
    uint64_t cursor = 0;
    bool fresh = !last || !*last;
    if (!fresh && s_seq_parse (last, &cursor)) {
        web_request_error (request, 400, field, "'%s' phải là số thứ tự (must be a sequence number)", field);
        return;
    }
    struct MHD_Connection *connection = (struct MHD_Connection *) request->connection;
    s_client_t *client = (s_client_t *) zmalloc (sizeof (s_client_t));
    client->stream = self;
    client->connection = connection;
    client->cursor = cursor;
    client->fresh = fresh;
    client->fd = -1;
    const union MHD_ConnectionInfo *info = connection?
        MHD_get_connection_info (connection, MHD_CONNECTION_INFO_CONNECTION_FD): NULL;
    if (info) {
        client->fd = info->connect_fd;
        //  The socket's share of the bounded buffer (fixed, not autotuned
        //  up to megabytes): past it, a dashboard that does not read stops
        //  its cursor and the ring leaves it behind
        int bytes = (int) self->chunk;
        setsockopt (client->fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
    }
    pthread_mutex_lock (&self->mutex);
    if (atomic_load (&self->stopping)) {
        pthread_mutex_unlock (&self->mutex);
        free (client);
        web_request_unavailable (request);
        return;
    }
    client->handle = zlistx_add_end (self->clients, client);
    hl_metrics_set (hl_metrics_default (), "hotline_web_stream_clients", (double) zlistx_size (self->clients));
    pthread_mutex_unlock (&self->mutex);
    struct MHD_Response *response = MHD_create_response_from_callback (MHD_SIZE_UNKNOWN, 16 * 1024,
                                                                       s_reader, client, s_client_free);
    if (!response) {
        s_client_free (client);
        web_request_unavailable (request);
        return;
    }
    //  A proxy in front must not hold the events back
    MHD_add_response_header (response, "X-Accel-Buffering", "no");
    request->response = response;
    request->status = 200;
    request->content_type = "text/event-stream; charset=utf-8";
}

// ------------------------------------------------------------- 7. selftest

void
web_stream_test (bool verbose)
{
    printf (" * web_stream: ");
    //  The ring: the floor rises as entries go; after () finds the resume point
    s_ring_t ring;
    s_ring_init (&ring, 4, 10);
    assert (ring.floor == 10 && ring.last == 10 && s_ring_after (&ring, 10) == 0);
    uint64_t seqs [] = { 11, 12, 14, 15, 16, 17 };     //  13: a placeholder, skipped
    for (size_t i = 0; i < 6; i++) {
        s_entry_t entry = { seqs [i], zsys_sprintf ("%" PRIu64, seqs [i]), 2, 0, 2 };
        s_ring_push (&ring, &entry);
    }
    assert (ring.count == 4 && ring.last == 17);
    assert (ring.floor == 12);                  //  11 and 12 went: resume from 12 on
    assert (s_ring_after (&ring, 12) == 0 && s_ring_at (&ring, 0)->seq == 14);
    assert (s_ring_after (&ring, 13) == 0);
    assert (s_ring_after (&ring, 14) == 1);
    assert (s_ring_after (&ring, 17) == 4);
    s_ring_clear (&ring);

    //  An event as SSE: the whitelist keeps the reporter out, even of an
    //  event that was not redacted (the forwarding event carries one)
    Hotline__Event event = HOTLINE__EVENT__INIT;
    Hotline__Report report = HOTLINE__REPORT__INIT;
    Hotline__Reporter who = HOTLINE__REPORTER__INIT;
    who.name = "Nguyễn Thị Hằng";
    who.phone = "0916588826";
    report.reporter = &who;
    report.type = HOTLINE__POLLUTION_TYPE__NOISE;
    report.has_coordinates = true;
    report.latitude = 20.86;
    report.longitude = 106.68;
    report.description = "gọi 0916588826";
    event.report = &report;
    event.ward = "31002";
    event.case_id = "31002-2026-000001";
    event.action = "route";
    event.variant = "department";
    event.from_state = "leaders_informed";
    event.to_state = "forwarded";
    event.note = "Người báo: Nguyễn Thị Hằng";
    event.actor = "officer:lan";
    char *json = s_event_json (7, &event);
    assert (json);
    assert (!strstr (json, "0916588826") && !strstr (json, "Hằng") && !strstr (json, "officer"));
    assert (strstr (json, "\"seq\":7") && strstr (json, "\"to_state\":\"forwarded\"")
            && strstr (json, "\"type\":\"noise\"") && strstr (json, "\"lat\":"));
    free (json);
    //  The same through an encoded event: a frame with id and event name
    size_t size = hotline__event__get_packed_size (&event);
    uint8_t *data = (uint8_t *) zmalloc (size);
    hotline__event__pack (&event, data);
    s_entry_t entry;
    assert (s_entry_make (&entry, 7, data, size) == 0);
    assert (strncmp (entry.frame, "id: 7\nevent: case\ndata: {", 25) == 0);
    assert (streq (entry.frame + entry.size - 2, "\n\n"));
    assert (entry.frame [entry.json_at] == '{' && entry.frame [entry.json_at + entry.json_size - 1] == '}');
    assert (!strstr (entry.frame, "0916588826"));
    free (entry.frame);
    assert (s_entry_make (&entry, 8, (const uint8_t *) "\xff\xff\xff", 3) == -1);
    free (data);

    uint64_t seq = 0;
    assert (s_seq_parse ("1234", &seq) == 0 && seq == 1234);
    assert (s_seq_parse ("", &seq) == -1 && s_seq_parse ("12a", &seq) == -1);
    assert (s_seq_parse ("-1", &seq) == -1 && s_seq_parse ("12345678901234567890", &seq) == -1);
    assert (s_seq_parse (NULL, &seq) == -1);
    if (verbose)
        printf ("(ring, whitelist) ");
    printf ("OK\n");
}
