/*  notify_sender — delivers one message on one channel, in a worker thread.
 *
 *  Channels:
 *    email   SMTP through libcurl (smtp:// or smtps:// from notify/smtp_url).
 *            RFC 5322 message, UTF-8: Subject encoded per RFC 2047 (base64
 *            encoded words), body text/plain; charset=UTF-8 in base64.
 *            Message-ID <KEY@domain-of-from> and X-Hotline-Key: KEY carry
 *            the idempotency key so a receiver can drop a repeat.
 *    sms     HTTP POST of JSON {to, text, case_id, event_id, idempotency_key}
 *            to notify/webhook_url (header Idempotency-Key too); any 2xx is
 *            success.
 *
 *  A sender is a zactor: the service posts one message and later reads one
 *  result from notify_sender_sock (). Sends block only the worker thread,
 *  never the service loop; each send has a timeout.
 */
#ifndef NOTIFY_SENDER_H_INCLUDED
#define NOTIFY_SENDER_H_INCLUDED

typedef struct {
    const char *smtp_url;       //  smtp://host:port, NULL: e-mail disabled
    const char *smtp_user;      //  optional AUTH
    const char *smtp_password;
    const char *smtp_tls;       //  "none" (default), "try" (STARTTLS if offered), "all"
    const char *from;           //  envelope and header From address
    const char *from_name;      //  display name, UTF-8 ("" for none)
    const char *webhook_url;    //  NULL: SMS disabled
    const char *webhook_token;  //  optional "Authorization: Bearer ..."
    int timeout_ms;             //  per send
} notify_sender_config_t;

typedef struct {
    const char *key;            //  idempotency key
    const char *channel;        //  "email" or "sms"
    const char *address;
    const char *subject;
    const char *body;
    const char *case_id;
    const char *event_id;
} notify_message_t;

typedef struct _notify_sender_t notify_sender_t;

//  Start a worker. config must outlive the sender.
notify_sender_t *notify_sender_new (const notify_sender_config_t *config);
//  Waits for a send in progress (at most its timeout), then stops.
void notify_sender_destroy (notify_sender_t **self_p);
//  Post one message, tagged with id. One at a time: post, then read.
int notify_sender_post (notify_sender_t *self, int64_t id, const notify_message_t *message);
//  The socket to poll for the result
zsock_t *notify_sender_sock (notify_sender_t *self);
//  Read a result: 0 and *id, *ok, error text. -1 if interrupted.
int notify_sender_recv (notify_sender_t *self, int64_t *id, bool *ok, char *error, size_t size);

//  Send synchronously in the calling thread (what the worker does).
//  0 = delivered, -1 = failed with a reason in error.
int notify_sender_send (const notify_sender_config_t *config, const notify_message_t *message,
                        char *error, size_t size);
//  The RFC 5322 message for an e-mail (CRLF line ends). Caller frees.
char *notify_sender_mime (const notify_sender_config_t *config, const notify_message_t *message,
                          time_t date);
//  An RFC 2047 header value ("=?UTF-8?B?...?=" words, folded) for UTF-8
//  text; ASCII text without controls passes as is. Caller frees.
char *notify_sender_rfc2047 (const char *text);

//  Can mail leave? A TCP connection to the SMTP URL's host and port (its
//  scheme's port by default), within timeout_ms, closed at once: nothing
//  is said, so it costs the server one accept. 0 = reachable; -1 with the
//  reason in error (a bad URL, a name that does not resolve, refused, no
//  answer). Blocks the caller for at most timeout_ms per address.
int notify_sender_probe (const char *smtp_url, int timeout_ms, char *error, size_t size);

void notify_sender_test (bool verbose);
#endif
