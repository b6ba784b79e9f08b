/*  hotline-archive — see archive.h
 *
 *      hotline-archive [-c CONFIG] [-v]
 *      hotline-archive --selftest [-v]     run the archive's class selftests
 *                                          (from the source tree root)
 */
#include "hotline.h"
#include "archive.h"
#include "federation.h"
#include "federation_guard.h"

int
main (int argc, char *argv [])
{
    if (argc > 1 && streq (argv [1], "--selftest")) {
        bool verbose = argc > 2 && streq (argv [2], "-v");
        zsys_init ();
        hl_log_init ("archive");
        federation_guard_test (verbose);
        federation_test (verbose);
        return 0;
    }
    hl_service_t *service = hl_service_new ("archive", argc, argv);
    if (!service)
        return 2;
    archive_t *archive = archive_new (service);
    if (!archive) {
        hl_service_destroy (&service);
        return 1;
    }
    hl_service_run (service);
    archive_destroy (&archive);
    hl_service_destroy (&service);
    return 0;
}
