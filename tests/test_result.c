/* test_result.c - every result code has a name and a message of its own, and
 * failures leave a detailed message that says what to do. */
#include "helpers.h"

#include <string.h>

#include <synctop/synctop.h>

static void test_every_code_is_explained(void **state)
{
    (void)state;
    for (int code = 0; code < ST_RESULT_COUNT; code++) {
        const char *message = st_strerror((st_result)code);
        const char *name = st_result_name((st_result)code);
        assert_non_null(message);
        assert_true(strlen(message) > 3);
        assert_true(strncmp(name, "ST_", 3) == 0);
        for (int other = 0; other < code; other++) {
            assert_string_not_equal(message, st_strerror((st_result)other));
            assert_string_not_equal(name, st_result_name((st_result)other));
        }
    }
    assert_string_equal(st_result_name(ST_ETIMEDOUT), "ST_ETIMEDOUT");
    assert_string_equal(st_result_name(ST_EOWNERDEAD), "ST_EOWNERDEAD");
    assert_string_equal(st_strerror((st_result)9999), "unknown synctop result code");
    assert_string_equal(st_result_name((st_result)-1), "ST_UNKNOWN");
}

static void test_failure_sets_detail(void **state)
{
    (void)state;
    st_table *table = NULL;
    assert_int_equal(st_table_attach_readonly("no-such-session-here", &table), ST_ENOENT);
    assert_non_null(strstr(st_error_detail(), "no-such-session-here"));
    assert_non_null(strstr(st_error_detail(), "synctop-demo"));
    /* A table-level call that succeeds clears it. */
    char name[ST_SESSION_NAME_MAX + 1];
    assert_int_equal(st_session_resolve("fine", name), ST_OK);
    st_table_options opts = { .session = test_session_new() };
    assert_int_equal(st_table_open(&opts, &table), ST_OK);
    assert_string_equal(st_error_detail(), "");
    st_table_close(table);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_code_is_explained),
        cmocka_unit_test_teardown(test_failure_sets_detail, test_teardown),
    };
    return cmocka_run_group_tests_name("result", tests, NULL, test_teardown);
}
