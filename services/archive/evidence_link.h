/*  evidence_link — evidence files between a ward and the city, over the
 *  reliable hop (hl_hop), both ways: the files of the cases a ward
 *  forwards to the Department, ward -> city, and the files of the reports
 *  the city files at a ward, city -> ward ("Filings" below). Both with the
 *  log stream's guarantees: durable at the ward before anything is sent,
 *  applied at the city with its cursor in one transaction, exactly once in
 *  effect, resumed after a crash or a partition from the city's cursor.
 *
 *  What leaves a ward: the files of a case the ward forwards to the
 *  Department (the procedure's forward meaning): the files the case names
 *  when it is forwarded (its report's evidence, and the `evidence`
 *  argument of any event of its history), and every file attached to it
 *  later. Nothing of a ward-handled case ever leaves. What leaves is the
 *  copy that may be shown beyond the ward (hl_evidence_outgoing: a JPEG
 *  without its Exif, XMP and IPTC segments; other types as they are),
 *  named by its own SHA-256.
 *
 *  The ward's evidence stream, "<ward code>/evidence", is a stream of its
 *  own beside the log stream ("<ward code>"), on the same federation link
 *  (endpoints/city, the same CurveZMQ keys; the city admits it for the
 *  ward the key speaks for). Not inside the log stream: there the seq is
 *  the ward's log seq (the city's cursor, its log's origin_seq and the
 *  per-ward metrics count in it), and a 10 MB video must not hold the
 *  case events behind it.
 *
 *  Ward:
 *    - evidence_link_queue, inside the archive's transaction that appends
 *      an event of our own: for each file that must leave, makes its
 *      outgoing copy and queues its pieces (EVIDENCE_LINK_CHUNK bytes) in
 *      the table evidence_outbox (seq, case_id, ref, sha256, at, size,
 *      total): the gap-free source of the stream. The event and its
 *      pieces commit together, so a forward acknowledged is a file queued.
 *    - evidence_link_fetch serves the outbox to the hop's sender: one
 *      hotline.EvidenceChunk per item, the bytes read from the stored copy
 *      when fetched (the outbox holds where they are, not the bytes). A
 *      piece that can no longer be read (the file was deleted) goes as
 *      `lost`, so the stream never stalls on it.
 *    - federation/evidence_bytes_per_s (0: no limit) caps what the stream
 *      sends, so that a ward's uplink is not filled by its videos.
 *    - A ward restored from a backup behind the city: the city's cursor is
 *      past the outbox. Once the city has asked (its first credit), new
 *      pieces are numbered after its cursor, so they are not taken for
 *      duplicates (logged at error); a file queued between the restart and
 *      that first credit is skipped by the city (its pieces are numbered
 *      below the cursor): forward it again, or attach it again.
 *  City:
 *    - evidence_link_apply, for each item of a ward's evidence stream,
 *      inside the transaction (or the group's savepoint) that moves the
 *      stream's cursor ("evidence:<ward>"): writes the piece at its offset
 *      in evidence/tmp/w<ward>-<hex>.piece and fsyncs it; the last piece
 *      makes the whole file checked (size, SHA-256, an accepted type) and
 *      renamed to its content address, and only then recorded in the
 *      table evidence_files (case_id, ref, sha256, ward, type, bytes,
 *      received_ms) and shown. A piece delivered again after a crash
 *      (the cursor was not committed) writes the same bytes to the same
 *      place; one of a file already there writes nothing. Pieces come in
 *      order, so one transfer per ward is open at a time: a first piece
 *      drops any other temporary file of that ward.
 *    - evidence_link_files: the files the city holds for a case, for the
 *      archive's answer (and the web, which serves them to the
 *      Department).
 *
 *  Flow control: pieces are EVIDENCE_LINK_CHUNK (256 KiB) bytes, three to a
 *  frame under the 1 MiB limit (the hop's sender packs the frames); the
 *  city credits a ward's evidence stream EVIDENCE_LINK_WINDOW pieces at a
 *  time (hl_hop_receiver_set_window), so at most 2 MiB per ward is in
 *  flight, whatever the log streams' window.
 *
 *  Filings (city -> ward; federation.h, "Filing"): the city's public form
 *  takes photos, recordings and videos and commits them to the city's
 *  evidence store before it files the report; the report names them.
 *    - evidence_link_queue_filing, inside the archive's transaction that
 *      queues the filing on the ward's return stream: queues the files'
 *      pieces in the table evidence_return (ward, seq, ...: per-ward,
 *      gap-free seqs; case_id holds the filing id). The original goes,
 *      named by its own SHA-256: the ward keeps its reporter's originals.
 *    - The stream "<ward code>/evidence", served by the city's return
 *      sender (endpoints/federation_return) to that ward's key only, over
 *      CurveZMQ, through evidence_link_fetch_filings; the ward pulls it on
 *      a socket of its own, EVIDENCE_LINK_WINDOW pieces of credit.
 *      federation/evidence_bytes_per_s caps it as it caps a ward's stream:
 *      at the city, one bucket for every ward's pieces (the city's uplink).
 *    - evidence_link_apply_filing, at the ward, inside the transaction
 *      that moves the stream's cursor ("city/evidence"): the same piece
 *      handling as the city's (temporary file tmp/city-<hex>.piece, the
 *      last piece checked and renamed into the ward's store). The ward's
 *      return stream waits for a filing's files (federation.c, s_file).
 *    - Privacy: the city keeps the citizen's original only until the ward
 *      has it. Every second the city reads each ward's cursor on the
 *      stream, as the ward's last credit reported it (sent after the
 *      ward's apply committed; a fetch's `after` is only what was sent):
 *      the city's copy of every file whose last piece is at or before it
 *      is deleted
 *      (table row released = 1), unless a case at the city names it
 *      (evidence_files) or it is queued for a ward that does not have it
 *      yet, or the web committed it again after the last filing queued
 *      with it was taken (the same photo uploaded again, whose filing the
 *      archive has not queued yet: its mtime is after that filing's at_ms;
 *      kept 10 minutes at most, hl_evidence_release). A ward restored
 *      behind the city's record of its cursor asks again for pieces whose
 *      file is gone: they go as `lost`.
 *    - Metrics: at the city hotline_federation_filing_evidence_sent_total
 *      (files the ward has, counted when released); at the ward
 *      hotline_federation_filing_evidence_files_total, _bytes_total and
 *      _refused_total.
 *
 *  Rules for callers: the tables are the archive's (archive.c's schema
 *  step that creates them: evidence_link_schema). evidence_link_queue and
 *  evidence_link_apply run inside the caller's transaction and return -1
 *  only when it must fail (an I/O or store error: the batch is retried);
 *  bad input from a ward is logged, counted and skipped (0).
 */
#ifndef EVIDENCE_LINK_H_INCLUDED
#define EVIDENCE_LINK_H_INCLUDED

typedef struct _evidence_link_t evidence_link_t;

#define EVIDENCE_LINK_CHUNK     (256 * 1024)        //  bytes of one piece
#define EVIDENCE_LINK_WINDOW    8                   //  pieces in flight per ward
#define EVIDENCE_LINK_MAX       (256 * 1024 * 1024) //  the largest file the city takes

//  The tables (archive.db schema steps)
extern const char evidence_link_schema [];
extern const char evidence_link_filings_schema [];

//  Opens the node's evidence folder (<data_dir>/evidence). NULL on error
//  (logged).
evidence_link_t *evidence_link_new (hl_service_t *service, hl_store_t *store);
void evidence_link_destroy (evidence_link_t **self_p);

//  "<ward>/evidence" into name (size bytes)
void evidence_link_stream_name (const char *ward, char *name, size_t size);
//  Is stream a ward's evidence stream; ward (size bytes) gets its code
bool evidence_link_stream_ward (const char *stream, char *ward, size_t size);

// ---------------------------------------------------------------- ward
//  See above. 0 or -1.
int evidence_link_queue (evidence_link_t *self, const Hotline__Event *event);
//  hl_hop_fetch_fn over the outbox (arg: the link)
int evidence_link_fetch (void *arg, const char *stream, uint64_t after, size_t max,
                         hl_hop_item_t *items);
//  The sender of the stream (woken when the rate limit allows more, and
//  asked for the city's acknowledgements in the metrics)
void evidence_link_set_sender (evidence_link_t *self, hl_hop_sender_t *sender, zloop_t *loop);

// ---------------------------------------------------------------- city
//  One item of ward's evidence stream. 0 or -1.
int evidence_link_apply (evidence_link_t *self, const char *ward, const hl_hop_item_t *item);
//  The files the city holds for case_id and the ward case it came from
//  (origin_case, or NULL): [{"case_id", "ref", "sha256", "type", "bytes"}],
//  the ward's ref first. An empty array on a store error (logged).
json_t *evidence_link_files (hl_store_t *store, const char *case_id, const char *origin_case);

// ---------------------------------------------------------------- filings
#define EVIDENCE_LINK_FILING_FILES  24      //  files one filing names, at most

//  The files a filing (a "file" event) names: its report's evidence and
//  its `evidence` argument (a reporter's attach), valid refs only, at most
//  max, into refs (pointers into event). The count.
size_t evidence_link_filing_refs (const Hotline__Event *event, const char **refs, size_t max);
//  City: inside the transaction that queues event (a "file" event) on
//  ward's return stream: queue the files its report names. 0 or -1.
int evidence_link_queue_filing (evidence_link_t *self, const char *ward, const Hotline__Event *event);
//  City: hl_hop_fetch_fn over evidence_return, for stream "<ward>/evidence"
//  (arg: the link)
int evidence_link_fetch_filings (void *arg, const char *stream, uint64_t after, size_t max,
                                 hl_hop_item_t *items);
//  City: the sender that serves those streams (woken on loop when the rate
//  limit allows more); every second the link releases the city's copies
//  each ward has (see above)
void evidence_link_set_return_sender (evidence_link_t *self, hl_hop_sender_t *sender,
                                      zloop_t *loop);
//  Ward: one item of the city's evidence stream. 0 or -1.
int evidence_link_apply_filing (evidence_link_t *self, const hl_hop_item_t *item);
//  Ward: is ref in this node's evidence store
bool evidence_link_has (evidence_link_t *self, const char *ref);

#endif
