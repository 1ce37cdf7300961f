/* test_options.c - every bad command line of synctop, synctop run and
 * synctop-demo is refused the same way, before anything starts: exit
 * status 2, nothing on stdout, one line "<program>: <what is wrong>" naming
 * the flag, the value (escaped: no control character reaches the terminal)
 * and what is accepted, then the usage. For synctop run the command is
 * `touch MARKER`: MARKER must not exist afterwards.
 *
 * The built programs (SYNCTOP_BINARY, SYNCTOP_DEMO_BINARY) are run with a
 * fresh session in SYNCTOP_SESSION (test_session_new exports it), so a
 * line that were wrongly accepted would touch only the test's own session.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define RUN_TIMEOUT_MS 15000
#define MAX_ARGS 16
#define MAX_SAYS 4

/* The word replaced by the marker file's path in a line's arguments. */
#define MARKER "@MARKER@"

typedef struct bad_line {
    const char *program;              /* SYNCTOP_BINARY or SYNCTOP_DEMO_BINARY */
    const char *prefix;               /* how the message line begins */
    const char *args[MAX_ARGS];       /* NULL-terminated */
    const char *says[MAX_SAYS];       /* each in the message line: flag, value, what is accepted */
} bad_line;

#define SYNCTOP SYNCTOP_BINARY, "synctop: "
#define RUN SYNCTOP_BINARY, "synctop run: "
#define DEMO SYNCTOP_DEMO_BINARY, "synctop-demo: "
#define TOUCH "--", "touch", MARKER
/* A demo line that were accepted would run only this long. */
#define SHORT "--duration", "0.5", "--speed", "4"

static const bad_line bad_lines[] = {
    /* synctop: -d */
    { SYNCTOP, { "-d", "1x" }, { "-d/--delay", "'1x'", "greater than 0" } },
    { SYNCTOP, { "--batch", "-d", "nan" }, { "-d/--delay", "'nan'", "at most 3600" } },
    { SYNCTOP, { "--batch", "-d", "inf" }, { "-d/--delay", "'inf'" } },
    { SYNCTOP, { "--batch", "-d", "-1" }, { "-d/--delay", "'-1'" } },
    { SYNCTOP, { "--batch", "--delay=3601" }, { "-d/--delay", "'3601'", "at most 3600" } },
    { SYNCTOP, { "--batch", "-d", "0x10" }, { "-d/--delay", "'0x10'" } },
    { SYNCTOP, { "-d" }, { "option -d needs an argument" } },
    /* -n */
    { SYNCTOP, { "--batch", "-n", "0" }, { "-n/--iterations", "'0'", "1 or more" } },
    { SYNCTOP, { "--batch", "-n", "1x" }, { "-n/--iterations", "'1x'" } },
    { SYNCTOP, { "--batch", "-n", "99999999999999999999" }, { "-n/--iterations", "'99999999999999999999'" } },
    /* -s, --remove */
    { SYNCTOP, { "--once", "-s", "" }, { "invalid session name ''", "-s/--session", "letters, digits" } },
    { SYNCTOP, { "--once", "-s", "a/b" }, { "invalid session name 'a/b'", "-s/--session" } },
    { SYNCTOP, { "--once", "-s", "\x1b[31mred" }, { "'\\x1b[31mred'", "-s/--session" } },
    { SYNCTOP, { "--remove", "" }, { "invalid session name ''", "--remove" } },
    { SYNCTOP, { "--gc", "-s", "a.b" }, { "invalid session name 'a.b'", "-s/--session" } },
    /* unknown flags, stray words */
    { SYNCTOP, { "--bogus" }, { "unknown option --bogus" } },
    { SYNCTOP, { "--once", "-zq" }, { "unknown option -z" } },
    { SYNCTOP, { "--once=1" }, { "option --once does not take an argument" } },
    { SYNCTOP, { "--\x1b]0;title\x07" }, { "unknown option --\\x1b]0;title\\x07" } },
    { SYNCTOP, { "--once", "stray\x07" }, { "unexpected argument 'stray\\x07'" } },

    /* synctop run: every value is checked before the command starts */
    { RUN, { "run", "--dashboard", "-d", "-1", TOUCH }, { "-d/--delay", "'-1'", "greater than 0" } },
    { RUN, { "run", "--dashboard", "-d", "nan", TOUCH }, { "-d/--delay", "'nan'" } },
    { RUN, { "run", "--dashboard", "--delay=1x", TOUCH }, { "-d/--delay", "'1x'" } },
    { RUN, { "run", "-s", "", TOUCH }, { "invalid session name ''", "-s/--session", "letters, digits" } },
    { RUN, { "run", "-s", "a.b", TOUCH }, { "invalid session name 'a.b'" } },
    { RUN, { "run", "-s", "\x1b[2J", TOUCH }, { "'\\x1b[2J'" } },
    { RUN, { "run", "--dashboard", "--log", "", TOUCH }, { "invalid --log ''" } },
    { RUN, { "run", "--log", "x.log", TOUCH }, { "--log 'x.log'", "--dashboard" } },
    { RUN, { "run", "-d", "2", TOUCH }, { "-d/--delay '2'", "--dashboard" } },
    { RUN, { "run", "--bogus", TOUCH }, { "unknown option --bogus" } },
    { RUN, { "run", "--keep", "-zq", TOUCH }, { "unknown option -z" } },
    { RUN, { "run", "--keep=1", TOUCH }, { "option --keep does not take an argument" } },
    { RUN, { "run", "-s" }, { "option -s needs an argument" } },
    { RUN, { "run", "--" }, { "no command given" } },

    /* synctop-demo */
    { DEMO, { "race", "--duration", "nan" }, { "--duration", "'nan'", "seconds from" } },
    { DEMO, { "race", "--duration", "1x" }, { "--duration", "'1x'" } },
    { DEMO, { "race", "--duration", " 1" }, { "--duration", "' 1'" } },
    { DEMO, { "race", "--duration", "0" }, { "--duration", "'0'" } },
    { DEMO, { "race", "--speed", "inf", "--duration", "0.5" }, { "--speed", "'inf'", "from 0.01 to 100" } },
    { DEMO, { "race", "--speed", "0", "--duration", "0.5" }, { "--speed", "'0'" } },
    { DEMO, { "race", "--workers", "0", SHORT }, { "--workers", "'0'", "whole number from 1 to" } },
    { DEMO, { "race", "--workers", "2x", SHORT }, { "--workers", "'2x'" } },
    { DEMO, { "race", "--workers", " 2", SHORT }, { "--workers", "' 2'" } },
    { DEMO, { "race", "--deposits", "-5", SHORT }, { "--deposits", "'-5'", "whole number" } },
    { DEMO, { "race", "--session", "", SHORT }, { "invalid session name ''", "-s/--session", "letters, digits" } },
    { DEMO, { "race", "--session", "a/b", SHORT }, { "invalid session name 'a/b'" } },
    { DEMO, { "race", "--log", "", SHORT }, { "invalid --log ''" } },
    { DEMO, { "race", "--bogus", SHORT }, { "unknown option --bogus" } },
    { DEMO, { "race", "--duration" }, { "option --duration needs an argument" } },
    { DEMO, { "\x1b[2Jrace", SHORT }, { "unknown lesson '\\x1b[2Jrace'" } },
};

/* ---- running a line -------------------------------------------------------- */

typedef struct outcome {
    int status;
    char *out;
    char *err;
} outcome;

static void outcome_free(outcome *result)
{
    free(result->out);
    free(result->err);
}

/* Run program with args, MARKER replaced by marker. */
static outcome run_line(const char *program, const char *const *args, const char *marker)
{
    char *argv[MAX_ARGS + 2];
    size_t n = 0;
    argv[n++] = (char *)program;
    for (size_t i = 0; i < MAX_ARGS && args[i] != NULL; i++)
        argv[n++] = (char *)(strcmp(args[i], MARKER) == 0 ? marker : args[i]);
    argv[n] = NULL;
    outcome result;
    result.status = test_run(argv, &result.out, &result.err, RUN_TIMEOUT_MS);
    return result;
}

/* The arguments of a line, shown for a failure message. */
static const char *describe(const bad_line *line, char *buffer, size_t size)
{
    size_t used = 0;
    buffer[0] = '\0';
    for (size_t i = 0; i < MAX_ARGS && line->args[i] != NULL && used < size; i++)
        used += (size_t)snprintf(buffer + used, size - used, "%s'%s'", i ? " " : "", line->args[i]);
    return buffer;
}

/* Whether text holds a control character other than the line ends. */
static bool has_raw_control(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
            return true;
    return false;
}

/* What is wrong with how a bad line was refused, or NULL if nothing. */
static const char *refusal_problem(const bad_line *line, const outcome *result, char *why, size_t size)
{
    if (result->status != 2)
        snprintf(why, size, "exit status %d, not 2", result->status);
    else if (result->out[0] != '\0')
        snprintf(why, size, "printed on stdout");
    else if (strncmp(result->err, line->prefix, strlen(line->prefix)) != 0)
        snprintf(why, size, "stderr does not begin with '%s'", line->prefix);
    else if (strchr(result->err, '\n') == NULL || strncmp(strchr(result->err, '\n') + 1, "Usage: ", 7) != 0)
        snprintf(why, size, "not one message line, then the usage");
    else if (has_raw_control(result->err))
        snprintf(why, size, "a raw control character reached stderr");
    else
        why[0] = '\0';
    size_t line_length = strcspn(result->err, "\n");
    for (size_t i = 0; why[0] == '\0' && i < MAX_SAYS && line->says[i] != NULL; i++) {
        const char *found = strstr(result->err, line->says[i]);
        if (found == NULL || found >= result->err + line_length)
            snprintf(why, size, "the message does not say \"%s\"", line->says[i]);
    }
    return why[0] != '\0' ? why : NULL;
}

/* ---- the tests ------------------------------------------------------------------ */

static void test_every_bad_command_line_is_refused_before_anything_starts(void **state)
{
    (void)state;
    test_session_new();
    char marker[128];
    snprintf(marker, sizeof marker, "/tmp/synctop-test-options-%ld.marker", (long)getpid());
    unlink(marker);
    int wrong = 0;
    for (size_t i = 0; i < sizeof bad_lines / sizeof bad_lines[0]; i++) {
        const bad_line *line = &bad_lines[i];
        outcome result = run_line(line->program, line->args, marker);
        char why[256];
        const char *problem = refusal_problem(line, &result, why, sizeof why);
        if (access(marker, F_OK) == 0)
            problem = "the command ran";
        unlink(marker);
        if (problem != NULL) {
            char shown[512];
            fprintf(stderr, "# %s %s: %s; stderr:\n%s\n", line->program, describe(line, shown, sizeof shown),
                    problem, result.err);
            wrong++;
        }
        outcome_free(&result);
    }
    if (wrong > 0)
        fail_msg("%d of %zu bad command lines were not refused as they should be (see above)", wrong,
                 sizeof bad_lines / sizeof bad_lines[0]);
}

/* The message after the program's name: what both programs say alike. */
static const char *message_of(const char *err, const char *prefix)
{
    assert_true(strncmp(err, prefix, strlen(prefix)) == 0);
    return err + strlen(prefix);
}

static size_t first_line_length(const char *text)
{
    return strcspn(text, "\n");
}

static void test_an_empty_session_is_refused_alike_by_both_programs(void **state)
{
    (void)state;
    test_session_new();
    outcome viewer = run_line(SYNCTOP_BINARY, (const char *const[]){ "--once", "-s", "", NULL }, "");
    outcome demo = run_line(SYNCTOP_DEMO_BINARY, (const char *const[]){ "race", "--session", "", SHORT, NULL }, "");
    outcome run = run_line(SYNCTOP_BINARY, (const char *const[]){ "run", "-s", "", "--", "true", NULL }, "");
    assert_int_equal(viewer.status, 2);
    assert_int_equal(demo.status, 2);
    assert_int_equal(run.status, 2);
    const char *viewer_says = message_of(viewer.err, "synctop: ");
    const char *demo_says = message_of(demo.err, "synctop-demo: ");
    const char *run_says = message_of(run.err, "synctop run: ");
    size_t length = first_line_length(viewer_says);
    assert_int_equal(first_line_length(demo_says), length);
    assert_int_equal(first_line_length(run_says), length);
    assert_memory_equal(demo_says, viewer_says, length);
    assert_memory_equal(run_says, viewer_says, length);
    outcome_free(&viewer);
    outcome_free(&demo);
    outcome_free(&run);
}

/* An invalid $SYNCTOP_SESSION is a usage error naming the variable; an
 * empty one means unset (the session "default"), not an error. */
static void test_session_from_the_environment(void **state)
{
    (void)state;
    setenv("SYNCTOP_SESSION", "bad/name", 1);
    outcome viewer = run_line(SYNCTOP_BINARY, (const char *const[]){ "--once", NULL }, "");
    outcome demo = run_line(SYNCTOP_DEMO_BINARY, (const char *const[]){ "race", SHORT, NULL }, "");
    assert_int_equal(viewer.status, 2);
    assert_int_equal(demo.status, 2);
    assert_non_null(strstr(viewer.err, "invalid session name 'bad/name' (from SYNCTOP_SESSION)"));
    assert_non_null(strstr(demo.err, "invalid session name 'bad/name' (from SYNCTOP_SESSION)"));
    outcome_free(&viewer);
    outcome_free(&demo);

    /* Read-only: whether a "default" session runs or not, it is only looked at. */
    setenv("SYNCTOP_SESSION", "", 1);
    viewer = run_line(SYNCTOP_BINARY, (const char *const[]){ "--once", "--json", NULL }, "");
    assert_null(strstr(viewer.err, "invalid"));
    if (viewer.status != 0)
        assert_non_null(strstr(viewer.err, "'default'"));
    outcome_free(&viewer);
    unsetenv("SYNCTOP_SESSION");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_every_bad_command_line_is_refused_before_anything_starts, test_teardown),
        cmocka_unit_test_teardown(test_an_empty_session_is_refused_alike_by_both_programs, test_teardown),
        cmocka_unit_test_teardown(test_session_from_the_environment, test_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
