/* test_preload_transparency.c - a program watched by `synctop run` sees
 * exactly what it sees without it.
 *
 * tests/preload_transparency.c makes well over a hundred calls of every
 * function the preload interposes, down every error path, and prints one
 * deterministic line per call (result and errno). It is run twice: plainly
 * and under `synctop run`; the two outputs must agree line for line (the
 * first difference is reported). A call the preload turned into a hang is
 * cut short by the program's own watchdog ("call-id HUNG"), so it fails
 * here as a differing line, not as a hung test.
 *
 * The watched run keeps its session (--keep), so the test also checks
 * that the program was watched at all and that the bookkeeping of the
 * owner-died cases is right: every EOWNERDEAD a process-shared mutex gave
 * is counted in its object's owner_died, and nothing is left held or
 * waited for; and that the program's shared-memory segment was recorded
 * (every successful shm_open counted, its unlink seen) and synctop's own
 * segments were not.
 *
 * Skipped in a sanitizer build, like tests/test_preload.c: the preload of
 * such a build cannot be loaded into an uninstrumented program.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <synctop/synctop.h>

#include "helpers.h"

#define RUN_TIMEOUT_MS 120000
#define MIN_CALLS 100

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED_BUILD 1
#endif
#endif

/* ---- comparing outputs ----------------------------------------------------- */

/* The next line of *text (without its newline), advancing *text; NULL at
 * the end. The line is copied into line (size bytes). */
static const char *next_line(const char **text, char *line, size_t size)
{
    if (!**text)
        return NULL;
    const char *end = strchr(*text, '\n');
    size_t length = end ? (size_t)(end - *text) : strlen(*text);
    snprintf(line, size, "%.*s", (int)length, *text);
    *text += length + (end ? 1 : 0);
    return line;
}

static int count_lines(const char *text)
{
    int lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    return lines;
}

/* Fail with the first line where watched differs from plain. */
static void assert_same_lines(const char *plain, const char *watched)
{
    char plain_line[512], watched_line[512];
    for (int number = 1;; number++) {
        const char *p = next_line(&plain, plain_line, sizeof plain_line);
        const char *w = next_line(&watched, watched_line, sizeof watched_line);
        if (!p && !w)
            return;
        if (!p || !w || strcmp(p, w) != 0)
            fail_msg("line %d differs under synctop run:\n  without: %s\n  watched: %s", number,
                     p ? p : "(end of output)", w ? w : "(end of output)");
    }
}

/* How many lines report EOWNERDEAD for a process-shared object (the
 * preload watches only those). */
static int shared_owner_deaths(const char *output)
{
    int count = 0;
    char line[512];
    while (next_line(&output, line, sizeof line))
        if (strstr(line, ".shared.") && strstr(line, " EOWNERDEAD "))
            count++;
    return count;
}

/* ---- running ------------------------------------------------------------------- */

static char *run_plain(void)
{
    char *out = NULL;
    char *argv[] = { (char *)PRELOAD_TRANSPARENCY, NULL };
    int status = test_run(argv, &out, NULL, RUN_TIMEOUT_MS);
    if (status != 0)
        fail_msg("%s alone exited with %d:\n%s", PRELOAD_TRANSPARENCY, status, out ? out : "");
    return out;
}

/* The output of the program under synctop run (its exit status is left to
 * the comparison: a hang shows as a line "call-id HUNG"). */
static char *run_watched(const char *session)
{
    char *out = NULL, *err = NULL;
    char *argv[] = { (char *)SYNCTOP_BINARY, (char *)"run", (char *)"--keep", (char *)"-s", (char *)session,
                     (char *)"--", (char *)PRELOAD_TRANSPARENCY, NULL };
    setenv("SYNCTOP_PRELOAD_LIBRARY", SYNCTOP_PRELOAD_BUILT, 1);
    int status = test_run(argv, &out, &err, RUN_TIMEOUT_MS);
    unsetenv("SYNCTOP_PRELOAD_LIBRARY");
    if (status == -1)
        fail_msg("synctop run -- %s did not end within %d ms", PRELOAD_TRANSPARENCY, RUN_TIMEOUT_MS);
    if (status != 0 && status != 3)   /* 3: the watchdog cut a hung call short */
        fail_msg("synctop run -- %s exited with %d: %s", PRELOAD_TRANSPARENCY, status, err ? err : "");
    free(err);
    return out;
}

/* ---- the figures of the watched run ------------------------------------------- */

typedef struct lock_totals {
    int locks;
    int64_t owner_died, held, waiters;
} lock_totals;

static int64_t field_value(const st_object_view *object, const char *name)
{
    const st_field *f = st_object_field(object, name);
    if (!f)
        fail_msg("object '%s' has no field '%s'", object->name, name);
    return f->kind == ST_VALUE_U64 ? (int64_t)f->value.u64 : f->value.i64;
}

static lock_totals lock_figures(const char *session)
{
    st_table *table = NULL;
    st_model *model = NULL;
    assert_int_equal(st_table_attach_readonly(session, &table), ST_OK);
    assert_int_equal(st_model_new(&model), ST_OK);
    assert_int_equal(st_model_refresh(model, table), ST_OK);
    lock_totals totals = { 0 };
    for (size_t i = 0; i < st_model_object_count(model); i++) {
        const st_object_view *object = st_model_object(model, i);
        if (strcmp(object->type_name, "lock") != 0)
            continue;
        totals.locks++;
        totals.owner_died += field_value(object, "owner_died");
        totals.held += field_value(object, "holder") != 0;
        totals.waiters += field_value(object, "waiters");
    }
    st_model_free(model);
    st_table_close(table);
    return totals;
}

/* The shm objects of the watched run: one record for the program's own
 * segment (recreated once under the same name), none for synctop's. */
static void check_shm_figures(const char *session)
{
    st_table *table = NULL;
    st_model *model = NULL;
    assert_int_equal(st_table_attach_readonly(session, &table), ST_OK);
    assert_int_equal(st_model_new(&model), ST_OK);
    assert_int_equal(st_model_refresh(model, table), ST_OK);
    int regions = 0;
    for (size_t i = 0; i < st_model_object_count(model); i++) {
        const st_object_view *object = st_model_object(model, i);
        if (strcmp(object->type_name, "shm") != 0)
            continue;
        regions++;
        assert_non_null(strstr(object->name, "/st-transparency-shm-"));
        assert_int_equal(field_value(object, "attaches"), 8);   /* the shm_open calls that succeeded */
        assert_int_equal(field_value(object, "unlinked"), 1);
        assert_int_equal(field_value(object, "leaked"), 0);
        assert_int_equal(field_value(object, "attached"), 0);   /* the program has exited */
        assert_true(field_value(object, "creator") > 0);
    }
    assert_int_equal(regions, 1);
    st_model_free(model);
    st_table_close(table);
}

/* ---- the test --------------------------------------------------------------------- */

static void test_same_results_with_and_without_synctop_run(void **state)
{
    (void)state;
    const char *session = test_session_new();
    char *plain = run_plain();
    assert_true(count_lines(plain) >= MIN_CALLS);
    assert_null(strstr(plain, " HUNG"));
    char *watched = run_watched(session);
    assert_same_lines(plain, watched);

    lock_totals totals = lock_figures(session);
    assert_true(totals.locks > 0);   /* it was watched */
    int deaths = shared_owner_deaths(plain);
    assert_true(deaths > 0);
    assert_int_equal(totals.owner_died, deaths);
    assert_int_equal(totals.held, 0);
    assert_int_equal(totals.waiters, 0);
    check_shm_figures(session);
    free(plain);
    free(watched);
}

int main(void)
{
#ifdef SANITIZED_BUILD
    printf("1..0 # SKIP the preload library of a sanitizer build cannot be preloaded into uninstrumented "
           "programs; run this test in a build without --enable-sanitizers\n");
    return 0;
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_same_results_with_and_without_synctop_run, test_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
