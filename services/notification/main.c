/*  hotline-notification — see notification.h
 *
 *      hotline-notification [-c CONFIG] [-v]
 *      hotline-notification --selftest [-v]     run this service's class selftests
 *                                               (from the source tree root)
 */
#include "hotline.h"
#include "notify_templates.h"
#include "notify_sender.h"
#include "notify_outbox.h"
#include "notification.h"

int
main (int argc, char *argv [])
{
    if (argc > 1 && streq (argv [1], "--selftest")) {
        bool verbose = argc > 2 && streq (argv [2], "-v");
        zsys_init ();
        hl_log_init ("notification");
        notify_templates_test (verbose);
        notify_sender_test (verbose);
        notify_outbox_test (verbose);
        notification_test (verbose);
        return 0;
    }
    hl_service_t *service = hl_service_new ("notification", argc, argv);
    if (!service)
        return 2;
    notification_t *notification = notification_new (service);
    if (!notification) {
        hl_service_destroy (&service);
        return 1;
    }
    hl_service_run (service);
    notification_destroy (&notification);
    hl_service_destroy (&service);
    return 0;
}
