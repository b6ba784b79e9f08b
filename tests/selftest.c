/*  hotline-selftest — runs the selftest of every class of the shared library.
 *  Usage: hotline-selftest [-v] [class ...]   (class: log, clock, store ...)
 *  Prints one line per class and a closing "N passed, N failed".
 */
#include "hotline.h"
#include <sys/wait.h>

typedef struct {
    const char *name;
    void (*test) (bool verbose);
} s_test_t;

static s_test_t s_tests [] = {
    { "alloc",     hl_alloc_test },
    { "log",       hl_log_test },
    { "clock",     hl_clock_test },
    { "store",     hl_store_test },
    { "config",    hl_config_test },
    { "msg",       hl_msg_test },
    { "report",    hl_report_test },
    { "client",    hl_client_test },
    { "lexer",     hl_lexer_test },
    { "procedure", hl_procedure_test },
    { "procedure_loader", hl_procedure_loader_test },
    { "procedure_meaning", hl_procedure_meaning_test },
    { "hop",       hl_hop_test },
    { "hop_sender",   hl_hop_sender_test },
    { "hop_receiver", hl_hop_receiver_test },
    { "service",   hl_service_test },
    { "deadline",  hl_deadline_test },
    { "consumer",  hl_consumer_test },
    { "clone",     hl_clone_test },
    { "metrics",   hl_metrics_test },
    { "keyring",   hl_keyring_test },
    { "accounts",  hl_accounts_test },
    { "evidence",  hl_evidence_test },
    { "jpeg",      hl_jpeg_test },
    { "public",    hl_public_test },
    { "areas",     hl_areas_test },
    { NULL, NULL }
};

int
main (int argc, char *argv [])
{
    bool verbose = false;
    int first = 1;
    if (argc > 1 && streq (argv [1], "-v")) {
        verbose = true;
        first = 2;
    }
    //  No zsys_init here: each class runs in a forked child that sets up
    //  (and tears down) its own czmq context, which keeps valgrind exact
    hl_log_init ("selftest");
    int passed = 0, failed = 0;
    for (s_test_t *test = s_tests; test->name; test++) {
        bool wanted = first >= argc;
        for (int i = first; i < argc; i++)
            if (streq (argv [i], test->name))
                wanted = true;
        if (!wanted)
            continue;
        //  Each class runs in its own process: an assert fails one class,
        //  not the run
        fflush (stdout);
        pid_t pid = fork ();
        if (pid == 0) {
            test->test (verbose);
            zsys_shutdown ();
            exit (0);
        }
        int status = 0;
        waitpid (pid, &status, 0);
        if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
            passed++;
        else {
            printf (" * %s: FAILED (status %d)\n", test->name, status);
            failed++;
        }
    }
    printf ("%d passed, %d failed\n", passed, failed);
    return failed? 1: 0;
}
