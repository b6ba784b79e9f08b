/*  routing_rules — jurisdiction rules (thẩm quyền) loaded from routing.conf.
 *
 *  Ordered, first match wins; each rule names the "route" variant to submit
 *  (ward, department ...) and a set of conditions that must all hold. The
 *  file format is documented in deploy/config/routing.conf.
 */
#ifndef ROUTING_RULES_H_INCLUDED
#define ROUTING_RULES_H_INCLUDED

typedef struct _routing_rules_t routing_rules_t;

//  What routing knows of a case (from its submit event)
typedef struct {
    const char *type;               //  pollution type name: waste_water ...
    const char *scope;              //  within_ward, several_wards, beyond_city, ""
    const char *polluter_category;  //  licensed_facility, industrial_zone, ...
    const char *description;        //  UTF-8, any case
    bool sudden;
    bool urgent;
} routing_facts_t;

//  Load and check the rules. procedure (may be NULL) checks that every
//  variant exists for action "route". On error returns NULL and writes
//  "path:line: message" into err (hl_lexer's form; "path: message" when the
//  file cannot be read or is over 1 MiB; a missing default names the last
//  line).
routing_rules_t *routing_rules_load (const char *path, hl_procedure_t *procedure,
                                     char *err, size_t errsize);
void routing_rules_destroy (routing_rules_t **self_p);
//  Number of rules (not counting the default)
size_t routing_rules_count (routing_rules_t *self);
//  Decide: returns the variant (owned by the rules) and writes which rule
//  matched into reason, e.g. "rule 2: scope beyond_city".
const char *routing_rules_decide (routing_rules_t *self, const routing_facts_t *facts,
                                  char *reason, size_t size);

//  Lower-case UTF-8 text for case-insensitive matching (ASCII, Latin-1,
//  Latin Extended-A/B incl. Vietnamese Ơ Ư Đ, Latin Extended Additional,
//  Greek, Cyrillic). Invalid bytes are copied as they are. Caller frees.
char *routing_fold (const char *text);

void routing_rules_test (bool verbose);
#endif
