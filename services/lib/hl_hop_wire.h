/*  hl_hop_wire — what the hop's two classes share (internal: included by
 *  hl_hop.c, hl_hop_sender.c and hl_hop_receiver.c, not by hotline.h;
 *  hl_clone.c, which speaks the hop's messages, uses its sockets, sends
 *  and batches too).
 *
 *  - the wire: sockets made, hardened and secured the same way on both
 *    sides; one frame per message, sent without blocking; malformed
 *    messages dropped and logged through the caller's rate limit
 *  - the options, copied with their defaults filled in
 *  - the selftest fixture both classes' selftests run against: a source
 *    of items 1..n that can leave gaps, and a sink that records what was
 *    applied, how often and in what order, and can fail applies and
 *    group commits on purpose (see hl_hop_sender_test and
 *    hl_hop_receiver_test)
 *
 *  Every function here returns as hl_hop.h's conventions say: 0/-1, or
 *  NULL on failure for a pointer.
 */
#ifndef HL_HOP_WIRE_H_INCLUDED
#define HL_HOP_WIRE_H_INCLUDED

#include "hotline.h"
#include <inttypes.h>

#define HL_HOP_STREAM_MAX   256     //  longest stream name we accept
#define HL_HOP_RECV_BURST   64      //  messages handled per reader call
#define HL_HOP_MAX_BATCH    65536   //  opts.batch is clamped to this

//  Monotonic milliseconds: liveness never follows hl_clock (tests jump it)
int64_t hl_hop_wire_now (void);
//  Tick interval (heartbeats, liveness, retries) for these options
int hl_hop_wire_tick_ms (const hl_hop_opts_t *opts);
//  Copy the caller's options (src may be NULL), filling defaults for unset
//  (zero) values; dst->server_key is left NULL: each side keeps a copy
void hl_hop_wire_opts_copy (hl_hop_opts_t *dst, const hl_hop_opts_t *src);
//  A stream name we accept: not empty, at most HL_HOP_STREAM_MAX bytes
bool hl_hop_wire_stream_ok (const char *name);
//  Create, harden, secure and bind or connect a socket. NULL on error
//  (logged).
zsock_t *hl_hop_wire_socket (int type, const char *endpoint, bool bind,
                             const hl_hop_opts_t *opts, const char *server_key);
//  The same, with a tolerant zloop reader (fn, arg) on it: the hop's
//  sockets are read by the loop. NULL on error (logged).
zsock_t *hl_hop_wire_open (zloop_t *loop, int type, const char *endpoint, bool bind,
                           const hl_hop_opts_t *opts, const char *server_key,
                           zloop_reader_fn *fn, void *arg);
//  Connect mode, before a new socket: end *sock_p's reader and keep it in
//  *zombie_p (destroying the one there) until the next tick, because zloop
//  may still call the reader for it in this iteration. *sock_p is NULL.
void hl_hop_wire_retire (zloop_t *loop, zsock_t **sock_p, zsock_t **zombie_p);
//  Send one frame (preceded by routing_id if not NULL) without blocking.
//  Always consumes *frame_p. Returns 0 or the errno of the failure.
int hl_hop_wire_send (zsock_t *sock, zframe_t *routing_id, zframe_t **frame_p);
//  Encode env and send it as one frame (after routing_id if not NULL)
//  without blocking. 0, or -1 if it could not be encoded (logged) or sent.
//  Unless NULL: *dead is set when the peer is unreachable (EHOSTUNREACH on
//  a ROUTER), *last_sent is set to hl_hop_wire_now () on success.
int hl_hop_wire_send_env (zsock_t *sock, zframe_t *routing_id, Hotline__Envelope *env,
                          bool *dead, int64_t *last_sent);
//  Point batch at items [0, count) of a fetch buffer, through pb_items and
//  pb_ptrs (room for count each; they must outlive the send), with its
//  stream and head. The items' data is not copied.
void hl_hop_wire_batch (Hotline__HopBatch *batch, const char *stream, uint64_t head,
                        const hl_hop_item_t *items, size_t count,
                        Hotline__HopItem *pb_items, Hotline__HopItem **pb_ptrs);
//  Free the data of items [0, count) of a fetch buffer and clear them
void hl_hop_wire_items_free (hl_hop_item_t *items, size_t count);
//  Receive one message without blocking. Returns its (single) payload frame
//  and, on a ROUTER, the routing id; NULL if nothing to read or the
//  message was malformed (it is drained and dropped).
zframe_t *hl_hop_wire_recv (zsock_t *sock, bool router, zframe_t **routing_id_p,
                            hl_ratelimit_t *rl);
//  Decode one frame; NULL (logged through rl) if it is not an Envelope
Hotline__Envelope *hl_hop_wire_decode (zframe_t *frame, hl_ratelimit_t *rl);

//  Selftest only: the sender's current socket, so that a test can see a
//  sender was not made to reconnect
zsock_t *hl_hop_sender_socket (hl_hop_sender_t *self);

// ------------------------------------------------------ selftest fixture
//  A source is an array of items 1..n (payload "<stream>:<seq>") that can
//  skip chosen seqs once (gaps). A sink is an in-memory "database" per
//  stream: the cursor it persists and how often each seq was applied; it
//  can fail every k-th apply, and every k-th group commit.
#define HL_HOP_T_STREAMS 4

typedef struct {
    const char *name;
    uint64_t n;                 //  items 1..n exist
    uint64_t skip [2];          //  seqs to leave out once (gap), 0 = none
    bool skipped [2];
    size_t fetches;
} hl_hop_t_source_t;

typedef struct {
    const char *name;
    uint64_t cursor;            //  "persisted" cursor
    uint64_t n;                 //  size of count []
    uint32_t *count;            //  times each seq was applied
    bool order_ok;
    size_t bad_payloads;
    size_t calls;
    size_t fail_every;          //  fail every k-th apply...
    size_t fail_max;            //  ...this many times
    size_t failures;
    uint64_t freeze_at;         //  once cursor >= this, apply fails (0 = off)
} hl_hop_t_db_t;

typedef struct {
    hl_hop_t_db_t dbs [HL_HOP_T_STREAMS];
    size_t n_dbs;
    const char *allow_user;     //  authorize: if set, only this User-Id
    const char *refuse_stream;  //  authorize: refuse this stream
    size_t refusals;
    char last_user [128];       //  User-Id of the last authorize call
    char refused_user [128];    //  User-Id of the last refusal
    //  Group commit: a transaction over every db, which a failed commit
    //  rolls back
    bool grouped;               //  applies must come inside a group
    bool group_open;
    size_t group_begins;
    size_t group_commits;
    size_t commit_fail_every;   //  fail every k-th commit...
    size_t commit_fail_max;     //  ...this many times
    size_t commit_failures;
    uint64_t saved_cursor [HL_HOP_T_STREAMS];
    uint32_t *saved_count [HL_HOP_T_STREAMS];
} hl_hop_t_sink_t;

//  hl_hop_fetch_fn over a hl_hop_t_source_t
int hl_hop_t_fetch (void *arg, const char *stream, uint64_t after, size_t max,
                    hl_hop_item_t *items);
//  A db for stream name with room for seqs 1..n
void hl_hop_t_db_init (hl_hop_t_db_t *db, const char *name, uint64_t n);
//  Asserts every seq 1..n applied exactly once, in order, with its own
//  payload, and nothing after n
void hl_hop_t_db_check (hl_hop_t_db_t *db, uint64_t n);
//  hl_hop_group_fn, hl_hop_apply_fn, hl_hop_cursor_fn and
//  hl_hop_authorize_fn over a hl_hop_t_sink_t
int hl_hop_t_group_begin (void *arg);
int hl_hop_t_group_commit (void *arg);
int hl_hop_t_apply (void *arg, const char *stream, const hl_hop_item_t *items, size_t count);
int hl_hop_t_cursor (void *arg, const char *stream, uint64_t *cursor);
bool hl_hop_t_authorize (void *arg, const char *user_id, const char *stream);
//  Run the loop until done (arg) is true; fails the test after 60 seconds
void hl_hop_t_run (zloop_t *loop, bool (*done) (void *), void *arg);
//  Send a raw frame, or an encoded Envelope, from a test socket
void hl_hop_t_send_raw (zsock_t *sock, const void *data, size_t size);
void hl_hop_t_send_env (zsock_t *sock, Hotline__Envelope *env);

#endif
