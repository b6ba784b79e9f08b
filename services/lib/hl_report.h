/*  hl_report — the Decision 174 case record: names, validation, JSON.
 *
 *  Enum values travel as protobuf enums and appear to people as stable
 *  names: waste_water, air_emissions, solid_waste, noise, odour, soil, other;
 *  phone, email, walk_in, web, letter, other; within_ward, several_wards,
 *  beyond_city.
 */
#ifndef HL_REPORT_H_INCLUDED
#define HL_REPORT_H_INCLUDED

//  Limits count characters (Unicode code points), as an officer counts
//  them: 4,000 Vietnamese characters are about 5,200 bytes. Each limit also
//  has a byte ceiling, HL_MAX_BYTES (limit), that bounds memory whatever
//  the text (4 bytes is the longest UTF-8 character). The CLI, intake and
//  the web check with the same functions, so the limits are the same.
#define HL_MAX_TEXT         4000    //  description, note: characters
#define HL_MAX_FIELD        300     //  other text fields: characters
#define HL_MAX_BYTES(chars) ((size_t) (chars) * 4)
#define HL_MAX_EVIDENCE     32

typedef struct {
    char field [32];
    char message [200];
} hl_field_error_t;

const char *hl_type_name (int type);          //  "" if unknown
int hl_type_parse (const char *name);         //  -1 if unknown
const char *hl_type_label (int type);         //  Vietnamese label
const char *hl_channel_name (int channel);
int hl_channel_parse (const char *name);
const char *hl_scope_name (int scope);
int hl_scope_parse (const char *name);

//  Validate a report for submission. Appends one error per bad field into
//  errs (up to max); returns the number of errors (0 = valid).
size_t hl_report_validate (const Hotline__Report *report, hl_field_error_t *errs, size_t max);
//  Validate a free text argument (note, reason ...): UTF-8, at most max
//  characters (and HL_MAX_BYTES (max) bytes), no control characters but
//  line breaks (LF, CR LF, CR: text pasted from e-mail or a Windows form
//  is stored as typed) and tab. NULL if fine, else a message such as
//  "is too long: 4001 characters (at most 4000)" (static storage).
const char *hl_text_check (const char *text, size_t max);
//  Number of characters (code points) of valid UTF-8 text
size_t hl_text_chars (const char *text);
//  Is an occurred time acceptable: not before the year 2000 (in the zone),
//  not more than 15 minutes after now? NULL if so, else the reason. 0 is
//  refused too: callers that take 0 as "not given" check that first.
const char *hl_occurred_check (int64_t occurred_ms, int64_t now);
//  Is this a well-formed case id "<ward>-<yyyy>-<nnnnnn>"?
bool hl_case_id_valid (const char *case_id);
//  A filing's id (federation.h, "Filing"): HL_FILING_PREFIX and 32
//  lowercase hex digits
bool hl_filing_id_valid (const char *id);

//  JSON views (jansson). redact: drop reporter personal data.
json_t *hl_report_to_json (const Hotline__Report *report, bool redact);
json_t *hl_event_to_json (const Hotline__Event *event);
//  Remove personal data from an event in place (reporter fields). The event
//  must come from hotline__event__unpack (NULL, ...): the strings are freed.
void hl_event_redact (Hotline__Event *event);
//  Value of an argument of an event/command map ("" if absent)
const char *hl_event_arg (const Hotline__Event *event, const char *key);
const char *hl_command_arg (const Hotline__Command *command, const char *key);

void hl_report_test (bool verbose);
#endif
