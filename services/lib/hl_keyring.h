/*  hl_keyring — who may connect over CurveZMQ, and what each key may speak
 *  for: a directory of certificates read into a table
 *
 *      public key (z85)  ->  the value of ONE metadata key of its certificate
 *
 *  and the ZAP (RFC 27) handler that answers libzmq's handshakes from it.
 *
 *  Two users, one rule ("a key speaks for exactly what its certificate
 *  says"):
 *
 *      city archive, federation/allow:  metadata `ward`  = "31001"
 *      intake's remote front door, front/allow:  metadata `actor` = "officer:lan"
 *
 *  Certificates are czmq zcert files (`hotline keys` writes them), read from
 *  the directory and below it; a certificate without the metadata key is
 *  ignored (logged). Reloading costs nothing per handshake: a known key
 *  costs one stat of its certificate file (a changed or removed file
 *  reloads the table), an unknown key reloads the table when the directory
 *  changed, or at most every 5 s. So a key added, rotated or deleted takes
 *  effect at the next lookup, without a restart: deleting a certificate
 *  revokes its key.
 *
 *  The ZAP handler (hl_keyring_serve) is a REP socket bound at
 *  inproc://zeromq.zap.01 and read in the caller's zloop. It admits a CURVE
 *  client whose key is in the table, with User-Id = the key in z85 (what
 *  czmq's zauth sets), so the service maps a message to its key with
 *  zframe_meta (frame, "User-Id") and hl_keyring_lookup (). Everything else
 *  (unknown key, another mechanism) is refused: counted, in the log at most
 *  once a second, and in the process's metrics as hotline_zap_refused_total.
 *  We answer ZAP ourselves rather than run zauth because zauth rescans the
 *  whole directory (zcertstore) on every handshake.
 *
 *  Rules for callers:
 *  - Serve BEFORE binding any CurveZMQ server socket: libzmq admits every
 *    client key of a CURVE server while no ZAP handler is bound.
 *  - One handler per process (it is the libzmq context's, at a fixed
 *    address): hl_keyring_serve fails (-1) if another is bound.
 *  - A lookup's answer is valid until the next lookup (a reload frees it):
 *    compare or copy it at once.
 *  - The keyring is read in its loop's thread only; it is not thread-safe.
 *  - An established connection is not re-checked by libzmq: a service that
 *    must cut off a deleted key at once looks the User-Id up on every
 *    message (intake does; the city checks at each hop hello).
 */
#ifndef HL_KEYRING_H_INCLUDED
#define HL_KEYRING_H_INCLUDED

typedef struct _hl_keyring_t hl_keyring_t;

//  A keyring over the certificates in dir, keyed by their metadata `meta`.
//  name is for log lines ("federation", "front door"). Loads the table at
//  once. NULL if dir is not a directory.
hl_keyring_t *hl_keyring_new (const char *dir, const char *meta, const char *name);
void hl_keyring_destroy (hl_keyring_t **self_p);

//  The metadata value of this public key (z85, 40 characters), or NULL if
//  the key is not admitted (now: this may reload the table).
const char *hl_keyring_lookup (hl_keyring_t *self, const char *public_txt);

//  Keys in the table as last loaded
size_t hl_keyring_size (hl_keyring_t *self);

//  Answer ZAP requests in loop from now on. 0, or -1 (logged) if the
//  handler cannot be bound (another one is). Stops at destroy.
int hl_keyring_serve (hl_keyring_t *self, zloop_t *loop);

//  Handshakes refused since start (unknown key or not CURVE)
uint64_t hl_keyring_refused (hl_keyring_t *self);

void hl_keyring_test (bool verbose);
#endif
