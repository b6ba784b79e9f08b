/*  cli_watch — hotline watch: the city's live aggregated stream, in order.
 *
 *      hotline watch [--monitor E] [--snapshot E] [--from SEQ] [--ward W]
 *                    [--json] [--count N] [--idle-exit SECONDS]
 *
 *  Follows the city's monitor (PUB) and snapshot (ROUTER) endpoints through
 *  hl_clone: every event once, in city-log order, redacted. Without --from
 *  it starts at the head (new events only); --from 1 replays the whole log.
 *  Exits 0 after --count events, after --idle-exit seconds without one, or
 *  on Ctrl-C; 2 on bad input; 3 if it exits without ever reaching the city.
 */
#include "hotline.h"
#include "hl_clone.h"
#include "cli.h"
#include <inttypes.h>

#define S_DEFAULT_MONITOR   "tcp://127.0.0.1:7008"
#define S_DEFAULT_SNAPSHOT  "tcp://127.0.0.1:7009"
#define S_SLICE_MS          500     //  wait per call, for idle and Ctrl-C
#define S_WAITING_NOTE_MS   5000    //  say so when the city is silent

typedef struct {
    const char *monitor;
    const char *snapshot;
    const char *from;
    const char *ward;
    const char *count;
    const char *idle_exit;
    bool json;
} s_watch_opts_t;

static int
s_bad (const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    fprintf (stderr, "hotline watch: ");
    vfprintf (stderr, fmt, args);
    fprintf (stderr, "\n");
    va_end (args);
    return CLI_BAD_INPUT;
}

static int
s_parse (s_watch_opts_t *opts, int argc, char **argv)
{
    memset (opts, 0, sizeof *opts);
    opts->monitor = S_DEFAULT_MONITOR;
    opts->snapshot = S_DEFAULT_SNAPSHOT;
    for (int i = 0; i < argc; i++) {
        const char *word = argv [i];
        if (streq (word, "--json")) {
            opts->json = true;
            continue;
        }
        const char **slot = NULL;
        if (streq (word, "--monitor"))
            slot = &opts->monitor;
        else
        if (streq (word, "--snapshot"))
            slot = &opts->snapshot;
        else
        if (streq (word, "--from"))
            slot = &opts->from;
        else
        if (streq (word, "--ward"))
            slot = &opts->ward;
        else
        if (streq (word, "--count"))
            slot = &opts->count;
        else
        if (streq (word, "--idle-exit"))
            slot = &opts->idle_exit;
        else
        if (strncmp (word, "--", 2) == 0)
            return s_bad ("unknown option %s", word);
        else
            return s_bad ("unexpected argument '%s'", word);
        if (i + 1 >= argc)
            return s_bad ("%s needs a value", word);
        *slot = argv [++i];
    }
    return 0;
}

//  A whole positive number (1 .. 2^63)
static int
s_positive (const char *text, uint64_t *value)
{
    if (!text || !*text || strspn (text, "0123456789") != strlen (text) || strlen (text) > 19)
        return -1;
    *value = strtoull (text, NULL, 10);
    return *value >= 1? 0: -1;
}

static int
s_endpoint_ok (const char *endpoint)
{
    return strncmp (endpoint, "tcp://", 6) == 0 || strncmp (endpoint, "ipc://", 6) == 0
        || strncmp (endpoint, "inproc://", 9) == 0? 0: -1;
}

static void
s_print_line (uint64_t seq, const Hotline__Event *event)
{
    char when [32] = "-";
    if (event->at_ms)
        hl_clock_format (event->at_ms, when, sizeof when);
    char action [80];
    if (event->variant && *event->variant)
        snprintf (action, sizeof action, "%s/%s", event->action, event->variant);
    else
        snprintf (action, sizeof action, "%s", event->action);
    printf ("%-8" PRIu64 " %-16s %-8s %-19s %-22s %-24s %s -> %s\n", seq, when,
            *event->ward? event->ward: "-", *event->case_id? event->case_id: "-",
            *event->actor? event->actor: "-", *action? action: "-",
            *event->from_state? event->from_state: "-",
            *event->to_state? event->to_state: "-");
}

static void
s_print_json (uint64_t seq, const Hotline__Event *event)
{
    json_t *json = hl_event_to_json (event);
    hl_clock_json_times (json);     //  "at" beside "at_ms"
    //  "seq" is the position in the city's log (the stream's order);
    //  the position in the origin node's log stays as "origin_seq"
    json_object_set_new (json, "origin_seq", json_integer ((json_int_t) event->seq));
    json_object_set_new (json, "seq", json_integer ((json_int_t) seq));
    char *text = json_dumps (json, JSON_COMPACT | JSON_SORT_KEYS);
    if (text)
        puts (text);
    free (text);
    json_decref (json);
}

int
cli_watch (cli_t *cli, int argc, char **argv)
{
    s_watch_opts_t opts;
    if (s_parse (&opts, argc, argv))
        return CLI_BAD_INPUT;
    if (s_endpoint_ok (opts.monitor))
        return s_bad ("--monitor '%s' is not an endpoint (tcp://HOST:PORT)", opts.monitor);
    if (s_endpoint_ok (opts.snapshot))
        return s_bad ("--snapshot '%s' is not an endpoint (tcp://HOST:PORT)", opts.snapshot);
    uint64_t from = 0, count = 0;
    if (opts.from && s_positive (opts.from, &from))
        return s_bad ("--from '%s' is not a log position (1, 2, ...)", opts.from);
    if (opts.count && s_positive (opts.count, &count))
        return s_bad ("--count '%s' is not a positive number", opts.count);
    int64_t idle_ms = 0;
    if (opts.idle_exit) {
        char *end = NULL;
        double seconds = strtod (opts.idle_exit, &end);
        if (end == opts.idle_exit || *end || !(seconds > 0) || seconds > 1e7)
            return s_bad ("--idle-exit '%s' is not a number of seconds", opts.idle_exit);
        idle_ms = (int64_t) (seconds * 1000);
        if (idle_ms < 1)
            idle_ms = 1;
    }
    if (opts.ward && (!*opts.ward || strlen (opts.ward) > 10
                  ||  strspn (opts.ward, "0123456789") != strlen (opts.ward)))
        return s_bad ("--ward '%s' is not a ward code (digits)", opts.ward);

    //  Times in the node's zone, asked of the node named by --node or
    //  --endpoint before subscribing (a front door answers in a
    //  millisecond). Not of the built-in default endpoint: with --monitor
    //  alone nothing may answer there, and waiting for it would make this
    //  watcher join the stream late. Then HL_CLOCK_ZONE_DEFAULT.
    if (strneq (cli->endpoint, "tcp://127.0.0.1:7101"))
        cli_zone (cli, true);
    else {
        char error [256];
        hl_clock_set_zone (HL_CLOCK_ZONE_DEFAULT, error, sizeof error);
    }
    hl_clone_sub_t *sub = hl_clone_sub_new (opts.monitor, opts.snapshot,
                                            opts.from? from - 1: HL_CLONE_FROM_HEAD);
    if (!sub)
        return s_bad ("cannot connect to %s / %s", opts.monitor, opts.snapshot);
    uint64_t printed = 0;
    int64_t started = zclock_mono ();
    int64_t last_event = started;
    bool noted = false;
    int rc = CLI_OK;
    while (!zsys_interrupted && (!count || printed < count)) {
        uint64_t seq = 0;
        uint8_t *data = NULL;
        size_t size = 0;
        int wait = S_SLICE_MS;
        if (idle_ms) {
            int64_t left = last_event + idle_ms - zclock_mono ();
            if (left <= 0) {
                if (!hl_clone_sub_synced (sub)) {
                    fprintf (stderr, "hotline watch: the city at %s is not answering\n",
                             opts.snapshot);
                    rc = CLI_UNAVAILABLE;
                }
                break;
            }
            if (left < wait)
                wait = (int) left;
        }
        if (hl_clone_sub_next (sub, wait, &seq, &data, &size)) {
            if (!noted && !hl_clone_sub_synced (sub)
            &&  zclock_mono () - started >= S_WAITING_NOTE_MS) {
                fprintf (stderr, "hotline watch: waiting for the city at %s ...\n", opts.snapshot);
                noted = true;
            }
            continue;
        }
        last_event = zclock_mono ();
        const char *reason = "malformed";
        Hotline__Event *event = hotline__event__unpack (NULL, size, data);
        free (data);
        if (!event || hl_msg_check (&event->base, &reason)) {
            fprintf (stderr, "hotline watch: event %" PRIu64 " unreadable (%s), skipped\n",
                     seq, reason);
            if (event)
                hotline__event__free_unpacked (event, NULL);
            continue;
        }
        if (!opts.ward || streq (event->ward, opts.ward)) {
            if (opts.json)
                s_print_json (seq, event);
            else
                s_print_line (seq, event);
            fflush (stdout);
            printed++;
        }
        hotline__event__free_unpacked (event, NULL);
    }
    //  What it took: gaps found and repaired from the snapshot
    fprintf (stderr, "hotline watch: %" PRIu64 " event(s), last seq %" PRIu64 ", %" PRIu64
             " gap repair(s)\n", printed, hl_clone_sub_last (sub), hl_clone_sub_repairs (sub));
    hl_clone_sub_destroy (&sub);
    return rc;
}
