/*  hl_config — a node's configuration file (ZPL, czmq's zconfig format).
 *
 *  Values are addressed by path, e.g. "node/ward_code" or "endpoints/intake".
 *  Twelve-factor: the environment variable HOTLINE_<PATH> (upper case, '/'
 *  replaced by '_', e.g. HOTLINE_ENDPOINTS_INTAKE) overrides the file.
 *  See deploy/config/ward-31001.cfg for every key, documented, and the
 *  table hl_config_keys below.
 */
#ifndef HL_CONFIG_H_INCLUDED
#define HL_CONFIG_H_INCLUDED

typedef struct _hl_config_t hl_config_t;

//  Load path; if path is NULL use $HOTLINE_CONFIG; if that is unset too, an
//  empty configuration (all defaults). NULL if the file cannot be read or
//  parsed (message on stderr).
hl_config_t *hl_config_load (const char *path);
void hl_config_destroy (hl_config_t **self_p);
//  Value at path (env override first), or dflt.
const char *hl_config_get (hl_config_t *self, const char *path, const char *dflt);
int64_t hl_config_int (hl_config_t *self, const char *path, int64_t dflt);
//  The zconfig item at path, or NULL (for lists such as focal points).
zconfig_t *hl_config_locate (hl_config_t *self, const char *path);
//  Path of the file loaded ("" if none)
const char *hl_config_path (hl_config_t *self);
//  Resolve a path from the configuration relative to the config file's
//  directory (absolute paths pass through). Caller frees.
char *hl_config_resolve (hl_config_t *self, const char *file);
//  Where a configuration file is, the one rule for every service: the file
//  key names (resolved as above); if key is not set, name beside the
//  procedure (node/procedure), so a node's files travel together; if that is
//  not set either, name in deploy/config/ when this runs in a source tree
//  (deploy/config/procedure.conf exists: `make run`, the tests), else in
//  /etc/hotline/ (installed). Caller frees.
char *hl_config_file (hl_config_t *self, const char *key, const char *name);

//  The table of every key read (hl_config_keys.c), ending with a NULL path:
//  "section/key" or "section/*" (a family: endpoints/NAME, contacts/NAME),
//  its default as text ("" none or derived) and one line of documentation.
//  deploy/config/ward-31001.cfg documents each; tests/integration/
//  test_config_keys.py fails when code reads a key missing from either.
typedef struct {
    const char *path;
    const char *dflt;
    const char *doc;
} hl_config_key_t;
extern const hl_config_key_t hl_config_keys [];
//  The table's entry for path (a family's for a name in it), or NULL
const hl_config_key_t *hl_config_key (const char *path);

void hl_config_test (bool verbose);
#endif
