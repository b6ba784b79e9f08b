/*  fuzz_rules — libFuzzer harness for the routing rules file
 *  (services/routing/rules.c, deploy/config/routing.conf): configuration
 *  the routing service loads at start, checked against the procedure.
 *
 *  Each input is written to a file and loaded. A load either fails with a
 *  "path:line: message" error or gives rules that decide every case: the
 *  harness asks them about every type x scope x sudden x urgent, with a
 *  few polluter categories and descriptions (Vietnamese text, and the
 *  input itself as a description), and the decision is always a variant
 *  the procedure has for action "route", with a reason intake accepts as
 *  the route command's argument. routing_fold is run on the raw
 *  input too: it never grows the text and keeps valid UTF-8 valid.
 */
#include "fuzz.h"
#include "rules.h"

static char s_path [300];
static hl_procedure_t *s_procedure;

static void
s_cleanup (void)
{
    hl_procedure_destroy (&s_procedure);
}

static void
s_decide (routing_rules_t *rules, const routing_facts_t *facts)
{
    //  As the routing service calls it (services/routing/routing.c)
    char reason [400];
    const char *variant = routing_rules_decide (rules, facts, reason, sizeof reason);
    FUZZ_CHECK (variant && *variant);
    FUZZ_CHECK (memchr (reason, 0, sizeof reason));
    //  The reason goes to intake as the route command's "reason" argument:
    //  intake takes at most HL_MAX_FIELD bytes of valid UTF-8 there
    const char *problem = hl_text_check (reason, HL_MAX_FIELD);
    if (problem) {
        char msg [600];
        int n = snprintf (msg, sizeof msg, "reason %s (%zu bytes): %s\n", problem, strlen (reason), reason);
        if (write (2, msg, (size_t) n)) {}
    }
    FUZZ_CHECK (problem == NULL);
    const char *states [64];
    size_t count = hl_procedure_states (s_procedure, states, 64);
    bool exists = false;
    for (size_t i = 0; i < count && !exists; i++) {
        const char *to = NULL;
        exists = hl_procedure_check (s_procedure, states [i], "route", variant, "system", &to)
                 != HL_NOT_FOUND;
    }
    FUZZ_CHECK (exists);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!*s_path) {
        fuzz_quiet ();
        snprintf (s_path, sizeof s_path, "%s/routing.conf", fuzz_tmpdir ("fuzz_rules"));
        char err [512];
        s_procedure = hl_procedure_load (FUZZ_ROOT "/deploy/config/procedure.conf", err, sizeof err);
        FUZZ_CHECK (s_procedure);
        atexit (s_cleanup);
    }
    //  The raw input through the case folding
    char *raw = (char *) malloc (size + 1);
    memcpy (raw, data, size);
    raw [size] = 0;
    char *folded = routing_fold (raw);
    FUZZ_CHECK (folded && strlen (folded) <= strlen (raw));
    if (hl_utf8_valid (raw, strlen (raw)))
        FUZZ_CHECK (hl_utf8_valid (folded, strlen (folded)));
    free (folded);

    FUZZ_CHECK (fuzz_write_file (s_path, data, size) == 0);
    char err [512];
    err [0] = 0;
    routing_rules_t *rules = routing_rules_load (s_path, s_procedure, err, sizeof err);
    if (!rules) {
        FUZZ_CHECK (strncmp (err, s_path, strlen (s_path)) == 0 && err [strlen (s_path)] == ':');
        free (raw);
        return 0;
    }
    static const char *types [] = { "waste_water", "air_emissions", "solid_waste", "noise",
                                    "odour", "soil", "other", "", NULL };
    static const char *scopes [] = { "within_ward", "several_wards", "beyond_city", "", NULL };
    static const char *categories [] = { "licensed_facility", "industrial_zone", "household", "", NULL };
    const char *descriptions [] = { "Nước thải màu đen từ KHU CÔNG NGHIỆP Đình Vũ",
                                    "ĐỐT RÁC, khói đen", raw, NULL };
    routing_facts_t facts;
    for (int t = 0; types [t]; t++)
        for (int s = 0; scopes [s]; s++)
            for (int flags = 0; flags < 4; flags++) {
                facts.type = types [t];
                facts.scope = scopes [s];
                facts.polluter_category = categories [(t + s) % 4];
                facts.description = descriptions [(t + flags) % 3];
                facts.sudden = flags & 1;
                facts.urgent = flags & 2;
                s_decide (rules, &facts);
            }
    routing_rules_count (rules);
    routing_rules_destroy (&rules);
    free (raw);
    return 0;
}
