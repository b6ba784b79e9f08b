/*  hotline-entrypoint — the container image's entrypoint (deploy/Dockerfile).
 *  Runs one Hotline service in the foreground as PID 1, so that the image
 *  needs no shell at all.
 *
 *      IMAGE intake [ARGS...]              the service as the first argument
 *      -e SERVICE=intake IMAGE [ARGS...]   or from $SERVICE (ARGS may be options)
 *      IMAGE hotline status                any other command runs as given
 *                                          (the CLI, find, ...)
 *
 *  A service runs as `hotline-SERVICE -c CONFIG ARGS...`: CONFIG is
 *  $HOTLINE_CONFIG_NAME (default ward-31001.cfg) in /etc/hotline, or the
 *  name itself when it is absolute. execvp replaces this process, so the
 *  service is PID 1: SIGTERM from `docker stop` reaches it, and its exit
 *  code is the container's.
 *
 *  Exit codes, when nothing ran: 64 no service, or an unknown one
 *  (EX_USAGE); 78 the config is not readable (EX_CONFIG); 126 the command
 *  cannot be run, 127 it does not exist (as a shell says).
 *
 *  The services are the Makefile's SERVICES (HL_SERVICES, given by make), so
 *  a new service is known here without an edit. Nothing to allocate, no
 *  library: this must work when nothing else does.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef HL_SERVICES
#   error "HL_SERVICES: the Makefile's SERVICES, e.g. -DHL_SERVICES='\"intake archive\"'"
#endif
#define S_CONFIG_DIR        "/etc/hotline"
#define S_CONFIG_DEFAULT    "ward-31001.cfg"
#define S_EX_USAGE          64
#define S_EX_CONFIG         78

static bool
s_is_service (const char *name)
{
    size_t len = strlen (name);
    const char *at = HL_SERVICES;
    while (*at) {
        at += strspn (at, " ");
        size_t word = strcspn (at, " ");
        if (word && word == len && strncmp (at, name, len) == 0)
            return true;
        at += word;
    }
    return false;
}

static int
s_compare (const void *a, const void *b)
{
    return strcmp (*(char * const *) a, *(char * const *) b);
}

//  What the operator could have meant: the *.cfg names in /etc/hotline
static void
s_list_configs (void)
{
    fprintf (stderr, "hotline-entrypoint: configs in " S_CONFIG_DIR ":");
    DIR *dir = opendir (S_CONFIG_DIR);
    char *names [64];
    size_t count = 0;
    struct dirent *entry;
    while (dir && count < 64 && (entry = readdir (dir)) != NULL) {
        size_t len = strlen (entry->d_name);
        if (entry->d_name [0] != '.' && len > 4 && strcmp (entry->d_name + len - 4, ".cfg") == 0)
            names [count++] = entry->d_name;
    }
    qsort (names, count, sizeof names [0], s_compare);
    for (size_t i = 0; i < count; i++)
        fprintf (stderr, " %s", names [i]);
    fprintf (stderr, "%s\n", count? "": " (none)");
    if (dir)
        closedir (dir);
}

//  Only returns when the exec failed: the exit code a shell would give
static int
s_exec (char **argv)
{
    execvp (argv [0], argv);
    int err = errno;
    fprintf (stderr, "hotline-entrypoint: cannot run '%s': %s\n", argv [0], strerror (err));
    return err == ENOENT || err == ENOTDIR? 127: 126;
}

int
main (int argc, char *argv [])
{
    const char *service = NULL;
    int first = 1;                          //  the service's own arguments
    if (argc > 1 && s_is_service (argv [1])) {
        service = argv [1];
        first = 2;
    }
    else
    if (argc > 1 && argv [1][0] != '-')
        //  Not a service and not an option: a command of its own
        return s_exec (argv + 1);
    else {
        service = getenv ("SERVICE");
        if (!service || !*service) {
            fprintf (stderr, "hotline-entrypoint: no service: set SERVICE or pass one of: %s\n",
                     HL_SERVICES);
            return S_EX_USAGE;
        }
        if (!s_is_service (service)) {
            fprintf (stderr, "hotline-entrypoint: unknown service '%s' (one of: %s)\n",
                     service, HL_SERVICES);
            return S_EX_USAGE;
        }
    }
    const char *name = getenv ("HOTLINE_CONFIG_NAME");
    if (!name || !*name)
        name = S_CONFIG_DEFAULT;
    char config [4096];
    if (snprintf (config, sizeof config, "%s%s", *name == '/'? "": S_CONFIG_DIR "/", name)
        >= (int) sizeof config) {
        fprintf (stderr, "hotline-entrypoint: HOTLINE_CONFIG_NAME is too long\n");
        return S_EX_CONFIG;
    }
    if (access (config, R_OK)) {
        fprintf (stderr, "hotline-entrypoint: config '%s' not readable: %s"
                 " (set HOTLINE_CONFIG_NAME or mount it)\n", config, strerror (errno));
        s_list_configs ();
        return S_EX_CONFIG;
    }
    char program [128];
    snprintf (program, sizeof program, "hotline-%s", service);
    //  hotline-SERVICE -c CONFIG, then the arguments given (and a NULL)
    char *args [argc + 4];
    int n = 0;
    args [n++] = program;
    args [n++] = "-c";
    args [n++] = config;
    for (int i = first; i < argc; i++)
        args [n++] = argv [i];
    args [n] = NULL;
    return s_exec (args);
}
