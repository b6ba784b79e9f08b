/*  fuzz_config — libFuzzer harness for the node configuration file.
 *
 *  Each input is written to a file and loaded with hl_config_load (czmq's
 *  ZPL parser). Whatever the input, loading either fails (NULL) or gives a
 *  configuration every reader can walk: each key any service reads, as
 *  text and as an integer, the relative-path resolution, and the lists
 *  (focal points, contacts) walked the way intake and the archive do.
 *
 *  Invariants: a value read is a NUL-terminated string (or the default);
 *  hl_config_int agrees with strtoll on the text; hl_config_resolve of a
 *  relative path is under the file's directory.
 */
#include "fuzz.h"

static char s_path [300];

//  Every key some service reads (grep hl_config_get / hl_config_int)
static const char *s_keys [] = {
    "node/role", "node/name", "node/ward_code", "node/ward_name", "node/city", "node/city_code",
    "node/case_prefix", "node/data_dir", "node/procedure", "node/base_port",
    "endpoints/intake", "endpoints/intake_feed", "endpoints/archive", "endpoints/archive_feed",
    "endpoints/federation", "endpoints/federation_return", "endpoints/city",
    "endpoints/city_return", "endpoints/notification", "endpoints/monitor",
    "endpoints/snapshot", "federation/plaintext", "federation/cert", "federation/city_cert",
    "federation/allow", "federation/forward_action", "federation/forward_variant",
    "notify/smtp_url", "notify/from", "notify/webhook_url", "notify/max_attempts",
    "notify/retry_ms", "notify/templates", "routing/rules", "deadlines/tick_ms",
    "report/verified_action", "report/accurate_variant", "report/on_time_deadline",
    "contacts/leaders", "contacts/division_head", "contacts/department",
    "", "/", "node/", "a/b/c/d/e/f/g", NULL
};

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!*s_path) {
        fuzz_quiet ();
        snprintf (s_path, sizeof s_path, "%s/node.cfg", fuzz_tmpdir ("fuzz_config"));
    }
    FUZZ_CHECK (fuzz_write_file (s_path, data, size) == 0);
    hl_config_t *config = hl_config_load (s_path);
    if (!config)
        return 0;
    FUZZ_CHECK (streq (hl_config_path (config), s_path));
    for (int i = 0; s_keys [i]; i++) {
        const char *value = hl_config_get (config, s_keys [i], "dflt");
        FUZZ_CHECK (value);
        size_t len = strlen (value);
        (void) len;
        int64_t number = hl_config_int (config, s_keys [i], -7);
        const char *text = hl_config_get (config, s_keys [i], NULL);
        if (text) {
            char *end;
            long long parsed = strtoll (text, &end, 10);
            if (end != text && !*end)
                FUZZ_CHECK (number == parsed);
            else
                FUZZ_CHECK (number == -7);
        }
        else
            FUZZ_CHECK (number == -7);
    }
    //  Relative paths resolve under the file's directory
    const char *procedure = hl_config_get (config, "node/procedure", NULL);
    char *resolved = hl_config_resolve (config, procedure);
    if (procedure) {
        FUZZ_CHECK (resolved);
        if (*procedure != '/')
            FUZZ_CHECK (strncmp (resolved, fuzz_tmpdir ("fuzz_config"),
                                 strlen (fuzz_tmpdir ("fuzz_config"))) == 0);
    }
    free (resolved);
    //  Lists: focal points (intake's directory event, the archive's report)
    const char *keys [] = { "unit", "receiving_phone", "receiving_email",
                            "handling_phone", "handling_email", "note", NULL };
    const char *lists [] = { "focal_points", "contacts", "node", "endpoints", NULL };
    for (int l = 0; lists [l]; l++) {
        zconfig_t *item = hl_config_locate (config, lists [l]);
        size_t count = 0;
        for (item = item? zconfig_child (item): NULL; item && count < 1000; item = zconfig_next (item)) {
            FUZZ_CHECK (zconfig_name (item));
            for (int k = 0; keys [k]; k++)
                FUZZ_CHECK (zconfig_get (item, keys [k], ""));
            count++;
        }
    }
    hl_config_destroy (&config);
    return 0;
}
