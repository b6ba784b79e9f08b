/*  hotline-deadline-watcher — see watcher.h
 *
 *      hotline-deadline-watcher [-c CONFIG] [-v]
 *      hotline-deadline-watcher --selftest [-v]    test the firing heap
 */
#include "hotline.h"
#include "watcher.h"
#include "heap.h"

int
main (int argc, char *argv [])
{
    if (argc > 1 && streq (argv [1], "--selftest")) {
        hl_log_init ("deadline-watcher");
        firing_heap_test (argc > 2 && streq (argv [2], "-v"));
        return 0;
    }
    hl_service_t *service = hl_service_new ("deadline-watcher", argc, argv);
    if (!service)
        return 2;
    watcher_t *watcher = watcher_new (service);
    if (!watcher) {
        hl_service_destroy (&service);
        return 2;
    }
    hl_service_run (service);
    watcher_destroy (&watcher);
    hl_service_destroy (&service);
    return 0;
}
