/*  hotline-intake — see intake.h  */
#include "hotline.h"
#include "intake.h"

int
main (int argc, char *argv [])
{
    hl_service_t *service = hl_service_new ("intake", argc, argv);
    if (!service)
        return 2;
    intake_t *intake = intake_new (service);
    if (!intake) {
        hl_service_destroy (&service);
        return 1;
    }
    hl_service_run (service);
    intake_destroy (&intake);
    hl_service_destroy (&service);
    return 0;
}
