/* screen.c - curses set-up, colours, glyphs and terminal restoration (see
 * screen.h).
 *
 * Restoring the terminal. A dashboard that dies with the terminal in raw
 * mode and the alternate screen on leaves a person with a broken shell, so:
 *   - SIGINT, SIGTERM and SIGHUP only set a flag (async-signal-safe). They
 *     are installed without SA_RESTART, so the read inside getch() is
 *     interrupted, getch() returns ERR and the main loop sees the flag,
 *     leaves, and calls screen_close() like on 'q'. They are installed
 *     before initscr(): curses then leaves them alone.
 *   - SIGSEGV, SIGABRT, SIGBUS, SIGFPE and SIGILL call endwin() and
 *     re-raise with the default action (so a core dump still happens).
 *     endwin() is not async-signal-safe; after a crash the process is
 *     doomed anyway, and a usable terminal is worth the risk.
 *   - atexit(screen_close) covers every other exit().
 *
 * Colours: one pair per role, on the terminal's default background
 * (use_default_colors), in htop's spirit. Without colours (no support,
 * --no-color, NO_COLOR) each role maps to bold / underline / reverse.
 */
#include "config.h"

#include "screen.h"

#include "format.h"

#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t curses_active;
static bool use_ascii;
static bool use_color;
static attr_t role_attributes[ROLE_COUNT];

/* ---- signals --------------------------------------------------------------- */

static void on_stop_signal(int signal_number)
{
    (void)signal_number;
    stop_requested = 1;
}

static void on_fatal_signal(int signal_number)
{
    if (curses_active) {
        curses_active = 0;
        endwin();
    }
    signal(signal_number, SIG_DFL);
    raise(signal_number);
}

static void install_signal_handlers(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    sigemptyset(&action.sa_mask);
    action.sa_handler = on_stop_signal;
    action.sa_flags = 0;   /* no SA_RESTART: interrupt getch() */
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGHUP, &action, NULL);

    action.sa_handler = on_fatal_signal;
    action.sa_flags = SA_RESETHAND | SA_NODEFER;
    const int fatal[] = { SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL };
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        sigaction(fatal[i], &action, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* The batch loop blocks these; make sure they reach us here. */
    sigset_t unblock;
    sigemptyset(&unblock);
    sigaddset(&unblock, SIGINT);
    sigaddset(&unblock, SIGTERM);
    sigaddset(&unblock, SIGHUP);
    sigprocmask(SIG_UNBLOCK, &unblock, NULL);
}

bool screen_stop_requested(void)
{
    return stop_requested != 0;
}

/* ---- colours and attributes ----------------------------------------------- */

typedef struct role_style {
    short foreground, background;   /* -1: the terminal's default */
    attr_t color_extra;             /* with colours */
    attr_t mono;                    /* without */
} role_style;

static const role_style styles[ROLE_COUNT] = {
    [ROLE_NORMAL] = { -1, -1, 0, 0 },
    [ROLE_DIM] = { -1, -1, A_DIM, A_DIM },
    [ROLE_TITLE] = { COLOR_CYAN, -1, A_BOLD, A_BOLD },
    [ROLE_COLUMN_HEADER] = { COLOR_BLACK, COLOR_GREEN, 0, A_REVERSE },
    [ROLE_COLUMN_SORTED] = { COLOR_BLACK, COLOR_CYAN, A_BOLD, A_REVERSE | A_BOLD },
    [ROLE_SELECTED] = { COLOR_BLACK, COLOR_CYAN, 0, A_REVERSE | A_BOLD },
    [ROLE_METER_LABEL] = { COLOR_CYAN, -1, 0, A_BOLD },
    [ROLE_METER_LOW] = { COLOR_GREEN, -1, 0, 0 },
    [ROLE_METER_MID] = { COLOR_YELLOW, -1, A_BOLD, A_BOLD },
    [ROLE_METER_HIGH] = { COLOR_RED, -1, A_BOLD, A_BOLD | A_UNDERLINE },
    [ROLE_METER_BRACKET] = { -1, -1, A_BOLD, A_BOLD },
    [ROLE_GOOD] = { COLOR_GREEN, -1, 0, 0 },
    [ROLE_WARN] = { COLOR_YELLOW, -1, A_BOLD, A_BOLD },
    [ROLE_BAD] = { COLOR_RED, -1, A_BOLD, A_BOLD | A_UNDERLINE },
    [ROLE_BANNER] = { COLOR_WHITE, COLOR_RED, A_BOLD, A_REVERSE | A_BOLD },
    [ROLE_TAB] = { -1, -1, 0, 0 },
    [ROLE_TAB_ACTIVE] = { COLOR_BLACK, COLOR_CYAN, A_BOLD, A_REVERSE | A_BOLD },
    [ROLE_KEY] = { -1, -1, A_BOLD, A_BOLD },
    [ROLE_KEY_LABEL] = { COLOR_BLACK, COLOR_CYAN, 0, A_REVERSE },
    [ROLE_STATUS_LIVE] = { COLOR_GREEN, -1, A_BOLD, A_BOLD },
    [ROLE_STATUS_PAUSED] = { COLOR_YELLOW, -1, A_BOLD, A_REVERSE },
    [ROLE_STATUS_ENDED] = { COLOR_WHITE, COLOR_RED, A_BOLD, A_REVERSE | A_BOLD },
};

static void set_up_roles(void)
{
    for (int role = 0; role < ROLE_COUNT; role++) {
        const role_style *style = &styles[role];
        if (!use_color) {
            role_attributes[role] = style->mono;
            continue;
        }
        if (style->foreground == -1 && style->background == -1) {
            role_attributes[role] = style->color_extra;
            continue;
        }
        init_pair((short)role, style->foreground, style->background);
        role_attributes[role] = COLOR_PAIR(role) | style->color_extra;
    }
}

attr_t screen_attr(screen_role role)
{
    return (unsigned)role < ROLE_COUNT ? role_attributes[role] : 0;
}

screen_role screen_role_of(severity level)
{
    switch (level) {
    case SEVERITY_GOOD:
        return ROLE_GOOD;
    case SEVERITY_WARN:
        return ROLE_WARN;
    case SEVERITY_BAD:
        return ROLE_BAD;
    case SEVERITY_NORMAL:
        break;
    }
    return ROLE_NORMAL;
}

bool screen_ascii(void)
{
    return use_ascii;
}

bool screen_has_color(void)
{
    return use_color;
}

const char *screen_glyph_sort_down(void)
{
    return use_ascii ? "v" : "\u25bc";
}

const char *screen_glyph_sort_up(void)
{
    return use_ascii ? "^" : "\u25b2";
}

const char *screen_glyph_hline(void)
{
    return use_ascii ? "-" : "\u2500";
}

/* ---- set-up and tear-down --------------------------------------------------- */

void screen_close(void)
{
    if (!curses_active)
        return;
    curses_active = 0;
    endwin();
}

bool screen_open(bool color, bool ascii)
{
    setlocale(LC_ALL, "");
    setlocale(LC_NUMERIC, "C");   /* figures keep '.' whatever the locale (format.c), as i18n_init() */
    const char *codeset = nl_langinfo(CODESET);
    use_ascii = ascii || codeset == NULL || strcmp(codeset, "UTF-8") != 0;
    install_signal_handlers();
    atexit(screen_close);

    /* newterm rather than initscr: initscr exits on failure; we explain. */
    if (newterm(NULL, stdout, stdin) == NULL) {
        const char *term = getenv("TERM");
        fprintf(stderr, "synctop: cannot start the dashboard on terminal type '%s' "
                        "(try --batch, or set TERM)\n", term ? term : "");
        return false;
    }
    curses_active = 1;
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    curs_set(0);
    set_escdelay(25);   /* Esc answers at once; escape sequences arrive faster */
    /* Presses only, reported at once (no click resolution delay): a
     * press selects or sorts, the wheel scrolls. */
    mousemask(BUTTON1_PRESSED | BUTTON4_PRESSED
#ifdef BUTTON5_PRESSED
                  | BUTTON5_PRESSED
#endif
              ,
              NULL);
    mouseinterval(0);

    use_color = color && has_colors();
    if (use_color) {
        start_color();
        use_default_colors();
    }
    set_up_roles();
    return true;
}

/* ---- drawing helpers ------------------------------------------------------------ */

int screen_text_width(const char *text)
{
    return format_cells(text);   /* display cells: a CJK character takes two */
}

int screen_put(int y, int x, int width, attr_t attributes, const char *text)
{
    if (width <= 0 || y < 0 || y >= LINES || x >= COLS)
        return 0;
    if (x + width > COLS)
        width = COLS - x;
    /* The bytes of the whole characters that fit in width cells. */
    int cells;
    size_t bytes = format_fit_cells(text, width, &cells);
    attrset(attributes);
    mvaddnstr(y, x, text, (int)bytes);
    attrset(A_NORMAL);
    return cells;
}

void screen_fill(int y, int x, int width, attr_t attributes)
{
    if (width <= 0 || y < 0 || y >= LINES || x >= COLS)
        return;
    if (x + width > COLS)
        width = COLS - x;
    attrset(attributes);
    mvhline(y, x, ' ', width);
    attrset(A_NORMAL);
}
