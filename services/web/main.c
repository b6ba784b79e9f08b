/*  hotline-web — the officer's web console and JSON API (see web_api.h,
 *  web_server.h and API.md).
 *
 *      hotline-web [-c CONFIG] [-v]                 serve
 *      hotline-web [-c CONFIG] --init-admin FILE    if web.db has no users, add
 *                                                   "admin" with a random password
 *                                                   and write both to FILE (0600)
 *      hotline-web --selftest [-v]                  the classes' selftests
 *
 *  Exit codes: 0, 1 (could not start), 2 (bad configuration, or plain HTTP
 *  beyond loopback without web/insecure_http).
 */
#include "hotline.h"
#include "web_api.h"
#include "web_server.h"
#include "web_request.h"
#include "web_cases.h"
#include "web_report.h"
#include "web_admin.h"
#include "web_stream.h"
#include "web_wards.h"
#include "web_multipart.h"
#include "web_public.h"
#include "web_xml.h"
#include "web_open311.h"
#include "web_filing.h"

static void
s_refresh (void *arg)
{
    web_api_t *api = (web_api_t *) arg;
    int sessions = web_api_session_count (api);
    if (sessions >= 0)
        hl_metrics_set (hl_metrics_default (), "hotline_web_sessions", sessions);
}

int
main (int argc, char *argv [])
{
    //  Our own options, before hl_service's
    const char *init_admin = NULL;
    char *args [argc + 1];
    int nargs = 0;
    for (int i = 0; i < argc; i++) {
        if (streq (argv [i], "--selftest")) {
            bool verbose = i + 1 < argc && streq (argv [i + 1], "-v");
            web_request_test (verbose);
            web_api_test (verbose);
            web_cases_test (verbose);
            web_report_test (verbose);
            web_admin_test (verbose);
            web_server_test (verbose);
            web_stream_test (verbose);
            web_wards_test (verbose);
            web_multipart_test (verbose);
            web_public_test (verbose);
            web_xml_test (verbose);
            web_open311_test (verbose);
            web_filing_test (verbose);
            return 0;
        }
        if (streq (argv [i], "--init-admin") && i + 1 < argc)
            init_admin = argv [++i];
        else
            args [nargs++] = argv [i];
    }
    args [nargs] = NULL;
    hl_service_t *service = hl_service_new ("web", nargs, args);
    if (!service)
        return 2;
    web_api_t *api = web_api_new (service);
    if (!api) {
        hl_service_destroy (&service);
        return 2;
    }
    if (init_admin) {
        int rc = web_admin_init (api, init_admin);
        if (rc == 0)
            printf ("hotline-web: first admin written to %s\n", init_admin);
        else
        if (rc == 1)
            printf ("hotline-web: users exist already; %s not written\n", init_admin);
        web_api_destroy (&api);
        hl_service_destroy (&service);
        return rc < 0? 1: 0;
    }
    //  The city's live stream and dashboard (web_stream.h, web_wards.h)
    web_stream_t *stream = NULL;
    if (web_wards_init (service)
    ||  (web_api_city (api) && !(stream = web_stream_new (service)))) {
        web_wards_shutdown ();
        web_api_destroy (&api);
        hl_service_destroy (&service);
        return 2;
    }
    web_server_t *server = web_server_new (service, api);
    if (!server) {
        web_stream_destroy (&stream);
        web_wards_shutdown ();
        web_api_destroy (&api);
        hl_service_destroy (&service);
        return 2;
    }
    hl_metrics_add (hl_service_metrics (service), "hotline_web_login_failures_total", 0);
    hl_metrics_on_refresh (hl_service_metrics (service), s_refresh, api);
    hl_service_run (service);
    web_stream_stop (stream);
    web_server_destroy (&server);
    web_stream_destroy (&stream);
    web_wards_shutdown ();
    web_api_destroy (&api);
    hl_service_destroy (&service);
    return 0;
}
