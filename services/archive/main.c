/*  hotline-archive — see archive.h  */
#include "hotline.h"
#include "archive.h"

int
main (int argc, char *argv [])
{
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
