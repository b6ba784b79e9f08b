/*  hl_msg — the envelope codec and socket hygiene shared by every socket.
 *
 *  Every frame on the wire is one hotline.Envelope (proto/hotline.proto).
 *  Decoding is strict: size limit, schema version, valid UTF-8 in every
 *  string field and known values in every enum field, at any depth.
 */
#ifndef HL_MSG_H_INCLUDED
#define HL_MSG_H_INCLUDED

//  Decode one frame. On failure returns NULL and *reason says why
//  (static text).
Hotline__Envelope *hl_msg_decode (const uint8_t *data, size_t size, const char **reason);
void hl_msg_free (Hotline__Envelope **env_p);
//  Encode into a new frame. Fills schema, sent_ms and node (if unset).
zframe_t *hl_msg_encode (Hotline__Envelope *env);
//  Send env on sock, preceded by routing_id if not NULL (ROUTER sockets).
//  Non-blocking; returns 0 or -1 (peer gone, HWM reached).
int hl_msg_send (zsock_t *sock, zframe_t *routing_id, Hotline__Envelope *env);
//  Validate any decoded message: UTF-8 strings, known enum values. 0 or -1.
int hl_msg_check (const ProtobufCMessage *msg, const char **reason);
//  The one UTF-8 validator. True if len bytes at s are valid UTF-8: no
//  overlong forms, surrogates, values past U+10FFFF, cut characters, or NUL
//  bytes.
bool hl_utf8_valid (const char *s, size_t len);
//  The character at s (len bytes available): its length in bytes (1-4),
//  with its code point in *code (code may be NULL), or 0 if the bytes there
//  are not one valid character under hl_utf8_valid's rules (or len is 0).
//  A NUL byte is a character of length 1 here: callers that refuse NULs,
//  as hl_utf8_valid does, check for them.
size_t hl_utf8_char (const char *s, size_t len, uint32_t *code);
//  Replace in place every byte of text that is not part of a valid UTF-8
//  sequence by '?' (e.g. a multibyte character cut by a "%.40s" or a full
//  snprintf buffer), so the text passes hl_msg_decode on the other side.
//  Returns the number of bytes replaced.
size_t hl_utf8_scrub (char *text);
//  The node name stamped on outgoing envelopes
void hl_msg_set_node (const char *node, const char *ward);
//  This process's node name ("" until set)
const char *hl_msg_node (void);

//  Harden a socket that another node or client can reach: ZMQ_MAXMSGSIZE,
//  heartbeats, a small linger, ROUTER_MANDATORY on ROUTERs.
void hl_sock_harden (zsock_t *sock);
//  True if sock has a message to read now. False if it has none, or if
//  libzmq could not say (a signal interrupted it, EINTR, or the context is
//  terminating, ETERM): callers read false as "nothing now, ask again on
//  the next wakeup", never as an error. Use this, not zsock_events (), which
//  can return an uninitialised value (hl_msg.c says why). sock is a
//  zsock_t, a zactor_t or a bare libzmq socket, as for zsock_events ().
bool hl_sock_readable (void *sock);

void hl_msg_test (bool verbose);
#endif
