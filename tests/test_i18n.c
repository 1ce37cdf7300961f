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
 *  - the dashboard's widths are display cells (tui/format.c): a CJK
 *    character counts two, a cut never splits one, padding fills exactly
 *    the width (under C.UTF-8, glibc's built-in UTF-8 locale).
 */
#include "config.h"

#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
        cmocka_unit_test(test_cells_count_wide_characters),
        cmocka_unit_test(test_fit_never_splits_a_character),
        cmocka_unit_test(test_pad_to_cells),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
