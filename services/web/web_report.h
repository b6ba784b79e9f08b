/*  web_report — the ward's report (the JSON of a `report` query) as CSV,
 *  byte for byte what `hotline report --format csv` prints: section 2's
 *  figures (one row per type, or per ward at the city, then the totals),
 *  a blank line, then section 1's focal points. Fields are quoted, quotes
 *  doubled; figures are bare integers.
 */
#ifndef WEB_REPORT_H_INCLUDED
#define WEB_REPORT_H_INCLUDED

//  The CSV text (caller frees) and its size
char *web_report_csv (json_t *report, size_t *size);

void web_report_test (bool verbose);
#endif
