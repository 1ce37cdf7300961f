/* output.h - the non-interactive outputs: printers that draw one refresh of
 * the model, and the loop that refreshes and prints.
 *
 * Sampling and drawing are apart (as in htop): a printer only reads the
 * model it is given and writes text; run_refreshes() decides when to
 * refresh, when to stop and what to say when the session goes away. Every
 * printer is generic over st_field lists, so a new primitive shows up in
 * every output without editing these files.
 */
#ifndef SYNCTOP_TUI_OUTPUT_H
#define SYNCTOP_TUI_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>
#include <synctop/model.h>
#include <synctop/table.h>

/* Draws one refresh of model onto out. Write errors are left on the
 * stream (ferror) for the caller to notice. */
typedef void (*refresh_printer)(const st_model *model, FILE *out);

/* json_output.c: the model as one JSON object (keys in synctop(1)),
 * followed by a newline. Compact prints it on one line (JSON Lines). */
void json_print_compact(const st_model *model, FILE *out);
void json_print_pretty(const st_model *model, FILE *out);

/* batch_output.c: the model as plain text, top -b style: a header line,
 * the processes table, then one table per object type. */
void batch_print_text(const st_model *model, FILE *out);

/* How run_refreshes() paces and prints. */
typedef struct refresh_plan {
    refresh_printer print;
    double delay_s;            /* between refreshes */
    long count;                /* refreshes to print; 0 means until stopped */
    double warmup_s;           /* > 0: refresh once unprinted and wait this long first,
                                * so CPU% and rates cover a measured interval */
    bool blank_line_between;   /* an empty line between two printed refreshes */
} refresh_plan;

/* Refresh model from table and print, as planned, until the count is done,
 * SIGINT/SIGTERM arrives, stdout's reader goes away (SIGPIPE/EPIPE) or the
 * session is removed. Returns the exit status: 0 for all of those, 1 when a
 * refresh or a write fails for another reason (the reason is on stderr). */
int run_refreshes(st_table *table, st_model *model, const refresh_plan *plan);

#endif
