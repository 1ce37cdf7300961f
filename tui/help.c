/* help.c - the help screen's text and drawing (see help.h).
 *
 * The text is a sequence of paragraphs, each with a role (heading, key,
 * plain); it is wrapped to the terminal's width at draw time, so it reads
 * well at 80 columns and at 200. Keys come from one table here; views,
 * sections and columns from views.c; primitives from the table below.
 */
#include "config.h"

#include "help.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "i18n.h"
#include "screen.h"
#include "views.h"

typedef struct key_help {
    const char *keys;
    const char *what;
} key_help;

static const key_help key_table[] = {
    { "F1 h ?", N_("this help (Esc, F1 or h closes it)") },
    { "Tab  Shift-Tab", N_("next / previous view") },
    { "1 .. 8", N_("a view: 1 Overview, 2 Processes, 3 Locks, 4 Semaphores, 5 Events & Conditions, "
                "6 Queues & Pipes, 7 Memory, 8 Pools & Supervisors") },
    { "Up Down", N_("move the selection (across tables in views with several)") },
    { "PgUp PgDn", N_("a page up or down") },
    { "Home End", N_("first or last row") },
    { "Enter", N_("the detail of the selected row: all figures, history, waiters, recent operations") },
    { "Esc", N_("back: close the detail, the help, the search or the filter prompt; in a table, clear "
             "the filter") },
    { "F3 /", N_("search: type, and the selection jumps to the next row containing the text; "
              "F3 or n finds the next one") },
    { "F4 \\", N_("filter: show only rows containing the text (Enter keeps it, Esc clears it)") },
    { "F6 > <", N_("sort the selected table by the next / previous column") },
    { "I", N_("invert the sort order") },
    { "p Z", N_("pause / resume (the figures freeze; keys still work)") },
    { "+ -", N_("refresh faster / slower (0.1 s to 60 s)") },
    { "t", N_("show or hide the timeline of recent operations") },
    { "Ctrl-L", N_("redraw the screen") },
    { "F10 q", N_("quit") },
    { N_("mouse"), N_("click a row to select it, a column header to sort by it (again to invert), "
               "a tab to switch views; the wheel scrolls") },
};

typedef struct primitive_help {
    const char *name;
    const char *text;
} primitive_help;

static const primitive_help primitive_table[] = {
    { N_("Process"), N_("A program taking part in the session. It registers with a name and a role; the "
                 "dashboard shows its CPU and memory and, above all, what it is blocked on right now and "
                 "for how long.") },
    { N_("Lock"), N_("Lets one process at a time into a critical section: acquire before touching shared data, "
              "release after. Without it two processes can read the same old value and overwrite each "
              "other's update (a lost update). Contention is how often a process found it taken and had to wait.") },
    { N_("RLock"), N_("A re-entrant lock: the process holding it may acquire it again (depth counts how many times) "
               "and must release it as many times. Useful when code holding the lock calls code that takes it too.") },
    { N_("Semaphore"), N_("Holds a number of permits: acquire takes one, waiting while none is left; release gives one "
                   "back. It caps how many processes do something at once (3 downloads out of 10, a pool of 5 "
                   "connections). A bounded semaphore refuses a release beyond its initial count, which catches "
                   "releasing twice.") },
    { N_("Event"), N_("A flag processes wait for: wait blocks while it is clear, set wakes every waiter at once, clear "
               "makes later waiters block again. Used to start or stop many workers together.") },
    { N_("Condition"), N_("Lets a process holding a lock sleep until another process changes shared state and notifies "
                   "it. A woken waiter re-checks what it waits for: wakeups without a notify (spurious) and "
                   "timeouts happen.") },
    { N_("Queue"), N_("A bounded first-in first-out line of messages between processes: put waits while it is full, "
               "get while it is empty. Depth against capacity shows who is the bottleneck: a full queue means "
               "slow consumers, an empty one slow producers. task_done and join let a producer wait until "
               "every message was handled.") },
    { N_("Pipe"), N_("Joins two ends, A and B; each sends to and receives from the other. Unread messages pile up when "
              "one side stops receiving.") },
    { N_("Value"), N_("One shared number with a built-in lock. Single reads and writes are safe; a read-modify-write "
               "(counter += 1) needs the lock held around it, or updates are lost.") },
    { N_("Array"), N_("Shared numbers with a built-in lock, for work split among processes; the dashboard shows "
               "their sum, minimum and maximum.") },
    { N_("Shared memory"), N_("A named region of memory several processes map. It lives until it is unlinked: a "
                       "region never unlinked whose creator died is a LEAK that holds memory until reboot "
                       "(synctop --gc removes it).") },
    { N_("Dict"), N_("A shared dictionary of keys and values (the Manager lesson): one process publishes entries, "
              "others read and update them.") },
    { N_("Pool"), N_("Worker processes running tasks: map splits a job over the workers, apply_async submits one "
              "task and calls back with its result or its error.") },
    { N_("Supervisor"), N_("Watches worker processes, restarts those that crash up to a limit, and reports a worker "
                    "whose heartbeat stops as unhealthy.") },
    { N_("Deadlock"), N_("A cycle of processes each waiting for a lock the next one holds: none can ever go on. "
                  "synctop finds such cycles and names them in a red banner at the top.") },
};

/* ---- the paragraphs ---------------------------------------------------------- */

typedef enum paragraph_kind { PARA_HEADING, PARA_TEXT, PARA_KEY, PARA_BLANK } paragraph_kind;

/* Everything the help says, paragraph by paragraph, to a sink. */
typedef void (*paragraph_sink)(paragraph_kind kind, const char *label, const char *text, void *context);

static void each_paragraph(uint64_t starvation_ns, paragraph_sink sink, void *context)
{
    char text[512];
    snprintf(text, sizeof text, _("synctop %s - top for inter-process synchronization"), PACKAGE_VERSION);
    sink(PARA_HEADING, NULL, text, context);
    sink(PARA_TEXT, NULL,
         _("Processes that use libsynctop's primitives publish what they do into a session's shared-memory "
         "table; this dashboard reads it (never writes it) and shows who holds what, who waits for what and "
         "for how long, how full every queue is, and each process's CPU and memory."),
         context);
    sink(PARA_BLANK, NULL, "", context);
    sink(PARA_HEADING, NULL, _("Keys"), context);
    for (size_t i = 0; i < sizeof key_table / sizeof key_table[0]; i++)
        sink(PARA_KEY, _(key_table[i].keys), _(key_table[i].what), context);   /* keys: only "mouse" is a word */
    sink(PARA_BLANK, NULL, "", context);

    sink(PARA_HEADING, NULL, _("Colours"), context);
    sink(PARA_TEXT, NULL,
         _("Yellow marks a figure worth a look (contention over 10 %, a queue three quarters full, a wait over "
         "1 s), red one that is a problem (contention over 50 %, a queue 95 % full, a starving or deadlocked "
         "process, a leaked region). Without colours (--no-color, NO_COLOR) yellow is bold and red bold "
         "underlined."),
         context);
    snprintf(text, sizeof text,
             _("A process blocked for more than %.3g s is starving: its row is red. A deadlock (a wait-for "
             "cycle) is named in a red banner."),
             (double)starvation_ns / 1e9);
    sink(PARA_TEXT, NULL, text, context);
    sink(PARA_BLANK, NULL, "", context);

    sink(PARA_HEADING, NULL, _("Views"), context);
    for (size_t v = 0; v < views_count(); v++) {
        const view_spec *view = views_get(v);
        char label[32];
        snprintf(label, sizeof label, "%zu %s", v + 1, _(view->name));
        sink(PARA_KEY, label, _(view->description), context);
    }
    sink(PARA_BLANK, NULL, "", context);

    sink(PARA_HEADING, NULL, _("What each primitive is for"), context);
    for (size_t i = 0; i < sizeof primitive_table / sizeof primitive_table[0]; i++)
        sink(PARA_KEY, _(primitive_table[i].name), _(primitive_table[i].text), context);
    sink(PARA_BLANK, NULL, "", context);

    sink(PARA_HEADING, NULL, _("Columns"), context);
    const view_spec *overview = views_get(0);   /* it holds every section */
    for (size_t s = 0; s < overview->section_count; s++) {
        const section_spec *section = overview->sections[s];
        sink(PARA_TEXT, NULL, _(section->title), context);
        for (size_t c = 0; c < section->column_count; c++) {
            const column_spec *column = &section->columns[c];
            sink(PARA_KEY, c == 0 && (section->types || section->accepts) ? _("NAME") : _(column->title),
                 column->help ? _(column->help) : "",
                 context);
        }
    }
    sink(PARA_TEXT, NULL,
         _("Columns marked /S are rates per second over the last refresh. Narrow terminals hide the least "
         "important columns; the detail view (Enter) always shows every figure."),
         context);
    sink(PARA_BLANK, NULL, "", context);
    sink(PARA_HEADING, NULL, _("Timeline and tracing"), context);
    sink(PARA_TEXT, NULL,
         _("Operations are logged only for traced objects: start a workload with SYNCTOP_TRACE=all (or "
         "SYNCTOP_TRACE=name,name) to fill the timeline (t) and the detail views' recent operations."),
         context);
}

/* ---- wrapping ---------------------------------------------------------------- */

#define KEY_COLUMN 18

typedef struct wrap_context {
    int width;
    void (*line)(screen_role role, const char *text, void *context);
    void *context;
    size_t count;
} wrap_context;

/* Emit text wrapped at width, the first line prefixed by first, the others
 * by indent spaces. */
/* A byte of an ASCII word (not a space, not part of a CJK character). */
static bool is_word_byte(char c)
{
    return (unsigned char)c < 0x80 && c != ' ';
}

static void wrap(wrap_context *wrap_to, screen_role role, const char *first, int indent, const char *text)
{
    int width = wrap_to->width - indent;
    if (width < 20)
        width = 20;
    char line[1024], lead[128];
    bool first_line = true;
    do {
        /* In display cells, after the last whole character that fits; a
         * word of ASCII letters is not split (back to the space or the CJK
         * character before it: Chinese breaks between any two characters). */
        size_t length = strlen(text);
        size_t take = format_fit_cells(text, width, NULL);
        if (take == 0)
            take = length;   /* one character wider than the line */
        if (take < length && is_word_byte(text[take - 1]) && is_word_byte(text[take])) {
            size_t back = take;
            while (back > 0 && is_word_byte(text[back - 1]))
                back--;
            if (back > 0)
                take = back;
        }
        format_pad_cells(first_line ? first : "", indent, false, '\0', lead, sizeof lead);
        snprintf(line, sizeof line, "%s%.*s", lead, (int)take, text);
        wrap_to->line(role, line, wrap_to->context);
        wrap_to->count++;
        first_line = false;
        text += take;
        while (*text == ' ')
            text++;
    } while (*text != '\0');
}

static void wrap_paragraph(paragraph_kind kind, const char *label, const char *text, void *context)
{
    wrap_context *wrap_to = context;
    switch (kind) {
    case PARA_HEADING:
        wrap(wrap_to, ROLE_TITLE, "", 0, text);
        return;
    case PARA_TEXT:
        wrap(wrap_to, ROLE_NORMAL, "", 0, text);
        return;
    case PARA_KEY: {
        char first[96], padded[80];
        snprintf(first, sizeof first, "  %s", format_pad_cells(label, KEY_COLUMN - 3, false, '\0', padded,
                                                               sizeof padded));
        wrap(wrap_to, ROLE_NORMAL, first, KEY_COLUMN, text);
        return;
    }
    case PARA_BLANK:
        wrap_to->line(ROLE_NORMAL, "", wrap_to->context);
        wrap_to->count++;
        return;
    }
}

/* ---- drawing ----------------------------------------------------------------- */

typedef struct draw_context {
    int y, height, scroll, width;
    int at;   /* the line being produced */
} draw_context;

static void draw_line(screen_role role, const char *text, void *context)
{
    draw_context *draw = context;
    int row = draw->at++ - draw->scroll;
    if (row < 0 || row >= draw->height)
        return;
    screen_put(draw->y + row, 0, draw->width, screen_attr(role), text);
}

static void count_line(screen_role role, const char *text, void *context)
{
    (void)role;
    (void)text;
    (void)context;
}

int help_draw(int y, int height, int width, int scroll, uint64_t starvation_ns)
{
    wrap_context counting = { width - 1, count_line, NULL, 0 };
    each_paragraph(starvation_ns, wrap_paragraph, &counting);
    int most = (int)counting.count - height;
    if (scroll > most)
        scroll = most;
    if (scroll < 0)
        scroll = 0;
    draw_context draw = { y, height, scroll, width - 1, 0 };
    wrap_context drawing = { width - 1, draw_line, &draw, 0 };
    each_paragraph(starvation_ns, wrap_paragraph, &drawing);
    return scroll;
}
