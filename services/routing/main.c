/*  hotline-routing — see routing.h
 *
 *      hotline-routing [-c CONFIG] [-v]
 *      hotline-routing --selftest [-v]     test the rules parser and matcher
 */
#include "hotline.h"
#include "routing.h"
#include "rules.h"

int
main (int argc, char *argv [])
{
    if (argc > 1 && streq (argv [1], "--selftest")) {
        hl_log_init ("routing");
        routing_rules_test (argc > 2 && streq (argv [2], "-v"));
        return 0;
    }
    hl_service_t *service = hl_service_new ("routing", argc, argv);
    if (!service)
        return 2;
    routing_t *routing = routing_new (service);
    if (!routing) {
        hl_service_destroy (&service);
        return 2;
    }
    hl_service_run (service);
    routing_destroy (&routing);
    hl_service_destroy (&service);
    return 0;
}
