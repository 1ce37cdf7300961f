/* test_end_text.c - the words for how a process or the command of
 * `synctop run` ended (tui/end_text.c): "exited 3", "killed SIGKILL", and
 * the dashboard's "COMMAND ENDED: exit status 5 after 12.3 s".
 */
#include "config.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "end_text.h"

#define SECOND 1000000000ull

static void test_signal_names(void **state)
{
    (void)state;
    char name[24];
    assert_string_equal(end_signal_name(SIGKILL, name, sizeof name), "SIGKILL");
    assert_string_equal(end_signal_name(SIGTERM, name, sizeof name), "SIGTERM");
    assert_string_equal(end_signal_name(SIGSEGV, name, sizeof name), "SIGSEGV");
    assert_string_equal(end_signal_name(SIGHUP, name, sizeof name), "SIGHUP");
    assert_string_equal(end_signal_name(40, name, sizeof name), "signal 40");
    assert_string_equal(end_signal_name(0, name, sizeof name), "signal 0");
}

static void test_process_ends(void **state)
{
    (void)state;
    char text[END_TEXT_BYTES];
    st_process_view process;
    memset(&process, 0, sizeof process);
    process.exit_status = process.exit_signal = -1;
    assert_string_equal(end_process_text(&process, text, sizeof text), "");
    process.exit_known = true;
    process.exit_status = 3;
    assert_string_equal(end_process_text(&process, text, sizeof text), "exited 3");
    process.exit_status = 0;
    assert_string_equal(end_process_text(&process, text, sizeof text), "exited 0");
    process.exit_status = -1;
    process.exit_signal = SIGKILL;
    assert_string_equal(end_process_text(&process, text, sizeof text), "killed SIGKILL");
    process.exit_signal = SIGSEGV;
    process.core_dumped = true;
    assert_string_equal(end_process_text(&process, text, sizeof text), "killed SIGSEGV (core)");
}

static void test_durations(void **state)
{
    (void)state;
    char text[32];
    assert_string_equal(end_duration_text(0, text, sizeof text), "0.0 s");
    assert_string_equal(end_duration_text(400000000ull, text, sizeof text), "0.4 s");
    assert_string_equal(end_duration_text(12340000000ull, text, sizeof text), "12.3 s");
    assert_string_equal(end_duration_text(59940000000ull, text, sizeof text), "59.9 s");
    assert_string_equal(end_duration_text(59960000000ull, text, sizeof text), "1 min 00 s");
    assert_string_equal(end_duration_text(125 * SECOND, text, sizeof text), "2 min 05 s");
    assert_string_equal(end_duration_text(3599 * SECOND, text, sizeof text), "59 min 59 s");
    assert_string_equal(end_duration_text(3720 * SECOND, text, sizeof text), "1 h 02 min");
}

/* Wait statuses as the kernel makes them (glibc's W_EXITCODE and
 * W_STOPCODE layouts: exit code in bits 8-15, signal in 0-6, core 7). */
static void test_command_ended(void **state)
{
    (void)state;
    char text[END_TEXT_BYTES];
    assert_string_equal(end_command_text(5 << 8, 12340000000ull, text, sizeof text),
                        "COMMAND ENDED: exit status 5 after 12.3 s");
    assert_string_equal(end_command_text(0, 125 * SECOND, text, sizeof text),
                        "COMMAND ENDED: exit status 0 after 2 min 05 s");
    assert_string_equal(end_command_text(SIGKILL, 400000000ull, text, sizeof text),
                        "COMMAND ENDED: killed by SIGKILL after 0.4 s");
    assert_string_equal(end_command_text(SIGABRT | 0x80, SECOND, text, sizeof text),
                        "COMMAND ENDED: killed by SIGABRT (core dumped) after 1.0 s");
    /* Cut to the buffer, never past it. */
    char small[16];
    end_command_text(5 << 8, SECOND, small, sizeof small);
    assert_int_equal(strlen(small), sizeof small - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signal_names),
        cmocka_unit_test(test_process_ends),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_command_ended),
    };
    return cmocka_run_group_tests_name("end_text", tests, NULL, NULL);
}
