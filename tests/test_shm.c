/* test_shm.c - named shared-memory regions across processes, the figures
 * the viewer shows for them (size, creator, attached, unlinked, leaked),
 * and leak detection and collection: st_leaks_scan / st_leaks_collect and
 * `synctop --gc` (the built binary, SYNCTOP_BINARY). */
#include "helpers.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <synctop/synctop.h>

typedef struct shared_area {
    volatile int ready;
    volatile int phase;
} shared_area;

static shared_area *shared;
static st_table *table;
static const char *session;
static const char *extra_sessions[4];
static int extra_count;

static void remove_session_segments(const char *name)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "synctop-%u-%s.", (unsigned)getuid(), name);
    DIR *dir = opendir("/dev/shm");
    if (!dir)
        return;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (strncmp(entry->d_name, prefix, strlen(prefix)) == 0) {
            char path[300];
            snprintf(path, sizeof path, "/%s", entry->d_name);
            shm_unlink(path);
        }
    }
    closedir(dir);
}

/* How many data segments of session name are in /dev/shm. */
static int session_segments(const char *name)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "synctop-%u-%s.", (unsigned)getuid(), name);
    return test_shm_count(prefix);
}

static bool segment_exists(const char *segment)
{
    char path[300];
    snprintf(path, sizeof path, "/dev/shm%s", segment);
    return access(path, F_OK) == 0;
}

static const char *new_extra_session(void)
{
    const char *name = test_session_new();
    extra_sessions[extra_count++] = name;
    setenv("SYNCTOP_SESSION", session, 1);   /* ours stays the default */
    return name;
}

static int setup(void **state)
{
    (void)state;
    shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(shared != MAP_FAILED);
    memset((void *)shared, 0, sizeof *shared);
    session = test_session_new();
    extra_count = 0;
    st_table_options opts = { .session = session };
    assert_int_equal(st_table_open(&opts, &table), ST_OK);
    return 0;
}

static int teardown(void **state)
{
    test_teardown(state);
    st_table_close(table);
    table = NULL;
    remove_session_segments(session);
    for (int i = 0; i < extra_count; i++)
        remove_session_segments(extra_sessions[i]);
    munmap((void *)shared, sizeof *shared);
    return 0;
}

static void wait_phase_at_least(int phase)
{
    assert_true(test_wait_count(&shared->phase, phase, TEST_WAIT_MS));
}

static void wait_ready(int count)
{
    assert_true(test_wait_count(&shared->ready, count, TEST_WAIT_MS));
}

static void set_phase(int phase)
{
    __atomic_store_n(&shared->phase, phase, __ATOMIC_SEQ_CST);
}

static void signal_ready(void)
{
    __atomic_add_fetch(&shared->ready, 1, __ATOMIC_SEQ_CST);
}

/* A field of an object of a session, through the viewer's model. */
static const st_field *model_field(st_model *model, const char *in_session, const char *object_name,
                                   const char *field_name)
{
    st_table *reader = NULL;
    assert_int_equal(st_table_attach_readonly(in_session, &reader), ST_OK);
    assert_int_equal(st_model_refresh(model, reader), ST_OK);
    st_table_close(reader);
    for (size_t i = 0; i < st_model_object_count(model); i++) {
        const st_object_view *object = st_model_object(model, i);
        if (strcmp(object->name, object_name) == 0) {
            const st_field *field = st_object_field(object, field_name);
            if (!field)
                fail_msg("'%s' has no field '%s'", object_name, field_name);
            return field;
        }
    }
    fail_msg("'%s' is not in the model of session '%s'", object_name, in_session);
    return NULL;
}

static int64_t region_figure_in(const char *in_session, const char *region, const char *field_name)
{
    st_model *model;
    assert_int_equal(st_model_new(&model), ST_OK);
    const st_field *field = model_field(model, in_session, region, field_name);
    int64_t value = field->kind == ST_VALUE_PID ? field->value.i64 : (int64_t)field->value.u64;
    st_model_free(model);
    return value;
}

static int64_t region_figure(const char *region, const char *field_name)
{
    return region_figure_in(session, region, field_name);
}

/* An unrelated program's way in: its own table handle. */
static st_table *own_table(const char *name)
{
    st_table *own = NULL;
    st_table_options opts = { .session = name };
    return st_table_open(&opts, &own) == ST_OK ? own : NULL;
}

/* ---- sharing ---- */

#define REGION_SIZE (1u << 20)
#define SLICES 4
#define SLICE_BYTES (REGION_SIZE / SLICES)

static unsigned char pattern(int slice, size_t offset)
{
    return (unsigned char)(slice * 31 + offset * 7 + 1);
}

static int fill_slice(void *arg)
{
    int slice = (int)(intptr_t)arg;
    st_table *own = own_table(session);
    st_shm *region;
    if (!own || st_shm_attach(own, "frames", &region) != ST_OK)
        return 2;
    if (st_shm_size(region) != REGION_SIZE)
        return 3;
    unsigned char *bytes = st_shm_data(region);
    for (size_t i = 0; i < SLICE_BYTES; i++)
        bytes[(size_t)slice * SLICE_BYTES + i] = pattern(slice, i);
    st_shm_close(region);
    st_table_close(own);
    return 0;
}

static void test_children_fill_their_slices(void **state)
{
    (void)state;
    st_shm *region;
    assert_int_equal(st_shm_create(table, "frames", REGION_SIZE, &region), ST_OK);
    assert_int_equal(st_shm_size(region), REGION_SIZE);
    unsigned char *bytes = st_shm_data(region);
    assert_non_null(bytes);
    for (size_t i = 0; i < REGION_SIZE; i++)
        assert_int_equal(bytes[i], 0);   /* a new region is zero-filled */
    for (size_t i = 0; i < SLICE_BYTES; i++)
        bytes[i] = pattern(0, i);
    pid_t pids[SLICES - 1];
    for (int s = 1; s < SLICES; s++)
        pids[s - 1] = test_spawn(fill_slice, (void *)(intptr_t)s);
    for (int s = 1; s < SLICES; s++)
        assert_int_equal(test_wait(pids[s - 1], 30000), 0);
    for (int s = 0; s < SLICES; s++)
        for (size_t i = 0; i < SLICE_BYTES; i++)
            if (bytes[(size_t)s * SLICE_BYTES + i] != pattern(s, i))
                fail_msg("slice %d byte %zu is %u", s, i, bytes[(size_t)s * SLICE_BYTES + i]);
    assert_int_equal(region_figure("frames", "size_bytes"), REGION_SIZE);
    assert_int_equal(region_figure("frames", "creator"), getpid());
    assert_int_equal(region_figure("frames", "attaches"), SLICES);
    assert_int_equal(region_figure("frames", "attached"), 1);   /* the children closed theirs */
    assert_int_equal(region_figure("frames", "leaked"), 0);
    assert_int_equal(st_shm_unlink(region), ST_OK);
    st_shm_close(region);
    assert_int_equal(session_segments(session), 0);
}

/* ---- attached processes ---- */

static int attach_then_close(void *arg)
{
    (void)arg;
    st_table *own = own_table(session);
    st_shm *region;
    if (!own || st_shm_attach(own, "counted", &region) != ST_OK)
        return 2;
    signal_ready();
    wait_phase_at_least(1);
    st_shm_close(region);
    signal_ready();
    wait_phase_at_least(2);
    st_table_close(own);
    return 0;
}

static int attach_then_exit(void *arg)
{
    (void)arg;
    st_table *own = own_table(session);
    st_shm *region;
    if (!own || st_shm_attach(own, "counted", &region) != ST_OK)
        return 2;
    signal_ready();
    wait_phase_at_least(1);
    return 0;   /* exits still attached */
}

static void test_attached_counts_live_processes(void **state)
{
    (void)state;
    st_shm *region;
    assert_int_equal(st_shm_create(table, "counted", 4096, &region), ST_OK);
    assert_int_equal(region_figure("counted", "attached"), 1);
    pid_t closer = test_spawn(attach_then_close, NULL);
    pid_t quitter = test_spawn(attach_then_exit, NULL);
    wait_ready(2);
    assert_int_equal(region_figure("counted", "attached"), 3);
    set_phase(1);
    assert_int_equal(test_wait(quitter, 10000), 0);
    wait_ready(3);   /* the closer closed its handle, and is still alive */
    assert_int_equal(region_figure("counted", "attached"), 1);
    assert_int_equal(region_figure("counted", "attaches"), 3);
    set_phase(2);
    assert_int_equal(test_wait(closer, 10000), 0);
    /* Our own handle: closing it leaves nobody attached. */
    st_shm_close(region);
    assert_int_equal(region_figure("counted", "attached"), 0);
    assert_int_equal(region_figure("counted", "leaked"), 0);   /* we, the creator, are alive */
    assert_int_equal(st_shm_unlink_name(table, "counted"), ST_OK);
    assert_int_equal(session_segments(session), 0);
}

/* ---- unlink ---- */

static void test_unlink_then_attach_fails(void **state)
{
    (void)state;
    st_shm *region, *second;
    assert_int_equal(st_shm_create(table, "temp", 4096, &region), ST_OK);
    assert_int_equal(st_shm_create(table, "temp", 4096, &second), ST_EBUSY);
    assert_null(second);
    memcpy(st_shm_data(region), "still here", 11);
    assert_int_equal(st_shm_unlink(region), ST_OK);
    assert_int_equal(region_figure("temp", "unlinked"), 1);
    assert_int_equal(session_segments(session), 0);
    assert_int_equal(st_shm_attach(table, "temp", &second), ST_ENOENT);
    assert_non_null(strstr(st_error_detail(), "unlinked"));
    assert_int_equal(st_shm_unlink(region), ST_ENOENT);
    assert_int_equal(st_shm_unlink_name(table, "temp"), ST_ENOENT);
    /* The mapping outlives the name. */
    assert_string_equal((const char *)st_shm_data(region), "still here");
    /* The name is free again: a new region, new data. */
    assert_int_equal(st_shm_create(table, "temp", 8192, &second), ST_OK);
    assert_int_equal(region_figure("temp", "unlinked"), 0);
    assert_int_equal(region_figure("temp", "size_bytes"), 8192);
    assert_int_equal(((const char *)st_shm_data(second))[0], 0);
    /* The old handle is the old region's: it cannot unlink the new one. */
    assert_int_equal(st_shm_unlink(region), ST_ENOENT);
    st_shm_close(region);
    assert_int_equal(region_figure("temp", "attached"), 1);
    assert_int_equal(st_shm_unlink_name(table, "temp"), ST_OK);
    st_shm_close(second);
    assert_int_equal(session_segments(session), 0);
}

/* ---- leaks ---- */

static int create_and_die(void *arg)
{
    const char *name = arg;
    st_table *own = own_table(session);
    st_shm *region;
    if (!own || st_shm_create(own, name, 65536, &region) != ST_OK)
        return 2;
    memset(st_shm_data(region), 0xab, 65536);
    signal_ready();
    wait_phase_at_least(1);
    return 0;   /* no close, no unlink: the lesson's leak */
}

static size_t scan(const char *in_session, st_leak *leaks, size_t max)
{
    size_t count = 99;
    assert_int_equal(st_leaks_scan(in_session, leaks, max, &count), ST_OK);
    return count;
}

static int run_gc(const char *in_session, char **out)
{
    char *const argv[] = { (char *)SYNCTOP_BINARY, (char *)"--gc", (char *)"-s", (char *)in_session, NULL };
    char *err = NULL;
    int status = test_run(argv, out, &err, 30000);
    if (err[0])
        print_message("synctop --gc stderr: %s\n", err);
    free(err);
    return status;
}

static void test_dead_creator_leaks_and_gc_collects(void **state)
{
    (void)state;
    set_phase(1);
    pid_t creator = test_spawn(create_and_die, (void *)"leaky");
    assert_int_equal(test_wait(creator, 10000), 0);
    assert_int_equal(region_figure("leaky", "leaked"), 1);
    assert_int_equal(region_figure("leaky", "creator"), creator);
    assert_int_equal(region_figure("leaky", "attached"), 0);
    assert_int_equal(region_figure("leaky", "unlinked"), 0);

    st_leak leaks[8];
    assert_int_equal(scan(session, leaks, 8), 1);
    assert_int_equal(leaks[0].kind, ST_LEAK_REGION);
    assert_string_equal(leaks[0].object, "leaky");
    assert_string_equal(leaks[0].session, session);
    assert_string_equal(leaks[0].data_kind, "shm");
    assert_int_equal(leaks[0].creator_pid, creator);
    assert_int_equal(leaks[0].size_bytes, 65536);
    assert_int_equal(leaks[0].users, 0);
    assert_true(leaks[0].collectable);
    assert_non_null(strstr(leaks[0].reason, "died"));
    char segment[ST_LEAK_SEGMENT_MAX];
    snprintf(segment, sizeof segment, "%s", leaks[0].segment);
    assert_true(segment_exists(segment));
    /* Scanning with no room still counts. */
    size_t count = 0;
    assert_int_equal(st_leaks_scan(session, NULL, 0, &count), ST_OK);
    assert_int_equal(count, 1);

    char *out = NULL;
    assert_int_equal(run_gc(session, &out), 0);
    char expected[400];
    snprintf(expected, sizeof expected, "removed %s (region 'leaky', 64.0KiB, creator pid %d died)\n", segment,
             (int)creator);
    if (!strstr(out, expected))
        fail_msg("expected '%s' in:\n%s", expected, out);
    assert_non_null(strstr(out, "collected 1 segment, 64.0KiB\n"));
    free(out);
    assert_false(segment_exists(segment));
    assert_int_equal(session_segments(session), 0);
    /* The dashboard no longer calls it leaked: it was unlinked, by gc. */
    assert_int_equal(region_figure("leaky", "leaked"), 0);
    assert_int_equal(region_figure("leaky", "unlinked"), 1);
    assert_int_equal(region_figure("leaky", "collected"), 1);
    assert_int_equal(scan(session, leaks, 8), 0);
    /* gc left no process registered behind: we are the only live one. */
    st_model *model;
    assert_int_equal(st_model_new(&model), ST_OK);
    model_field(model, session, "leaky", "leaked");
    int alive = 0;
    for (size_t i = 0; i < st_model_process_count(model); i++)
        alive += st_model_process(model, i)->alive;
    assert_int_equal(alive, 1);
    st_model_free(model);

    assert_int_equal(run_gc(session, &out), 0);
    assert_string_equal(out, "nothing to collect\n");
    free(out);
}

static int hold_inherited_mapping(void *arg)
{
    (void)arg;
    signal_ready();
    wait_phase_at_least(3);
    return 0;
}

static void test_region_in_use_is_never_collected(void **state)
{
    (void)state;
    pid_t creator = test_spawn(create_and_die, (void *)"in-use");
    wait_ready(1);
    st_shm *region;
    assert_int_equal(st_shm_attach(table, "in-use", &region), ST_OK);
    set_phase(1);
    assert_int_equal(test_wait(creator, 10000), 0);
    /* Leaked (its creator died, nobody will unlink it), but we use it. */
    assert_int_equal(region_figure("in-use", "leaked"), 1);
    assert_int_equal(region_figure("in-use", "attached"), 1);
    st_leak leaks[8];
    assert_int_equal(scan(session, leaks, 8), 1);
    assert_false(leaks[0].collectable);
    assert_int_equal(leaks[0].users, 1);
    char segment[ST_LEAK_SEGMENT_MAX];
    snprintf(segment, sizeof segment, "%s", leaks[0].segment);

    char *out = NULL;
    assert_int_equal(run_gc(session, &out), 0);
    assert_null(strstr(out, "removed"));
    assert_non_null(strstr(out, "kept "));
    assert_non_null(strstr(out, "still use"));
    free(out);
    size_t removed = 99;
    assert_int_equal(st_leaks_collect(session, leaks, 8, &removed), ST_OK);
    assert_int_equal(removed, 0);
    assert_true(segment_exists(segment));
    assert_int_equal(((unsigned char *)st_shm_data(region))[100], 0xab);

    /* A child that inherited our mapping through fork() is in no table,
     * but it maps the region: still in use after we close our handle. */
    pid_t heir = test_spawn(hold_inherited_mapping, NULL);
    wait_ready(2);
    st_shm_close(region);
    assert_int_equal(region_figure("in-use", "attached"), 0);
    assert_int_equal(scan(session, leaks, 8), 1);
    assert_false(leaks[0].collectable);
    assert_int_equal(leaks[0].users, 1);
    assert_int_equal(st_leaks_collect(session, leaks, 8, &removed), ST_OK);
    assert_int_equal(removed, 0);
    assert_true(segment_exists(segment));

    set_phase(3);
    assert_int_equal(test_wait(heir, 10000), 0);
    assert_int_equal(st_leaks_collect(session, leaks, 8, &removed), ST_OK);
    assert_int_equal(removed, 1);
    assert_string_equal(leaks[0].segment, segment);
    assert_false(segment_exists(segment));
}

/* A session, a region and an array in it; the table then vanishes (its
 * name unlinked) and the process dies: its data segments are orphans. */
static int session_then_vanish(void *arg)
{
    const char *name = arg;
    st_table *own = own_table(name);
    st_shm *region;
    st_array *array;
    if (!own || st_shm_create(own, "orphan", 8192, &region) != ST_OK ||
        st_array_open(own, "orphan-array", ST_INT64, 16, &array) != ST_OK)
        return 2;
    char table_name[128];
    if (st_session_shm_name(name, table_name, sizeof table_name) != ST_OK || shm_unlink(table_name) != 0)
        return 3;
    return 0;
}

static void test_dead_session_segments_are_collected(void **state)
{
    (void)state;
    const char *dead = new_extra_session();
    assert_int_equal(test_wait(test_spawn(session_then_vanish, (void *)dead), 10000), 0);
    assert_int_equal(session_segments(dead), 2);
    st_leak leaks[8];
    assert_int_equal(scan(dead, leaks, 8), 2);
    bool saw_shm = false, saw_array = false;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(leaks[i].kind, ST_LEAK_ORPHAN);
        assert_string_equal(leaks[i].session, dead);
        assert_true(leaks[i].collectable);
        assert_non_null(strstr(leaks[i].reason, "no longer exists"));
        saw_shm |= strcmp(leaks[i].data_kind, "shm") == 0 && leaks[i].size_bytes == 8192;
        saw_array |= strcmp(leaks[i].data_kind, "array") == 0 && leaks[i].size_bytes >= 16 * 8;
    }
    assert_true(saw_shm && saw_array);
    /* Our own, live session has nothing leaked. */
    assert_int_equal(scan(session, leaks, 8), 0);

    char *out = NULL;
    assert_int_equal(run_gc(dead, &out), 0);
    char expected[200];
    snprintf(expected, sizeof expected, "(shm data, 8.0KiB, its session '%s' no longer exists)\n", dead);
    if (!strstr(out, expected))
        fail_msg("expected '%s' in:\n%s", expected, out);
    snprintf(expected, sizeof expected, "removed /synctop-%u-%s.array.", (unsigned)geteuid(), dead);
    assert_non_null(strstr(out, expected));
    assert_non_null(strstr(out, "collected 2 segments, "));
    free(out);
    assert_int_equal(session_segments(dead), 0);
}

/* The table stays but nobody in it is alive: its region is a region leak
 * (its creator died without unlinking it); its array is data the table
 * still records (a later process reads it), not a leak. */
static int session_then_exit(void *arg)
{
    const char *name = arg;
    st_table *own = own_table(name);
    st_shm *region;
    st_array *array;
    if (!own || st_shm_create(own, "left", 4096, &region) != ST_OK ||
        st_array_open(own, "left-array", ST_DOUBLE, 4, &array) != ST_OK)
        return 2;
    return 0;
}

static void test_session_without_live_process(void **state)
{
    (void)state;
    const char *idle = new_extra_session();
    assert_int_equal(test_wait(test_spawn(session_then_exit, (void *)idle), 10000), 0);
    st_leak leaks[8];
    assert_int_equal(scan(idle, leaks, 8), 1);
    assert_int_equal(leaks[0].kind, ST_LEAK_REGION);
    assert_string_equal(leaks[0].object, "left");
    size_t removed = 0;
    assert_int_equal(st_leaks_collect(idle, leaks, 8, &removed), ST_OK);
    assert_int_equal(removed, 1);
    /* The array's segment stays: its object still refers to it. */
    assert_int_equal(session_segments(idle), 1);
    /* The table itself stays (synctop --remove is for that), and says so. */
    assert_int_equal(region_figure_in(idle, "left", "unlinked"), 1);
    assert_int_equal(region_figure_in(idle, "left", "leaked"), 0);
    assert_int_equal(scan(idle, leaks, 8), 0);
}

static void test_shm_bad_input(void **state)
{
    (void)state;
    st_shm *region = NULL;
    assert_int_equal(st_shm_create(table, "r", 0, &region), ST_EINVAL);
    assert_int_equal(st_shm_create(table, "r", 16, NULL), ST_EINVAL);
    assert_int_equal(st_shm_create(NULL, "r", 16, &region), ST_EINVAL);
    assert_int_equal(st_shm_create(table, NULL, 16, &region), ST_EINVAL);
    assert_int_equal(st_shm_create(table, "", 16, &region), ST_EINVAL);
    assert_int_equal(st_shm_attach(NULL, "r", &region), ST_EINVAL);
    assert_int_equal(st_shm_attach(table, NULL, &region), ST_EINVAL);
    assert_int_equal(st_shm_attach(table, "r", NULL), ST_EINVAL);
    assert_int_equal(st_shm_attach(table, "", &region), ST_EINVAL);
    assert_int_equal(st_shm_attach(table, "nowhere", &region), ST_ENOENT);
    assert_int_equal(st_shm_unlink_name(table, "nowhere"), ST_ENOENT);
    assert_int_equal(st_shm_unlink_name(NULL, "r"), ST_EINVAL);
    char long_name[ST_OBJECT_NAME_MAX + 2];
    memset(long_name, 'r', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(st_shm_create(table, long_name, 16, &region), ST_ENAMETOOLONG);
    assert_int_equal(st_shm_attach(table, long_name, &region), ST_ENAMETOOLONG);
    assert_int_equal(st_shm_unlink_name(table, long_name), ST_ENAMETOOLONG);
    st_lock *lock;
    assert_int_equal(st_lock_open(table, "a-lock", &lock), ST_OK);
    assert_int_equal(st_shm_create(table, "a-lock", 16, &region), ST_EWRONGTYPE);
    assert_int_equal(st_shm_attach(table, "a-lock", &region), ST_EWRONGTYPE);
    assert_int_equal(st_shm_unlink_name(table, "a-lock"), ST_EWRONGTYPE);
    st_lock_close(lock);
    assert_null(region);
    assert_int_equal(st_shm_unlink(NULL), ST_EINVAL);
    assert_null(st_shm_data(NULL));
    assert_int_equal(st_shm_size(NULL), 0);
    st_shm_close(NULL);
    /* A read-only table cannot attach. */
    st_table *reader;
    assert_int_equal(st_table_attach_readonly(session, &reader), ST_OK);
    assert_int_equal(st_shm_attach(reader, "r", &region), ST_EPERM);
    assert_int_equal(st_shm_create(reader, "r", 16, &region), ST_EPERM);
    st_table_close(reader);
    /* The leak calls. */
    size_t count;
    st_leak leak;
    assert_int_equal(st_leaks_scan(session, NULL, 1, &count), ST_EINVAL);
    assert_int_equal(st_leaks_scan(session, &leak, 1, NULL), ST_EINVAL);
    assert_int_equal(st_leaks_scan("bad.name", &leak, 1, &count), ST_EINVAL);
    assert_int_equal(st_leaks_scan("", &leak, 1, &count), ST_EINVAL);
    assert_int_equal(st_leaks_collect(session, NULL, 1, &count), ST_EINVAL);
    assert_int_equal(st_leaks_collect("bad/name", &leak, 1, &count), ST_EINVAL);
    char too_long[ST_SESSION_NAME_MAX + 2];
    memset(too_long, 's', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';
    assert_int_equal(st_leaks_scan(too_long, &leak, 1, &count), ST_ENAMETOOLONG);
    /* synctop --gc refuses a bad session name (usage error). */
    char *const argv[] = { (char *)SYNCTOP_BINARY, (char *)"--gc", (char *)"-s", (char *)"bad.name", NULL };
    char *out = NULL, *err = NULL;
    assert_int_equal(test_run(argv, &out, &err, 10000), 2);
    assert_non_null(strstr(err, "synctop: invalid session name 'bad.name'"));
    free(out);
    free(err);
    char *const combined[] = { (char *)SYNCTOP_BINARY, (char *)"--gc", (char *)"--json", NULL };
    assert_int_equal(test_run(combined, &out, &err, 10000), 2);
    assert_non_null(strstr(err, "--gc cannot be combined"));
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_children_fill_their_slices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attached_counts_live_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unlink_then_attach_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_creator_leaks_and_gc_collects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_region_in_use_is_never_collected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_session_segments_are_collected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_without_live_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shm_bad_input, setup, teardown),
    };
    return cmocka_run_group_tests_name("shm", tests, NULL, NULL);
}
