/*  web_public — citizens' reports and tracking, and evidence files (see
 *  web_public.h and API.md).
 *
 *  How to read this file, top to bottom:
 *    1. the object: config, the evidence folder, each thread's hl_public
 *    2. the upload: a streamed multipart body into fields and files, every
 *       limit checked as the bytes arrive; the first refusal wins and
 *       everything after it is only drained
 *    3. committing the files and sending a command as an actor
 *    4. POST /api/v1/public/reports
 *    5. the pages' config; the tracking page's routes (GET, rate, reopen,
 *       add a photo)
 *    6. an officer's attach, and serving a file (stripped beyond the ward)
 *    7. the upload router (web_public_upload_handle), the selftest
 *
 *  At the city (API.md, "Filing at a ward") the form files the report at
 *  its ward (web_filing): the ward chosen, or the one whose area holds the
 *  pin. Its files are checked as at a ward and committed to the city's
 *  evidence store before the filing is sent; the filing names them, and
 *  the city's archive sends them to the ward with it (federation.h,
 *  "Filing", Files), deleting its copy once the ward has it. Its tracking
 *  link opens the filing, and once the ward's case has reached the city,
 *  the city's copy of that case; the reporter's rate, reopen and added
 *  photos (one attach each, the file travelling with it) are filed at the
 *  ward the same way.
 */
#include "hotline.h"
#include "web_public.h"
#include "web_multipart.h"
#include "web_filing.h"
#include <math.h>
#include <pthread.h>

#define S_MAX_PARTS         40      //  fields a report has, plus files, plus slack
#define S_FIELD_MAX         (HL_MAX_TEXT * 4 + 64)
#define S_REPORTER_ACTOR    "citizen:web"
#define S_SUBMIT_ACTOR      "system:web"
//  How long the pages' config reuses the city's list of wards that take
//  filings: each form load asks for the config, and a ward just upgraded
//  is offered a few seconds late at most (the submit asks again anyway)
#define S_READY_CACHE_MS    5000

// ------------------------------------------------------------- 1. object

struct _web_public_t {
    web_api_t *api;
    hl_procedure_t *procedure;
    hl_evidence_t *evidence;
    char *db_path;
    bool city;
    size_t max_bytes, max_files;
    int64_t window_ms;
    int max_per_ip, max_per_phone;
    pthread_key_t key;              //  -> this thread's hl_public_t
    //  At the city: the wards that take filings (web_filing_wards), and
    //  when they were asked (zclock_mono); under ready_mutex
    pthread_mutex_t ready_mutex;
    json_t *ready;
    int64_t ready_mono;
};

static void
s_public_free (void *arg)
{
    hl_public_t *store = (hl_public_t *) arg;
    hl_public_destroy (&store);
}

static hl_public_t *
s_store (web_public_t *self)
{
    hl_public_t *store = (hl_public_t *) pthread_getspecific (self->key);
    if (!store) {
        store = hl_public_new (self->db_path);
        pthread_setspecific (self->key, store);
    }
    return store;
}

web_public_t *
web_public_new (hl_service_t *service, web_api_t *api)
{
    hl_config_t *config = hl_service_config (service);
    web_public_t *self = (web_public_t *) zmalloc (sizeof (web_public_t));
    self->api = api;
    self->procedure = hl_service_procedure (service);
    self->city = streq (hl_service_role (service), "city");
    self->db_path = hl_service_path (service, "web.db");
    pthread_key_create (&self->key, s_public_free);
    pthread_mutex_init (&self->ready_mutex, NULL);
    int64_t max_bytes = hl_config_int (config, "web/evidence_max_bytes", 10 * 1024 * 1024);
    int64_t max_files = hl_config_int (config, "web/evidence_max_files", 5);
    int64_t window_s = hl_config_int (config, "web/public_window_s", 3600);
    int64_t per_ip = hl_config_int (config, "web/public_max_per_ip", 20);
    int64_t per_phone = hl_config_int (config, "web/public_max_per_phone", 5);
    if (max_bytes < 1 || max_bytes > 256 * 1024 * 1024 || max_files < 1 || max_files > 20
    ||  window_s < 1 || per_ip < 1 || per_phone < 1) {
        fprintf (stderr, "hotline-web: web/evidence_max_bytes (1 to 256 MiB), evidence_max_files (1-20), "
                         "public_window_s, public_max_per_ip and public_max_per_phone must be positive\n");
        web_public_destroy (&self);
        return NULL;
    }
    self->max_bytes = (size_t) max_bytes;
    self->max_files = (size_t) max_files;
    self->window_ms = window_s * 1000;
    self->max_per_ip = (int) per_ip;
    self->max_per_phone = (int) per_phone;
    char *dir = hl_service_path (service, "evidence");
    self->evidence = hl_evidence_new (dir);
    if (!self->evidence)
        fprintf (stderr, "hotline-web: cannot open the evidence folder %s\n", dir);
    free (dir);
    if (!self->evidence)
        web_public_destroy (&self);
    return self;
}

void
web_public_destroy (web_public_t **self_p)
{
    assert (self_p);
    web_public_t *self = *self_p;
    if (self) {
        s_public_free (pthread_getspecific (self->key));
        pthread_setspecific (self->key, NULL);
        pthread_key_delete (self->key);
        hl_evidence_destroy (&self->evidence);
        json_decref (self->ready);
        pthread_mutex_destroy (&self->ready_mutex);
        free (self->db_path);
        free (self);
        *self_p = NULL;
    }
}

size_t
web_public_upload_max (web_public_t *self)
{
    //  The files, and room for the fields and the parts' headers
    return self->max_bytes * self->max_files + 1024 * 1024;
}

// ------------------------------------------------------------- 2. the upload

typedef struct {
    char *name;
    char *value;
    size_t size;
} s_field_t;

struct _web_upload_t {
    web_public_t *owner;
    web_multipart_t *parser;
    bool bad_type;                  //  not multipart/form-data with a boundary
    //  The first refusal: status, field, message (Vietnamese (English))
    int status;
    char field [64];
    char message [512];
    size_t parts;
    s_field_t fields [S_MAX_PARTS];
    size_t n_fields;
    hl_evidence_file_t *files [20];
    size_t n_files;
    //  The part being read: a field (index), a file, or one to skip
    enum { S_NONE, S_FIELD, S_FILE, S_SKIP } current;
};

static int
s_refuse (web_upload_t *self, int status, const char *field, const char *message)
{
    if (!self->status) {
        self->status = status;
        snprintf (self->field, sizeof self->field, "%s", field? field: "");
        snprintf (self->message, sizeof self->message, "%s", message);
        hl_metrics_add (hl_metrics_default (), "hotline_web_uploads_refused_total", 1);
    }
    //  Drop every file at once: nothing refused stays on disk
    for (size_t i = 0; i < self->n_files; i++)
        hl_evidence_file_destroy (&self->files [i]);
    self->n_files = 0;
    return -1;
}

//  A client's filename: refused when it could name a path, even though it
//  is never used as one (files are named by their content)
static bool
s_filename_ok (const char *name)
{
    if (strlen (name) > 255 || strstr (name, "..") || strpbrk (name, "/\\"))
        return false;
    for (const unsigned char *c = (const unsigned char *) name; *c; c++)
        if (*c < 0x20 || *c == 0x7F)
            return false;
    return true;
}

static int
s_part_begin (void *arg, const char *name, const char *filename, const char *content_type)
{
    (void) content_type;            //  the bytes decide the type, not the client
    web_upload_t *self = (web_upload_t *) arg;
    if (++self->parts > S_MAX_PARTS)
        return s_refuse (self, 400, "body", "Biểu mẫu có quá nhiều phần (too many parts)");
    if (streq (name, "evidence")) {
        if (!filename)
            return s_refuse (self, 400, "evidence", "Tệp đính kèm không có tên tệp (a file part needs a filename)");
        if (!*filename) {
            self->current = S_SKIP;     //  a file input left empty
            return 0;
        }
        if (!s_filename_ok (filename))
            return s_refuse (self, 400, "evidence",
                             "Tên tệp không hợp lệ, không được chứa '/', '\\' hay '..' (bad filename)");
        if (self->n_files >= self->owner->max_files) {
            char message [160];
            snprintf (message, sizeof message, "Tối đa %zu tệp mỗi lần gửi (at most %zu files)",
                      self->owner->max_files, self->owner->max_files);
            return s_refuse (self, 413, "evidence", message);
        }
        hl_evidence_file_t *file = hl_evidence_file_new (self->owner->evidence, self->owner->max_bytes);
        if (!file)
            return s_refuse (self, 503, NULL, "Không lưu được tệp, xin thử lại sau (cannot store files now)");
        self->files [self->n_files++] = file;
        self->current = S_FILE;
        return 0;
    }
    if (filename)
        return s_refuse (self, 400, name, "Chỉ phần 'evidence' được là tệp (only 'evidence' may be a file)");
    if (strlen (name) > 40)
        return s_refuse (self, 400, "body", "Tên trường quá dài (field name too long)");
    for (size_t i = 0; i < self->n_fields; i++)
        if (streq (self->fields [i].name, name))
            return s_refuse (self, 400, name, "Trường bị lặp (a field given twice)");
    s_field_t *field = &self->fields [self->n_fields++];
    field->name = hl_strdup (name);
    field->value = (char *) zmalloc (1);
    self->current = S_FIELD;
    return 0;
}

static int
s_part_data (void *arg, const char *data, size_t size)
{
    web_upload_t *self = (web_upload_t *) arg;
    if (self->current == S_FIELD) {
        s_field_t *field = &self->fields [self->n_fields - 1];
        if (field->size + size > S_FIELD_MAX)
            return s_refuse (self, 400, field->name, "Nội dung trường quá dài (field too long)");
        field->value = (char *) hl_realloc (field->value, field->size + size + 1);
        memcpy (field->value + field->size, data, size);
        field->size += size;
        field->value [field->size] = 0;
    }
    else
    if (self->current == S_FILE) {
        int rc = hl_evidence_file_write (self->files [self->n_files - 1], data, size);
        if (rc == 1) {
            char message [160];
            snprintf (message, sizeof message, "Tệp lớn hơn %zu MB (a file is over %zu bytes)",
                      self->owner->max_bytes / (1024 * 1024), self->owner->max_bytes);
            return s_refuse (self, 413, "evidence", message);
        }
        if (rc)
            return s_refuse (self, 503, NULL, "Không lưu được tệp, xin thử lại sau (cannot store files now)");
    }
    else
    if (self->current == S_SKIP && size)
        return s_refuse (self, 400, "evidence", "Tệp đính kèm không có tên tệp (a file part needs a filename)");
    return 0;
}

static int
s_part_end (void *arg)
{
    web_upload_t *self = (web_upload_t *) arg;
    if (self->current == S_FILE) {
        hl_evidence_file_t *file = self->files [self->n_files - 1];
        if (hl_evidence_file_size (file) == 0)
            return s_refuse (self, 400, "evidence", "Tệp rỗng (an empty file)");
        if (!hl_evidence_file_type (file)) {
            //  Name what it is when we can tell: an iPhone's photo (HEIC)
            //  or video (MOV) is the common case, and its owner can change
            //  the camera's format. No parentheses inside the English, the
            //  pages show the part in the last pair (public-i18n.js plain)
            char kind [32], message [sizeof self->message];
            if (!hl_evidence_file_kind (file, kind, sizeof kind))
                return s_refuse (self, 415, "evidence",
                    "Chỉ nhận ảnh JPEG, PNG, WebP, video MP4 hoặc âm thanh M4A, AAC, MP3, OGG "
                    "(only JPEG, PNG, WebP, MP4, M4A, AAC, MP3 or OGG content)");
            bool iphone = streq (kind, "HEIC/HEIF") || streq (kind, "MOV QuickTime");
            snprintf (message, sizeof message,
                "Không nhận tệp %s. Chỉ nhận ảnh JPEG, PNG, WebP, video MP4 hoặc âm thanh M4A, "
                "AAC, MP3, OGG%s (%s files are not accepted, only JPEG, PNG, WebP, MP4, M4A, AAC, "
                "MP3 or OGG content%s)", kind,
                iphone? "; trên iPhone: Cài đặt > Camera > Định dạng > Tương thích nhất": "", kind,
                iphone? "; on an iPhone: Settings > Camera > Formats > Most Compatible": "");
            return s_refuse (self, 415, "evidence", message);
        }
    }
    else
    if (self->current == S_FIELD) {
        s_field_t *field = &self->fields [self->n_fields - 1];
        if (memchr (field->value, 0, field->size))
            return s_refuse (self, 400, field->name, "Trường chứa ký tự NUL (a NUL in a field)");
    }
    self->current = S_NONE;
    return 0;
}

static const web_multipart_handler_t s_handler = { s_part_begin, s_part_data, s_part_end };

web_upload_t *
web_upload_new (web_public_t *self, const char *content_type)
{
    web_upload_t *upload = (web_upload_t *) zmalloc (sizeof (web_upload_t));
    upload->owner = self;
    upload->parser = web_multipart_new (content_type, &s_handler, upload);
    if (!upload->parser)
        s_refuse (upload, 415, "Content-Type",
                  "Cần gửi dạng multipart/form-data (the body must be multipart/form-data)");
    return upload;
}

void
web_upload_feed (web_upload_t *self, const char *data, size_t size)
{
    if (self->status || !self->parser)
        return;                     //  refused: drain the rest, keep nothing
    if (web_multipart_feed (self->parser, data, size) && !self->status)
        s_refuse (self, 400, "body", "Dữ liệu biểu mẫu không hợp lệ (malformed multipart body)");
}

void
web_upload_destroy (web_upload_t **self_p)
{
    assert (self_p);
    web_upload_t *self = *self_p;
    if (self) {
        web_multipart_destroy (&self->parser);
        for (size_t i = 0; i < self->n_files; i++)
            hl_evidence_file_destroy (&self->files [i]);
        for (size_t i = 0; i < self->n_fields; i++) {
            free (self->fields [i].name);
            free (self->fields [i].value);
        }
        free (self);
        *self_p = NULL;
    }
}

//  The body is in: 0, or -1 (answered: the first refusal, or a truncated body)
static int
s_upload_done (web_upload_t *self, web_request_t *request)
{
    if (!self->status && web_multipart_finish (self->parser))
        s_refuse (self, 400, "body", "Dữ liệu gửi lên bị cắt cụt (the multipart body is truncated)");
    if (self->status) {
        web_request_error (request, self->status, *self->field? self->field: NULL, "%s", self->message);
        return -1;
    }
    return 0;
}

//  A field's value, or NULL when absent
static const char *
s_field (web_upload_t *self, const char *name)
{
    for (size_t i = 0; i < self->n_fields; i++)
        if (streq (self->fields [i].name, name))
            return self->fields [i].value;
    return NULL;
}

//  Every field is one of names: 0, or -1 (answered 400 naming it)
static int
s_fields_known (web_upload_t *self, web_request_t *request, const char **names)
{
    for (size_t i = 0; i < self->n_fields; i++) {
        bool known = false;
        for (size_t k = 0; names [k] && !known; k++)
            known = streq (names [k], self->fields [i].name);
        if (!known) {
            web_request_error (request, 400, self->fields [i].name,
                               "Trường không được hỗ trợ (unknown field) '%.40s'", self->fields [i].name);
            return -1;
        }
    }
    return 0;
}

// ------------------------------------------------------------- 3. files and commands

//  Make every file durable under its content address, refs into refs
//  (HL_EVIDENCE_REF_SIZE each). 0, or -1 (answered 503)
static int
s_commit_files (web_upload_t *self, web_request_t *request, char refs [][HL_EVIDENCE_REF_SIZE])
{
    uint64_t bytes = 0;
    for (size_t i = 0; i < self->n_files; i++) {
        bytes += hl_evidence_file_size (self->files [i]);
        if (hl_evidence_file_commit (self->files [i], refs [i])) {
            web_request_error (request, 503, NULL,
                               "Không lưu được tệp, xin thử lại sau (cannot store files now; nothing was filed)");
            return -1;
        }
    }
    hl_metrics_add (hl_metrics_default (), "hotline_web_evidence_files_total", self->n_files);
    hl_metrics_add (hl_metrics_default (), "hotline_web_evidence_bytes_total", bytes);
    return 0;
}

//  Send one command as actor: the reply code (HL_OK: answered nothing
//  yet), or -1 (answered: the node's refusal or 503)
static int
s_command (web_public_t *self, web_request_t *request, const char *actor, const char *case_id,
           const char *action, const char *variant, const char *note, const char *key,
           const char *value, const char *request_id)
{
    Hotline__Command__ArgsEntry entry = HOTLINE__COMMAND__ARGS_ENTRY__INIT;
    Hotline__Command__ArgsEntry *entries [1] = { &entry };
    Hotline__Command command = HOTLINE__COMMAND__INIT;
    command.action = (char *) action;
    command.variant = (char *) (variant? variant: "");
    command.case_id = (char *) case_id;
    command.note = (char *) (note? note: "");
    if (key) {
        entry.key = (char *) key;
        entry.value = (char *) value;
        command.args = entries;
        command.n_args = 1;
    }
    Hotline__Request message = HOTLINE__REQUEST__INIT;
    message.kind_case = HOTLINE__REQUEST__KIND_COMMAND;
    message.command = &command;
    message.request_id = (char *) request_id;
    Hotline__Envelope *reply = web_api_call (self->api, request, &message, actor, false);
    if (!reply)
        return -1;
    int rc = HL_OK;
    if (reply->reply->code != HL_OK) {
        web_request_refusal (request, reply->reply);
        rc = -1;
    }
    hl_msg_free (&reply);
    return rc;
}

//  Attach every committed file to case_id as actor, one attach each; at
//  the city, each filed at the case's ward (web_filing), the file going
//  with it (federation.h, "Filing", Files)
static int
s_attach_all (web_public_t *self, web_request_t *request, const char *actor, const char *case_id,
              char refs [][HL_EVIDENCE_REF_SIZE], size_t count, const char *note, const char *ward)
{
    for (size_t i = 0; i < count; i++) {
        //  The request id is the file's and the case's: a retry of the same
        //  file to the same case lands once
        char request_id [64];
        snprintf (request_id, sizeof request_id, "attach-%.20s-%.32s", case_id, refs [i] + 7);
        if (ward) {
            Hotline__Command__ArgsEntry entry = HOTLINE__COMMAND__ARGS_ENTRY__INIT;
            Hotline__Command__ArgsEntry *entries [1] = { &entry };
            entry.key = "evidence";
            entry.value = refs [i];
            Hotline__Command command = HOTLINE__COMMAND__INIT;
            command.action = "attach";
            command.case_id = (char *) case_id;
            command.note = (char *) (note? note: "");
            command.args = entries;
            command.n_args = 1;
            char id [WEB_FILING_ID_SIZE];
            web_filing_id ("citizen", request_id, id);
            if (web_filing_send (self->api, request, id, ward, actor, &command) != HL_OK)
                return -1;
        }
        else
        if (s_command (self, request, actor, case_id, "attach", NULL, note, "evidence", refs [i], request_id))
            return -1;
    }
    return 0;
}

//  "true", "1", "on" -> true; "", "false", "0", absent -> false; 0 or -1
static int
s_flag (web_upload_t *upload, web_request_t *request, const char *name, protobuf_c_boolean *out)
{
    const char *value = s_field (upload, name);
    *out = false;
    if (!value || !*value || streq (value, "false") || streq (value, "0"))
        return 0;
    if (streq (value, "true") || streq (value, "1") || streq (value, "on")) {
        *out = true;
        return 0;
    }
    web_request_error (request, 400, name, "'%s' là true hoặc false (must be true or false)", name);
    return -1;
}

static int
s_number (web_upload_t *upload, web_request_t *request, const char *name, bool *present, double *out)
{
    const char *value = s_field (upload, name);
    *present = value && *value;
    if (!*present)
        return 0;
    char *end;
    errno = 0;
    *out = strtod (value, &end);
    if (*end || errno || !isfinite (*out)) {
        web_request_error (request, 400, name, "'%s' phải là số (must be a number)", name);
        return -1;
    }
    return 0;
}

// ------------------------------------------------------------- 4. a public report

//  At the city: the ward that files the report (web_filing_ward). 0 and
//  ward, or -1 (answered 400 naming the field "ward")
static int
s_city_ward (web_public_t *self, web_request_t *request, const char *chosen,
             const Hotline__Report *report, const char **ward)
{
    web_filing_where_t where = web_filing_ward (self->api, chosen, report, ward);
    if (where == WEB_FILING_UNKNOWN)
        web_request_error (request, 400, "ward", "Không có phường này trong danh sách (no such ward) '%.20s'",
                           chosen);
    else
    if (where == WEB_FILING_OUTSIDE)
        web_request_error (request, 400, "ward",
            "Vị trí đã đánh dấu không thuộc phường nào của thành phố: xin chọn phường trong danh sách "
            "(the pinned place is in no ward's area: choose the ward from the list)");
    else
    if (where == WEB_FILING_NOWHERE)
        web_request_error (request, 400, "ward",
            "Xin chọn phường, hoặc đánh dấu nơi xảy ra trên bản đồ (choose the ward, or pin the place "
            "on the map)");
    return where == WEB_FILING_WARD? 0: -1;
}

//  At the city: the report filed at ward (web_filing), 201 once the city's
//  intake has it durably, with a tracking link to the filing
static void
s_report_city (web_public_t *self, web_request_t *request, hl_public_t *store, Hotline__Report *report,
               const char *ward, const char *request_id)
{
    //  The page's request id, kept across its retries, makes the filing
    //  id: a retry is the same filing, answered from intake's memory
    char id [WEB_FILING_ID_SIZE];
    web_filing_id ("public", request_id, id);
    Hotline__Command command = HOTLINE__COMMAND__INIT;
    command.action = (char *) hl_procedure_meaning (self->procedure, "report", NULL);
    command.report = report;
    if (web_filing_send (self->api, request, id, ward, S_SUBMIT_ACTOR, &command))
        return;
    hl_public_submission_add (store, request->ip, report->reporter->phone);
    //  So that the link opened at once finds it (the archive follows intake)
    web_filing_wait (self->api, request, id, 2000);
    const char *name = hl_areas_name (web_api_areas (self->api), ward);
    json_t *answer = json_pack ("{s:n, s:s, s:s}", "case_id", "ward", ward, "ward_name", name? name: ward);
    char token [HL_TOKEN_HEX];
    if (hl_public_track_new (store, id, token))
        json_object_set_new (answer, "tracking_url", json_null ());
    else {
        char url [128];
        snprintf (url, sizeof url, "/track.html#%s", token);
        json_object_set_new (answer, "tracking_url", json_string (url));
    }
    hl_info ("web: public report filed at ward %s as %s", ward, id);
    web_request_json (request, 201, answer);
}

static void
s_report (web_public_t *self, web_request_t *request, web_upload_t *upload)
{
    static const char *names [] = { "type", "location", "description", "scope", "sudden", "polluter",
        "polluter_category", "occurred_ms", "latitude", "longitude", "name", "phone", "email", "address",
        "anonymous", "request_id", "website", "ward", NULL };
    if (s_fields_known (upload, request, names))
        return;
    //  The honeypot: a field the page hides from people; only a robot fills it
    const char *honeypot = s_field (upload, "website");
    if (honeypot && *honeypot) {
        hl_metrics_add (hl_metrics_default (), "hotline_web_uploads_refused_total", 1);
        web_request_error (request, 400, NULL, "Không nhận được phản ánh này (report refused)");
        return;
    }
    Hotline__Report report = HOTLINE__REPORT__INIT;
    Hotline__Reporter reporter = HOTLINE__REPORTER__INIT;
    report.reporter = &reporter;
    report.channel = HOTLINE__CHANNEL__WEB;
    const char *type = s_field (upload, "type");
    const char *scope = s_field (upload, "scope");
    int value = hl_type_parse (type? type: "");
    if (value < 0 || !type || !*type) {
        web_request_error (request, 400, "type", "Xin chọn loại ô nhiễm (choose the type of pollution)");
        return;
    }
    report.type = (Hotline__PollutionType) value;
    value = hl_scope_parse (scope && *scope? scope: "within_ward");
    if (value < 0) {
        web_request_error (request, 400, "scope", "Phạm vi không có (unknown scope)");
        return;
    }
    report.scope = (Hotline__Scope) value;
    report.location = (char *) s_field (upload, "location");
    report.description = (char *) s_field (upload, "description");
    report.polluter = (char *) s_field (upload, "polluter");
    report.polluter_category = (char *) s_field (upload, "polluter_category");
    reporter.name = (char *) s_field (upload, "name");
    reporter.phone = (char *) s_field (upload, "phone");
    reporter.email = (char *) s_field (upload, "email");
    reporter.address = (char *) s_field (upload, "address");
    bool lat, lon, occurred;
    double number;
    if (s_flag (upload, request, "sudden", &report.sudden)
    ||  s_flag (upload, request, "anonymous", &reporter.anonymous)
    ||  s_number (upload, request, "latitude", &lat, &report.latitude)
    ||  s_number (upload, request, "longitude", &lon, &report.longitude)
    ||  s_number (upload, request, "occurred_ms", &occurred, &number))
        return;
    if (lat != lon) {
        web_request_error (request, 400, lat? "longitude": "latitude",
                           "'latitude' và 'longitude' đi cùng nhau (go together)");
        return;
    }
    report.has_coordinates = lat;
    if (occurred) {
        if (number != floor (number) || number < 0 || number > 9e15) {
            web_request_error (request, 400, "occurred_ms", "'occurred_ms' là mili giây (integer milliseconds)");
            return;
        }
        report.occurred_ms = (int64_t) number;
    }
    if (reporter.anonymous && ((reporter.name && *reporter.name) || (reporter.phone && *reporter.phone)
                           ||  (reporter.email && *reporter.email))) {
        web_request_error (request, 400, "anonymous",
            "Đã chọn ẩn danh thì không ghi tên, số điện thoại, thư điện tử (anonymous: no name, phone or e-mail)");
        return;
    }
    const char *request_id = s_field (upload, "request_id");
    if (request_id && strlen (request_id) > 64) {
        web_request_error (request, 400, "request_id", "'request_id' tối đa 64 ký tự (at most 64 characters)");
        return;
    }
    //  What the node would refuse anyway, before anything is stored
    hl_field_error_t errs [16];
    size_t count = hl_report_validate (&report, errs, 16);
    if (count) {
        web_request_error (request, 400, errs [0].field, "Thông tin chưa hợp lệ (invalid): %s: %s",
                           errs [0].field, errs [0].message);
        return;
    }
    //  Where it is filed: here, or at the city the ward chosen or pinned
    const char *chosen = s_field (upload, "ward");
    const char *ward = NULL;
    if (!self->city && chosen && *chosen && strneq (chosen, web_api_ward_code (self->api))) {
        web_request_error (request, 400, "ward", "Trang này nhận phản ánh của phường %s (this form files at "
                           "ward %s only)", web_api_ward_code (self->api), web_api_ward_code (self->api));
        return;
    }
    if (self->city && s_city_ward (self, request, chosen, &report, &ward))
        return;
    //  At a ward still on the previous release the report would be lost
    //  (federation.h, "Filing", Upgrades): refused before anything, its
    //  files included, is stored
    if (self->city) {
        int ready = web_filing_ready (self->api, request, ward);
        if (ready == 1)
            web_filing_not_ready (request, ward);
        if (ready)
            return;
    }
    //  The rate limits, per address and per phone number
    hl_public_t *store = s_store (self);
    if (!store) {
        web_request_unavailable (request);
        return;
    }
    int by_ip, by_phone;
    if (hl_public_submissions (store, request->ip, reporter.phone, hl_clock_now () - self->window_ms,
                               &by_ip, &by_phone)) {
        web_request_unavailable (request);
        return;
    }
    if (by_ip >= self->max_per_ip || by_phone >= self->max_per_phone) {
        hl_metrics_add (hl_metrics_default (), "hotline_web_uploads_refused_total", 1);
        snprintf (request->retry_after, sizeof request->retry_after, "%lld", (long long) (self->window_ms / 1000));
        web_request_error (request, 429, NULL,
            "Bạn đã gửi quá nhiều phản ánh, xin thử lại sau hoặc gọi đường dây nóng "
            "(too many reports, try again later or phone the hotline)");
        return;
    }
    //  The files first, durably; only then the command that names them (at
    //  the city too: the filing carries their refs, and the city's archive
    //  queues them for the ward with the filing, federation.h "Filing")
    char refs [20][HL_EVIDENCE_REF_SIZE];
    char *evidence [20];
    if (s_commit_files (upload, request, refs))
        return;
    for (size_t i = 0; i < upload->n_files; i++)
        evidence [i] = refs [i];
    report.evidence = evidence;
    report.n_evidence = upload->n_files;
    if (self->city) {
        s_report_city (self, request, store, &report, ward, request_id);
        return;
    }
    Hotline__Command command = HOTLINE__COMMAND__INIT;
    command.action = (char *) hl_procedure_meaning (self->procedure, "report", NULL);
    command.report = &report;
    Hotline__Request message = HOTLINE__REQUEST__INIT;
    message.kind_case = HOTLINE__REQUEST__KIND_COMMAND;
    message.command = &command;
    message.request_id = (char *) (request_id && *request_id? request_id: NULL);
    Hotline__Envelope *reply = web_api_call (self->api, request, &message, S_SUBMIT_ACTOR, false);
    if (!reply)
        return;
    if (reply->reply->code != HL_OK)
        web_request_refusal (request, reply->reply);
    else {
        //  Durable at intake: count it, and give the reporter the link
        char token [HL_TOKEN_HEX];
        hl_public_submission_add (store, request->ip, reporter.phone);
        if (hl_public_track_new (store, reply->reply->case_id, token)) {
            //  The case is filed; only the link failed: say so, with the number
            json_t *answer = json_pack ("{s:s, s:n}", "case_id", reply->reply->case_id, "tracking_url");
            web_request_json (request, 201, answer);
        }
        else {
            char url [128];
            snprintf (url, sizeof url, "/track.html#%s", token);
            hl_info ("web: public report %s (%zu files)", reply->reply->case_id, upload->n_files);
            web_request_json (request, 201, json_pack ("{s:s, s:s}", "case_id", reply->reply->case_id,
                                                       "tracking_url", url));
        }
    }
    hl_msg_free (&reply);
}

// ------------------------------------------------------------- 5. tracking

//  The wards that take filings ({"<code>": since_ms}, caller decrefs),
//  from the cache when asked less than S_READY_CACHE_MS ago; NULL answered
//  (503). Two threads missing at once both ask: one indexed scan each
static json_t *
s_ready_wards (web_public_t *self, web_request_t *request)
{
    json_t *ready = NULL;
    pthread_mutex_lock (&self->ready_mutex);
    if (self->ready && zclock_mono () - self->ready_mono < S_READY_CACHE_MS)
        ready = json_incref (self->ready);
    pthread_mutex_unlock (&self->ready_mutex);
    if (ready)
        return ready;
    ready = web_filing_wards (self->api, request);
    if (ready) {
        pthread_mutex_lock (&self->ready_mutex);
        json_decref (self->ready);
        self->ready = json_incref (ready);
        self->ready_mono = zclock_mono ();
        pthread_mutex_unlock (&self->ready_mutex);
    }
    return ready;
}

void
web_public_config (web_public_t *self, web_request_t *request)
{
    if (strneq (request->method, "GET") && strneq (request->method, "HEAD")) {
        web_request_error (request, 405, NULL, "Phương thức không hỗ trợ (method not allowed)");
        return;
    }
    //  The same limits the upload enforces, so the page's early checks
    //  follow a node configured otherwise; the server still decides
    json_t *answer = json_object ();
    json_object_set_new (answer, "map", web_api_map (self->api));
    json_object_set_new (answer, "evidence_max_files", json_integer ((json_int_t) self->max_files));
    json_object_set_new (answer, "evidence_max_bytes", json_integer ((json_int_t) self->max_bytes));
    //  Files at every node (the city's travel to the ward with the filing);
    //  the city's form also lists the wards it files at, each with "ready":
    //  false while it does not take filings yet (federation.h, "Filing",
    //  Upgrades: the submit would answer 503), so the form says so up front
    json_object_set_new (answer, "files", json_true ());
    if (self->city) {
        json_t *ready = s_ready_wards (self, request);
        if (!ready) {
            json_decref (answer);
            return;             //  answered 503
        }
        json_t *wards = hl_areas_json (web_api_areas (self->api));
        size_t i;
        json_t *ward;
        json_array_foreach (wards, i, ward) {
            const char *code = json_string_value (json_object_get (ward, "code"));
            json_object_set_new (ward, "ready", json_boolean (json_object_get (ready, code) != NULL));
        }
        json_decref (ready);
        json_object_set_new (answer, "wards", wards);
    }
    web_request_json (request, 200, answer);
}

//  The token's case: 0 and case_id, or -1 (answered 404 or 503)
static int
s_track_case (web_public_t *self, web_request_t *request, const char *token, char *case_id, size_t size)
{
    hl_public_t *store = s_store (self);
    int rc = store? hl_public_track_case (store, token, case_id, size): -1;
    if (rc == 1)
        web_request_error (request, 404, "token",
                           "Không tìm thấy phản ánh theo đường dẫn này (no report for this link)");
    else
    if (rc)
        web_request_unavailable (request);
    return rc? -1: 0;
}

//  The ward a filing went to, into answer: "ward", "ward_name"
static void
s_filing_ward (web_public_t *self, json_t *answer, json_t *filing)
{
    const char *ward = json_string_value (json_object_get (filing, "ward"));
    const char *name = ward? hl_areas_name (web_api_areas (self->api), ward): NULL;
    json_object_set_new (answer, "ward", json_string (ward? ward: ""));
    json_object_set_new (answer, "ward_name", json_string (name? name: ward? ward: ""));
}

//  At the city, a filing the ward has not filed yet (or whose case has
//  not reached the city): what there is to say, in the tracking answer's
//  shape, with "pending": true and no case number. One the ward refused
//  (final): "pending": false, "refused": {"code", "reason", "field",
//  "at_ms"} and state "refused"
static void
s_track_pending (web_public_t *self, web_request_t *request, json_t *filing)
{
    json_t *answer = json_object ();
    json_t *refused = json_object_get (filing, "refused");
    json_object_set_new (answer, "case_id", json_null ());
    json_object_set_new (answer, "pending", json_boolean (!refused));
    json_object_set_new (answer, "state", json_string (refused? "refused": ""));
    json_object_set_new (answer, "state_label", json_string (refused?
        "Phường không tiếp nhận, phản ánh không được lập hồ sơ": "Đang chuyển về phường"));
    if (refused)
        json_object_set (answer, "refused", refused);
    json_object_set (answer, "received_ms", json_object_get (filing, "at_ms"));
    json_object_set_new (answer, "deadlines", json_array ());
    json_object_set_new (answer, "history", json_array ());
    json_object_set_new (answer, "result_note", json_null ());
    json_object_set_new (answer, "rating", json_null ());
    json_object_set_new (answer, "can", json_object ());
    json_object_set_new (answer, "evidence", json_array ());
    json_object_set_new (answer, "now_ms", json_integer (hl_clock_now ()));
    s_filing_ward (self, answer, filing);
    web_request_json (request, 200, answer);
}

//  At the city: the reporter's rate or reopen (what) on the case a filing
//  became, filed at its ward like the report was. Checked against the
//  city's copy of the case first (409 when the procedure does not allow it
//  now); the ward's intake checks again. HL_OK (answered nothing), or -1
//  (answered)
static int
s_track_city_act (web_public_t *self, web_request_t *request, const char *case_id, json_t *filing,
                  const char *what, const char *variant, const char *note)
{
    Hotline__Query query = HOTLINE__QUERY__INIT;
    query.kind = "case";
    query.case_id = (char *) case_id;
    json_t *result = web_api_query (self->api, request, &query, S_SUBMIT_ACTOR, false);
    if (!result)
        return -1;
    const char *state = json_string_value (json_object_get (result, "state"));
    const char *to_state = NULL;
    int rc = state? hl_procedure_check (self->procedure, state, what, variant? variant: "", "citizen",
                                        &to_state): HL_CONFLICT;
    json_decref (result);
    if (rc != HL_OK) {
        web_request_error (request, rc == HL_FORBIDDEN? 403: 409, NULL,
                           "Chưa làm được việc này lúc này (the procedure does not allow it now)");
        return -1;
    }
    Hotline__Command command = HOTLINE__COMMAND__INIT;
    command.action = (char *) what;
    command.variant = (char *) (variant? variant: "");
    command.case_id = (char *) case_id;
    command.note = (char *) (note? note: "");
    char id [WEB_FILING_ID_SIZE];
    web_filing_id ("citizen", NULL, id);
    return web_filing_send (self->api, request, id, json_string_value (json_object_get (filing, "ward")),
                            S_REPORTER_ACTOR, &command);
}

//  Is evidence ref one the reporter gave (in the report, or attached as reporter)
static json_t *
s_reporter_evidence (json_t *result)
{
    json_t *list = json_array ();
    size_t i;
    json_t *item;
    json_array_foreach (json_object_get (json_object_get (result, "report"), "evidence"), i, item)
        if (hl_evidence_ref_valid (json_string_value (item)))
            json_array_append (list, item);
    json_array_foreach (json_object_get (result, "history"), i, item) {
        const char *actor = json_string_value (json_object_get (item, "actor"));
        const char *action = json_string_value (json_object_get (item, "action"));
        json_t *ref = json_object_get (json_object_get (item, "args"), "evidence");
        if (actor && action && streq (action, "attach") && strncmp (actor, "citizen:", 8) == 0 && ref)
            json_array_append (list, ref);
    }
    return list;
}

static void
s_track_get (web_public_t *self, web_request_t *request, const char *case_id, json_t *filing)
{
    Hotline__Query query = HOTLINE__QUERY__INIT;
    query.kind = "case";
    query.case_id = (char *) case_id;
    json_t *result = web_api_query (self->api, request, &query, S_SUBMIT_ACTOR, false);
    if (!result)
        return;
    //  Only what the reporter may see: never a name, an officer, a note
    //  other than the result told to them, or anyone else's file
    const char *state = json_string_value (json_object_get (result, "state"));
    json_t *answer = json_object ();
    json_object_set_new (answer, "case_id", json_string (case_id));
    json_object_set_new (answer, "state", json_string (state? state: ""));
    json_object_set_new (answer, "state_label",
                         json_string (state? hl_procedure_state_label (self->procedure, state): ""));
    json_t *report = json_object_get (result, "report");
    json_object_set (answer, "received_ms", json_object_get (report, "received_ms"));
    json_object_set (answer, "type", json_object_get (report, "type"));
    json_object_set (answer, "location", json_object_get (report, "location"));
    json_object_set (answer, "description", json_object_get (report, "description"));
    json_t *deadlines = json_array ();
    size_t i;
    json_t *item;
    json_array_foreach (json_object_get (result, "deadlines"), i, item) {
        const char *status = json_string_value (json_object_get (item, "status"));
        if (status && streq (status, "running"))
            json_array_append_new (deadlines, json_pack ("{s:O, s:O}", "name", json_object_get (item, "name"),
                                                         "due_ms", json_object_get (item, "due_ms")));
    }
    json_object_set_new (answer, "deadlines", deadlines);
    json_t *history = json_array ();
    const char *result_note = NULL;
    const char *rating = NULL;
    json_array_foreach (json_object_get (result, "history"), i, item) {
        const char *action = json_string_value (json_object_get (item, "action"));
        const char *from = json_string_value (json_object_get (item, "from"));
        const char *to = json_string_value (json_object_get (item, "to"));
        if (action && streq (action, "inform"))
            result_note = json_string_value (json_object_get (item, "note"));
        if (action && streq (action, "rate"))
            rating = json_string_value (json_object_get (item, "variant"));
        if (action && streq (action, "reopen"))
            rating = NULL;              //  a new round: a new rating
        //  The state's name beside its (Vietnamese) label, so the page can
        //  show the step in the reader's language, as it does the state
        if (to && *to && (!from || strneq (from, to)))
            json_array_append_new (history, json_pack ("{s:O, s:s, s:s}", "at_ms", json_object_get (item, "at_ms"),
                                   "state", to,
                                   "state_label", hl_procedure_state_label (self->procedure, to)));
    }
    json_object_set_new (answer, "history", history);
    json_object_set_new (answer, "result_note", result_note? json_string (result_note): json_null ());
    json_object_set_new (answer, "rating", rating? json_string (rating): json_null ());
    //  What the procedure lets the reporter do now
    const char *allowed [64];
    size_t count = state? hl_procedure_allowed (self->procedure, state, "citizen", allowed, 64): 0;
    json_t *can = json_object ();
    for (size_t k = 0; k < count; k++) {
        char name [64];
        snprintf (name, sizeof name, "%s", allowed [k]);
        char *space = strchr (name, ' ');
        if (space)
            *space = 0;
        json_object_set_new (can, name, json_true ());
    }
    if (filing)
        s_filing_ward (self, answer, filing);
    json_object_set_new (answer, "can", can);
    json_object_set_new (answer, "evidence", s_reporter_evidence (result));
    json_object_set_new (answer, "now_ms", json_integer (hl_clock_now ()));
    json_decref (result);
    web_request_json (request, 200, answer);
}

//  The case a token opens (s_track_case); at the city, a token opens a
//  filing: *filing is set, and case_id is the case it became, or empty
//  while it has not reached the city. 0, or -1 (answered)
static int
s_track_open (web_public_t *self, web_request_t *request, const char *token, char *case_id, size_t size,
              json_t **filing)
{
    *filing = NULL;
    if (s_track_case (self, request, token, case_id, size))
        return -1;
    if (!hl_filing_id_valid (case_id))
        return 0;
    char id [64];
    snprintf (id, sizeof id, "%s", case_id);
    int rc = web_filing_state (self->api, request, id, filing);
    if (rc < 0)
        return -1;
    if (rc > 0)     //  durable at intake, not yet at the archive: on its way
        *filing = json_pack ("{s:s, s:s, s:I, s:n}", "filing_id", id, "ward", "",
                             "at_ms", (json_int_t) hl_clock_now (), "case_id");
    const char *filed = json_string_value (json_object_get (*filing, "case_id"));
    snprintf (case_id, size, "%s", filed? filed: "");
    return 0;
}

void
web_public_track (web_public_t *self, web_request_t *request, const char *token, const char *what)
{
    char case_id [64];
    bool get = streq (request->method, "GET") || streq (request->method, "HEAD");
    if (!what && !get) {
        web_request_error (request, 405, NULL, "Phương thức không hỗ trợ (method not allowed)");
        return;
    }
    if (what && strneq (request->method, "POST")) {
        web_request_error (request, 405, NULL, "Phương thức không hỗ trợ (method not allowed)");
        return;
    }
    if (what && strneq (what, "rate") && strneq (what, "reopen")) {
        web_request_error (request, 404, NULL, "Không có (not found)");
        return;
    }
    json_t *filing = NULL;
    if (s_track_open (self, request, token, case_id, sizeof case_id, &filing))
        return;
    if (!what) {
        if (filing && !*case_id)
            s_track_pending (self, request, filing);
        else
            s_track_get (self, request, case_id, filing);
        json_decref (filing);
        return;
    }
    if (filing && !*case_id && json_object_get (filing, "refused")) {
        web_request_error (request, 409, NULL, "Phường không tiếp nhận phản ánh này, không có hồ sơ "
                           "(the ward refused the report: there is no case)");
        json_decref (filing);
        return;
    }
    if (filing && !*case_id) {
        web_request_error (request, 409, NULL, "Phản ánh đang được chuyển về phường, xin thử lại sau "
                           "(the report is still on its way to the ward)");
        json_decref (filing);
        return;
    }
    static const char *rate_fields [] = { "satisfied", "note", NULL };
    static const char *reopen_fields [] = { "note", NULL };
    json_t *body = web_request_body (request, streq (what, "rate")? rate_fields: reopen_fields);
    if (!body)
        return;
    const char *note;
    protobuf_c_boolean satisfied = false;
    if (web_request_string (request, body, "note", HL_MAX_TEXT, &note))
        goto done;
    if (streq (what, "rate")) {
        json_t *flag = json_object_get (body, "satisfied");
        if (!json_is_boolean (flag)) {
            web_request_error (request, 400, "satisfied", "Xin chọn hài lòng hay không (satisfied: true or false)");
            goto done;
        }
        satisfied = json_is_true (flag);
    }
    else
    if (!note || !*note) {
        web_request_error (request, 400, "note", "Xin cho biết vì sao chưa được xử lý (say what is not fixed)");
        goto done;
    }
    const char *variant = streq (what, "rate")? (satisfied? "satisfied": "unsatisfied"): NULL;
    if ((filing? s_track_city_act (self, request, case_id, filing, what, variant, note)
               : s_command (self, request, S_REPORTER_ACTOR, case_id, what, variant, note, NULL, NULL, NULL))
        == HL_OK)
        //  Durable at intake; the case view (the archive) follows a moment
        //  later, so the page reads the case again rather than this answer
        web_request_json (request, 200, json_pack ("{s:s, s:s}", "case_id", case_id, "done", what));
done:
    json_decref (body);
    json_decref (filing);
}

// ------------------------------------------------------------- 6. attach, serve

//  POST .../evidence: the files (and an optional note) attached to case_id
//  (at the city: filed at ward, checked against the city's copy first)
static void
s_attach (web_public_t *self, web_request_t *request, web_upload_t *upload, const char *actor,
          const char *case_id, bool public, const char *ward)
{
    static const char *names [] = { "note", NULL };
    if (s_fields_known (upload, request, names))
        return;
    const char *note = s_field (upload, "note");
    const char *problem = note? hl_text_check (note, HL_MAX_TEXT): NULL;
    if (problem) {
        web_request_error (request, 400, "note", "'note': %s", problem);
        return;
    }
    if (upload->n_files == 0) {
        web_request_error (request, 400, "evidence", "Chưa chọn tệp nào (no file)");
        return;
    }
    //  The procedure decides first, so a refused attach stores no file
    json_t *result = NULL;
    Hotline__Query query = HOTLINE__QUERY__INIT;
    query.kind = "case";
    query.case_id = (char *) case_id;
    result = web_api_query (self->api, request, &query, actor, false);
    if (!result)
        return;
    const char *state = json_string_value (json_object_get (result, "state"));
    const char *role_end = strchr (actor, ':');
    char role [64];
    snprintf (role, sizeof role, "%.*s", (int) (role_end? role_end - actor: 0), actor);
    const char *to;
    int rc = state? hl_procedure_check (self->procedure, state, "attach", "", role, &to): HL_NOT_FOUND;
    json_decref (result);
    if (rc != HL_OK) {
        web_request_error (request, rc == HL_CONFLICT? 409: 403, NULL,
                           "Hồ sơ ở trạng thái này không nhận thêm tệp (this case takes no files now)");
        return;
    }
    if (public) {
        hl_public_t *store = s_store (self);
        int by_ip = 0, by_phone = 0;
        if (!store || hl_public_submissions (store, request->ip, NULL, hl_clock_now () - self->window_ms,
                                             &by_ip, &by_phone)) {
            web_request_unavailable (request);
            return;
        }
        if (by_ip >= self->max_per_ip) {
            snprintf (request->retry_after, sizeof request->retry_after, "%lld",
                      (long long) (self->window_ms / 1000));
            web_request_error (request, 429, NULL, "Bạn đã gửi quá nhiều lần, xin thử lại sau (too many, try later)");
            return;
        }
        hl_public_submission_add (store, request->ip, NULL);
    }
    char refs [20][HL_EVIDENCE_REF_SIZE];
    if (s_commit_files (upload, request, refs)
    ||  s_attach_all (self, request, actor, case_id, refs, upload->n_files, note, ward))
        return;
    json_t *list = json_array ();
    for (size_t i = 0; i < upload->n_files; i++)
        json_array_append_new (list, json_string (refs [i]));
    web_request_json (request, 200, json_pack ("{s:s, s:o}", "case_id", case_id, "evidence", list));
}

//  The case's evidence refs: the report's and every attach's
static bool
s_case_has (json_t *result, const char *ref)
{
    size_t i;
    json_t *item;
    json_array_foreach (json_object_get (json_object_get (result, "report"), "evidence"), i, item)
        if (json_string_value (item) && streq (json_string_value (item), ref))
            return true;
    json_array_foreach (json_object_get (result, "history"), i, item) {
        const char *value = json_string_value (json_object_get (json_object_get (item, "args"), "evidence"));
        if (value && streq (value, ref))
            return true;
    }
    return false;
}

//  City: the file the city holds for ref on this case (the archive lists
//  what reached it, evidence_files: by the ward's ref or by its own
//  address), its address in stored (HL_EVIDENCE_REF_SIZE bytes). The city
//  holds only the copy that left the ward, under its own SHA-256
static bool
s_city_has (json_t *result, const char *ref, char *stored)
{
    size_t i;
    json_t *item;
    json_array_foreach (json_object_get (result, "evidence_files"), i, item) {
        const char *named = json_string_value (json_object_get (item, "ref"));
        const char *sha = json_string_value (json_object_get (item, "sha256"));
        if (sha && ((named && streq (named, ref)) || streq (sha, ref))) {
            snprintf (stored, HL_EVIDENCE_REF_SIZE, "%s", sha);
            return true;
        }
    }
    return false;
}

void
web_public_evidence_get (web_public_t *self, web_request_t *request, hl_session_info_t *session,
                         const char *case_id, const char *sha)
{
    char ref [HL_EVIDENCE_REF_SIZE];
    snprintf (ref, sizeof ref, "sha256:%.64s", sha);
    if (!hl_case_id_valid (case_id) || strlen (sha) != 64 || !hl_evidence_ref_valid (ref)) {
        web_request_error (request, 404, NULL, "Không có tệp (no such file)");
        return;
    }
    Hotline__Query query = HOTLINE__QUERY__INIT;
    query.kind = "case";
    query.case_id = (char *) case_id;
    char actor [128];
    web_api_actor (session, actor, sizeof actor);
    json_t *result = web_api_query (self->api, request, &query, actor, false);
    if (!result)
        return;
    //  At the city: the files of the forwarded cases that reached it, to
    //  the Department only (the role that sees reporters there)
    char stored [HL_EVIDENCE_REF_SIZE];
    snprintf (stored, sizeof stored, "%s", ref);
    bool has = self->city? web_api_can_see_reporter (self->api, session->role, NULL)
                           && s_city_has (result, ref, stored)
                         : s_case_has (result, ref);
    //  The original only at the ward, to those who may see the reporter;
    //  anyone else (and the city, always) gets the photo without its
    //  metadata
    bool original = !self->city && web_api_can_see_reporter (self->api, session->role, result);
    json_decref (result);
    char path [PATH_MAX];
    const char *type;
    size_t bytes;
    int rc = has? hl_evidence_find (self->evidence, stored, path, sizeof path, &type, &bytes): 1;
    if (rc) {
        web_request_error (request, rc == 1? 404: 503, NULL, "Không có tệp (no such file)");
        return;
    }
    zfile_t *file = zfile_new (NULL, path);
    zchunk_t *chunk = file && zfile_input (file) == 0? zfile_read (file, bytes, 0): NULL;
    zfile_destroy (&file);
    if (!chunk || zchunk_size (chunk) != bytes) {
        zchunk_destroy (&chunk);
        web_request_unavailable (request);
        return;
    }
    unsigned char *body = NULL;
    size_t size = 0;
    if (streq (type, "image/jpeg") && !original) {
        if (hl_jpeg_strip (zchunk_data (chunk), zchunk_size (chunk), &body, &size)) {
            zchunk_destroy (&chunk);
            web_request_error (request, 422, NULL,
                               "Ảnh hỏng, không thể hiển thị (a damaged photo that cannot be shown)");
            return;
        }
    }
    else {
        size = zchunk_size (chunk);
        body = (unsigned char *) zmalloc (size? size: 1);
        memcpy (body, zchunk_data (chunk), size);
    }
    zchunk_destroy (&chunk);
    free (request->answer);
    request->answer = (char *) body;
    request->answer_size = size;
    request->content_type = type;
    request->status = 200;
    snprintf (request->disposition, sizeof request->disposition, "inline; filename=\"%.12s\"", sha);
}

// ------------------------------------------------------------- 7. router, selftest

//  /api/v1/public/reports, /api/v1/public/track/{token}/evidence,
//  /api/v1/cases/{id}/evidence
bool
web_public_is_upload (const char *method, const char *url)
{
    if (!method || !url || strneq (method, "POST"))
        return false;
    if (streq (url, "/api/v1/public/reports"))
        return true;
    const char *tail = strrchr (url, '/');
    if (!tail || strneq (tail, "/evidence"))
        return false;
    size_t len = (size_t) (tail - url);
    if (strncmp (url, "/api/v1/public/track/", 21) == 0)
        return len > 21 && !memchr (url + 21, '/', len - 21);
    if (strncmp (url, "/api/v1/cases/", 14) == 0)
        return len > 14 && !memchr (url + 14, '/', len - 14);
    return false;
}

static void s_upload_route (web_public_t *self, web_request_t *request, web_upload_t *upload);

void
web_public_upload_handle (web_public_t *self, web_request_t *request, web_upload_t *upload)
{
    s_upload_route (self, request, upload);
    //  Whatever was not committed goes now, before the answer is sent: a
    //  client that reads a refusal finds nothing of its upload on disk
    for (size_t i = 0; i < upload->n_files; i++)
        hl_evidence_file_destroy (&upload->files [i]);
    upload->n_files = 0;
}

static void
s_upload_route (web_public_t *self, web_request_t *request, web_upload_t *upload)
{
    const char *url = request->path;
    if (streq (url, "/api/v1/public/reports")) {
        request->route = "public_report";
        if (s_upload_done (upload, request) == 0)
            s_report (self, request, upload);
        return;
    }
    char id [128];
    const char *start = strncmp (url, "/api/v1/public/track/", 21) == 0? url + 21: url + 14;
    snprintf (id, sizeof id, "%.*s", (int) (strrchr (url, '/') - start), start);
    if (strncmp (url, "/api/v1/public/", 15) == 0) {
        request->route = "public_track";
        char case_id [64];
        json_t *filing = NULL;
        //  At the city the token opens a filing: the photo is filed at its
        //  ward once the ward's case has reached the city
        if (s_upload_done (upload, request) || s_track_open (self, request, id, case_id, sizeof case_id, &filing))
            return;
        if (filing && !*case_id)
            web_request_error (request, 409, NULL, "Phản ánh đang được chuyển về phường, xin thử lại sau "
                               "(the report is still on its way to the ward, or was refused there)");
        else
            s_attach (self, request, upload, S_REPORTER_ACTOR, case_id, true,
                      filing? json_string_value (json_object_get (filing, "ward")): NULL);
        json_decref (filing);
        return;
    }
    request->route = "case_evidence";
    hl_session_info_t session;
    if (web_api_auth (self->api, request, &session))
        return;
    if (!web_api_can_act (self->api, session.role)) {
        web_request_error (request, 403, NULL, "Vai trò '%s' không được thao tác hồ sơ (role may not act)",
                           session.role);
        return;
    }
    if (!hl_case_id_valid (id)) {
        web_request_error (request, 404, "case_id", "Không có hồ sơ (no such case) '%.40s'", id);
        return;
    }
    if (s_upload_done (upload, request))
        return;
    char actor [128];
    web_api_actor (&session, actor, sizeof actor);
    s_attach (self, request, upload, actor, id, false, NULL);
}

void
web_public_test (bool verbose)
{
    printf (" * web_public: ");
    assert (web_public_is_upload ("POST", "/api/v1/public/reports"));
    assert (!web_public_is_upload ("GET", "/api/v1/public/reports"));
    assert (web_public_is_upload ("POST", "/api/v1/public/track/abc/evidence"));
    assert (web_public_is_upload ("POST", "/api/v1/cases/31001-2026-000001/evidence"));
    assert (!web_public_is_upload ("POST", "/api/v1/cases/31001-2026-000001/actions/assign"));
    assert (!web_public_is_upload ("POST", "/api/v1/cases//evidence"));
    assert (!web_public_is_upload ("POST", "/api/v1/cases/a/b/evidence"));
    assert (!web_public_is_upload ("POST", "/api/v1/public/track/evidence"));
    assert (s_filename_ok ("anh.jpg") && s_filename_ok ("ảnh chụp 1.jpg"));
    assert (!s_filename_ok ("../anh.jpg") && !s_filename_ok ("a/b.jpg") && !s_filename_ok ("a\\b.jpg"));
    assert (!s_filename_ok ("a\nb.jpg") && !s_filename_ok (".."));
    if (verbose)
        printf ("(routes, filenames) ");
    printf ("OK\n");
}
