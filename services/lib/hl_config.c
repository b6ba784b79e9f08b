/*  hl_config — a node's configuration file (ZPL) with environment overrides.  */
#include "hotline.h"

struct _hl_config_t {
    zconfig_t *root;
    char *path;
    char *dir;                  //  directory of the file, for relative paths
    zhashx_t *env_values;       //  keeps getenv results stable per path
};

hl_config_t *
hl_config_load (const char *path)
{
    if (!path)
        path = getenv ("HOTLINE_CONFIG");
    hl_config_t *self = (hl_config_t *) zmalloc (sizeof (hl_config_t));
    self->env_values = zhashx_new ();
    if (path && *path) {
        if (!zsys_file_exists (path)) {
            fprintf (stderr, "hotline: configuration file %s not found\n", path);
            hl_config_destroy (&self);
            return NULL;
        }
        //  Not zconfig_load: it leaks its file handle when the text does
        //  not parse (czmq 4.2.1)
        zchunk_t *chunk = zchunk_slurp (path, 0);
        self->root = chunk? zconfig_chunk_load (chunk): NULL;
        zchunk_destroy (&chunk);
        if (!self->root) {
            fprintf (stderr, "hotline: cannot parse configuration file %s (ZPL syntax)\n", path);
            hl_config_destroy (&self);
            return NULL;
        }
        self->path = hl_strdup (path);
        self->dir = hl_strdup (path);
        char *slash = strrchr (self->dir, '/');
        if (slash)
            *slash = 0;
        else
            strcpy (self->dir, ".");
    }
    else {
        self->root = zconfig_new ("root", NULL);
        self->path = hl_strdup ("");
        self->dir = hl_strdup (".");
    }
    return self;
}

void
hl_config_destroy (hl_config_t **self_p)
{
    assert (self_p);
    hl_config_t *self = *self_p;
    if (self) {
        zconfig_destroy (&self->root);
        zhashx_destroy (&self->env_values);
        free (self->path);
        free (self->dir);
        free (self);
        *self_p = NULL;
    }
}

const char *
hl_config_get (hl_config_t *self, const char *path, const char *dflt)
{
    char name [128] = "HOTLINE_";
    size_t len = strlen (name);
    for (const char *p = path; *p && len < sizeof name - 1; p++)
        name [len++] = *p == '/' || *p == '-'? '_': (char) toupper ((unsigned char) *p);
    name [len] = 0;
    const char *value = getenv (name);
    if (value)
        return value;
    value = zconfig_get (self->root, path, NULL);
    if (value && *value)
        return value;
    return dflt;
}

int64_t
hl_config_int (hl_config_t *self, const char *path, int64_t dflt)
{
    const char *value = hl_config_get (self, path, NULL);
    if (!value)
        return dflt;
    char *end;
    long long number = strtoll (value, &end, 10);
    if (end == value || *end)
        return dflt;
    return number;
}

zconfig_t *
hl_config_locate (hl_config_t *self, const char *path)
{
    return zconfig_locate (self->root, path);
}

const char *
hl_config_path (hl_config_t *self)
{
    return self->path;
}

char *
hl_config_resolve (hl_config_t *self, const char *file)
{
    if (!file)
        return NULL;
    if (*file == '/' || !*self->path)
        return hl_strdup (file);
    return zsys_sprintf ("%s/%s", self->dir, file);
}

char *
hl_config_file (hl_config_t *self, const char *key, const char *name)
{
    const char *configured = hl_config_get (self, key, NULL);
    if (configured)
        return hl_config_resolve (self, configured);
    if (strneq (key, "node/procedure")) {
        char *procedure = hl_config_file (self, "node/procedure", "procedure.conf");
        char *slash = strrchr (procedure, '/');
        char *path = slash? zsys_sprintf ("%.*s/%s", (int) (slash - procedure), procedure, name)
                          : hl_strdup (name);
        assert (path);
        free (procedure);
        return path;
    }
    //  The working directory decides only when nothing is configured
    char *path = zsys_sprintf ("%s/%s", zsys_file_exists ("deploy/config/procedure.conf")?
                               "deploy/config": "/etc/hotline", name);
    assert (path);
    return path;
}

void
hl_config_test (bool verbose)
{
    printf (" * hl_config: ");
    char path [] = "/tmp/hl_config_XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0);
    const char *text =
        "# test node\n"
        "node\n"
        "    name = ward-anbien\n"
        "    ward_code = 31001\n"
        "    ward_name = \"Phường An Biên\"\n"
        "    procedure = procedure.conf\n"
        "endpoints\n"
        "    intake = tcp://127.0.0.1:7101\n";
    assert (write (fd, text, strlen (text)) == (ssize_t) strlen (text));
    close (fd);
    hl_config_t *config = hl_config_load (path);
    assert (config);
    assert (streq (hl_config_get (config, "node/ward_code", ""), "31001"));
    assert (streq (hl_config_get (config, "node/ward_name", ""), "Phường An Biên"));
    assert (streq (hl_config_get (config, "node/missing", "x"), "x"));
    assert (hl_config_int (config, "node/ward_code", 0) == 31001);
    setenv ("HOTLINE_ENDPOINTS_INTAKE", "tcp://10.0.0.1:1", 1);
    assert (streq (hl_config_get (config, "endpoints/intake", ""), "tcp://10.0.0.1:1"));
    unsetenv ("HOTLINE_ENDPOINTS_INTAKE");
    assert (streq (hl_config_get (config, "endpoints/intake", ""), "tcp://127.0.0.1:7101"));
    char *resolved = hl_config_resolve (config, hl_config_get (config, "node/procedure", NULL));
    assert (streq (resolved, "/tmp/procedure.conf"));
    free (resolved);
    //  Configuration files: the key's, else beside the procedure
    resolved = hl_config_file (config, "node/procedure", "procedure.conf");
    assert (streq (resolved, "/tmp/procedure.conf"));
    free (resolved);
    resolved = hl_config_file (config, "routing/rules", "routing.conf");
    assert (streq (resolved, "/tmp/routing.conf"));
    free (resolved);
    resolved = hl_config_file (config, "node/name", "ignored.conf");
    assert (streq (resolved, "/tmp/ward-anbien"));
    free (resolved);
    hl_config_destroy (&config);
    unlink (path);
    assert (hl_config_load ("/nonexistent.cfg") == NULL);
    config = hl_config_load ("");
    assert (config && streq (hl_config_get (config, "node/name", "dflt"), "dflt"));
    //  Nothing configured: the source tree's deploy/config (the selftest
    //  runs at the top of the tree), else /etc/hotline
    resolved = hl_config_file (config, "routing/rules", "routing.conf");
    assert (streq (resolved, zsys_file_exists ("deploy/config/procedure.conf")?
                   "deploy/config/routing.conf": "/etc/hotline/routing.conf"));
    free (resolved);
    hl_config_destroy (&config);

    //  The table of keys: one entry per path, each documented; families
    //  match the names below them, and nothing else
    for (const hl_config_key_t *key = hl_config_keys; key->path; key++) {
        assert (key->dflt && key->doc && *key->doc);
        assert (hl_config_key (key->path) == key);
    }
    assert (streq (hl_config_key ("notify/workers")->dflt, "1"));
    assert (streq (hl_config_key ("endpoints/intake")->path, "endpoints/*"));
    assert (streq (hl_config_key ("endpoints/city")->path, "endpoints/city"));
    assert (streq (hl_config_key ("contacts/staff/lan")->path, "contacts/*"));
    assert (hl_config_key ("endpoints/") == NULL);
    assert (hl_config_key ("endpoints") == NULL);
    assert (hl_config_key ("notify/nope") == NULL);
    assert (hl_config_key (NULL) == NULL);
    if (verbose)
        printf ("(%s) ", path);
    printf ("OK\n");
}
