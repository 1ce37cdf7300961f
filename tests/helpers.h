/* helpers.h - shared test plumbing: unique sessions, forked children that
 * are always reaped, running the built programs and capturing their output.
 *
 * Every test program calls test_cleanup() from its cmocka teardown (and it is
 * also registered with atexit): it SIGKILLs and reaps every child spawned
 * with test_spawn() and removes every session named by test_session_new(),
 * so a failing assertion never leaves a process or a /dev/shm segment behind.
 */
#ifndef SYNCTOP_TEST_HELPERS_H
#define SYNCTOP_TEST_HELPERS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/types.h>
#include <cmocka.h>

/* A new session name unique to this test run ("t<runid>-<pid>-<n>"), also
 * exported as SYNCTOP_SESSION so programs run by the test use it. The
 * session is removed by test_cleanup(). Returns a static buffer per call
 * (up to 64 names). */
const char *test_session_new(void);

/* Fork a child that runs fn(arg) and _exit()s with its return value (a
 * cmocka failure inside the child exits 99). The pid is tracked. */
pid_t test_spawn(int (*fn)(void *arg), void *arg);

/* Wait for a tracked child up to timeout_ms. Returns its exit status
 * (0-255), 128+signal if it was killed, or -1 on timeout (the child is then
 * left running; test_cleanup() kills it). */
int test_wait(pid_t pid, int timeout_ms);

/* Kill (SIGKILL) and reap a tracked child. */
void test_kill(pid_t pid);

/* Kill and reap every tracked child, remove every test session. */
void test_cleanup(void);

/* cmocka group/test teardown wrapper around test_cleanup(). */
int test_teardown(void **state);

/* Run argv (argv[0] a path), stdin from /dev/null, capturing stdout and
 * stderr (each NUL-terminated, caller frees; either pointer may be NULL).
 * Returns the exit status, 128+signal, or -1 on timeout (killed). */
int test_run(char *const argv[], char **out, char **err, int timeout_ms);

/* Sleep for ms milliseconds. */
void test_sleep_ms(int ms);

/* The field called field of the object called object in session, read
 * back the way the viewer reads it (a read-only attach and one model
 * refresh). When type is not NULL the object must be of that type. Fails
 * the test when the object or the field is missing. PID and signed values
 * come back as their uint64_t bit pattern, doubles truncated. */
uint64_t test_object_field_u64(const char *session, const char *type, const char *object, const char *field);

/* CPU time a process has used so far (utime + stime), in seconds, read from
 * /proc/PID/stat: an independent reference for CPU% figures. -1 if gone. */
double test_cpu_seconds(pid_t pid);

/* Seconds on CLOCK_MONOTONIC. */
double test_now(void);

/* Count entries in /dev/shm that belong to needle: a session name (its
 * table and its data segments, not those of a longer name like needle + "0")
 * or, when needle ends in '.', a prefix of data segment names. */
int test_shm_count(const char *needle);

/* ---- handshakes: waiting for a condition instead of guessing a time ------- */

/* The deadline handshakes use: generous, since only a failing test waits
 * this long; a passing one goes on as soon as its condition holds. */
#define TEST_WAIT_MS 20000

/* Look at predicate(arg) until it holds or timeout_ms have passed (elapsed
 * time on CLOCK_MONOTONIC, however slow the machine). Between looks it
 * sleeps a few milliseconds: a poll interval, not a guess. Returns whether
 * the predicate held; it is always looked at once more at the deadline. */
bool test_wait_until(bool (*predicate)(void *arg), void *arg, int timeout_ms);

/* Wait up to timeout_ms until *counter (a flag or counter in memory shared
 * with children, read atomically) is at least count. */
bool test_wait_count(const volatile int *counter, int count, int timeout_ms);

/* Whether process pid shows as blocked in session, read the way the viewer
 * reads it (a read-only attach and one model refresh); when object is not
 * NULL, blocked on the object of that name. */
bool test_process_blocked(const char *session, pid_t pid, const char *object);

/* Wait up to timeout_ms until test_process_blocked() holds. */
bool test_wait_blocked(const char *session, pid_t pid, const char *object, int timeout_ms);

/* The state letter of /proc/PID/stat ('R' running, 'S' sleeping, 'T'
 * stopped, ...), or '?' when the process is gone. */
char test_process_state(pid_t pid);

/* Wait up to timeout_ms until process pid is in state (a letter as above). */
bool test_wait_state(pid_t pid, char state, int timeout_ms);

/* Wait up to timeout_ms until process pid's CPU time (test_cpu_seconds)
 * reaches cpu_at_least and test_now() reaches not_before: an interval for
 * measuring CPU% that ends once the process has run enough, however small
 * a share of the CPUs a busy machine gives it. */
bool test_wait_cpu_time(pid_t pid, double cpu_at_least, double not_before, int timeout_ms);

/* Like test_run(), but once the program's stdout holds trigger (NULL: its
 * first complete line), call on_output(arg) once while it keeps running:
 * "act once synctop has attached and drawn". Returns like test_run(); -2
 * when the program ended before the trigger appeared (on_output was not
 * called). */
int test_run_on_output(char *const argv[], const char *trigger, void (*on_output)(void *arg), void *arg,
                       char **out, char **err, int timeout_ms);

#endif
