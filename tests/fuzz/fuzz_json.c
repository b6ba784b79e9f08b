/*  fuzz_json — libFuzzer harness for the JSON the project reads, and the
 *  date and duration texts.
 *
 *  The `hotline` CLI parses the archive's answers (Reply.json) with
 *  json_loads and renders them as text, CSV or JSON (cli_show, cli_list,
 *  cli_report in services/cli/cli.c). This harness links cli.c unchanged,
 *  compiled with its network client renamed (-Dhl_client_call=
 *  fuzz_client_call ...): the fake client below answers every call with a
 *  reply whose json is the fuzz input, after the same strict decoding the
 *  real client does. So a hostile or broken node's answer goes through
 *  exactly the code a ward officer's terminal runs.
 *
 *  Input: [mode][code] then text.
 *      mode % 8 == 0   text as a date and a duration (hl_clock_parse_reason,
 *                      hl_clock_parse_duration, hl_clock_format, _iso)
 *                  1   hotline show CASE          2  ... --json
 *                  3   hotline list               4  ... --json
 *                  5   hotline report (text)      6  ... --format csv
 *                  7   ... --format json
 *      code: the reply's code (0 most often; else 400, 404, 409, 503 with
 *            the text as the error message)
 *
 *  Invariants: the CLI exits 0, 2 or 3 and never crashes; a parsed date
 *  formats and parses back to the same minute, and as ISO 8601 with its
 *  offset to the same second, in the zone and in another one; a refused
 *  date has a reason, valid UTF-8; a duration is >= 0.
 */
#include "fuzz.h"
#include "cli.h"

static const char *s_text;          //  the node's answer for this input
static int s_code;

hl_client_t *fuzz_client_new (const char *endpoint, int timeout_ms, int tries);
void fuzz_client_destroy (hl_client_t **self_p);
Hotline__Envelope *fuzz_client_call (hl_client_t *self, Hotline__Request *request);

hl_client_t *
fuzz_client_new (const char *endpoint, int timeout_ms, int tries)
{
    (void) endpoint; (void) timeout_ms; (void) tries;
    return (hl_client_t *) &s_text;        //  any non-NULL handle
}

void
fuzz_client_destroy (hl_client_t **self_p)
{
    *self_p = NULL;
}

Hotline__Envelope *
fuzz_client_call (hl_client_t *self, Hotline__Request *request)
{
    (void) self;
    Hotline__Reply reply = HOTLINE__REPLY__INIT;
    reply.request_id = request->request_id? request->request_id: "fuzz";
    reply.code = s_code;
    if (s_code == HL_OK)
        reply.json = (char *) s_text;
    else {
        reply.error = (char *) s_text;
        if (s_code == HL_CONFLICT) {
            char *allowed [2] = { (char *) s_text, "close" };
            reply.n_allowed = 2;
            reply.allowed = allowed;
        }
    }
    Hotline__Envelope env = HOTLINE__ENVELOPE__INIT;
    env.body_case = HOTLINE__ENVELOPE__BODY_REPLY;
    env.reply = &reply;
    zframe_t *frame = hl_msg_encode (&env);
    //  What the real client does with a frame: strict decoding, a reply
    Hotline__Envelope *decoded = hl_msg_decode (zframe_data (frame), zframe_size (frame), NULL);
    zframe_destroy (&frame);
    if (decoded && decoded->body_case != HOTLINE__ENVELOPE__BODY_REPLY)
        hl_msg_free (&decoded);
    return decoded;
}

static void
s_dates (const char *text)
{
    int64_t ms = 0;
    char why [200] = "";
    if (hl_clock_parse_reason (text, &ms, why, sizeof why) == 0) {
        char buf [48];
        hl_clock_format (ms, buf, sizeof buf);
        int64_t again = -1;
        //  Formatting drops the seconds; parsing it back gives the minute
        FUZZ_CHECK (hl_clock_parse (buf, &again) == 0);
        int64_t minute = ms - (((ms % 60000) + 60000) % 60000);
        FUZZ_CHECK (again == minute);
        //  ISO 8601 with the offset: the same second, and it names the
        //  instant, so another zone reads it the same (Vietnam's history
        //  has clock changes; an offset makes them irrelevant)
        int64_t second = ms - (((ms % 1000) + 1000) % 1000);
        hl_clock_format_iso (ms, buf, sizeof buf);
        FUZZ_CHECK (hl_clock_parse (buf, &again) == 0 && again == second);
        char error [256];
        FUZZ_CHECK (hl_clock_set_zone (HL_CLOCK_ZONE_DEFAULT, error, sizeof error) == 0);
        FUZZ_CHECK (hl_clock_parse (buf, &again) == 0 && again == second);
        FUZZ_CHECK (hl_clock_set_zone ("UTC", error, sizeof error) == 0);
    }
    else
        FUZZ_CHECK (*why && strlen (why) < sizeof why && hl_utf8_valid (why, strlen (why)));
    ms = -1;
    if (hl_clock_parse_duration (text, &ms) == 0)
        FUZZ_CHECK (ms >= 0 && ms <= 1000000000LL * 86400000LL);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static bool init = false;
    if (!init) {
        fuzz_quiet ();
        //  A zone without transitions: a repeated local hour (a clock set
        //  back) parses to either instant, which is not a bug. The CLI
        //  takes the node's zone from its first ping: answer it here, so
        //  every later input runs in UTC too
        char error [256];
        FUZZ_CHECK (hl_clock_set_zone ("UTC", error, sizeof error) == 0);
        cli_t first;
        memset (&first, 0, sizeof first);
        first.endpoint = "inproc://fuzz";
        first.actor = "officer:fuzz";
        first.tries = 1;
        s_code = HL_OK;
        s_text = "{\"node\":\"fuzz\",\"timezone\":\"UTC\"}";
        FUZZ_CHECK (cli_zone (&first, false) == CLI_OK);
        init = true;
    }
    if (size < 2)
        return 0;
    uint8_t mode = data [0] % 8;
    static const int codes [] = { HL_OK, HL_OK, HL_OK, HL_OK, HL_OK, HL_OK, HL_OK, HL_OK,
                                  HL_BAD_INPUT, HL_NOT_FOUND, HL_CONFLICT, HL_UNAVAILABLE };
    s_code = codes [data [1] % (sizeof codes / sizeof codes [0])];
    char *text = (char *) malloc (size - 1);
    memcpy (text, data + 2, size - 2);
    text [size - 2] = 0;
    s_text = text;

    cli_t cli;
    memset (&cli, 0, sizeof cli);
    cli.endpoint = "inproc://fuzz";
    cli.actor = "officer:fuzz";
    cli.timeout_ms = 1;
    cli.tries = 1;
    int rc = CLI_OK;
    char *show [] = { "31001-2026-000001", "--json", NULL };
    char *list [] = { "--json", NULL };
    char *report [] = { "--from", "2026-01-01", "--to", "2026-12-31", "--format", "text", NULL };
    switch (mode) {
        case 0: s_dates (text); break;
        case 1: rc = cli_show (&cli, 1, show); break;
        case 2: rc = cli_show (&cli, 2, show); break;
        case 3: rc = cli_list (&cli, 0, list); break;
        case 4: rc = cli_list (&cli, 1, list); break;
        case 5: rc = cli_report (&cli, 6, report); break;
        case 6: report [5] = "csv"; rc = cli_report (&cli, 6, report); break;
        case 7: report [5] = "json"; rc = cli_report (&cli, 6, report); break;
    }
    FUZZ_CHECK (rc == CLI_OK || rc == CLI_BAD_INPUT || rc == CLI_UNAVAILABLE);
    fflush (stdout);
    free (text);
    return 0;
}
