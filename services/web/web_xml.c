/*  web_xml — a tiny XML writer (see web_xml.h).
 */
#include "hotline.h"
#include "web_xml.h"

#define S_DEPTH 16

struct _web_xml_t {
    zchunk_t *out;
    const char *open [S_DEPTH];     //  the program's own names (static strings)
    int depth;
};

static void
s_put (web_xml_t *self, const char *text, size_t len)
{
    zchunk_extend (self->out, text, len);
}

static void
s_puts (web_xml_t *self, const char *text)
{
    s_put (self, text, strlen (text));
}

//  A name the program chose: [A-Za-z_][A-Za-z0-9_.-]*
static bool
s_name_ok (const char *name)
{
    if (!name || !(isalpha ((unsigned char) *name) || *name == '_'))
        return false;
    for (const char *p = name; *p; p++)
        if (!(isalnum ((unsigned char) *p) || *p == '_' || *p == '-' || *p == '.'))
            return false;
    return true;
}

//  Length of the valid UTF-8 character at p (1-4; len bytes left), or 0 if
//  it is not one or not an XML character: hl_utf8_char (the one validator)
//  and XML 1.0's Char production, which also excludes U+FFFE and U+FFFF
static size_t
s_utf8_len (const unsigned char *p, size_t len)
{
    uint32_t code = 0;
    size_t size = hl_utf8_char ((const char *) p, len, &code);
    return size && (code == 0xFFFE || code == 0xFFFF)? 0: size;
}

static void
s_text (web_xml_t *self, const char *text)
{
    const unsigned char *p = (const unsigned char *) text;
    const unsigned char *end = p + strlen (text);
    while (*p) {
        switch (*p) {
            case '&':  s_puts (self, "&amp;");  p++; continue;
            case '<':  s_puts (self, "&lt;");   p++; continue;
            case '>':  s_puts (self, "&gt;");   p++; continue;
            case '"':  s_puts (self, "&quot;"); p++; continue;
            case '\'': s_puts (self, "&apos;"); p++; continue;
            case '\r': s_puts (self, "&#13;");  p++; continue;
        }
        if (*p < 0x20 && *p != '\t' && *p != '\n') {
            s_puts (self, "\xEF\xBF\xBD");
            p++;
            continue;
        }
        size_t len = s_utf8_len (p, (size_t) (end - p));
        if (len == 0) {
            s_puts (self, "\xEF\xBF\xBD");
            p++;
        }
        else {
            s_put (self, (const char *) p, len);
            p += len;
        }
    }
}

web_xml_t *
web_xml_new (void)
{
    web_xml_t *self = (web_xml_t *) zmalloc (sizeof (web_xml_t));
    self->out = zchunk_new (NULL, 4096);
    s_puts (self, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    return self;
}

void
web_xml_destroy (web_xml_t **self_p)
{
    assert (self_p);
    web_xml_t *self = *self_p;
    if (self) {
        zchunk_destroy (&self->out);
        free (self);
        *self_p = NULL;
    }
}

void
web_xml_open (web_xml_t *self, const char *name)
{
    assert (s_name_ok (name));
    assert (self->depth < S_DEPTH);
    self->open [self->depth++] = name;
    s_puts (self, "<");
    s_puts (self, name);
    s_puts (self, ">");
}

void
web_xml_close (web_xml_t *self)
{
    assert (self->depth > 0);
    const char *name = self->open [--self->depth];
    s_puts (self, "</");
    s_puts (self, name);
    s_puts (self, ">");
    if (self->depth <= 2)
        s_puts (self, "\n");
}

void
web_xml_element (web_xml_t *self, const char *name, const char *text)
{
    assert (s_name_ok (name));
    s_puts (self, "<");
    s_puts (self, name);
    if (!text) {
        s_puts (self, "/>");
        return;
    }
    s_puts (self, ">");
    s_text (self, text);
    s_puts (self, "</");
    s_puts (self, name);
    s_puts (self, ">");
}

char *
web_xml_finish (web_xml_t *self, size_t *size)
{
    while (self->depth > 0)
        web_xml_close (self);
    size_t len = zchunk_size (self->out);
    char *text = (char *) zmalloc (len + 1);
    memcpy (text, zchunk_data (self->out), len);
    text [len] = 0;
    zchunk_set (self->out, NULL, 0);
    if (size)
        *size = len;
    return text;
}

void
web_xml_test (bool verbose)
{
    printf (" * web_xml: ");
    assert (s_name_ok ("service_requests") && s_name_ok ("a.b-c") && s_name_ok ("_x"));
    assert (!s_name_ok ("") && !s_name_ok ("1a") && !s_name_ok ("a b") && !s_name_ok ("a<") && !s_name_ok (NULL));

    web_xml_t *xml = web_xml_new ();
    web_xml_open (xml, "errors");
    web_xml_open (xml, "error");
    web_xml_element (xml, "code", "400");
    web_xml_element (xml, "description", "<b>&\"'</b>\r\nNước thải");
    web_xml_element (xml, "empty", NULL);
    size_t size;
    char *text = web_xml_finish (xml, &size);
    assert (size == strlen (text));
    assert (streq (text, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                         "<errors><error><code>400</code>"
                         "<description>&lt;b&gt;&amp;&quot;&apos;&lt;/b&gt;&#13;\nNước thải</description>"
                         "<empty/></error>\n</errors>\n"));
    free (text);
    web_xml_destroy (&xml);
    assert (xml == NULL);
    web_xml_destroy (&xml);

    //  What XML cannot carry becomes U+FFFD; valid UTF-8, NFD marks included, passes
    xml = web_xml_new ();
    web_xml_element (xml, "t", "a\x01" "b\xC3" "c\xEF\xBF\xBE" "d\xED\xA0\x80" "e\tN\xCC\x9B\xCC\x81" "o");
    text = web_xml_finish (xml, NULL);
    assert (strstr (text, "<t>a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                          "d\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" "e\tN\xCC\x9B\xCC\x81" "o</t>"));
    free (text);
    web_xml_destroy (&xml);
    if (verbose)
        printf ("(escaping, invalid characters) ");
    printf ("OK\n");
}
