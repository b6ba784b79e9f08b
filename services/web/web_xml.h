/*  web_xml — a tiny XML writer for the Open311 answers (web_open311): an
 *  XML declaration, nested elements, and text that is always escaped.
 *
 *  Why a class and not snprintf: every byte of text in an answer may come
 *  from a citizen (a description, an address) and must never become markup.
 *  The writer escapes & < > " ' and writes CR as &#13; (a parser would turn
 *  a bare CR into LF); characters XML 1.0 cannot carry at all (C0 controls
 *  other than TAB, LF and CR, and invalid UTF-8) become U+FFFD, so the
 *  document always parses.
 *
 *  Rules for callers:
 *  - Element names are the program's own (a letter or '_', then letters,
 *    digits, '_', '-', '.'): a bad name is a programmer error (assert).
 *  - web_xml_close closes the innermost open element; web_xml_finish
 *    closes whatever is still open and hands the document over.
 *  - At most 16 levels deep (assert).
 */
#ifndef WEB_XML_H_INCLUDED
#define WEB_XML_H_INCLUDED
#include <stdbool.h>
#include <stddef.h>

typedef struct _web_xml_t web_xml_t;

//  A new document: the declaration <?xml version="1.0" encoding="UTF-8"?>
web_xml_t *web_xml_new (void);
void web_xml_destroy (web_xml_t **self_p);
//  <name>
void web_xml_open (web_xml_t *self, const char *name);
//  </name> of the innermost open element
void web_xml_close (web_xml_t *self);
//  <name>text</name>, text escaped; <name/> when text is NULL
void web_xml_element (web_xml_t *self, const char *name, const char *text);
//  Close what is open; the document (caller frees) and its size in bytes.
//  The object is emptied: destroy it after.
char *web_xml_finish (web_xml_t *self, size_t *size);

void web_xml_test (bool verbose);
#endif
