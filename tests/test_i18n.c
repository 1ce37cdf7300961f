/* test_i18n.c - the Simplified Chinese translation (po/zh_CN.po).
 *
 *  - the catalogue is complete and well-formed: `msgfmt -c --statistics`
 *    (MSGFMT, found by configure) accepts po/zh_CN.po and counts no
 *    untranslated and no fuzzy message (skipped when msgfmt is missing);
 *  - the built synctop-demo, run with the build tree's catalogue
 *    (SYNCTOP_LOCALEDIR=LOCALE_BUILT, as README says), prints Chinese
 *    lesson descriptions and usage errors under LANG=zh_CN.UTF-8 and the
 *    English originals under LANG=C (the Chinese half is skipped when the
 *    zh_CN.UTF-8 locale is not installed: `locale -a`; quickstart makes it);
 *  - the dashboard (SYNCTOP_BINARY in a private tmux server, as
 *    test_dashboard.c drives it) under LANG=zh_CN.UTF-8 shows Chinese view
 *    and column titles, and its columns line up: each numeric title ends
 *    in the same display cell as its figure in the row below, each text
 *    title starts where its cell starts (skipped without tmux or the
 *    zh_CN.UTF-8 locale);
 *  - the dashboard's widths are display cells (tui/format.c): a CJK
 *    character counts two, a cut never splits one, padding fills exactly
 *    the width (under C.UTF-8, glibc's built-in UTF-8 locale).
 */
#include "config.h"

#include <fcntl.h>
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <synctop/synctop.h>

#include "helpers.h"
#include "format.h"

#define RUN_TIMEOUT_MS 10000

/* ---- the catalogue ---------------------------------------------------------- */

static bool has_msgfmt(void)
{
    return MSGFMT[0] == '/' ? access(MSGFMT, X_OK) == 0 : strcmp(MSGFMT, ":") != 0;
}

static void test_catalogue_complete(void **state)
{
    (void)state;
    if (!has_msgfmt()) {
        print_message("msgfmt (gettext) is not installed: cannot check po/zh_CN.po "
                      "(apt-get install gettext)\n");
        skip();
    }
    char *const argv[] = { "/bin/sh", "-c",
                           "exec \"$0\" -c --statistics -o /dev/null \"$1\"",
                           MSGFMT, PO_DIR "/zh_CN.po", NULL };
    char *out = NULL, *err = NULL;
    int status = test_run(argv, &out, &err, RUN_TIMEOUT_MS);
    print_message("msgfmt --statistics: %s", err);
    assert_int_equal(status, 0);
    /* "N translated messages." and nothing else: msgfmt names the fuzzy
     * and untranslated counts only when they are not 0. */
    unsigned translated = 0;
    assert_int_equal(sscanf(err, "%u translated message", &translated), 1);
    assert_true(translated > 100);
    assert_null(strstr(err, "fuzzy"));
    assert_null(strstr(err, "untranslated"));
    free(out);
    free(err);
}

/* ---- synctop-demo in two languages ----------------------------------------- */

static bool zh_locale_installed(void)
{
    char *saved = strdup(setlocale(LC_ALL, NULL));
    bool ok = setlocale(LC_ALL, "zh_CN.UTF-8") != NULL;
    setlocale(LC_ALL, saved);
    free(saved);
    return ok;
}

/* The environment of a run in lang: the build tree's catalogue, nothing
 * that overrides LANG. */
static void use_language(const char *lang)
{
    unsetenv("LC_ALL");
    unsetenv("LC_MESSAGES");
    unsetenv("LANGUAGE");
    setenv("LANG", lang, 1);
    setenv("SYNCTOP_LOCALEDIR", LOCALE_BUILT, 1);
}

static char *demo_list(const char *lang)
{
    use_language(lang);
    char *const argv[] = { SYNCTOP_DEMO_BINARY, "list", NULL };
    char *out = NULL;
    assert_int_equal(test_run(argv, &out, NULL, RUN_TIMEOUT_MS), 0);
    return out;
}

static void test_demo_list_english(void **state)
{
    (void)state;
    char *out = demo_list("C");
    assert_non_null(strstr(out, "the bank account: lost updates without a lock"));
    assert_non_null(strstr(out, "two locks taken in opposite orders"));
    assert_null(strstr(out, "银行账户"));
    free(out);
}

static void test_demo_list_chinese(void **state)
{
    (void)state;
    if (!zh_locale_installed()) {
        print_message("the zh_CN.UTF-8 locale is not installed (locale -a): "
                      "localedef -i zh_CN -f UTF-8 zh_CN.UTF-8 (./quickstart does it)\n");
        skip();
    }
    char *out = demo_list("zh_CN.UTF-8");
    /* The names stay (they are what one types), the descriptions are Chinese. */
    assert_non_null(strstr(out, "race        银行账户：不加锁会丢失更新"));
    assert_non_null(strstr(out, "deadlock    两把锁按相反顺序获取"));
    assert_non_null(strstr(out, "信号量"));
    assert_null(strstr(out, "the bank account"));
    free(out);
}

static void test_demo_usage_error_chinese(void **state)
{
    (void)state;
    if (!zh_locale_installed()) {
        print_message("the zh_CN.UTF-8 locale is not installed (locale -a)\n");
        skip();
    }
    use_language("zh_CN.UTF-8");
    char *const argv[] = { SYNCTOP_DEMO_BINARY, "no-such-lesson", NULL };
    char *err = NULL;
    assert_int_equal(test_run(argv, NULL, &err, RUN_TIMEOUT_MS), 2);
    assert_non_null(strstr(err, "未知课程“no-such-lesson”"));
    assert_non_null(strstr(err, "用法：synctop-demo"));
    free(err);

    use_language("C");
    char *const again[] = { SYNCTOP_DEMO_BINARY, "no-such-lesson", NULL };
    assert_int_equal(test_run(again, NULL, &err, RUN_TIMEOUT_MS), 2);
    assert_non_null(strstr(err, "unknown lesson 'no-such-lesson'"));
    free(err);
}

static void require_utf8_ctype(void);

/* ---- the dashboard in Chinese ------------------------------------------------------ */

#define SCREEN_TIMEOUT_MS 20000   /* a deadline: only a failing test waits this long */

static const char *find_tmux(void)
{
    static const char *const candidates[] = { "/usr/bin/tmux", "/usr/local/bin/tmux", "/bin/tmux" };
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++)
        if (access(candidates[i], X_OK) == 0)
            return candidates[i];
    return NULL;
}

static char tmux_socket[64];

/* A tmux run without captured output has its stdio on /dev/null: a server
 * started by new-session would otherwise keep our pipes open for as long
 * as it lives (test_dashboard.c does the same). */
static int exec_quietly(void *arg)
{
    char **argv = arg;
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
    }
    execv(argv[0], argv);
    return 127;
}

static int run_tmux(const char *tmux, const char *const *args, char **out)
{
    char *argv[24];
    size_t n = 0;
    argv[n++] = (char *)tmux;
    argv[n++] = "-L";
    argv[n++] = tmux_socket;
    argv[n++] = "-f";
    argv[n++] = "/dev/null";
    for (size_t i = 0; args[i] != NULL && n < 23; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    if (out == NULL) {
        pid_t pid = test_spawn(exec_quietly, argv);
        return pid > 0 ? test_wait(pid, 10000) : -1;
    }
    char *err = NULL;
    int status = test_run(argv, out, &err, 10000);
    free(err);
    return status;
}

/* The display cell where the text at line + bytes starts. */
static int cell_of(const char *line, size_t bytes)
{
    char *prefix = strndup(line, bytes);
    int cells = format_cells(prefix);
    free(prefix);
    return cells;
}

/* The line of screen that contains needle (a copy, caller frees), or NULL. */
static char *line_with(const char *screen, const char *needle)
{
    const char *at = strstr(screen, needle);
    if (at == NULL)
        return NULL;
    const char *start = at;
    while (start > screen && start[-1] != '\n')
        start--;
    const char *end = strchr(at, '\n');
    return end != NULL ? strndup(start, (size_t)(end - start)) : strdup(start);
}

/* What is at display cell `cell` of line: ' ' for a blank (or beyond the
 * end), 'x' for anything else (both cells of a wide character). */
static char cell_kind(const char *line, int cell)
{
    int at = 0;
    for (const char *p = line; *p != '\0';) {
        unsigned char lead = (unsigned char)*p;
        size_t bytes = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
        char *one = strndup(p, bytes);
        int w = format_cells(one);
        free(one);
        if (cell >= at && cell < at + w)
            return *p == ' ' ? ' ' : 'x';
        at += w;
        p += strnlen(p, bytes);
    }
    return ' ';
}

/* The tmux server of the dashboard test, killed even when it fails. */
static const char *dashboard_tmux;

static int dashboard_teardown(void **state)
{
    if (dashboard_tmux != NULL) {
        run_tmux(dashboard_tmux, (const char *const[]){ "kill-server", NULL }, NULL);
        char socket_file[160];
        snprintf(socket_file, sizeof socket_file, "/tmp/tmux-%ld/%s", (long)getuid(), tmux_socket);
        unlink(socket_file);
        dashboard_tmux = NULL;
    }
    return test_teardown(state);
}

#define LONG_NAME "名字很长的锁用来测试按显示宽度截断不会错"

static void test_dashboard_chinese_aligned(void **state)
{
    (void)state;
    const char *tmux = find_tmux();
    if (tmux == NULL) {
        print_message("tmux is not installed: the dashboard test needs it (apt-get install tmux)\n");
        skip();
    }
    if (!zh_locale_installed()) {
        print_message("the zh_CN.UTF-8 locale is not installed (locale -a)\n");
        skip();
    }
    require_utf8_ctype();

    /* A session with one lock of known figures, named in Chinese. */
    const char *session = test_session_new();
    st_table_options options = { .session = session };
    st_table *table = NULL;
    assert_int_equal(st_table_open(&options, &table), ST_OK);
    assert_int_equal(st_process_register(table, "测试进程", "test"), ST_OK);
    st_lock *lock;
    assert_int_equal(st_lock_open(table, "账本锁", &lock), ST_OK);
    for (int i = 0; i < 1234; i++) {
        assert_int_equal(st_lock_acquire(lock, ST_FOREVER), ST_OK);
        assert_int_equal(st_lock_release(lock), ST_OK);
    }
    /* A name of 40 cells, wider than its column in 90 columns: cut. */
    st_lock *long_lock;
    assert_int_equal(st_lock_open(table, LONG_NAME, &long_lock), ST_OK);

    snprintf(tmux_socket, sizeof tmux_socket, "synctop-test-i18n-%ld", (long)getpid());
    dashboard_tmux = tmux;
    char command[1024];
    snprintf(command, sizeof command,
             "env -u LC_ALL -u LC_MESSAGES -u LANGUAGE LANG=zh_CN.UTF-8 TERM=screen SYNCTOP_LOCALEDIR=%s "
             "%s -s %s; sleep 600",
             LOCALE_BUILT, SYNCTOP_BINARY, session);
    assert_int_equal(run_tmux(tmux, (const char *const[]){ "new-session", "-d", "-s", "dash", "-x", "90", "-y",
                                                           "30", command, NULL }, NULL), 0);
    assert_int_equal(run_tmux(tmux, (const char *const[]){ "send-keys", "-t", "dash", "3", NULL }, NULL), 0);

    /* The locks view: its tab, its name column titled 锁, Chinese titles. */
    char *screen = NULL;
    const char *const needles[] = { "3 锁", "持有者", "等待者", "获取/s", "争用%", "账本锁", "实时", NULL };
    bool seen = false;
    for (double deadline = test_now() + SCREEN_TIMEOUT_MS / 1000.0; !seen && test_now() <= deadline;) {
        free(screen);
        screen = NULL;
        run_tmux(tmux, (const char *const[]){ "capture-pane", "-p", "-t", "dash", NULL }, &screen);
        seen = screen != NULL;
        for (size_t i = 0; seen && needles[i] != NULL; i++)
            seen = strstr(screen, needles[i]) != NULL;
        if (!seen)
            test_sleep_ms(100);   /* a poll interval between captures, not synchronization */
    }
    if (!seen)
        print_message("the screen:\n%s\n", screen != NULL ? screen : "(none)");
    assert_true(seen);

    char *header = line_with(screen, "持有者");
    char *row = line_with(screen, "账本锁");
    assert_non_null(header);
    assert_non_null(row);
    print_message("header: %s\nrow:    %s\n", header, row);
    /* The name column: both start in cell 0. */
    assert_int_equal(strncmp(header, "锁", strlen("锁")), 0);
    assert_int_equal(strncmp(row, "账本锁", strlen("账本锁")), 0);
    /* Text columns start where their titles start: HOLDER ("-", nobody). */
    int holder_at = cell_of(header, (size_t)(strstr(header, "持有者") - header));
    assert_int_equal(cell_kind(row, holder_at), 'x');
    assert_int_equal(cell_kind(row, holder_at - 1), ' ');
    /* Numeric columns end where their titles end: the figure's last cell is
     * not blank, the cell after it is. */
    const char *const numeric[] = { "等待者", "获取/s", "争用%", "死亡", NULL };
    for (size_t i = 0; numeric[i] != NULL; i++) {
        const char *title = strstr(header, numeric[i]);
        assert_non_null(title);
        int end = cell_of(header, (size_t)(title - header)) + format_cells(numeric[i]);   /* one past */
        if (cell_kind(row, end - 1) != 'x' || cell_kind(row, end) != ' ')
            fail_msg("column %s: its title ends at cell %d but its figure does not", numeric[i], end);
    }
    /* The long name is cut at a character boundary in its column, a '+'
     * at the cut (not, as when cut by bytes, in the middle of a character
     * or halfway along the column), and the next column is in place. */
    char *cut_row = line_with(screen, "名字很长的锁");
    assert_non_null(cut_row);
    print_message("cut:    %s\n", cut_row);
    assert_null(strstr(cut_row, LONG_NAME));
    const char *plus = strchr(cut_row, '+');
    assert_non_null(plus);
    int plus_at = cell_of(cut_row, (size_t)(plus - cut_row));
    assert_true(plus_at >= holder_at - 3 && plus_at < holder_at);
    assert_int_equal(cell_kind(cut_row, holder_at), 'x');
    assert_int_equal(cell_kind(cut_row, holder_at - 1), ' ');
    free(cut_row);
    free(header);
    free(row);
    free(screen);

    st_lock_close(lock);
    st_lock_close(long_lock);
    st_table_close(table);
    assert_int_equal(st_session_remove(session, true), ST_OK);
}

/* ---- display cells ------------------------------------------------------------- */

/* wcwidth() knows wide characters only under a UTF-8 LC_CTYPE. */
static void require_utf8_ctype(void)
{
    if (setlocale(LC_CTYPE, "C.UTF-8") == NULL && setlocale(LC_CTYPE, "zh_CN.UTF-8") == NULL) {
        print_message("no UTF-8 locale (C.UTF-8 or zh_CN.UTF-8): wcwidth cannot tell wide characters\n");
        skip();
    }
}

static void test_cells_count_wide_characters(void **state)
{
    (void)state;
    require_utf8_ctype();
    assert_int_equal(format_cells(""), 0);
    assert_int_equal(format_cells("LOCKS"), 5);
    assert_int_equal(format_cells("锁"), 2);
    assert_int_equal(format_cells("信号量 sem"), 10);
    assert_int_equal(format_cells("e\xcc\x81"), 1);   /* e + combining acute: one cell */
    assert_int_equal(format_cells("a\xff" "b"), 3);       /* a malformed byte: one cell */
}

static void test_fit_never_splits_a_character(void **state)
{
    (void)state;
    require_utf8_ctype();
    int cells = -1;
    /* 信号量 is 6 cells; 5 cells hold only 信号 (6 bytes). */
    assert_int_equal(format_fit_cells("信号量", 5, &cells), 6);
    assert_int_equal(cells, 4);
    assert_int_equal(format_fit_cells("信号量", 6, &cells), 9);
    assert_int_equal(cells, 6);
    assert_int_equal(format_fit_cells("信号量", 1, &cells), 0);
    assert_int_equal(cells, 0);
    assert_int_equal(format_fit_cells("a锁b", 2, &cells), 1);
    assert_int_equal(cells, 1);
}

static void test_pad_to_cells(void **state)
{
    (void)state;
    require_utf8_ctype();
    char out[64];
    /* padding: exactly width cells, left or right */
    assert_string_equal(format_pad_cells("锁", 6, false, '+', out, sizeof out), "锁    ");
    assert_string_equal(format_pad_cells("锁", 6, true, '+', out, sizeof out), "    锁");
    assert_int_equal(format_cells(format_pad_cells("等待时间", 12, false, '\0', out, sizeof out)), 12);
    /* cut to an odd width: the wide character that would straddle the edge
     * leaves a blank, the mark ends the cell */
    assert_string_equal(format_pad_cells("信号量", 5, false, '\0', out, sizeof out), "信号 ");
    assert_string_equal(format_pad_cells("信号量", 5, false, '+', out, sizeof out), "信号+");
    assert_string_equal(format_pad_cells("信号量", 4, true, '+', out, sizeof out), "信 +");
    assert_string_equal(format_pad_cells("abcdef", 4, false, '+', out, sizeof out), "abc+");
    assert_string_equal(format_pad_cells("abc", 4, true, '+', out, sizeof out), " abc");
    assert_string_equal(format_pad_cells("abc", 0, true, '+', out, sizeof out), "");
    /* a buffer too small for the width: fewer cells, never an overflow */
    char small[6];
    format_pad_cells("信号量", 6, false, '+', small, sizeof small);
    assert_true(strlen(small) < sizeof small);
    assert_int_equal(format_fit_cells(small, 99, NULL), strlen(small));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_catalogue_complete, test_teardown),
        cmocka_unit_test_teardown(test_demo_list_english, test_teardown),
        cmocka_unit_test_teardown(test_demo_list_chinese, test_teardown),
        cmocka_unit_test_teardown(test_demo_usage_error_chinese, test_teardown),
        cmocka_unit_test_teardown(test_dashboard_chinese_aligned, dashboard_teardown),
        cmocka_unit_test(test_cells_count_wide_characters),
        cmocka_unit_test(test_fit_never_splits_a_character),
        cmocka_unit_test(test_pad_to_cells),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
