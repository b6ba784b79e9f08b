/*  fuzz_templates — libFuzzer harness for the notification templates
 *  (services/notification/notify_templates.c, deploy/config/templates.conf):
 *  configuration loaded at start, and the renderer that puts case data
 *  (reported text: any valid UTF-8) into e-mails and SMS.
 *
 *  Input: [split byte] then bytes. The first part (split % 100 percent of
 *  the rest) is the templates file; the second is a value for every
 *  placeholder. A load either fails with "path:line: message" or finds
 *  templates by name; every template found (and the raw text of both
 *  parts) is rendered single-line and multi-line, capped and not.
 *
 *  Invariants of a rendering: with a cap of at least 3 bytes the result
 *  fits the cap; single-line output has no control characters; valid
 *  UTF-8 in gives valid UTF-8 out, whatever the cap cuts.
 */
#include "fuzz.h"
#include "notify_templates.h"

static char s_path [300];
static const char *s_value;

static const char *
s_value_fn (void *arg, const char *name)
{
    (void) arg;
    if (streq (name, "case_id"))
        return "31001-2026-000001";
    if (streq (name, "note"))
        return NULL;
    return s_value;
}

static void
s_render (const char *text)
{
    if (!text)
        return;
    bool valid = hl_utf8_valid (text, strlen (text)) && hl_utf8_valid (s_value, strlen (s_value));
    static const size_t caps [] = { 0, 3, 4, 5, 70, 160, 998 };
    for (int single = 0; single < 2; single++)
        for (size_t c = 0; c < sizeof caps / sizeof caps [0]; c++) {
            char *out = notify_templates_render (text, s_value_fn, NULL, single, caps [c]);
            FUZZ_CHECK (out);
            size_t len = strlen (out);
            if (caps [c] >= 3)
                FUZZ_CHECK (len <= caps [c]);
            if (single)
                for (const unsigned char *p = (const unsigned char *) out; *p; p++)
                    FUZZ_CHECK (*p >= 0x20 || *p == '\t');
            if (valid)
                FUZZ_CHECK (hl_utf8_valid (out, len));
            free (out);
        }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!*s_path) {
        fuzz_quiet ();
        snprintf (s_path, sizeof s_path, "%s/templates.conf", fuzz_tmpdir ("fuzz_templates"));
    }
    if (size < 1)
        return 0;
    size_t rest = size - 1;
    size_t split = rest * (data [0] % 100) / 100;
    if (data [0] >= 100)
        split = rest;           //  mostly: the whole input is the file
    const uint8_t *file = data + 1;
    char *value = (char *) malloc (rest - split + 1);
    memcpy (value, data + 1 + split, rest - split);
    value [rest - split] = 0;
    s_value = value;

    FUZZ_CHECK (fuzz_write_file (s_path, file, split) == 0);
    char err [512];
    err [0] = 0;
    notify_templates_t *templates = notify_templates_load (s_path, err, sizeof err);
    if (templates) {
        static const char *names [] = { "intake", "forwarded", "warning", "breach", "result",
                                        "verified", NULL };
        static const char *recipients [] = { "leaders", "division_head", "department",
                                             "assignee", "reporter", NULL };
        for (int n = 0; names [n]; n++)
            for (int r = 0; recipients [r]; r++) {
                const notify_template_t *tmpl = notify_templates_find (templates, names [n],
                                                                       recipients [r]);
                if (tmpl) {
                    FUZZ_CHECK (tmpl->name && tmpl->subject);
                    s_render (tmpl->subject);
                    s_render (tmpl->sms);
                    s_render (tmpl->body);
                    const char *allowed [] = { "case_id", "state", NULL };
                    notify_templates_uses_other (tmpl, allowed);
                }
            }
        notify_templates_label (templates, "regime.urgent");
        notify_templates_destroy (&templates);
    }
    else
        FUZZ_CHECK (strncmp (err, s_path, strlen (s_path)) == 0 && err [strlen (s_path)] == ':');
    //  The raw text as a template
    char *raw = (char *) malloc (split + 1);
    memcpy (raw, file, split);
    raw [split] = 0;
    s_render (raw);
    free (raw);
    free (value);
    return 0;
}
