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
 *  Both directions use CurveZMQ: each ward has its own keypair; the city
 *  admits only the certificates in its allow directory, and the `ward`
 *  metadata of a certificate decides which ward code that key speaks for.
 *  Plaintext only with federation/plaintext = 1 (development).
 */
#ifndef FEDERATION_H_INCLUDED
#define FEDERATION_H_INCLUDED

typedef struct _federation_t federation_t;

//  What the federation needs of the store it links: the archive fills this
//  in and passes it to federation_new. The federation calls only these (and
//  reads the log, cases and return_outbox tables of store), never the
//  archive, so the dependency runs one way, archive -> federation, and the
//  federation can run over any store that has those tables.
typedef struct {
    hl_service_t *service;      //  role, ward, config, procedure, metrics
    hl_store_t *store;          //  holds log, cases, return_outbox
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
} federation_sink_t;

//  Returns NULL on a configuration error (logged). When the node has no
//  federation configured (a ward without endpoints/city), returns an
//  inactive federation. The sink is copied.
federation_t *federation_new (const federation_sink_t *sink, zloop_t *loop);
void federation_destroy (federation_t **self_p);
//  New events in the archive's log (ward: send them on)
void federation_notify (federation_t *self);
//  City: inside the apply transaction, after an event of a Department case
//  linked to a ward was appended: queue it for that ward. 0 or -1.
int federation_queue_return (federation_t *self, const Hotline__Event *event,
                             const char *ward, const char *ward_case);
//  City: new return items were committed
void federation_notify_return (federation_t *self);

#endif
