/*  web_filing — the city's web files reports at its wards. See
 *  web_filing.h.
 */
#include "hotline.h"
#include "web_filing.h"
#include <sodium.h>

web_filing_where_t
web_filing_ward (web_api_t *api, const char *chosen, const Hotline__Report *report, const char **ward)
{
    hl_areas_t *areas = web_api_areas (api);
    *ward = NULL;
    if (chosen && *chosen) {
        if (!areas || !hl_areas_name (areas, chosen))
            return WEB_FILING_UNKNOWN;
        *ward = chosen;
        return WEB_FILING_WARD;
    }
    if (!report || !report->has_coordinates)
        return WEB_FILING_NOWHERE;
    *ward = areas? hl_areas_find (areas, report->latitude, report->longitude): NULL;
    return *ward? WEB_FILING_WARD: WEB_FILING_OUTSIDE;
}

//  32 hex digits: BLAKE2b-128 of scope and key, or random
static void
s_hex32 (const char *scope, const char *key, char *hex)
{
    unsigned char raw [16];
    if (sodium_init () < 0)
        abort ();               //  libsodium cannot run here at all
    if (key && *key) {
        crypto_generichash_state state;
        crypto_generichash_init (&state, NULL, 0, sizeof raw);
        crypto_generichash_update (&state, (const unsigned char *) scope, strlen (scope) + 1);
        crypto_generichash_update (&state, (const unsigned char *) key, strlen (key));
        crypto_generichash_final (&state, raw, sizeof raw);
    }
    else
        randombytes_buf (raw, sizeof raw);
    sodium_bin2hex (hex, 33, raw, sizeof raw);
}

void
web_filing_id (const char *scope, const char *key, char *id)
{
    char hex [33];
    s_hex32 (scope, key, hex);
    snprintf (id, WEB_FILING_ID_SIZE, "%s%s", HL_FILING_PREFIX, hex);
}

int
web_filing_send (web_api_t *api, web_request_t *request, const char *id, const char *ward,
                 const char *actor, Hotline__Command *command)
{
    command->ward = (char *) ward;
    Hotline__Request message = HOTLINE__REQUEST__INIT;
    message.kind_case = HOTLINE__REQUEST__KIND_COMMAND;
    message.command = command;
    message.request_id = (char *) id;
    Hotline__Envelope *reply = web_api_call (api, request, &message, actor, false);
    command->ward = NULL;
    if (!reply)
        return -1;
    int rc = HL_OK;
    if (reply->reply->code != HL_OK) {
        web_request_refusal (request, reply->reply);
        rc = -1;
    }
    hl_msg_free (&reply);
    return rc;
}

//  The archive's answer to the query kind about text (a filing id, a
//  ward): its reply (caller frees), or NULL (no answer: answered 503)
static Hotline__Envelope *
s_ask (web_api_t *api, web_request_t *request, const char *kind, const char *text)
{
    Hotline__Query query = HOTLINE__QUERY__INIT;
    query.kind = (char *) kind;
    query.text = (char *) text;
    Hotline__Request message = HOTLINE__REQUEST__INIT;
    message.kind_case = HOTLINE__REQUEST__KIND_QUERY;
    message.query = &query;
    return web_api_call (api, request, &message, "system:web", false);
}

int
web_filing_state (web_api_t *api, web_request_t *request, const char *id, json_t **filing)
{
    *filing = NULL;
    if (!hl_filing_id_valid (id))
        return 1;
    Hotline__Envelope *reply = s_ask (api, request, "filing", id);
    if (!reply)
        return -1;
    int rc = 0;
    if (reply->reply->code == HL_NOT_FOUND)
        rc = 1;
    else
    if (reply->reply->code != HL_OK) {
        web_request_refusal (request, reply->reply);
        rc = -1;
    }
    else {
        *filing = json_loads (reply->reply->json? reply->reply->json: "", 0, NULL);
        if (!json_is_object (*filing)) {
            json_decref (*filing);
            *filing = NULL;
            web_request_unavailable (request);
            rc = -1;
        }
    }
    hl_msg_free (&reply);
    return rc;
}

int
web_filing_ready (web_api_t *api, web_request_t *request, const char *ward)
{
    //  Asked each time, not cached: one indexed lookup in the archive,
    //  beside a filing's own intake command and commit, and a ward that
    //  was just upgraded takes filings at the next try
    Hotline__Envelope *reply = s_ask (api, request, "filing_ward", ward);
    if (!reply)
        return -1;
    int rc = 0;
    if (reply->reply->code == HL_NOT_FOUND)
        rc = 1;
    else
    if (reply->reply->code != HL_OK) {
        web_request_refusal (request, reply->reply);
        rc = -1;
    }
    hl_msg_free (&reply);
    if (rc == 1)
        snprintf (request->retry_after, sizeof request->retry_after, "%d", WEB_FILING_RETRY_AFTER_S);
    return rc;
}

json_t *
web_filing_wards (web_api_t *api, web_request_t *request)
{
    Hotline__Query query = HOTLINE__QUERY__INIT;
    query.kind = "filing_ward";
    json_t *result = web_api_query (api, request, &query, "system:web", false);
    if (!result)
        return NULL;
    json_t *wards = json_object_get (result, "wards");
    if (!json_is_object (wards)) {
        json_decref (result);
        web_request_unavailable (request);
        return NULL;
    }
    json_incref (wards);
    json_decref (result);
    return wards;
}

void
web_filing_not_ready (web_request_t *request, const char *ward)
{
    web_request_error (request, 503, "ward",
        "Phường %.20s chưa nhận được phản ánh gửi từ thành phố (đang nâng cấp), chưa lưu gì: xin gửi "
        "lại sau, hoặc gửi trực tiếp tại phường (ward %.20s does not take reports filed at the city "
        "yet: it is being upgraded; nothing was stored, try again later or report at the ward)",
        ward, ward);
}

void
web_filing_wait (web_api_t *api, web_request_t *request, const char *id, int timeout_ms)
{
    int64_t until = zclock_mono () + timeout_ms;
    while (true) {
        Hotline__Envelope *reply = s_ask (api, request, "filing", id);
        bool unknown = reply && reply->reply->code == HL_NOT_FOUND;
        hl_msg_free (&reply);
        if (!unknown || zclock_mono () >= until)
            return;
        zclock_sleep (10);
    }
}

void
web_filing_test (bool verbose)
{
    printf (" * web_filing: ");
    char a [WEB_FILING_ID_SIZE], b [WEB_FILING_ID_SIZE], c [WEB_FILING_ID_SIZE];
    //  A key gives the same id every time, and another scope another id;
    //  no key, a new one each time; each one is a well-formed filing id
    web_filing_id ("open311\x1f" "key1", "abc", a);
    web_filing_id ("open311\x1f" "key1", "abc", b);
    assert (streq (a, b) && hl_filing_id_valid (a));
    web_filing_id ("open311\x1f" "key2", "abc", c);
    assert (strneq (a, c) && hl_filing_id_valid (c));
    //  The scope ends where the key begins: ("ab", "c") is not ("a", "bc")
    web_filing_id ("ab", "c", b);
    web_filing_id ("a", "bc", c);
    assert (strneq (b, c));
    web_filing_id ("public", NULL, b);
    web_filing_id ("public", "", c);
    assert (strneq (b, c) && hl_filing_id_valid (b) && hl_filing_id_valid (c));
    if (verbose)
        printf ("(ids) ");
    printf ("OK\n");
}
