/*
 * export_internal.h - what export.c (the journal, history and minutes) and
 * export_doc.c (the document writer they are written against) share. Not
 * part of the export API: only these two files include it.
 *
 * The writer has headings, paragraphs, lists, tables and labelled fields,
 * and renders each either as Markdown or as printable HTML, so both formats
 * always say the same thing. Text that people wrote goes through
 * doc_text(), the one place that escapes; doc_str() and doc_fmt() append
 * markup, labels and numbers only.
 *
 * Ownership: a struct doc owns its buffer until doc_finish() hands it over.
 * Every function runs on the thread that builds the export (the lws thread
 * or the export offload); a doc is never shared between threads.
 */
#ifndef CODEV_EXPORT_INTERNAL_H
#define CODEV_EXPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "export.h"
#include "labels.h"

struct doc {
    char *buf; /* NUL-terminated once anything was written */
    size_t len, cap;
    bool failed; /* an allocation failed: everything after is dropped */
    enum export_format fmt;
    enum label_lang lang;
    int depth;       /* list nesting */
    bool in_table;   /* Markdown table cell: line breaks become spaces */
    bool line_start; /* Markdown: next text character starts a line */
};

/* Starts an empty document in fmt and the group's language. Returns false
 * when fmt is not a text format (Markdown or HTML). */
bool doc_init(struct doc *o, const struct export_context *ctx, enum export_format fmt);

/* Hands the buffer over (the caller frees it), with its length in *len;
 * NULL after a failed allocation. */
char *doc_finish(struct doc *o, size_t *len);

/* Appending. doc_mem and doc_str: markup and labels as they are; doc_fmt:
 * formatted markup or numbers (never text someone wrote); doc_text: text
 * someone wrote, escaped for the format (NULL is ""); doc_label: a label;
 * doc_field_label: "Label : " (fr) or "Label: " (en), in bold; doc_date:
 * "2025-11-28 14:05 UTC"; doc_duration: m:ss (minutes may exceed 59);
 * doc_sep: the " · " between two parts of a line. */
void doc_mem(struct doc *o, const char *s, size_t n);
void doc_str(struct doc *o, const char *s);
__attribute__((format(printf, 2, 3))) void doc_fmt(struct doc *o, const char *fmt, ...);
void doc_text(struct doc *o, const char *s);
void doc_label(struct doc *o, enum label l);
void doc_field_label(struct doc *o, enum label l);
void doc_date(struct doc *o, int64_t ms);
void doc_duration(struct doc *o, int64_t ms);
void doc_sep(struct doc *o);

/* Structure: the document (title label and subject), headings (level 1-4;
 * _begin/_end around free content), paragraphs, a paragraph "Label : text"
 * (doc_field), a paragraph holding a label in italics (doc_empty_note),
 * lists and their items (nestable), and tables with n header cells. */
void doc_begin(struct doc *o, enum label title, const char *subject);
void doc_end(struct doc *o);
void doc_heading_begin(struct doc *o, int level);
void doc_heading_end(struct doc *o, int level);
void doc_heading(struct doc *o, int level, enum label l);
void doc_para_begin(struct doc *o);
void doc_para_end(struct doc *o);
void doc_field(struct doc *o, enum label l, const char *text);
void doc_empty_note(struct doc *o, enum label l);
void doc_list_begin(struct doc *o);
void doc_list_end(struct doc *o);
void doc_item_begin(struct doc *o);
void doc_item_end(struct doc *o);
void doc_table_begin(struct doc *o, const enum label *heads, int n);
void doc_row_begin(struct doc *o);
void doc_row_end(struct doc *o);
void doc_cell_begin(struct doc *o);
void doc_cell_end(struct doc *o);
void doc_table_end(struct doc *o);

#endif
