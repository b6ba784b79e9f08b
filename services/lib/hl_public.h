/*  hl_public — what the web keeps for citizens who report without an
 *  account, in the web's own store (web.db, beside hl_accounts' tables):
 *
 *  - tracking tokens: a case's secret tracking link. The token is 256
 *    random bits, handed out once (in the link) and kept only as its
 *    SHA-256, so a copy of web.db opens no case. A token maps to one case;
 *    it is access data (like a session), not case data: the case itself
 *    lives in the node's log.
 *  - public submissions: when, from which address and which phone number
 *    (its SHA-256, never the number), for the rate limits. Rows older than
 *    a week are dropped.
 *
 *  Rules for callers: one object per thread (a SQLite connection is not
 *  shared between threads); several may open one file.
 */
#ifndef HL_PUBLIC_H_INCLUDED
#define HL_PUBLIC_H_INCLUDED

typedef struct _hl_public_t hl_public_t;

//  Open the file at path, creating it or bringing its schema up to date
//  with web.db's migration steps (hl_accounts_migrations). NULL on error
//  (logged), e.g. a web.db written by a newer release.
hl_public_t *hl_public_new (const char *path);
//  This class's tables: web.db's step 2 (frozen)
extern const char hl_public_schema [];
void hl_public_destroy (hl_public_t **self_p);

//  A new tracking token for case_id into token (HL_TOKEN_HEX bytes: 64
//  hex digits). 0, or -1 (logged).
int hl_public_track_new (hl_public_t *self, const char *case_id, char *token);
//  The case a token opens: 0 and case_id (size bytes); 1 when the token is
//  unknown or malformed; -1 on a store error
int hl_public_track_case (hl_public_t *self, const char *token, char *case_id, size_t size);

//  Record one public submission (phone may be NULL or empty). 0 or -1.
int hl_public_submission_add (hl_public_t *self, const char *ip, const char *phone);
//  Submissions since since_ms from ip, and (when phone is given) with the
//  same phone number (its digits compared). 0, or -1 on a store error.
int hl_public_submissions (hl_public_t *self, const char *ip, const char *phone, int64_t since_ms,
                           int *by_ip, int *by_phone);

void hl_public_test (bool verbose);
#endif
