/*  fuzz_report — libFuzzer harness for submission validation, structured.
 *
 *  Builds a hotline.Report directly from the input, so values the strict
 *  decoder would refuse (invalid UTF-8, unknown enum numbers, NaN and
 *  infinite coordinates, huge texts, 40 evidence entries) reach the
 *  validator too. Input: [max errors][tag][value]...
 *
 *      tag % 20:  0 received_ms (8 bytes)   1 channel (4)      2 name
 *                 3 phone     4 email       5 address          6 anonymous (1)
 *                 7 polluter  8 polluter_category              9 occurred_ms (8)
 *                10 location 11 has_coordinates (1)           12 latitude (8, raw double)
 *                13 longitude (8)          14 type (4)        15 sudden (1)
 *                16 scope (4) 17 urgent (1)                   18 description
 *                19 one more evidence entry (up to 40)
 *      texts: one length byte, or 255 then two length bytes; raw bytes.
 *      A reporter exists once any of tags 2-6 appears.
 *
 *  Invariants:
 *  - the error count does not depend on the room given for errors;
 *  - every error reported has a field name and a message, both valid
 *    UTF-8 (they go back to the client on the wire);
 *  - a report the validator accepts also passes the strict decoder once
 *    encoded (the validator is never more lenient than the wire), has
 *    known type, channel and scope names, finite coordinates in range,
 *    and renders to JSON with every text intact; its redacted JSON holds
 *    no personal data.
 */
#include "fuzz.h"
#include <math.h>

#define MAX_TEXTS   64
#define MAX_EVIDENCE 40

static void
s_json_has (json_t *object, const char *key, const char *value)
{
    if (value && *value) {
        const char *got = json_string_value (json_object_get (object, key));
        FUZZ_CHECK (got && streq (got, value));
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static bool init = false;
    if (!init) {
        fuzz_quiet ();
        init = true;
    }
    fuzz_in_t in = { data, size, 0 };
    size_t max = fuzz_u8 (&in) % 21;
    Hotline__Report report = HOTLINE__REPORT__INIT;
    Hotline__Reporter who = HOTLINE__REPORTER__INIT;
    char *texts [MAX_TEXTS];
    size_t n_texts = 0;
    char *evidence [MAX_EVIDENCE];
    size_t n_evidence = 0;
    while (fuzz_left (&in) && n_texts < MAX_TEXTS) {
        uint8_t tag = fuzz_u8 (&in) % 20;
        char **text = NULL;
        switch (tag) {
            case 0: report.received_ms = (int64_t) fuzz_uint (&in, 8); break;
            case 1: report.channel = (Hotline__Channel) (int32_t) fuzz_uint (&in, 4); break;
            case 2: text = &who.name; break;
            case 3: text = &who.phone; break;
            case 4: text = &who.email; break;
            case 5: text = &who.address; break;
            case 6: who.anonymous = fuzz_u8 (&in) & 1; report.reporter = &who; break;
            case 7: text = &report.polluter; break;
            case 8: text = &report.polluter_category; break;
            case 9: report.occurred_ms = (int64_t) fuzz_uint (&in, 8); break;
            case 10: text = &report.location; break;
            case 11: report.has_coordinates = fuzz_u8 (&in) & 1; break;
            case 12: case 13: {
                uint64_t bits = fuzz_uint (&in, 8);
                double value;
                memcpy (&value, &bits, sizeof value);
                *(tag == 12? &report.latitude: &report.longitude) = value;
                break;
            }
            case 14: report.type = (Hotline__PollutionType) (int32_t) fuzz_uint (&in, 4); break;
            case 15: report.sudden = fuzz_u8 (&in) & 1; break;
            case 16: report.scope = (Hotline__Scope) (int32_t) fuzz_uint (&in, 4); break;
            case 17: report.urgent = fuzz_u8 (&in) & 1; break;
            case 18: text = &report.description; break;
            case 19:
                if (n_evidence < MAX_EVIDENCE) {
                    evidence [n_evidence] = fuzz_bytes (&in, NULL);
                    texts [n_texts++] = evidence [n_evidence++];
                }
                break;
        }
        if (text) {
            *text = fuzz_bytes (&in, NULL);
            texts [n_texts++] = *text;
            if (tag >= 2 && tag <= 5)
                report.reporter = &who;
        }
    }
    report.n_evidence = n_evidence;
    report.evidence = n_evidence? evidence: NULL;
    //  protobuf-c never leaves a string NULL: neither do we
    const char **fields [] = { (const char **) &who.name, (const char **) &who.phone,
                               (const char **) &who.email, (const char **) &who.address,
                               (const char **) &report.polluter,
                               (const char **) &report.polluter_category,
                               (const char **) &report.location,
                               (const char **) &report.description, NULL };
    for (int i = 0; fields [i]; i++)
        if (!*fields [i])
            *fields [i] = "";

    hl_field_error_t errs [20];
    size_t count = hl_report_validate (&report, errs, max);
    hl_field_error_t all [64];
    FUZZ_CHECK (hl_report_validate (&report, all, 64) == count);
    for (size_t i = 0; i < count && i < max; i++) {
        FUZZ_CHECK (memchr (errs [i].field, 0, sizeof errs [i].field));
        FUZZ_CHECK (memchr (errs [i].message, 0, sizeof errs [i].message));
        FUZZ_CHECK (*errs [i].field && *errs [i].message);
        FUZZ_CHECK (hl_utf8_valid (errs [i].field, strlen (errs [i].field)));
        FUZZ_CHECK (hl_utf8_valid (errs [i].message, strlen (errs [i].message)));
        FUZZ_CHECK (streq (errs [i].field, all [i].field) && streq (errs [i].message, all [i].message));
    }

    json_t *json = hl_report_to_json (&report, false);
    FUZZ_CHECK (json);
    char *dumped = json_dumps (json, JSON_COMPACT);
    FUZZ_CHECK (dumped);
    free (dumped);
    if (count == 0) {
        //  Accepted: known names, sane numbers, every text in the JSON view
        FUZZ_CHECK (*hl_type_name (report.type) && *hl_channel_name (report.channel)
                 && *hl_scope_name (report.scope));
        if (report.has_coordinates)
            FUZZ_CHECK (isfinite (report.latitude) && fabs (report.latitude) <= 90
                     && isfinite (report.longitude) && fabs (report.longitude) <= 180);
        s_json_has (json, "location", report.location);
        s_json_has (json, "description", report.description);
        s_json_has (json, "polluter", report.polluter);
        s_json_has (json, "polluter_category", report.polluter_category);
        json_t *reporter = json_object_get (json, "reporter");
        s_json_has (reporter, "name", who.name);
        s_json_has (reporter, "phone", who.phone);
        s_json_has (reporter, "email", who.email);
        s_json_has (reporter, "address", who.address);
        FUZZ_CHECK (json_array_size (json_object_get (json, "evidence")) == n_evidence);
        //  ... and it passes the strict decoder once on the wire
        Hotline__Command command = HOTLINE__COMMAND__INIT;
        command.action = "submit";
        command.report = &report;
        Hotline__Request request = HOTLINE__REQUEST__INIT;
        request.request_id = "fuzz";
        request.kind_case = HOTLINE__REQUEST__KIND_COMMAND;
        request.command = &command;
        Hotline__Envelope env = HOTLINE__ENVELOPE__INIT;
        env.body_case = HOTLINE__ENVELOPE__BODY_REQUEST;
        env.request = &request;
        zframe_t *frame = hl_msg_encode (&env);
        const char *reason = NULL;
        Hotline__Envelope *decoded = hl_msg_decode (zframe_data (frame), zframe_size (frame), &reason);
        if (zframe_size (frame) <= HL_MAX_MSG_SIZE)
            FUZZ_CHECK (decoded);
        hl_msg_free (&decoded);
        zframe_destroy (&frame);
    }
    json_decref (json);
    //  Redacted: no personal data whatever the report holds
    json = hl_report_to_json (&report, true);
    json_t *reporter = json_object_get (json, "reporter");
    FUZZ_CHECK (reporter && json_is_true (json_object_get (reporter, "redacted")));
    FUZZ_CHECK (!json_object_get (reporter, "name") && !json_object_get (reporter, "phone")
             && !json_object_get (reporter, "email") && !json_object_get (reporter, "address"));
    json_decref (json);
    //  The free-text checker on each text alone
    for (size_t i = 0; i < n_texts; i++) {
        const char *problem = hl_text_check (texts [i], HL_MAX_FIELD);
        if (!problem)
            FUZZ_CHECK (strlen (texts [i]) <= HL_MAX_BYTES (HL_MAX_FIELD)
                     && hl_text_chars (texts [i]) <= HL_MAX_FIELD
                     && hl_utf8_valid (texts [i], strlen (texts [i])));
    }
    for (size_t i = 0; i < n_texts; i++)
        free (texts [i]);
    return 0;
}
