/* helpers.c - shared test plumbing (see helpers.h): tracked children that are
 * always reaped, unique sessions that are always removed, running programs,
 * and handshakes that wait for a condition up to an elapsed-time deadline. */
#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <synctop/leaks.h>
#include <synctop/model.h>
#include <synctop/table.h>

#define MAX_CHILDREN 256
#define MAX_SESSIONS 64

static pid_t children[MAX_CHILDREN];
static int child_count;
static char sessions[MAX_SESSIONS][ST_SESSION_NAME_MAX + 1];
static int session_count;
static int session_serial;
static bool atexit_done;
static pid_t owner_pid;

static void register_atexit(void)
{
    if (!atexit_done) {
        atexit_done = true;
        owner_pid = getpid();
        atexit(test_cleanup);
    }
}

const char *test_session_new(void)
{
    register_atexit();
    if (session_count >= MAX_SESSIONS)
        return NULL;
    const char *prefix = getenv("SYNCTOP_TEST_SESSION_PREFIX");
    char *slot = sessions[session_count++];
    snprintf(slot, sizeof sessions[0], "%s-%d-%d", prefix ? prefix : "test",
             (int)getpid(), ++session_serial);
    setenv("SYNCTOP_SESSION", slot, 1);
    return slot;
}

static void forget_child(pid_t pid)
{
    for (int i = 0; i < child_count; i++) {
        if (children[i] == pid) {
            children[i] = children[--child_count];
            return;
        }
    }
}

pid_t test_spawn(int (*fn)(void *arg), void *arg)
{
    register_atexit();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* The child must never run the parent's cleanup or return into cmocka. */
        child_count = 0;
        session_count = 0;
        int rc = fn(arg);
        _exit(rc & 0xff);
    }
    if (pid > 0 && child_count < MAX_CHILDREN)
        children[child_count++] = pid;
    return pid;
}

static int decode_status(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

int test_wait(pid_t pid, int timeout_ms)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            forget_child(pid);
            return decode_status(status);
        }
        if (r < 0 && errno != EINTR)
            return -1;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (elapsed >= timeout_ms)
            return -1;
        test_sleep_ms(2);
    }
}

void test_kill(pid_t pid)
{
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    forget_child(pid);
}

void test_cleanup(void)
{
    if (owner_pid != 0 && getpid() != owner_pid)
        return;
    while (child_count > 0)
        test_kill(children[child_count - 1]);
    for (int i = 0; i < session_count; i++) {
        st_session_remove(sessions[i], true);
        /* A session whose table a test corrupted is removed without its data
         * segments (removal trusts only what a valid table records); once the
         * table is gone they are orphans, collected as `synctop --gc` would. */
        size_t orphans = 0;
        st_leaks_collect(sessions[i], NULL, 0, &orphans);
    }
    session_count = 0;
}

int test_teardown(void **state)
{
    (void)state;
    test_cleanup();
    return 0;
}

void test_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

static void append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t ncap = (*cap ? *cap * 2 : 4096);
        while (ncap < *len + n + 1)
            ncap *= 2;
        *buf = realloc(*buf, ncap);
        *cap = ncap;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
}

int test_run(char *const argv[], char **out, char **err, int timeout_ms)
{
    register_atexit();
    int out_pipe[2], err_pipe[2];
    if (pipe(out_pipe) < 0 || pipe(err_pipe) < 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        dup2(out_pipe[1], 1);
        dup2(err_pipe[1], 2);
        close(out_pipe[0]);
        close(err_pipe[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    if (child_count < MAX_CHILDREN)
        children[child_count++] = pid;
    close(out_pipe[1]);
    close(err_pipe[1]);
    char *bufs[2] = { NULL, NULL };
    size_t lens[2] = { 0, 0 }, caps[2] = { 0, 0 };
    append(&bufs[0], &lens[0], &caps[0], "", 0);
    append(&bufs[1], &lens[1], &caps[1], "", 0);
    struct pollfd fds[2] = { { out_pipe[0], POLLIN, 0 }, { err_pipe[0], POLLIN, 0 } };
    int open_fds = 2;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    bool timed_out = false;
    while (open_fds > 0) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (elapsed >= timeout_ms) {
            timed_out = true;
            break;
        }
        int r = poll(fds, 2, (int)(timeout_ms - elapsed));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char chunk[4096];
            ssize_t n = read(fds[i].fd, chunk, sizeof chunk);
            if (n > 0) {
                append(&bufs[i], &lens[i], &caps[i], chunk, (size_t)n);
            } else {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    int result;
    if (timed_out) {
        test_kill(pid);
        result = -1;
    } else {
        result = test_wait(pid, timeout_ms);
        if (result < 0)
            test_kill(pid);
    }
    if (out)
        *out = bufs[0];
    else
        free(bufs[0]);
    if (err)
        *err = bufs[1];
    else
        free(bufs[1]);
    return result;
}

/* Whether needle stands in name as a whole session name: a needle that
 * ends in '.' is a prefix of segment names; otherwise what follows it must
 * end the session name ('\0' or '.'), so "s-1" does not count "s-10". */
static bool names_session(const char *name, const char *needle)
{
    size_t len = strlen(needle);
    for (const char *at = strstr(name, needle); at; at = strstr(at + 1, needle)) {
        char next = at[len];
        if ((len > 0 && needle[len - 1] == '.') || next == '\0' || next == '.')
            return true;
    }
    return false;
}

int test_shm_count(const char *needle)
{
    DIR *dir = opendir("/dev/shm");
    if (!dir)
        return 0;
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL)
        if (names_session(entry->d_name, needle))
            count++;
    closedir(dir);
    return count;
}

double test_cpu_seconds(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    unsigned long long utime = 0, stime = 0;
    /* After the command: state (3), then fields 4..13, utime (14), stime (15). */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

double test_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

uint64_t test_object_field_u64(const char *session, const char *type, const char *object, const char *field)
{
    st_table *reader = NULL;
    assert_int_equal(st_table_attach_readonly(session, &reader), ST_OK);
    st_model *model = NULL;
    assert_int_equal(st_model_new(&model), ST_OK);
    assert_int_equal(st_model_refresh(model, reader), ST_OK);
    st_table_close(reader);
    const st_object_view *view = NULL;
    for (size_t i = 0; i < st_model_object_count(model) && !view; i++)
        if (strcmp(st_model_object(model, i)->name, object) == 0)
            view = st_model_object(model, i);
    if (!view) {
        st_model_free(model);
        fail_msg("'%s' is not in session '%s'", object, session);
    }
    if (type)
        assert_string_equal(view->type_name, type);
    const st_field *found = st_object_field(view, field);
    if (!found) {
        st_model_free(model);
        fail_msg("'%s' has no field '%s'", object, field);
    }
    uint64_t value;
    switch (found->kind) {
    case ST_VALUE_I64:
    case ST_VALUE_PID:
        value = (uint64_t)found->value.i64;
        break;
    case ST_VALUE_DOUBLE:
        value = (uint64_t)found->value.f64;
        break;
    default:
        value = found->value.u64;
        break;
    }
    st_model_free(model);
    return value;
}

/* ---- handshakes ------------------------------------------------------------ */

/* The pause between two looks at a condition: short enough not to slow a
 * test, long enough not to steal the CPU from the processes it waits for. */
#define POLL_INTERVAL_MS 5

bool test_wait_until(bool (*predicate)(void *arg), void *arg, int timeout_ms)
{
    double deadline = test_now() + timeout_ms / 1000.0;
    for (;;) {
        bool past_deadline = test_now() >= deadline;
        if (predicate(arg))
            return true;
        if (past_deadline)
            return false;
        test_sleep_ms(POLL_INTERVAL_MS);   /* a poll interval, not synchronization */
    }
}

typedef struct count_goal {
    const volatile int *counter;
    int count;
} count_goal;

static bool count_reached(void *arg)
{
    const count_goal *goal = arg;
    return __atomic_load_n(goal->counter, __ATOMIC_SEQ_CST) >= goal->count;
}

bool test_wait_count(const volatile int *counter, int count, int timeout_ms)
{
    count_goal goal = { counter, count };
    return test_wait_until(count_reached, &goal, timeout_ms);
}

/* Calls fn(process, arg) for each process of session's model. */
static void each_process_view(const char *session, void (*fn)(const st_process_view *p, void *arg), void *arg)
{
    st_table *reader = NULL;
    if (st_table_attach_readonly(session, &reader) != ST_OK)
        return;
    st_model *model = NULL;
    if (st_model_new(&model) == ST_OK && st_model_refresh(model, reader) == ST_OK)
        for (size_t i = 0; i < st_model_process_count(model); i++)
            fn(st_model_process(model, i), arg);
    st_model_free(model);
    st_table_close(reader);
}

typedef struct blocked_query {
    pid_t pid;
    const char *object; /* NULL: any object */
    int count;
} blocked_query;

static void count_blocked(const st_process_view *p, void *arg)
{
    blocked_query *query = arg;
    if (p->blocked && p->alive && p->pid == query->pid &&
        (query->object == NULL || strcmp(p->blocked_object_name, query->object) == 0))
        query->count++;
}

bool test_process_blocked(const char *session, pid_t pid, const char *object)
{
    blocked_query query = { pid, object, 0 };
    each_process_view(session, count_blocked, &query);
    return query.count > 0;
}

typedef struct blocked_wait {
    const char *session;
    pid_t pid;
    const char *object;
} blocked_wait;

static bool is_blocked(void *arg)
{
    blocked_wait *wait = arg;
    return test_process_blocked(wait->session, wait->pid, wait->object);
}

bool test_wait_blocked(const char *session, pid_t pid, const char *object, int timeout_ms)
{
    blocked_wait wait = { session, pid, object };
    return test_wait_until(is_blocked, &wait, timeout_ms);
}

char test_process_state(pid_t pid)
{
    char path[64], text[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return '?';
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *end = strrchr(text, ')');
    return end != NULL && end[1] == ' ' ? end[2] : '?';
}

typedef struct state_goal {
    pid_t pid;
    char state;
} state_goal;

static bool state_reached(void *arg)
{
    const state_goal *goal = arg;
    return test_process_state(goal->pid) == goal->state;
}

bool test_wait_state(pid_t pid, char state, int timeout_ms)
{
    state_goal goal = { pid, state };
    return test_wait_until(state_reached, &goal, timeout_ms);
}

typedef struct cpu_goal {
    pid_t pid;
    double cpu_at_least;
    double not_before;
} cpu_goal;

static bool cpu_time_reached(void *arg)
{
    const cpu_goal *goal = arg;
    return test_now() >= goal->not_before && test_cpu_seconds(goal->pid) >= goal->cpu_at_least;
}

bool test_wait_cpu_time(pid_t pid, double cpu_at_least, double not_before, int timeout_ms)
{
    cpu_goal goal = { pid, cpu_at_least, not_before };
    return test_wait_until(cpu_time_reached, &goal, timeout_ms);
}

/* Whether the captured stdout now shows the trigger. */
static bool output_shows(const char *out, const char *trigger)
{
    return trigger != NULL ? strstr(out, trigger) != NULL : strchr(out, '\n') != NULL;
}

int test_run_on_output(char *const argv[], const char *trigger, void (*on_output)(void *arg), void *arg,
                       char **out, char **err, int timeout_ms)
{
    register_atexit();
    int out_pipe[2], err_pipe[2];
    if (pipe(out_pipe) < 0)
        return -1;
    if (pipe(err_pipe) < 0) {
        close(out_pipe[0]);
        close(out_pipe[1]);
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        dup2(out_pipe[1], 1);
        dup2(err_pipe[1], 2);
        close(out_pipe[0]);
        close(err_pipe[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    if (child_count < MAX_CHILDREN)
        children[child_count++] = pid;
    close(out_pipe[1]);
    close(err_pipe[1]);
    char *bufs[2] = { NULL, NULL };
    size_t lens[2] = { 0, 0 }, caps[2] = { 0, 0 };
    append(&bufs[0], &lens[0], &caps[0], "", 0);
    append(&bufs[1], &lens[1], &caps[1], "", 0);
    struct pollfd fds[2] = { { out_pipe[0], POLLIN, 0 }, { err_pipe[0], POLLIN, 0 } };
    int open_fds = 2;
    double deadline = test_now() + timeout_ms / 1000.0;
    bool timed_out = false, triggered = false;
    while (open_fds > 0) {
        int left = (int)((deadline - test_now()) * 1000.0);
        if (left <= 0) {
            timed_out = true;
            break;
        }
        int r = poll(fds, 2, left);
        if (r <= 0)
            continue;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char chunk[4096];
            ssize_t n = read(fds[i].fd, chunk, sizeof chunk);
            if (n > 0) {
                append(&bufs[i], &lens[i], &caps[i], chunk, (size_t)n);
            } else if (n == 0 || errno != EINTR) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            }
        }
        if (!triggered && output_shows(bufs[0], trigger)) {
            triggered = true;
            on_output(arg);
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    int result;
    if (timed_out) {
        test_kill(pid);
        result = -1;
    } else {
        int left = (int)((deadline - test_now()) * 1000.0);
        result = test_wait(pid, left > 0 ? left : 0);
        if (result < 0)
            test_kill(pid);
        else if (!triggered)
            result = -2;
    }
    if (out)
        *out = bufs[0];
    else
        free(bufs[0]);
    if (err)
        *err = bufs[1];
    else
        free(bufs[1]);
    return result;
}
