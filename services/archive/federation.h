/*  federation — the ward<->city links of an archive, over the reliable hop.
 *
 *  Ward role:
 *    - sends its whole log to the city (stream = ward code), connecting to
 *      endpoints/city. Personal data is removed from every report, except
 *      that the event forwarding a case to the Department carries the full
 *      report (the Department must answer the reporter);
 *    - pulls the city's events about the Department cases it forwarded
 *      (stream = ward code, from endpoints/city_return) into its own log,
 *      under its own case number, so `hotline show` there shows the
 *      Department's work.
 *  City role:
 *    - receives every ward's stream on endpoints/federation (bound);
 *    - serves each ward its return stream on endpoints/federation_return.
 *  Evidence: a ward's forwarded cases' files go to the city on a stream
 *  of their own, "<ward code>/evidence", over the same link and keys
 *  (evidence_link.h: what leaves, in pieces; the city checks each file's
 *  SHA-256 before it shows it).
 *  Both directions use CurveZMQ: each ward has its own keypair; the city
 *  admits only the certificates in its allow directory, and the `ward`
 *  metadata of a certificate decides which ward code that key speaks for.
 *  Plaintext only with federation/plaintext = 1 (development).
 *
 *  Filing: the city files a report (or a reporter's action on their case)
 *  at the ward where the case lives; the city never opens it itself.
 *    1. The city's web (the public form, Open311) sends intake a command
 *       with Command.ward and a request id "file-<32 hex>", the filing id.
 *       Intake checks it as the ward will and writes ONE node-level event
 *       "file" (HL_ACTION_FILE): the command whole, the reporter included.
 *       It answers only after its commit: the filing is durable before the
 *       web answers 201 / the Open311 token, and a client's retry with the
 *       same request id is answered from intake's memory.
 *    2. The city's archive applies it and, in the same transaction, records
 *       the filing (table filings: id, ward, case_id still empty) and puts
 *       the event, NOT redacted, on that ward's return stream
 *       (federation_queue_filing). A ward's return stream is served only to
 *       that ward's key, over CurveZMQ: personal data goes from the city to
 *       that one ward, and into no redacted stream (the city's live stream
 *       and dashboards redact every event; web_stream names it "filing").
 *    3. The ward's archive, applying its return stream, gives each filing
 *       to its own intake (hl_client_command) as the actor it names (roles
 *       system and citizen only), with the filing id as the request id,
 *       BEFORE the batch and its cursor commit. Intake remembers a request
 *       id with its reply, so a redelivered batch (a killed archive, a cut
 *       link, an intake that did not answer: the batch fails and the hop
 *       redelivers it) files nothing twice. The command carries the
 *       city's receive time (the event's at_ms) as Command.received_ms:
 *       the ward's intake makes it the new case's received_ms, the anchor
 *       of the deadlines counted from "received" (the legal clock starts
 *       when the city took the report, however late the ward gets it),
 *       clamped to [now - HL_FILING_MAX_AGE_MS (7 days), now]; intake
 *       takes received_ms only by its local door, with a filing id and no
 *       Command.ward, and refuses it from anyone else.
 *       Refused: when the ward's intake refuses the content (reply code
 *       not OK, its procedure or the case's state), it writes ONE node-
 *       level event HL_ACTION_FILING_REFUSED (request id: the filing id;
 *       args code, reason, field; nothing of the report) and remembers the
 *       refusal under the filing id, in the same transaction: a redelivery
 *       is answered from memory and writes nothing more. Logged, counted
 *       (hotline_federation_filings_refused_total). No answer, or
 *       HL_UNAVAILABLE, is no refusal: the batch fails and comes again.
 *    4. The new case is the ward's own, in its log, and reaches the city in
 *       the ward's normal (redacted) stream; its submit event carries the
 *       filing id as its request id, so the city's archive fills in the
 *       filing's case_id when it applies it (query kind "filing"). A
 *       filing_refused event comes the same way: the city marks the
 *       filing refused (filings.refused_*, final; only one not filed, and
 *       only from the ward it was filed at), and the web answers the
 *       refusal (services/web/API.md, "Filing at a ward").
 *    Files: the city's form takes photos, recordings and videos. The web
 *       commits them to the city's evidence store before it sends the
 *       command, whose report names them (report.evidence). Step 2 queues
 *       their pieces, in the same transaction, on the ward's evidence
 *       stream "<ward>/evidence", served by the same return sender to the
 *       same key (evidence_link.h, "Filings"); the ward pulls it on a
 *       receiver of its own and applies each piece with its cursor. In
 *       step 3 a filing waits for its files: while one the report names is
 *       not in the ward's store the batch fails and is redelivered (logged
 *       once per filing), so no case is filed before its photos. After
 *       FEDERATION_FILING_WAIT_MS (10 minutes from the city's at_ms) it is
 *       filed without the missing ones, logged at error naming them and
 *       counted (hotline_federation_filings_without_files_total): a file
 *       the city lost must not hold the ward's return stream, and with it
 *       the Department's answers, for ever. Once the ward has a file (its
 *       cursor passed the last piece) the city deletes its copy, unless a
 *       case at the city names it: the citizen's original stays at the
 *       ward that handles the case.
 *    Upgrades: a ward on the previous release skips a "file" event as
 *       invalid, and the report would be lost. So the city files only at a
 *       ward that has shown it runs this release: its archive pulls
 *       "<ward>/evidence" from the city's return endpoint (s_evidence_
 *       receiver; no new field on the wire, which an old node would not
 *       read). The city's return sender, the first time it is asked for
 *       that stream by the ward's key, records the ward in archive.db's
 *       filing_wards (step 12; once per ward per run, outside any
 *       transaction) and logs it. Before step 1 the city's web asks the
 *       archive (query kind "filing_ward") and, for a ward not recorded,
 *       refuses with 503 and Retry-After, storing nothing, its files
 *       included (services/web/API.md, "Filing at a ward"). Wards may be
 *       upgraded in any order; one still on the previous release gets no
 *       filings until it is.
 */
#ifndef FEDERATION_H_INCLUDED
#define FEDERATION_H_INCLUDED

//  How long a ward's return stream waits for a filing's files (from the
//  city's at_ms) before it files the report without them (step 3, Files)
#define FEDERATION_FILING_WAIT_MS   (10 * 60 * 1000)

typedef struct _federation_t federation_t;

//  Applies one item of a batch that is not events (federation_sink_t
//  apply_each). 0 or -1.
typedef int (federation_item_fn) (void *arg, const hl_hop_item_t *item);

//  What the federation needs of the store it links: the archive fills this
//  in and passes it to federation_new. The federation calls only these (and
//  reads the log, cases and return_outbox tables of store, the city's
//  filing_wards too; a ward's federation_guard also its
//  federation_diverged), never the archive, so
//  the dependency runs one way, archive -> federation, and the federation
//  can run over any store that has those tables (federation_test does).
typedef struct {
    hl_service_t *service;      //  role, ward, config, procedure, metrics
    hl_store_t *store;          //  holds log, cases, return_outbox, federation_diverged
    void *arg;                  //  passed to every callback
    //  The durable cursor of a stream, by key ("city" at a ward; "ward:CODE"
    //  at the city). 0, or -1 if it cannot be read.
    int (*cursor) (void *arg, const char *key, uint64_t *cursor);
    //  Append a batch from another node, in one transaction with the
    //  cursor of key (also the origin the log records). returned: the
    //  city's events about this ward's Department cases. 0, or -1 and
    //  nothing applied.
    int (*apply) (void *arg, const char *key, const hl_hop_item_t *items, size_t count,
                  bool returned);
    //  One transaction around the apply calls of several wards' batches
    //  (hl_hop group commit, city). 0 or -1.
    int (*group_begin) (void *arg);
    int (*group_commit) (void *arg);
    //  City: a batch of a ward's evidence stream, each item applied by
    //  each (each_arg, item), in one transaction (or savepoint of the
    //  group) with the cursor of key ("evidence:CODE"). 0, or -1 and
    //  nothing kept in the store. NULL: the city takes no evidence streams
    //  (refused at hello).
    int (*apply_each) (void *arg, const char *key, const hl_hop_item_t *items, size_t count,
                       federation_item_fn *each, void *each_arg);
} federation_sink_t;

//  Returns NULL on a configuration error (logged). When the node has no
//  federation configured (a ward without endpoints/city), returns an
//  inactive federation. The sink is copied.
federation_t *federation_new (const federation_sink_t *sink, zloop_t *loop);
void federation_destroy (federation_t **self_p);
//  New events in the archive's log (ward: send them on)
void federation_notify (federation_t *self);
//  Ward: inside the apply transaction, after an event of our own was
//  appended and its case updated: queue the evidence files it makes leave
//  the ward (evidence_link_queue). 0 or -1.
int federation_queue_evidence (federation_t *self, const Hotline__Event *event);
//  City: inside the apply transaction, after an event of a Department case
//  linked to a ward was appended: queue it for that ward. 0 or -1.
int federation_queue_return (federation_t *self, const Hotline__Event *event,
                             const char *ward, const char *ward_case);
//  City: new return items were committed
void federation_notify_return (federation_t *self);
//  City: inside the apply transaction of our intake's "file" event (data,
//  size: the event as written): queue it, unredacted, on its ward's
//  return stream, and the files its report names on that ward's evidence
//  stream (evidence_link_queue_filing). 0 or -1 (logged).
int federation_queue_filing (federation_t *self, const Hotline__Event *event,
                             const uint8_t *data, size_t size);

//  Selftest: a ward and a city in one process, with recording sinks (it lives
//  in federation_test.c)
void federation_test (bool verbose);

#endif
