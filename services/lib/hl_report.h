/*  hl_report — the Decision 174 case record: names, validation, JSON.
 *
 *  Enum values travel as protobuf enums and appear to people as stable
 *  names: waste_water, air_emissions, solid_waste, noise, odour, soil, other;
 *  phone, email, walk_in, web, letter, other; within_ward, several_wards,
 *  beyond_city.
 */
#ifndef HL_REPORT_H_INCLUDED
#define HL_REPORT_H_INCLUDED

#define HL_MAX_TEXT         4000    //  description, note: bytes
#define HL_MAX_FIELD        300     //  other text fields: bytes
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
//  Validate a free text argument (note, reason ...): UTF-8, length, no
//  control characters except newline/tab. NULL if fine, else a message.
const char *hl_text_check (const char *text, size_t max);
//  Is this a well-formed case id "<ward>-<yyyy>-<nnnnnn>"?
bool hl_case_id_valid (const char *case_id);

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
