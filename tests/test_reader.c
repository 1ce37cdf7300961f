/* test_reader.c - a reader that cannot be crashed or made to lie.
 *
 * - A segment truncated and restored in a loop under the viewer (the model
 *   in this process, `synctop --batch` beside it) gives clean errors for
 *   some refreshes, never a signal.
 * - Random bytes written into a live table while `synctop --batch --json`
 *   reads it: every line it prints parses and is valid UTF-8.
 * - Names with invalid UTF-8, control characters, or cut mid-character at
 *   a size limit leave synctop (--json, --batch, --list) as valid UTF-8,
 *   with control characters escaped.
 * - Waiter counts drop to 0 when the waiter is killed while it waits.
 * - A process blocked right now has blocked_for_ns > 0 in every snapshot
 *   (the snapshot's clock is read after its copy).
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "internal.h"
#include <synctop/text.h>

#define RUN_TIMEOUT_MS 60000

/* ---- plumbing ------------------------------------------------------------ */

static st_table *open_small(const char *session)
{
    st_table_options opts = { 0 };
    opts.session = session;
    opts.process_capacity = 8;
    opts.object_capacity = 16;
    opts.event_capacity = 64;
    opts.trace_new_objects = true;
    st_table *table = NULL;
    st_result r = st_table_open(&opts, &table);
    if (r != ST_OK)
        fail_msg("st_table_open(%s): %s: %s", session, st_result_name(r), st_error_detail());
    return table;
}

static st_table *attach(const char *session)
{
    st_table *table = NULL;
    st_result r = st_table_attach_readonly(session, &table);
    if (r != ST_OK)
        fail_msg("attach %s: %s: %s", session, st_result_name(r), st_error_detail());
    return table;
}

static st_model *new_model(void)
{
    st_model *model = NULL;
    assert_int_equal(st_model_new(&model), ST_OK);
    return model;
}

static void shm_path(const char *session, char *out, size_t size)
{
    assert_int_equal(st_session_shm_name(session, out, size), ST_OK);
}

static const st_object_view *find_object(const st_model *model, const char *name)
{
    for (size_t i = 0; i < st_model_object_count(model); i++)
        if (strcmp(st_model_object(model, i)->name, name) == 0)
            return st_model_object(model, i);
    return NULL;
}

static const st_process_view *find_process(const st_model *model, pid_t pid)
{
    for (size_t i = 0; i < st_model_process_count(model); i++)
        if (st_model_process(model, i)->pid == pid)
            return st_model_process(model, i);
    return NULL;
}

static uint64_t field_u64(const st_object_view *object, const char *name)
{
    const st_field *field = st_object_field(object, name);
    if (!field)
        fail_msg("object '%s' has no field '%s'", object->name, name);
    return field->value.u64;
}

/* Run synctop with the given arguments (NULL-terminated), capturing output. */
static int run_synctop(const char *const *args, char **out, char **err)
{
    char *argv[16];
    int n = 0;
    argv[n++] = (char *)SYNCTOP_BINARY;
    for (; *args && n < 15; args++)
        argv[n++] = (char *)*args;
    argv[n] = NULL;
    return test_run(argv, out, err, RUN_TIMEOUT_MS);
}

/* A viewer's exit is clean: 0, or 1 with a message from synctop itself. */
static void expect_clean_exit(const char *what, int status, const char *err)
{
    if (status == 0)
        return;
    if (status == 1 && err && strncmp(err, "synctop: ", 9) == 0)
        return;
    fail_msg("%s exited with status %d (128+signal when killed); stderr: %s", what, status, err ? err : "");
}

/* Polls refreshes until the process with pid shows as blocked. */
static void wait_until_blocked(st_model *model, st_table *reader, pid_t pid)
{
    double deadline = test_now() + 20.0;
    for (;;) {
        assert_int_equal(st_model_refresh(model, reader), ST_OK);
        const st_process_view *process = find_process(model, pid);
        if (process && process->blocked && process->alive)
            return;
        if (test_now() > deadline)
            fail_msg("process %d never showed as blocked", (int)pid);
        test_sleep_ms(2);
    }
}

/* ---- truncation under the reader (defect: SIGBUS) -------------------------- */

typedef struct truncator_arg {
    const char *session;
    int stop_fd;        /* readable (EOF) when the parent wants it to stop */
    int stop_write_fd;  /* the other end, closed in the child */
    int ready_fd;       /* it writes one byte once it has started */
} truncator_arg;

/* Truncate the table to sizes from 0 to mid-slot and restore it (size and
 * contents), until told to stop or 60 s pass. */
static int truncate_in_loop(void *p)
{
    const truncator_arg *arg = p;
    close(arg->stop_write_fd);
    char name[128];
    shm_path(arg->session, name, sizeof name);
    int fd = shm_open(name, O_RDWR, 0);
    if (fd < 0)
        return 2;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return 3;
    size_t size = (size_t)st.st_size;
    char *content = malloc(size);
    if (!content || pread(fd, content, size, 0) != (ssize_t)size)
        return 4;
    const off_t sizes[] = { 0, 100, ST_HEADER_SIZE, ST_HEADER_SIZE + ST_PROCESS_SLOT_SIZE / 2,
                            (off_t)size / 2 + 300, (off_t)size - 1 };
    if (write(arg->ready_fd, "r", 1) != 1)
        return 5;
    double deadline = test_now() + 60.0;
    for (unsigned i = 0; test_now() < deadline; i++) {
        if (ftruncate(fd, sizes[i % (sizeof sizes / sizeof sizes[0])]) < 0 || ftruncate(fd, (off_t)size) < 0 ||
            pwrite(fd, content, size, 0) != (ssize_t)size)
            return 6;
        struct timeval now = { 0, 0 };
        fd_set readable;
        FD_ZERO(&readable);
        FD_SET(arg->stop_fd, &readable);
        if (select(arg->stop_fd + 1, &readable, NULL, NULL, &now) > 0)
            break;
    }
    free(content);
    close(fd);
    return 0;
}

typedef struct batch_arg {
    const char *session;
} batch_arg;

/* Runs synctop --batch beside the truncation; exits 0 when it ended cleanly. */
static int run_batch(void *p)
{
    const batch_arg *arg = p;
    const char *args[] = { "--batch", "-d", "0.01", "-n", "200", "-s", arg->session, NULL };
    char *err = NULL;
    int status = run_synctop(args, NULL, &err);
    bool clean = status == 0 || (status == 1 && err && strncmp(err, "synctop: ", 9) == 0);
    if (!clean)
        fprintf(stderr, "synctop --batch: status %d, stderr: %s\n", status, err ? err : "");
    free(err);
    return clean ? 0 : 1;
}

static void test_truncated_and_restored_while_reading(void **state)
{
    (void)state;
    const char *session = test_session_new();
    st_table *writer = open_small(session);
    st_lock *lock = NULL;
    assert_int_equal(st_lock_open(writer, "truncated", &lock), ST_OK);
    st_lock_close(lock);
    st_table_close(writer);   /* nothing here touches a shared mapping from now on */
    st_table *reader = attach(session);
    st_model *model = new_model();
    assert_int_equal(st_model_refresh(model, reader), ST_OK);

    int stop[2], ready[2];
    assert_int_equal(pipe2(stop, O_CLOEXEC), 0);
    assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
    truncator_arg targ = { session, stop[0], stop[1], ready[1] };
    pid_t truncator = test_spawn(truncate_in_loop, &targ);
    char byte;
    assert_int_equal(read(ready[0], &byte, 1), 1);
    batch_arg barg = { session };
    pid_t batch = test_spawn(run_batch, &barg);

    /* Refresh until synctop --batch is done (and at least 500 times). */
    unsigned refreshes = 0, failures = 0;
    int batch_status = -1;
    double deadline = test_now() + 90.0;
    while (batch_status < 0 || refreshes < 500) {
        st_result r = st_model_refresh(model, reader);
        refreshes++;
        if (r != ST_OK) {
            failures++;
            if (r != ST_ETRUNCATED && r != ST_EFOREIGN && r != ST_ECORRUPT && r != ST_ENOTREADY)
                fail_msg("refresh failed with %s: %s", st_result_name(r), st_error_detail());
            assert_true(st_error_detail()[0] != '\0');
        }
        if (batch_status < 0)
            batch_status = test_wait(batch, 0);
        if (test_now() > deadline)
            fail_msg("synctop --batch did not finish in time");
    }
    close(stop[1]);
    assert_int_equal(test_wait(truncator, 20000), 0);
    assert_int_equal(batch_status, 0);
    /* The segment is whole again: the reader recovers. */
    assert_int_equal(st_model_refresh(model, reader), ST_OK);
    assert_non_null(find_object(model, "truncated"));
    print_message("# %u refreshes, %u failed cleanly while the segment shrank\n", refreshes, failures);
    close(stop[0]);
    close(ready[0]);
    close(ready[1]);
    st_model_free(model);
    st_table_close(reader);
}

/* ---- random bytes written into a live table -------------------------------- */

typedef struct mutator_arg {
    const char *session;
    int stop_fd;
    int stop_write_fd;
    int ready_fd;
    unsigned seed;
} mutator_arg;

/* Write seeded random bytes into a live table, until told to stop (or 60 s
 * pass). */
static int mutate_in_loop(void *p)
{
    const mutator_arg *arg = p;
    close(arg->stop_write_fd);
    char name[128];
    shm_path(arg->session, name, sizeof name);
    int fd = shm_open(name, O_RDWR, 0);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return 2;
    size_t size = (size_t)st.st_size;
    uint8_t *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED)
        return 3;
    unsigned seed = arg->seed;
    if (write(arg->ready_fd, "r", 1) != 1)
        return 4;
    double deadline = test_now() + 60.0;
    const st_table_header *header = (const st_table_header *)base;
    uint64_t processes = header->process_offset, objects = header->object_offset, events = header->event_offset;
    uint32_t process_slots = header->process_capacity, object_slots = header->objects_used;
    size_t event_bytes = (size_t)header->event_capacity * ST_EVENT_ENTRY_SIZE;
    const size_t name_at = offsetof(st_process_slot, name);
    const size_t name_bytes = offsetof(st_process_slot, state) - name_at;   /* name and role */
    const size_t object_name_at = offsetof(st_object_header, name);
    for (unsigned long i = 0;; i++) {
        /* Process names and roles, object names and bodies, the event ring:
         * everything but the words that make a slot live and typed, so the
         * damage reaches the outputs instead of hiding the slots. */
        size_t at;
        switch (rand_r(&seed) % 3) {
        case 0:
            at = events + (size_t)rand_r(&seed) % event_bytes;
            break;
        case 1:
            at = processes + (size_t)(rand_r(&seed) % process_slots) * ST_PROCESS_SLOT_SIZE + name_at +
                 (size_t)rand_r(&seed) % name_bytes;
            break;
        default:
            at = objects + (size_t)(rand_r(&seed) % object_slots) * ST_OBJECT_SLOT_SIZE + object_name_at +
                 (size_t)rand_r(&seed) % (ST_OBJECT_SLOT_SIZE - object_name_at);
            break;
        }
        base[at] = (uint8_t)rand_r(&seed);
        if ((i & 1023) == 0) {
            struct timeval now = { 0, 0 };
            fd_set readable;
            FD_ZERO(&readable);
            FD_SET(arg->stop_fd, &readable);
            if (select(arg->stop_fd + 1, &readable, NULL, NULL, &now) > 0 || test_now() > deadline)
                break;
        }
    }
    munmap(base, size);
    close(fd);
    return 0;
}

static void check_json_lines(const char *out, unsigned *lines)
{
    assert_true(st_text_is_valid_utf8(out, strlen(out)));
    const char *line = out;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        json_tokener *tok = json_tokener_new();
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        json_object *root = json_tokener_parse_ex(tok, line, (int)len);
        if (!root || json_tokener_get_error(tok) != json_tokener_success)
            fail_msg("line %u is not valid JSON: %.*s", *lines + 1, (int)(len < 300 ? len : 300), line);
        assert_true(json_object_object_get_ex(root, "objects", NULL));
        json_object_put(root);
        json_tokener_free(tok);
        (*lines)++;
        line += len + (end ? 1 : 0);
    }
}

static void test_random_bytes_while_reading(void **state)
{
    (void)state;
    const char *session = test_session_new();
    st_table *writer = open_small(session);
    st_lock *lock = NULL;
    st_queue *queue = NULL;
    assert_int_equal(st_lock_open(writer, "mutated-lock", &lock), ST_OK);
    assert_int_equal(st_queue_open(writer, "mutated-queue", 4, 32, &queue), ST_OK);
    assert_int_equal(st_lock_acquire(lock, ST_FOREVER), ST_OK);
    assert_int_equal(st_lock_release(lock), ST_OK);
    st_table *reader = attach(session);
    st_model *model = new_model();

    int stop[2], ready[2];
    assert_int_equal(pipe2(stop, O_CLOEXEC), 0);
    assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
    mutator_arg marg = { session, stop[0], stop[1], ready[1], 20261204u };
    pid_t mutator = test_spawn(mutate_in_loop, &marg);
    char byte;
    assert_int_equal(read(ready[0], &byte, 1), 1);

    const char *args[] = { "--batch", "--json", "-d", "0.01", "-n", "100", "-s", session, NULL };
    char *out = NULL, *err = NULL;
    int status = run_synctop(args, &out, &err);
    for (int i = 0; i < 300; i++) {
        st_result r = st_model_refresh(model, reader);
        if (r != ST_OK && r != ST_ECORRUPT)
            fail_msg("refresh: %s: %s", st_result_name(r), st_error_detail());
        for (size_t o = 0; o < st_model_object_count(model); o++)
            assert_true(st_text_is_valid_utf8(st_model_object(model, o)->name,
                                              strlen(st_model_object(model, o)->name)));
        for (size_t n = 0; n < st_model_process_count(model); n++)
            assert_true(st_text_is_valid_utf8(st_model_process(model, n)->name,
                                              strlen(st_model_process(model, n)->name)));
    }
    close(stop[1]);
    assert_int_equal(test_wait(mutator, 20000), 0);
    expect_clean_exit("synctop --batch --json", status, err);
    unsigned lines = 0;
    check_json_lines(out ? out : "", &lines);
    assert_true(lines > 0);
    free(out);
    free(err);
    close(stop[0]);
    close(ready[0]);
    close(ready[1]);
    st_model_free(model);
    st_table_close(reader);
    st_queue_close(queue);
    st_lock_close(lock);
    st_table_close(writer);
}

/* ---- names as valid UTF-8 ---------------------------------------------------- */

#define E_ACUTE "\xc3\xa9"
#define REPLACEMENT "\xef\xbf\xbd"

typedef struct named_child_arg {
    const char *session;
    int ready_fd;
} named_child_arg;

/* Takes a command name the kernel cuts mid-character (15 bytes of nine
 * two-byte characters), registers under it and waits to be killed. */
static int named_child(void *p)
{
    const named_child_arg *arg = p;
    prctl(PR_SET_NAME, E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE);
    st_table_options opts = { .session = arg->session };
    st_table *table = NULL;
    if (st_table_open(&opts, &table) != ST_OK)
        return 2;
    if (write(arg->ready_fd, "r", 1) != 1)
        return 3;
    for (;;)
        pause();
}

static const char *json_string_at(json_object *array, const char *key, const char *name_prefix)
{
    for (size_t i = 0; i < json_object_array_length(array); i++) {
        json_object *item = json_object_array_get_idx(array, i), *value;
        if (json_object_object_get_ex(item, key, &value) && json_object_is_type(value, json_type_string) &&
            strncmp(json_object_get_string(value), name_prefix, strlen(name_prefix)) == 0)
            return json_object_get_string(value);
    }
    return NULL;
}

/* Writes an object name into a slot directly, as a writer without the
 * checks would: 62 ASCII bytes and the first byte of a two-byte character. */
static void write_cut_object_name(const char *session)
{
    char name[128];
    shm_path(session, name, sizeof name);
    int fd = shm_open(name, O_RDWR, 0);
    assert_true(fd >= 0);
    st_table_header header;
    assert_int_equal(pread(fd, &header, sizeof header, 0), (ssize_t)sizeof header);
    for (uint32_t i = 0; i < header.objects_used; i++) {
        st_object_header object;
        uint64_t at = header.object_offset + (uint64_t)i * ST_OBJECT_SLOT_SIZE;
        assert_int_equal(pread(fd, &object, sizeof object, (off_t)at), (ssize_t)sizeof object);
        if (strcmp(object.name, "to-be-cut") != 0)
            continue;
        memset(object.name, 'c', ST_OBJECT_NAME_MAX - 1);
        object.name[ST_OBJECT_NAME_MAX - 1] = (char)0xc3;
        object.name[ST_OBJECT_NAME_MAX] = '\0';
        assert_int_equal(pwrite(fd, &object, sizeof object, (off_t)at), (ssize_t)sizeof object);
    }
    close(fd);
}

static void test_names_leave_as_valid_utf8(void **state)
{
    (void)state;
    const char *session = test_session_new();
    st_table *writer = open_small(session);
    assert_int_equal(st_process_register(writer, "bad\xff\xfename", "r\x1b[1m"), ST_OK);
    st_lock *invalid = NULL, *control = NULL, *cut = NULL;
    assert_int_equal(st_lock_open(writer, "inv\xc3(x\xed\xa0\x80y", &invalid), ST_OK);
    assert_int_equal(st_lock_open(writer, "esc\x1b[31mred\rcr", &control), ST_OK);
    assert_int_equal(st_lock_open(writer, "to-be-cut", &cut), ST_OK);
    write_cut_object_name(session);
    int ready[2];
    assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
    named_child_arg carg = { session, ready[1] };
    pid_t child = test_spawn(named_child, &carg);
    char byte;
    assert_int_equal(read(ready[0], &byte, 1), 1);

    /* --json: valid UTF-8, control characters escaped, the texts expected. */
    const char *json_args[] = { "--once", "--json", "-s", session, NULL };
    char *out = NULL, *err = NULL;
    int status = run_synctop(json_args, &out, &err);
    assert_int_equal(status, 0);
    assert_true(st_text_is_valid_utf8(out, strlen(out)));
    assert_non_null(strstr(out, "\\u001b"));
    assert_null(strchr(out, '\x1b'));
    json_object *root = json_tokener_parse(out);
    assert_non_null(root);
    json_object *objects, *processes;
    assert_true(json_object_object_get_ex(root, "objects", &objects));
    assert_true(json_object_object_get_ex(root, "processes", &processes));
    const char *cut_name = json_string_at(objects, "name", "cccc");
    char expected_cut[ST_OBJECT_NAME_MAX + 1];
    memset(expected_cut, 'c', ST_OBJECT_NAME_MAX - 1);
    expected_cut[ST_OBJECT_NAME_MAX - 1] = '\0';
    assert_non_null(cut_name);
    assert_string_equal(cut_name, expected_cut);
    assert_string_equal(json_string_at(objects, "name", "inv"), "inv" REPLACEMENT "(x" REPLACEMENT REPLACEMENT
                        REPLACEMENT "y");
    assert_string_equal(json_string_at(objects, "name", "esc"), "esc\x1b[31mred\rcr");
    assert_string_equal(json_string_at(processes, "name", "bad"), "bad" REPLACEMENT REPLACEMENT "name");
    assert_string_equal(json_string_at(processes, "role", "r"), "r\x1b[1m");
    assert_string_equal(json_string_at(processes, "name", E_ACUTE),
                        E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE);
    json_object_put(root);
    free(out);
    free(err);

    /* --batch: valid UTF-8, control characters in caret notation. */
    const char *batch_args[] = { "--batch", "-n", "1", "-s", session, NULL };
    status = run_synctop(batch_args, &out, &err);
    assert_int_equal(status, 0);
    assert_true(st_text_is_valid_utf8(out, strlen(out)));
    assert_null(strchr(out, '\x1b'));
    assert_null(strchr(out, '\r'));
    assert_non_null(strstr(out, "esc^[[31mred^Mcr"));
    assert_non_null(strstr(out, "r^[[1m"));
    assert_non_null(strstr(out, "bad" REPLACEMENT REPLACEMENT "name"));
    assert_non_null(strstr(out, expected_cut));
    assert_null(strstr(out, E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE));
    assert_non_null(strstr(out, E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE E_ACUTE));
    free(out);
    free(err);

    /* --list: a /dev/shm entry named with ESC and an invalid byte. */
    char odd[160];
    snprintf(odd, sizeof odd, "/synctop-%u-%s\x1bodd\xff", (unsigned)getuid(), session);
    int fd = shm_open(odd, O_RDWR | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    const char *list_args[] = { "--list", NULL };
    status = run_synctop(list_args, &out, &err);
    shm_unlink(odd);
    assert_int_equal(status, 0);
    assert_true(st_text_is_valid_utf8(out, strlen(out)));
    assert_null(strchr(out, '\x1b'));
    char shown[160];
    snprintf(shown, sizeof shown, "%s^[odd" REPLACEMENT, session);
    assert_non_null(strstr(out, shown));
    free(out);
    free(err);

    test_kill(child);
    close(ready[0]);
    close(ready[1]);
    st_lock_close(invalid);
    st_lock_close(control);
    st_lock_close(cut);
    st_table_close(writer);
}

/* ---- waiter counts after a waiter was killed ---------------------------------- */

typedef struct blocker_arg {
    st_lock *lock;
    st_queue *queue;
} blocker_arg;

static int block_on_lock(void *p)
{
    const blocker_arg *arg = p;
    st_lock_acquire(arg->lock, ST_FOREVER);
    return 0;
}

static int block_on_queue(void *p)
{
    const blocker_arg *arg = p;
    char buffer[32];
    size_t length;
    st_queue_get(arg->queue, buffer, sizeof buffer, &length, ST_FOREVER);
    return 0;
}

static void test_killed_waiter_is_not_counted(void **state)
{
    (void)state;
    const char *session = test_session_new();
    st_table *writer = open_small(session);
    blocker_arg arg = { NULL, NULL };
    assert_int_equal(st_lock_open(writer, "held", &arg.lock), ST_OK);
    assert_int_equal(st_queue_open(writer, "empty", 4, 32, &arg.queue), ST_OK);
    assert_int_equal(st_lock_acquire(arg.lock, ST_FOREVER), ST_OK);
    st_table *reader = attach(session);
    st_model *model = new_model();

    pid_t locker = test_spawn(block_on_lock, &arg);
    pid_t getter = test_spawn(block_on_queue, &arg);
    wait_until_blocked(model, reader, locker);
    wait_until_blocked(model, reader, getter);
    /* The counts are kept by the waiters; wait until both counted themselves. */
    double deadline = test_now() + 20.0;
    while (field_u64(find_object(model, "held"), "waiters") != 1 ||
           field_u64(find_object(model, "empty"), "consumers_blocked") != 1) {
        if (test_now() > deadline)
            fail_msg("the waiters were never counted");
        test_sleep_ms(2);
        assert_int_equal(st_model_refresh(model, reader), ST_OK);
    }

    test_kill(locker);
    test_kill(getter);
    assert_int_equal(st_model_refresh(model, reader), ST_OK);
    assert_int_equal(field_u64(find_object(model, "held"), "waiters"), 0);
    assert_int_equal(field_u64(find_object(model, "empty"), "consumers_blocked"), 0);
    /* The killed processes themselves are still listed, as dead. */
    const st_process_view *dead = find_process(model, locker);
    assert_non_null(dead);
    assert_false(dead->alive);

    assert_int_equal(st_lock_release(arg.lock), ST_OK);
    st_model_free(model);
    st_table_close(reader);
    st_queue_close(arg.queue);
    st_lock_close(arg.lock);
    st_table_close(writer);
}

/* ---- the snapshot's clock ------------------------------------------------------ */

typedef struct marker_arg {
    st_table *table;
    volatile int stop;
} marker_arg;

/* Marks this process blocked again and again: its blocked_since_ns is
 * always "just now" when a snapshot copies it. */
static void *mark_blocked_in_loop(void *p)
{
    marker_arg *arg = p;
    while (!__atomic_load_n(&arg->stop, __ATOMIC_RELAXED))
        st_process_mark_blocked(arg->table, 0, ST_OP_ACQUIRE);
    return NULL;
}

static void test_blocked_time_is_never_zero(void **state)
{
    (void)state;
    const char *session = test_session_new();
    st_table *writer = open_small(session);
    st_lock *lock = NULL;
    assert_int_equal(st_lock_open(writer, "marked", &lock), ST_OK);
    st_table *reader = attach(session);
    st_model *model = new_model();
    marker_arg arg = { writer, 0 };
    pthread_t marker;
    assert_int_equal(pthread_create(&marker, NULL, mark_blocked_in_loop, &arg), 0);
    unsigned zero = 0, seen = 0;
    for (int i = 0; i < 3000; i++) {
        assert_int_equal(st_model_refresh(model, reader), ST_OK);
        const st_process_view *self = find_process(model, getpid());
        if (!self || !self->blocked)
            continue;
        seen++;
        if (self->blocked_for_ns == 0)
            zero++;
    }
    __atomic_store_n(&arg.stop, 1, __ATOMIC_RELAXED);
    pthread_join(marker, NULL);
    st_process_mark_unblocked(writer);
    assert_true(seen > 0);
    if (zero)
        fail_msg("%u of %u snapshots showed a blocked process blocked for 0 ns", zero, seen);
    st_model_free(model);
    st_table_close(reader);
    st_lock_close(lock);
    st_table_close(writer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_truncated_and_restored_while_reading, test_teardown),
        cmocka_unit_test_teardown(test_random_bytes_while_reading, test_teardown),
        cmocka_unit_test_teardown(test_names_leave_as_valid_utf8, test_teardown),
        cmocka_unit_test_teardown(test_killed_waiter_is_not_counted, test_teardown),
        cmocka_unit_test_teardown(test_blocked_time_is_never_zero, test_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, test_teardown);
}
