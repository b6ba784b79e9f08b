/*  notify_templates — the message texts of the notification service.
 *
 *  Templates are configuration, not code: deploy/config/templates.conf (path
 *  from notify/templates, default: templates.conf beside procedure.conf).
 *  The procedure's notify rules name a template; this class loads the file,
 *  checks it, and renders a text with placeholders such as {case_id}.
 *
 *  File format (UTF-8, one declaration per line, '#' at the start of a line
 *  is a comment outside a body):
 *
 *      label    KEY TEXT             e.g.  label regime.urgent Khẩn
 *      template NAME                 starts a template (NAME: a-z 0-9 _ .)
 *      subject  TEXT                 one line (e-mail subject, log)
 *      sms      TEXT                 one line for SMS (default: the subject)
 *      body                          the e-mail body follows, verbatim,
 *      ...                           up to a line holding a single "."
 *      .                             (a body line starting with ".." loses
 *                                    one dot, as in SMTP)
 *
 *  A template "NAME.RECIPIENT" (e.g. "result.reporter") is used instead of
 *  "NAME" for that recipient when it exists.
 *
 *  Placeholders: {name} with name one of notify_templates_placeholders ().
 *  An unknown {name} is an error at load time (typos do not reach people).
 *  The caller decides which placeholders have a value for an audience; the
 *  notification service gives reporters only a whitelist (no data about
 *  anyone else), and nobody the reporter's identity.
 */
#ifndef NOTIFY_TEMPLATES_H_INCLUDED
#define NOTIFY_TEMPLATES_H_INCLUDED

typedef struct _notify_templates_t notify_templates_t;

typedef struct {
    const char *name;
    const char *subject;
    const char *sms;
    const char *body;
    size_t line;                //  where it is declared
} notify_template_t;

//  Value of a placeholder for the message being rendered; NULL = no value
//  for this audience (renders as "").
typedef const char *(notify_value_fn) (void *arg, const char *name);

//  Load and check. NULL on error, with "path:line: message" in err
//  (hl_lexer's form; "path: message" when the file cannot be read or is
//  over 256 KiB).
notify_templates_t *notify_templates_load (const char *path, char *err, size_t errsize);
void notify_templates_destroy (notify_templates_t **self_p);
//  The template for name and recipient ("name.recipient" first), or NULL.
const notify_template_t *notify_templates_find (notify_templates_t *self, const char *name,
                                                const char *recipient);
//  A label ("regime.urgent"), or NULL.
const char *notify_templates_label (notify_templates_t *self, const char *key);
//  NULL-terminated list of every placeholder name.
const char **notify_templates_placeholders (void);
//  Does the template use a placeholder outside allowed (NULL-terminated)?
//  Returns the first such name, or NULL.
const char *notify_templates_uses_other (const notify_template_t *tmpl, const char **allowed);
//  Render text. single_line: control characters become spaces. max: cap in
//  bytes (0 = none), cut at a character boundary with "…". Caller frees.
char *notify_templates_render (const char *text, notify_value_fn *fn, void *arg,
                               bool single_line, size_t max);

void notify_templates_test (bool verbose);
#endif
