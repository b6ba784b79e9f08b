/*  notify_sender — one message, one channel, in a worker thread.
 *  See notify_sender.h.
 */
#include "hotline.h"
#include "notify_sender.h"
#include <curl/curl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <fcntl.h>
#include <poll.h>

struct _notify_sender_t {
    zactor_t *actor;
};

// ---------------------------------------------------------------- encoding

static const char s_b64 [] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

//  Base64 of data into out (no line breaks)
static void
s_base64 (zchunk_t *out, const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < size; i += 3) {
        uint32_t n = (uint32_t) data [i] << 16;
        if (i + 1 < size)
            n |= (uint32_t) data [i + 1] << 8;
        if (i + 2 < size)
            n |= data [i + 2];
        char quad [4] = {
            s_b64 [(n >> 18) & 63], s_b64 [(n >> 12) & 63],
            i + 1 < size? s_b64 [(n >> 6) & 63]: '=',
            i + 2 < size? s_b64 [n & 63]: '='
        };
        zchunk_extend (out, quad, 4);
    }
}

static bool
s_plain_ascii (const char *text)
{
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        if (*p < 0x20 || *p >= 0x7f)
            return false;
    //  "=?" would read as an encoded word
    return strstr (text, "=?") == NULL;
}

char *
notify_sender_rfc2047 (const char *text)
{
    if (s_plain_ascii (text))
        return hl_strdup (text);
    //  Encoded words of at most 36 bytes of text (48 base64 characters, a
    //  60 character word), cut at character boundaries, folded CRLF SP.
    zchunk_t *out = zchunk_new (NULL, strlen (text) * 2 + 32);
    const uint8_t *p = (const uint8_t *) text;
    size_t left = strlen (text);
    bool first = true;
    while (left) {
        size_t take = left < 36? left: 36;
        //  Prefer to end a word just after a space: decoders that wrongly
        //  keep the folding whitespace between words then add a space
        //  between two words of text, not inside a word
        size_t space = take;
        while (take < left && space > 12 && p [space - 1] != ' ')
            space--;
        if (take < left && space > 12)
            take = space;
        while (take < left && take > 0 && (p [take] & 0xC0) == 0x80)
            take--;
        if (take == 0)
            take = left < 36? left: 36;
        if (!first)
            zchunk_extend (out, "\r\n ", 3);
        zchunk_extend (out, "=?UTF-8?B?", 10);
        s_base64 (out, p, take);
        zchunk_extend (out, "?=", 2);
        p += take;
        left -= take;
        first = false;
    }
    zchunk_extend (out, "", 1);
    char *result = hl_strdup ((char *) zchunk_data (out));
    zchunk_destroy (&out);
    return result;
}

//  Header-safe copy: drop CR, LF and other controls
static void
s_header_safe (char *text)
{
    for (char *p = text; *p; p++)
        if ((unsigned char) *p < 0x20 || *p == 0x7f)
            *p = ' ';
}

//  Message-ID left part: RFC 5322 dot-atom-text (atext, single inner dots)
static void
s_atext (char *text)
{
    for (char *p = text; *p; p++) {
        bool dot_ok = *p == '.' && p != text && p [1] && p [1] != '.' && p [-1] != '_';
        if (!isalnum ((unsigned char) *p) && !strchr ("!#$%&'*+-/=?^_`{|}~", *p) && !dot_ok)
            *p = '_';
    }
}

char *
notify_sender_mime (const notify_sender_config_t *config, const notify_message_t *message,
                    time_t date)
{
    const char *from = config->from && *config->from? config->from: "hotline@localhost";
    const char *at = strrchr (from, '@');
    char domain [128];
    snprintf (domain, sizeof domain, "%s", at && at [1]? at + 1: "hotline.invalid");
    s_header_safe (domain);
    char *message_id = hl_strdup (message->key);
    s_atext (message_id);
    char *key = hl_strdup (message->key);
    s_header_safe (key);
    char *subject = hl_strdup (message->subject? message->subject: "");
    s_header_safe (subject);
    char *encoded_subject = notify_sender_rfc2047 (subject);
    char from_header [512];
    if (config->from_name && *config->from_name) {
        char *name = hl_strdup (config->from_name);
        s_header_safe (name);
        char *encoded_name = notify_sender_rfc2047 (name);
        //  A plain ASCII display name is quoted (it may hold a comma)
        if (s_plain_ascii (name) && !strchr (name, '"') && !strchr (name, '\\'))
            snprintf (from_header, sizeof from_header, "\"%s\" <%s>", name, from);
        else
            snprintf (from_header, sizeof from_header, "%s <%s>", encoded_name, from);
        free (encoded_name);
        free (name);
    }
    else
        snprintf (from_header, sizeof from_header, "<%s>", from);
    s_header_safe (from_header);
    char date_header [64];
    struct tm tm;
    localtime_r (&date, &tm);
    //  RFC 5322 date, English names whatever the locale
    static const char *days [] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char *months [] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    long offset = tm.tm_gmtoff / 60;
    snprintf (date_header, sizeof date_header, "%s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld",
              days [tm.tm_wday], tm.tm_mday, months [tm.tm_mon], tm.tm_year + 1900,
              tm.tm_hour, tm.tm_min, tm.tm_sec, offset < 0? '-': '+',
              labs (offset) / 60, labs (offset) % 60);
    char *to = hl_strdup (message->address);
    s_header_safe (to);
    char *case_id = hl_strdup (message->case_id? message->case_id: "");
    s_header_safe (case_id);

    zchunk_t *out = zchunk_new (NULL, 4096);
    char *head = zsys_sprintf (
        "Date: %s\r\n"
        "From: %s\r\n"
        "To: <%s>\r\n"
        "Subject: %s\r\n"
        "Message-ID: <%s@%s>\r\n"
        "X-Hotline-Key: %s\r\n"
        "X-Hotline-Case: %s\r\n"
        "Auto-Submitted: auto-generated\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n",
        date_header, from_header, to, encoded_subject, message_id, domain, key, case_id);
    zchunk_extend (out, head, strlen (head));
    zstr_free (&head);
    //  Body: LF -> CRLF (canonical text), then base64 in lines of 76
    const char *body = message->body? message->body: "";
    zchunk_t *canonical = zchunk_new (NULL, strlen (body) + 64);
    for (const char *p = body; *p; p++) {
        if (*p == '\n' && (p == body || p [-1] != '\r'))
            zchunk_extend (canonical, "\r", 1);
        zchunk_extend (canonical, p, 1);
    }
    zchunk_t *encoded = zchunk_new (NULL, zchunk_size (canonical) * 4 / 3 + 8);
    s_base64 (encoded, zchunk_data (canonical), zchunk_size (canonical));
    const char *b64 = (const char *) zchunk_data (encoded);
    size_t b64_size = zchunk_size (encoded);
    for (size_t i = 0; i < b64_size; i += 76) {
        zchunk_extend (out, b64 + i, b64_size - i < 76? b64_size - i: 76);
        zchunk_extend (out, "\r\n", 2);
    }
    zchunk_extend (out, "", 1);
    char *result = hl_strdup ((char *) zchunk_data (out));
    zchunk_destroy (&encoded);
    zchunk_destroy (&canonical);
    zchunk_destroy (&out);
    free (case_id);
    free (to);
    free (encoded_subject);
    free (subject);
    free (key);
    free (message_id);
    return result;
}

// ---------------------------------------------------------------- sending

typedef struct {
    const char *data;
    size_t size;
    size_t offset;
} s_upload_t;

static size_t
s_read (char *buffer, size_t size, size_t nitems, void *arg)
{
    s_upload_t *upload = (s_upload_t *) arg;
    size_t room = size * nitems;
    size_t left = upload->size - upload->offset;
    size_t take = left < room? left: room;
    memcpy (buffer, upload->data + upload->offset, take);
    upload->offset += take;
    return take;
}

static size_t
s_discard (char *data, size_t size, size_t nmemb, void *arg)
{
    (void) data; (void) arg;
    return size * nmemb;
}

static void
s_common (CURL *curl, const notify_sender_config_t *config, char *errbuf)
{
    long timeout = config->timeout_ms > 0? config->timeout_ms: 5000;
    curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT_MS, timeout);
    curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, errbuf);
    errbuf [0] = 0;
}

static int
s_send_email (const notify_sender_config_t *config, const notify_message_t *message,
              char *error, size_t size)
{
    if (!config->smtp_url || !*config->smtp_url) {
        snprintf (error, size, "e-mail is not configured (notify/smtp_url)");
        return -1;
    }
    char *mime = notify_sender_mime (config, message, time (NULL));
    s_upload_t upload = { mime, strlen (mime), 0 };
    CURL *curl = curl_easy_init ();
    if (!curl) {
        free (mime);
        snprintf (error, size, "curl_easy_init failed");
        return -1;
    }
    char errbuf [CURL_ERROR_SIZE];
    s_common (curl, config, errbuf);
    const char *from = config->from && *config->from? config->from: "hotline@localhost";
    char envelope_from [320], envelope_to [320];
    snprintf (envelope_from, sizeof envelope_from, "<%s>", from);
    snprintf (envelope_to, sizeof envelope_to, "<%s>", message->address);
    struct curl_slist *rcpt = curl_slist_append (NULL, envelope_to);
    curl_easy_setopt (curl, CURLOPT_URL, config->smtp_url);
    curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt (curl, CURLOPT_MAIL_FROM, envelope_from);
    curl_easy_setopt (curl, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt (curl, CURLOPT_READFUNCTION, s_read);
    curl_easy_setopt (curl, CURLOPT_READDATA, &upload);
    curl_easy_setopt (curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt (curl, CURLOPT_INFILESIZE, (long) upload.size);
    if (config->smtp_user && *config->smtp_user) {
        curl_easy_setopt (curl, CURLOPT_USERNAME, config->smtp_user);
        curl_easy_setopt (curl, CURLOPT_PASSWORD, config->smtp_password? config->smtp_password: "");
    }
    if (config->smtp_tls && streq (config->smtp_tls, "all"))
        curl_easy_setopt (curl, CURLOPT_USE_SSL, (long) CURLUSESSL_ALL);
    else
    if (config->smtp_tls && streq (config->smtp_tls, "try"))
        curl_easy_setopt (curl, CURLOPT_USE_SSL, (long) CURLUSESSL_TRY);
    CURLcode rc = curl_easy_perform (curl);
    long code = 0;
    curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &code);
    int result = 0;
    if (rc != CURLE_OK) {
        snprintf (error, size, "smtp: %s (last reply %ld)%s%s", curl_easy_strerror (rc), code,
                  *errbuf? ": ": "", errbuf);
        result = -1;
    }
    curl_slist_free_all (rcpt);
    curl_easy_cleanup (curl);
    free (mime);
    return result;
}

static int
s_send_webhook (const notify_sender_config_t *config, const notify_message_t *message,
                char *error, size_t size)
{
    if (!config->webhook_url || !*config->webhook_url) {
        snprintf (error, size, "SMS is not configured (notify/webhook_url)");
        return -1;
    }
    json_t *object = json_pack ("{s:s, s:s, s:s, s:s, s:s}",
                                "to", message->address,
                                "text", message->body? message->body: "",
                                "case_id", message->case_id? message->case_id: "",
                                "event_id", message->event_id? message->event_id: "",
                                "idempotency_key", message->key);
    char *payload = object? json_dumps (object, JSON_COMPACT): NULL;
    json_decref (object);
    if (!payload) {
        snprintf (error, size, "cannot encode the webhook payload");
        return -1;
    }
    CURL *curl = curl_easy_init ();
    if (!curl) {
        free (payload);
        snprintf (error, size, "curl_easy_init failed");
        return -1;
    }
    char errbuf [CURL_ERROR_SIZE];
    s_common (curl, config, errbuf);
    char *key = hl_strdup (message->key);
    s_header_safe (key);
    char key_header [400];
    snprintf (key_header, sizeof key_header, "Idempotency-Key: %s", key);
    free (key);
    struct curl_slist *headers = curl_slist_append (NULL, "Content-Type: application/json; charset=utf-8");
    headers = curl_slist_append (headers, key_header);
    if (config->webhook_token && *config->webhook_token) {
        char *auth = zsys_sprintf ("Authorization: Bearer %s", config->webhook_token);
        s_header_safe (auth);
        headers = curl_slist_append (headers, auth);
        zstr_free (&auth);
    }
    curl_easy_setopt (curl, CURLOPT_URL, config->webhook_url);
    curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt (curl, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE, (long) strlen (payload));
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, s_discard);
    CURLcode rc = curl_easy_perform (curl);
    long status = 0;
    curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
    int result = 0;
    if (rc != CURLE_OK) {
        snprintf (error, size, "webhook: %s%s%s", curl_easy_strerror (rc), *errbuf? ": ": "", errbuf);
        result = -1;
    }
    else
    if (status < 200 || status > 299) {
        snprintf (error, size, "webhook: HTTP status %ld", status);
        result = -1;
    }
    curl_slist_free_all (headers);
    curl_easy_cleanup (curl);
    free (payload);
    return result;
}

int
notify_sender_send (const notify_sender_config_t *config, const notify_message_t *message,
                    char *error, size_t size)
{
    error [0] = 0;
    if (streq (message->channel, "email"))
        return s_send_email (config, message, error, size);
    if (streq (message->channel, "sms"))
        return s_send_webhook (config, message, error, size);
    snprintf (error, size, "unknown channel '%s'", message->channel);
    return -1;
}

// ---------------------------------------------------------------- the worker

static void
s_worker (zsock_t *pipe, void *args)
{
    const notify_sender_config_t *config = (const notify_sender_config_t *) args;
    zsock_signal (pipe, 0);
    while (true) {
        zmsg_t *msg = zmsg_recv (pipe);
        if (!msg)
            break;
        char *command = zmsg_popstr (msg);
        if (!command || streq (command, "$TERM")) {
            zstr_free (&command);
            zmsg_destroy (&msg);
            break;
        }
        if (streq (command, "SEND") && zmsg_size (msg) == 8) {
            char *fields [8];
            for (int i = 0; i < 8; i++)
                fields [i] = zmsg_popstr (msg);
            notify_message_t message = {
                fields [1], fields [2], fields [3], fields [4], fields [5], fields [6], fields [7]
            };
            char error [512];
            int rc = notify_sender_send (config, &message, error, sizeof error);
            zsock_send (pipe, "sis", fields [0], rc == 0? 1: 0, rc == 0? "": error);
            for (int i = 0; i < 8; i++)
                zstr_free (&fields [i]);
        }
        zstr_free (&command);
        zmsg_destroy (&msg);
    }
}

notify_sender_t *
notify_sender_new (const notify_sender_config_t *config)
{
    notify_sender_t *self = (notify_sender_t *) zmalloc (sizeof (notify_sender_t));
    self->actor = zactor_new (s_worker, (void *) config);
    if (!self->actor) {
        free (self);
        return NULL;
    }
    return self;
}

void
notify_sender_destroy (notify_sender_t **self_p)
{
    assert (self_p);
    notify_sender_t *self = *self_p;
    if (self) {
        zactor_destroy (&self->actor);
        free (self);
        *self_p = NULL;
    }
}

int
notify_sender_post (notify_sender_t *self, int64_t id, const notify_message_t *message)
{
    char id_text [32];
    snprintf (id_text, sizeof id_text, "%" PRId64, id);
    return zsock_send (self->actor, "sssssssss", "SEND", id_text, message->key, message->channel,
                       message->address, message->subject? message->subject: "",
                       message->body? message->body: "",
                       message->case_id? message->case_id: "",
                       message->event_id? message->event_id: "");
}

zsock_t *
notify_sender_sock (notify_sender_t *self)
{
    return zactor_sock (self->actor);
}

int
notify_sender_recv (notify_sender_t *self, int64_t *id, bool *ok, char *error, size_t size)
{
    char *id_text = NULL, *text = NULL;
    int success = 0;
    if (zsock_recv (self->actor, "sis", &id_text, &success, &text) || !id_text) {
        zstr_free (&id_text);
        zstr_free (&text);
        return -1;
    }
    *id = strtoll (id_text, NULL, 10);
    *ok = success != 0;
    snprintf (error, size, "%s", text? text: "");
    zstr_free (&id_text);
    zstr_free (&text);
    return 0;
}

//  --------------------------------------------------------------------------
//  Selftest: a fake SMTP server and a fake HTTP server in a thread each.

typedef struct {
    int fd;                     //  listening socket
    int port;
    bool http;                  //  HTTP instead of SMTP
    int data_reply;             //  SMTP reply to the end of DATA / HTTP status
    zchunk_t *received;         //  last message (SMTP) or body (HTTP)
    int messages;
    pthread_t thread;
} s_fake_t;

static int
s_readline (int fd, char *line, size_t size)
{
    size_t len = 0;
    while (len + 1 < size) {
        char c;
        ssize_t got = recv (fd, &c, 1, 0);
        if (got <= 0)
            return -1;
        line [len++] = c;
        if (c == '\n')
            break;
    }
    line [len] = 0;
    return (int) len;
}

static void
s_say (int fd, const char *text)
{
    if (send (fd, text, strlen (text), MSG_NOSIGNAL) < 0) {}
}

static void
s_fake_smtp_session (s_fake_t *fake, int fd)
{
    char line [2048];
    s_say (fd, "220 fake ESMTP\r\n");
    while (s_readline (fd, line, sizeof line) > 0) {
        if (strncasecmp (line, "EHLO", 4) == 0 || strncasecmp (line, "HELO", 4) == 0)
            s_say (fd, "250 fake\r\n");
        else
        if (strncasecmp (line, "DATA", 4) == 0) {
            s_say (fd, "354 go ahead\r\n");
            zchunk_t *data = zchunk_new (NULL, 1024);
            while (s_readline (fd, line, sizeof line) > 0 && strneq (line, ".\r\n"))
                zchunk_extend (data, line, strlen (line));
            zchunk_extend (data, "", 1);
            zchunk_destroy (&fake->received);
            fake->received = data;
            fake->messages++;
            char reply [64];
            snprintf (reply, sizeof reply, "%d %s\r\n", fake->data_reply,
                      fake->data_reply < 400? "queued": "rejected");
            s_say (fd, reply);
        }
        else
        if (strncasecmp (line, "QUIT", 4) == 0) {
            s_say (fd, "221 bye\r\n");
            break;
        }
        else
            s_say (fd, "250 ok\r\n");
    }
}

static void
s_fake_http_session (s_fake_t *fake, int fd)
{
    char line [2048];
    long length = 0;
    while (s_readline (fd, line, sizeof line) > 0 && strneq (line, "\r\n"))
        if (strncasecmp (line, "Content-Length:", 15) == 0)
            length = atol (line + 15);
    zchunk_t *body = zchunk_new (NULL, (size_t) length + 1);
    while (length > 0) {
        char buffer [1024];
        ssize_t got = recv (fd, buffer, length < 1024? (size_t) length: 1024, 0);
        if (got <= 0)
            break;
        zchunk_extend (body, buffer, (size_t) got);
        length -= got;
    }
    zchunk_extend (body, "", 1);
    zchunk_destroy (&fake->received);
    fake->received = body;
    fake->messages++;
    char reply [128];
    snprintf (reply, sizeof reply, "HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
              fake->data_reply);
    s_say (fd, reply);
}

static void *
s_fake_run (void *arg)
{
    s_fake_t *fake = (s_fake_t *) arg;
    while (true) {
        int fd = accept (fake->fd, NULL, NULL);
        if (fd < 0)
            break;
        if (fake->http)
            s_fake_http_session (fake, fd);
        else
            s_fake_smtp_session (fake, fd);
        close (fd);
    }
    return NULL;
}

static void
s_fake_start (s_fake_t *fake, bool http, int data_reply)
{
    memset (fake, 0, sizeof *fake);
    fake->http = http;
    fake->data_reply = data_reply;
    fake->fd = socket (AF_INET, SOCK_STREAM, 0);
    assert (fake->fd >= 0);
    struct sockaddr_in addr = { 0 };
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    assert (bind (fake->fd, (struct sockaddr *) &addr, sizeof addr) == 0);
    socklen_t len = sizeof addr;
    assert (getsockname (fake->fd, (struct sockaddr *) &addr, &len) == 0);
    fake->port = ntohs (addr.sin_port);
    assert (listen (fake->fd, 8) == 0);
    assert (pthread_create (&fake->thread, NULL, s_fake_run, fake) == 0);
}

static void
s_fake_stop (s_fake_t *fake)
{
    shutdown (fake->fd, SHUT_RDWR);
    close (fake->fd);
    pthread_join (fake->thread, NULL);
    zchunk_destroy (&fake->received);
}

//  A port nobody listens on
static int
s_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { 0 };
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    assert (bind (fd, (struct sockaddr *) &addr, sizeof addr) == 0);
    socklen_t len = sizeof addr;
    assert (getsockname (fd, (struct sockaddr *) &addr, &len) == 0);
    close (fd);
    return ntohs (addr.sin_port);
}

//  One address: a non-blocking connect, then poll for its result
static int
s_probe_address (const struct addrinfo *ai, int timeout_ms, char *error, size_t size)
{
    int fd = socket (ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
        snprintf (error, size, "socket: %s", strerror (errno));
        return -1;
    }
    int rc = connect (fd, ai->ai_addr, ai->ai_addrlen);
    if (rc < 0 && errno == EINPROGRESS) {
        struct pollfd pfd = { fd, POLLOUT, 0 };
        rc = poll (&pfd, 1, timeout_ms);
        if (rc == 0) {
            snprintf (error, size, "no answer in %d ms", timeout_ms);
            rc = -1;
        }
        else
        if (rc > 0) {
            int soerr = 0;
            socklen_t len = sizeof soerr;
            getsockopt (fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
            rc = soerr? -1: 0;
            if (soerr)
                snprintf (error, size, "%s", strerror (soerr));
        }
        else
            snprintf (error, size, "poll: %s", strerror (errno));
    }
    else
    if (rc < 0)
        snprintf (error, size, "%s", strerror (errno));
    close (fd);
    return rc == 0? 0: -1;
}

int
notify_sender_probe (const char *smtp_url, int timeout_ms, char *error, size_t size)
{
    *error = 0;
    if (!smtp_url || !*smtp_url) {
        snprintf (error, size, "notify/smtp_url is not set");
        return -1;
    }
    CURLU *url = curl_url ();
    char *host = NULL, *port = NULL;
    if (!url
    ||  curl_url_set (url, CURLUPART_URL, smtp_url, 0) != CURLUE_OK
    ||  curl_url_get (url, CURLUPART_HOST, &host, 0) != CURLUE_OK
    ||  curl_url_get (url, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        snprintf (error, size, "notify/smtp_url is not a URL with a host");
        curl_free (host);
        curl_url_cleanup (url);
        return -1;
    }
    //  An IPv6 literal comes back in brackets
    char name [256];
    size_t length = strlen (host);
    if (host [0] == '[' && length > 2 && host [length - 1] == ']')
        snprintf (name, sizeof name, "%.*s", (int) (length - 2), host + 1);
    else
        snprintf (name, sizeof name, "%s", host);
    struct addrinfo hints = { 0 };
    hints.ai_socktype = SOCK_STREAM;
    struct addrinfo *list = NULL;
    int gai = getaddrinfo (name, port, &hints, &list);
    int rc = -1;
    if (gai)
        snprintf (error, size, "%s: %s", name, gai_strerror (gai));
    for (struct addrinfo *ai = list; ai && rc; ai = ai->ai_next) {
        char reason [200];
        rc = s_probe_address (ai, timeout_ms, reason, sizeof reason);
        if (rc)
            snprintf (error, size, "%s port %s: %s", name, port, reason);
    }
    if (list)
        freeaddrinfo (list);
    curl_free (host);
    curl_free (port);
    curl_url_cleanup (url);
    return rc;
}

void
notify_sender_test (bool verbose)
{
    printf (" * notify_sender: ");
    curl_global_init (CURL_GLOBAL_DEFAULT);

    //  RFC 2047: ASCII passes, Vietnamese is encoded in words that decode back
    char *plain = notify_sender_rfc2047 ("Case 31001-2026-000001");
    assert (streq (plain, "Case 31001-2026-000001"));
    free (plain);
    const char *vietnamese = "[Đường dây nóng] Phản ánh mới 31001-2026-000001: Nước thải";
    char *encoded = notify_sender_rfc2047 (vietnamese);
    assert (strncmp (encoded, "=?UTF-8?B?", 10) == 0);
    assert (strstr (encoded, "?=\r\n =?UTF-8?B?"));
    //  Every word at most 75 characters
    for (char *word = strstr (encoded, "=?"); word; word = strstr (word + 2, "=?")) {
        char *end = strstr (word + 10, "?=");
        assert (end && end + 2 - word <= 75);
        word = end;
    }
    free (encoded);

    notify_sender_config_t config = { 0 };
    config.from = "hotline@anbien.gov.vn";
    config.from_name = "Đường dây nóng An Biên";
    config.timeout_ms = 3000;
    notify_message_t message = {
        "ward-31001/7|leaders.0123456789abcdef|email", "email", "lanhdao@anbien.gov.vn",
        "Phản ánh mới\r\nBcc: injected", "Dòng 1\nDòng 2\n", "31001-2026-000001", "ward-31001/7"
    };
    char *mime = notify_sender_mime (&config, &message, 0);
    assert (strstr (mime, "\r\nX-Hotline-Key: ward-31001/7|leaders.0123456789abcdef|email\r\n"));
    assert (strstr (mime, "\r\nMessage-ID: <ward-31001/7|leaders.0123456789abcdef|email@anbien.gov.vn>\r\n"));
    assert (strstr (mime, "\r\nContent-Type: text/plain; charset=UTF-8\r\n"));
    assert (strstr (mime, "\r\nTo: <lanhdao@anbien.gov.vn>\r\n"));
    assert (strstr (mime, "From: =?UTF-8?B?"));
    assert (!strstr (mime, "\r\nBcc:"));        //  no header injection
    //  Body: base64 of the CRLF text
    assert (strstr (mime, "\r\n\r\nRMOybmcgMQ0KRMOybmcgMg0K\r\n"));
    free (mime);

    //  SMTP delivery to a fake server
    s_fake_t smtp;
    s_fake_start (&smtp, false, 250);
    char url [64];
    snprintf (url, sizeof url, "smtp://127.0.0.1:%d", smtp.port);
    config.smtp_url = url;
    char error [512];
    message.subject = "Phản ánh mới";
    assert (notify_sender_send (&config, &message, error, sizeof error) == 0);
    assert (smtp.messages == 1);
    assert (strstr ((char *) zchunk_data (smtp.received),
                    "X-Hotline-Key: ward-31001/7|leaders.0123456789abcdef|email"));
    s_fake_stop (&smtp);
    //  A 5xx at the end of DATA is a failure with the reply in the reason
    s_fake_start (&smtp, false, 554);
    snprintf (url, sizeof url, "smtp://127.0.0.1:%d", smtp.port);
    assert (notify_sender_send (&config, &message, error, sizeof error) == -1);
    assert (strstr (error, "554"));
    s_fake_stop (&smtp);
    //  Nothing listening
    snprintf (url, sizeof url, "smtp://127.0.0.1:%d", s_free_port ());
    assert (notify_sender_send (&config, &message, error, sizeof error) == -1);
    assert (strstr (error, "smtp:"));
    //  The probe: nothing listening, a bad URL, then a listener (its
    //  backlog completes the connection; nothing is said)
    assert (notify_sender_probe (url, 1000, error, sizeof error) == -1);
    assert (strstr (error, "127.0.0.1 port") && strstr (error, "refused"));
    assert (notify_sender_probe ("not a url", 1000, error, sizeof error) == -1);
    assert (notify_sender_probe (NULL, 1000, error, sizeof error) == -1);
    {
        int listener = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in addr = { 0 };
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        assert (bind (listener, (struct sockaddr *) &addr, len) == 0 && listen (listener, 4) == 0);
        assert (getsockname (listener, (struct sockaddr *) &addr, &len) == 0);
        snprintf (url, sizeof url, "smtp://127.0.0.1:%d", ntohs (addr.sin_port));
        assert (notify_sender_probe (url, 1000, error, sizeof error) == 0);
        close (listener);
    }

    //  Webhook: JSON with the key; non-2xx fails
    s_fake_t http;
    s_fake_start (&http, true, 200);
    char hook [64];
    snprintf (hook, sizeof hook, "http://127.0.0.1:%d/sms", http.port);
    config.webhook_url = hook;
    notify_message_t sms = {
        "ward-31001/7|reporter|sms", "sms", "0912345678", "", "KQ 31001-2026-000001: đã xử lý",
        "31001-2026-000001", "ward-31001/7"
    };
    assert (notify_sender_send (&config, &sms, error, sizeof error) == 0);
    json_t *posted = json_loads ((char *) zchunk_data (http.received), 0, NULL);
    assert (posted);
    assert (streq (json_string_value (json_object_get (posted, "to")), "0912345678"));
    assert (streq (json_string_value (json_object_get (posted, "idempotency_key")),
                   "ward-31001/7|reporter|sms"));
    assert (streq (json_string_value (json_object_get (posted, "text")), "KQ 31001-2026-000001: đã xử lý"));
    json_decref (posted);
    http.data_reply = 500;
    assert (notify_sender_send (&config, &sms, error, sizeof error) == -1);
    assert (strstr (error, "HTTP status 500"));

    //  Through the worker: post, then read the result
    http.data_reply = 204;
    notify_sender_t *sender = notify_sender_new (&config);
    assert (sender);
    assert (notify_sender_post (sender, 42, &sms) == 0);
    int64_t id = 0;
    bool ok = false;
    assert (notify_sender_recv (sender, &id, &ok, error, sizeof error) == 0);
    assert (id == 42 && ok);
    notify_sender_destroy (&sender);
    s_fake_stop (&http);
    curl_global_cleanup ();
    if (verbose)
        printf ("(last error: %s) ", error);
    printf ("OK\n");
}
