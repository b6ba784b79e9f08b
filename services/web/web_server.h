/*  web_server — the web service's HTTP server (libmicrohttpd): the JSON API,
 *  the static pages, and the service's own /metrics /healthz /readyz.
 *
 *  Config section web (defaults in brackets):
 *      threads             worker threads (MHD thread pool) [4]
 *      connection_limit    open connections in all [256]
 *      per_ip_limit        open connections from one address [32]
 *      timeout_s           idle seconds before a connection is dropped (no
 *                          slowloris hold) [30]
 *      max_body            request body bytes; more is 413, unread [1048576]
 *      header_memory       bytes of request line + headers per connection;
 *                          more is refused by libmicrohttpd [32768]
 *      max_headers         header lines per request; more is 431 [100]
 *      cert, key           PEM files: serve HTTPS (GnuTLS)
 *      insecure_http       1 lets it listen beyond loopback without TLS [0]
 *      root                the pages [services/web/static when present,
 *                          else /usr/share/hotline/web]
 *      vendor_dir          Debian's JavaScript [/usr/share/javascript]
 *  The CSP's img-src adds the map tiles' origin (web/tile_host, else the
 *  origin of web/tile_url: see web_api.h).
 *  It listens on bind/web, else endpoints/web (tcp://127.0.0.1:<base+10>).
 *
 *  Rules for callers:
 *  - web_server_new refuses (NULL, message on stderr) to listen beyond
 *    loopback without TLS unless web/insecure_http = 1; main exits 2.
 *  - Every answer carries the security headers (CSP, nosniff,
 *    no-referrer, frame-ancestors 'none'); API answers Cache-Control:
 *    no-store.
 *  - Static files: GET and HEAD only; the resolved path (realpath) must
 *    stay inside its folder, so "..", "%2e%2e" and symlinks cannot leave.
 *  - web_server_destroy stops the threads, each of which frees what
 *    web_api made for it.
 */
#ifndef WEB_SERVER_H_INCLUDED
#define WEB_SERVER_H_INCLUDED

typedef struct _web_server_t web_server_t;

web_server_t *web_server_new (hl_service_t *service, web_api_t *api);
void web_server_destroy (web_server_t **self_p);
//  The port it listens on
int web_server_port (web_server_t *self);

void web_server_test (bool verbose);
#endif
