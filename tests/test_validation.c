/* test_validation.c - a truncated, foreign, wrong-version or garbage segment
 * gives a clear error, never a crash.
 *
 * Segments are crafted directly with shm_open under the session's shm name
 * (or made valid with st_table_open and then damaged through a writable
 * mapping), and both st_table_attach_readonly (the viewer) and st_table_open
 * (an instrumented process) must refuse them with the right code and an
 * error detail that names the session. Damage done after a read-only attach
 * must make st_model_refresh fail cleanly and keep the previous figures;
 * damaged slots are skipped and counted; random slot contents never crash a
 * refresh. Every session is removed by test_teardown, even on failure. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "internal.h"

#define SMALL_PROCESSES 8u
#define SMALL_OBJECTS 16u

/* ---- crafting segments ----------------------------------------------------- */

static void shm_name_of(const char *session, char *out, size_t size)
{
    assert_int_equal(st_session_shm_name(session, out, size), ST_OK);
}

/* A new segment of len bytes holding data (len bytes, or zeros when NULL). */
static void create_raw(const char *session, const void *data, size_t len)
{
    char name[128];
    shm_name_of(session, name, sizeof name);
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        fail_msg("shm_open(%s): %s", name, strerror(errno));
    assert_int_equal(ftruncate(fd, (off_t)len), 0);
    if (data && len)
        assert_int_equal(pwrite(fd, data, len, 0), (ssize_t)len);
    close(fd);
}

/* A valid table made by st_table_open (the handle is closed again). */
static void create_valid(const char *session)
{
    st_table_options opts = { 0 };
    opts.session = session;
    opts.process_capacity = SMALL_PROCESSES;
    opts.object_capacity = SMALL_OBJECTS;
    st_table *table = NULL;
    st_result r = st_table_open(&opts, &table);
    if (r != ST_OK)
        fail_msg("st_table_open(%s): %s: %s", session, st_result_name(r), st_error_detail());
    st_table_close(table);
}

/* A writable mapping of the whole segment. */
typedef struct raw_map {
    uint8_t *base;
    size_t size;
} raw_map;

static raw_map map_rw(const char *session)
{
    char name[128];
    shm_name_of(session, name, sizeof name);
    int fd = shm_open(name, O_RDWR, 0);
    if (fd < 0)
        fail_msg("shm_open(%s): %s", name, strerror(errno));
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    raw_map m = { NULL, (size_t)st.st_size };
    void *p = mmap(NULL, m.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    assert_true(p != MAP_FAILED);
    m.base = p;
    return m;
}

static void unmap(raw_map *m)
{
    munmap(m->base, m->size);
    m->base = NULL;
}

static void truncate_segment(const char *session, off_t size)
{
    char name[128];
    shm_name_of(session, name, sizeof name);
    int fd = shm_open(name, O_RDWR, 0);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, size), 0);
    close(fd);
}

/* The layout fields are not recomputed here (the layout belongs to
 * table.c): a self-consistent header for other capacities is taken from a
 * real table made with them. Everything before the registry mutex is copied. */
#define HEADER_FIELDS_SIZE offsetof(st_table_header, registry_lock)

static void header_of_table(const char *session, uint32_t processes, uint32_t objects, st_table_header *out)
{
    st_table_options opts = { 0 };
    opts.session = session;
    opts.process_capacity = processes;
    opts.object_capacity = objects;
    st_table *table = NULL;
    st_result r = st_table_open(&opts, &table);
    if (r != ST_OK)
        fail_msg("st_table_open(%s): %s: %s", session, st_result_name(r), st_error_detail());
    memcpy(out, table->header, HEADER_FIELDS_SIZE);
    st_table_close(table);
    assert_int_equal(st_session_remove(session, true), ST_OK);
}

/* ---- checking the refusal ---------------------------------------------- */

static void check_detail(const char *call, const char *session, st_result expected)
{
    const char *detail = st_error_detail();
    if (!detail || !*detail)
        fail_msg("%s(%s) -> %s with an empty error detail", call, session, st_result_name(expected));
    if (!strstr(detail, session))
        fail_msg("%s(%s) -> %s: detail does not name the session: %s", call, session,
                 st_result_name(expected), detail);
}

/* Both ways in refuse the session with expected, a NULL handle and a
 * detail naming the session. */
static void expect_refused(const char *session, st_result expected)
{
    st_table *table = (st_table *)&table;   /* must be reset to NULL */
    st_result r = st_table_attach_readonly(session, &table);
    if (r != expected)
        fail_msg("st_table_attach_readonly(%s): %s, expected %s (%s)", session, st_result_name(r),
                 st_result_name(expected), st_error_detail());
    assert_null(table);
    check_detail("st_table_attach_readonly", session, expected);

    st_table_options opts = { 0 };
    opts.session = session;
    opts.attach_timeout_ms = 100;
    table = (st_table *)&table;
    r = st_table_open(&opts, &table);
    if (r != expected)
        fail_msg("st_table_open(%s): %s, expected %s (%s)", session, st_result_name(r), st_result_name(expected),
                 st_error_detail());
    assert_null(table);
    check_detail("st_table_open", session, expected);
}

/* ---- whole segments ---------------------------------------------------- */

static void test_garbage_is_foreign(void **state)
{
    (void)state;
    const char *session = test_session_new();
    uint8_t bytes[8192];
    srand(4242);
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (uint8_t)rand();
    /* Make sure the magic is neither synctop's nor 0 (not ready). */
    bytes[0] = 0x5a;
    create_raw(session, bytes, sizeof bytes);
    expect_refused(session, ST_EFOREIGN);
    /* Nothing was written into a foreign segment. */
    raw_map m = map_rw(session);
    assert_int_equal(m.size, sizeof bytes);
    assert_memory_equal(m.base, bytes, sizeof bytes);
    unmap(&m);
}

static void test_wrong_version(void **state)
{
    (void)state;
    const char *session = test_session_new();
    create_valid(session);
    raw_map m = map_rw(session);
    ((st_table_header *)m.base)->abi_version = ST_TABLE_ABI_VERSION + 1;
    unmap(&m);
    expect_refused(session, ST_EVERSION);
}

static void test_truncated_to_half(void **state)
{
    (void)state;
    const char *session = test_session_new();
    create_valid(session);
    raw_map m = map_rw(session);
    size_t size = m.size;
    assert_int_equal(((st_table_header *)m.base)->total_size, size);
    unmap(&m);
    truncate_segment(session, (off_t)(size / 2));
    expect_refused(session, ST_ETRUNCATED);
}

static void test_smaller_than_a_header(void **state)
{
    (void)state;
    const char *session = test_session_new();
    uint8_t bytes[100];
    memset(bytes, 0x11, sizeof bytes);
    create_raw(session, bytes, sizeof bytes);
    expect_refused(session, ST_ETRUNCATED);
}

static void test_empty_segment_not_ready(void **state)
{
    (void)state;
    const char *session = test_session_new();
    create_raw(session, NULL, 0);
    expect_refused(session, ST_ENOTREADY);
}

/* A creator that died after writing the header but before publishing the magic. */
static void test_magic_zero_not_ready(void **state)
{
    (void)state;
    const char *session = test_session_new();
    create_valid(session);
    raw_map m = map_rw(session);
    ((st_table_header *)m.base)->magic = 0;
    unmap(&m);
    expect_refused(session, ST_ENOTREADY);

    /* A creator that died even earlier: the size is set, nothing written. */
    const char *zeros = test_session_new();
    create_raw(zeros, NULL, 8192);
    expect_refused(zeros, ST_ENOTREADY);
}

typedef void (*header_damage)(st_table_header *h);

static void damage_process_capacity_zero(st_table_header *h) { h->process_capacity = 0; }
static void damage_object_capacity_zero(st_table_header *h) { h->object_capacity = 0; }
static void damage_process_capacity_huge(st_table_header *h) { h->process_capacity = ST_MAX_PROCESS_CAPACITY + 1; }
static void damage_object_capacity_huge(st_table_header *h) { h->object_capacity = ST_MAX_OBJECT_CAPACITY + 1; }
static void damage_capacity_max(st_table_header *h) { h->process_capacity = UINT32_MAX; }
static void damage_header_size(st_table_header *h) { h->header_size = ST_HEADER_SIZE * 2; }
static void damage_process_slot_size(st_table_header *h) { h->process_slot_size = ST_PROCESS_SLOT_SIZE + 8; }
static void damage_object_slot_size(st_table_header *h) { h->object_slot_size = ST_OBJECT_SLOT_SIZE - 64; }
static void damage_process_offset(st_table_header *h) { h->process_offset += 4096; }
static void damage_object_offset(st_table_header *h) { h->object_offset = 0; }
static void damage_name_index_offset(st_table_header *h) { h->name_index_offset -= 4096; }
static void damage_total_size(st_table_header *h) { h->total_size += 4096; }
static void damage_capacity_without_offsets(st_table_header *h) { h->object_capacity += 1; }
static void damage_objects_used(st_table_header *h) { h->objects_used = h->object_capacity + 1; }
static void damage_clock(st_table_header *h) { memset(&h->clock, 0, sizeof h->clock); }

static void test_corrupt_headers(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        header_damage damage;
    } cases[] = {
        { "process capacity 0", damage_process_capacity_zero },
        { "object capacity 0", damage_object_capacity_zero },
        { "process capacity > max", damage_process_capacity_huge },
        { "object capacity > max", damage_object_capacity_huge },
        { "process capacity UINT32_MAX", damage_capacity_max },
        { "header size", damage_header_size },
        { "process slot size", damage_process_slot_size },
        { "object slot size", damage_object_slot_size },
        { "process offset", damage_process_offset },
        { "object offset", damage_object_offset },
        { "name index offset", damage_name_index_offset },
        { "total size", damage_total_size },
        { "capacity without matching offsets", damage_capacity_without_offsets },
        { "objects used > capacity", damage_objects_used },
        { "clock calibration", damage_clock },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *session = test_session_new();
        create_valid(session);
        raw_map m = map_rw(session);
        cases[i].damage((st_table_header *)m.base);
        unmap(&m);
        print_message("# corrupt header: %s\n", cases[i].what);
        expect_refused(session, ST_ECORRUPT);
        /* Remove it now: test_session_new() holds at most 64 names. */
        assert_int_equal(st_session_remove(session, true), ST_OK);
    }
}

/* Capacities within range and offsets consistent with them, but describing
 * more than the segment holds: truncated, and nothing beyond the end is
 * ever touched. */
static void test_consistent_header_larger_than_segment(void **state)
{
    (void)state;
    const char *session = test_session_new();
    st_table_header bigger;
    header_of_table(test_session_new(), 256, 1024, &bigger);
    create_valid(session);
    raw_map m = map_rw(session);
    assert_true(bigger.total_size > m.size);
    memcpy(m.base, &bigger, HEADER_FIELDS_SIZE);
    unmap(&m);
    expect_refused(session, ST_ETRUNCATED);
}

/* ---- damage after a read-only attach ------------------------------------- */

typedef struct attached {
    st_table *writer;
    st_lock *lock;
    st_table *reader;
    st_model *model;
} attached;

/* A session with one lock (acquired 3 times), a reader and a model refreshed once. */
static attached attach_fixture(const char *session)
{
    attached a = { NULL, NULL, NULL, NULL };
    st_table_options opts = { 0 };
    opts.session = session;
    opts.process_capacity = SMALL_PROCESSES;
    opts.object_capacity = SMALL_OBJECTS;
    assert_int_equal(st_table_open(&opts, &a.writer), ST_OK);
    assert_int_equal(st_lock_open(a.writer, "guard", &a.lock), ST_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(st_lock_acquire(a.lock, ST_FOREVER), ST_OK);
        assert_int_equal(st_lock_release(a.lock), ST_OK);
    }
    assert_int_equal(st_table_attach_readonly(session, &a.reader), ST_OK);
    assert_int_equal(st_model_new(&a.model), ST_OK);
    assert_int_equal(st_model_refresh(a.model, a.reader), ST_OK);
    assert_int_equal(st_model_process_count(a.model), 1);
    assert_int_equal(st_model_object_count(a.model), 1);
    assert_int_equal(st_model_refresh_count(a.model), 1);
    return a;
}

static void detach_fixture(attached *a)
{
    st_model_free(a->model);
    st_lock_close(a->lock);
    st_table_close(a->reader);
    st_table_close(a->writer);
}

/* The model still shows what the first refresh saw. */
static void expect_previous_figures(const attached *a, const char *session, uint64_t refreshes)
{
    assert_int_equal(st_model_refresh_count(a->model), refreshes);
    assert_string_equal(st_model_session(a->model), session);
    assert_int_equal(st_model_process_count(a->model), 1);
    assert_int_equal(st_model_process(a->model, 0)->pid, getpid());
    assert_int_equal(st_model_object_count(a->model), 1);
    const st_object_view *object = st_model_object(a->model, 0);
    assert_string_equal(object->name, "guard");
    const st_field *acq = st_object_field(object, "acquisitions");
    assert_non_null(acq);
    assert_int_equal(acq->value.u64, 3);
}

static void expect_refresh_fails(const attached *a, const char *session, st_result expected)
{
    st_result r = st_model_refresh(a->model, a->reader);
    if (r != expected)
        fail_msg("st_model_refresh: %s, expected %s (%s)", st_result_name(r), st_result_name(expected),
                 st_error_detail());
    check_detail("st_model_refresh", session, expected);
}

static void test_header_changed_after_attach(void **state)
{
    (void)state;
    const char *session = test_session_new();
    attached a = attach_fixture(session);
    st_table_header *h = a.writer->header;
    st_table_header saved;
    memcpy(&saved, h, HEADER_FIELDS_SIZE);
    st_table_header smaller;
    header_of_table(test_session_new(), SMALL_PROCESSES / 2, SMALL_OBJECTS / 2, &smaller);

    /* A capacity changed alone: the offsets no longer match. */
    h->process_capacity = SMALL_PROCESSES + 1;
    expect_refresh_fails(&a, session, ST_ECORRUPT);
    expect_previous_figures(&a, session, 1);

    /* A whole new, self-consistent and smaller layout: valid on its own, but
     * not the one the reader mapped. */
    memcpy(h, &smaller, HEADER_FIELDS_SIZE);
    expect_refresh_fails(&a, session, ST_ECORRUPT);
    expect_previous_figures(&a, session, 1);

    /* Other header damage after the attach. */
    memcpy(h, &saved, HEADER_FIELDS_SIZE);
    h->abi_version = ST_TABLE_ABI_VERSION + 7;
    expect_refresh_fails(&a, session, ST_EVERSION);
    h->abi_version = saved.abi_version;
    h->objects_used = SMALL_OBJECTS + 1;
    expect_refresh_fails(&a, session, ST_ECORRUPT);
    h->objects_used = saved.objects_used;
    __atomic_store_n(&h->magic, 0x0123456789abcdefull, __ATOMIC_RELEASE);
    expect_refresh_fails(&a, session, ST_EFOREIGN);
    __atomic_store_n(&h->magic, ST_TABLE_MAGIC, __ATOMIC_RELEASE);
    expect_previous_figures(&a, session, 1);

    /* Repaired: the model refreshes again. */
    assert_int_equal(st_model_refresh(a.model, a.reader), ST_OK);
    expect_previous_figures(&a, session, 2);
    detach_fixture(&a);
}

static void test_truncated_after_attach(void **state)
{
    (void)state;
    const char *session = test_session_new();
    attached a = attach_fixture(session);
    size_t size = a.reader->size;
    truncate_segment(session, (off_t)(size / 2));
    /* Reading the slots now would raise SIGBUS: the refresh must notice first. */
    expect_refresh_fails(&a, session, ST_ETRUNCATED);
    expect_previous_figures(&a, session, 1);
    expect_refresh_fails(&a, session, ST_ETRUNCATED);
    expect_previous_figures(&a, session, 1);
    /* A header-only remnant too. */
    truncate_segment(session, ST_HEADER_SIZE);
    expect_refresh_fails(&a, session, ST_ETRUNCATED);
    expect_previous_figures(&a, session, 1);
    /* And a fresh attach refuses it. */
    st_table *again = NULL;
    assert_int_equal(st_table_attach_readonly(session, &again), ST_ETRUNCATED);
    assert_null(again);
    detach_fixture(&a);
}

static void test_removed_session(void **state)
{
    (void)state;
    const char *session = test_session_new();
    attached a = attach_fixture(session);
    assert_false(st_table_is_removed(a.reader));
    assert_false(st_model_session_ended(a.model));
    assert_int_equal(st_session_remove(session, true), ST_OK);
    assert_true(st_table_is_removed(a.reader));
    assert_true(st_table_is_removed(a.writer));
    assert_int_equal(st_model_refresh(a.model, a.reader), ST_OK);
    assert_true(st_model_session_ended(a.model));
    expect_previous_figures(&a, session, 1);
    /* Still ended (and still the last figures) on the next refresh. */
    assert_int_equal(st_model_refresh(a.model, a.reader), ST_OK);
    assert_true(st_model_session_ended(a.model));
    expect_previous_figures(&a, session, 1);
    st_table *again = NULL;
    assert_int_equal(st_table_attach_readonly(session, &again), ST_ENOENT);
    assert_null(again);
    detach_fixture(&a);
}

/* ---- slots --------------------------------------------------------------- */

static uint32_t self_index(const st_table *writer)
{
    assert_non_null(writer->self);
    return (uint32_t)(writer->self - writer->processes);
}

/* A free process slot other than ours. */
static st_process_slot *spare_process_slot(st_table *writer)
{
    uint32_t self = self_index(writer);
    for (uint32_t i = 0; i < writer->process_capacity; i++)
        if (i != self && writer->processes[i].status == ST_SLOT_FREE)
            return &writer->processes[i];
    fail_msg("no free process slot");
    return NULL;
}

/* Publish a plausible live process in slot, then apply the damage. */
static void fill_process(st_process_slot *slot, const char *name)
{
    __atomic_store_n(&slot->status, ST_SLOT_INITIALIZING, __ATOMIC_RELAXED);
    slot->pid = getpid();
    slot->start_ticks = 0;
    snprintf(slot->name, sizeof slot->name, "%s", name);
    snprintf(slot->role, sizeof slot->role, "crafted");
    slot->state = ST_PROCESS_RUNNING;
    slot->restarts = 0;
    slot->heartbeat_ns = 0;
    slot->blocked_object = 0;
    slot->blocked_op = ST_OP_NONE;
    slot->blocked_since_ns = 0;
    __atomic_store_n(&slot->status, ST_SLOT_LIVE, __ATOMIC_RELEASE);
}

static bool model_has_process_index(const st_model *model, uint32_t index)
{
    for (size_t i = 0; i < st_model_process_count(model); i++)
        if (st_model_process(model, i)->index == index)
            return true;
    return false;
}

static void test_bad_process_slots(void **state)
{
    (void)state;
    const char *session = test_session_new();
    attached a = attach_fixture(session);
    st_process_slot *slot = spare_process_slot(a.writer);
    uint32_t index = (uint32_t)(slot - a.writer->processes);

    /* Sanity: a well-formed crafted slot is listed. */
    fill_process(slot, "crafted");
    assert_int_equal(st_model_refresh(a.model, a.reader), ST_OK);
    assert_int_equal(st_model_corrupt_slots(a.model), 0);
    assert_int_equal(st_model_process_count(a.model), 2);
    assert_true(model_has_process_index(a.model, index));

    /* state 99 */
    fill_process(slot, "bad-state");
    slot->state = 99;
    assert_int_equal(st_model_refresh(a.model, a.reader), ST_OK);
    assert_int_equal(st_model_corrupt_slots(a.model), 1);
    assert_int_equal(st_model_process_count(a.model), 1);
    assert_false(model_has_process_index(a.model, index));
    assert_int_equal(st_model_process(a.model, 0)->pid, getpid());

    /* blocked on an object beyond the capacity (slot + 1 encoding) */
    fill_process(slot, "bad-object");
    slot->blocked_object = SMALL_OBJECTS + 1;
    slot->blocked_op = ST_OP_ACQUIRE;
    assert_int_equal(st_model_refresh(a.model, a.reader), ST_OK);
    assert_int_equal(st_model_corrupt_slots(a.model), 1);
    assert_int_equal(st_model_process_count(a.model), 1);
    assert_false(model_has_process_index(a.model, index));
    slot->blocked_object = UINT32_MAX;
    assert_int_equal(st_model_refresh(a.model, a.reader), ST_OK);
    assert_int_equal(st_model_corrupt_slots(a.model), 1);
    assert_false(model_has_process_index(a.model, index));

    /* The last valid slot (capacity, i.e. index capacity - 1) is accepted;
     * no live object there, so no name. */
    slot->blocked_object = SMALL_OBJECTS;
    assert_int_equal(st_model_refresh(a.model, a.reader), ST_OK);
    assert_int_equal(st_model_corrupt_slots(a.model), 0);
    assert_true(model_has_process_index(a.model, index));
    for (size_t i = 0; i < st_model_process_count(a.model); i++) {
        const st_process_view *p = st_model_process(a.model, i);
        if (p->index != index)
            continue;
        assert_true(p->blocked);
        assert_int_equal(p->blocked_object, SMALL_OBJECTS - 1);
        assert_string_equal(p->blocked_object_name, "");
    }

    /* an unknown operation */
    fill_process(slot, "bad-op");
    slot->blocked_object = 1;
    slot->blocked_op = 42;
    assert_int_equal(st_model_refresh(a.model, a.reader), ST_OK);
    assert_int_equal(st_model_corrupt_slots(a.model), 1);
    assert_false(model_has_process_index(a.model, index));

    /* no pid */
    fill_process(slot, "no-pid");
    slot->pid = 0;
    assert_int_equal(st_model_refresh(a.model, a.reader), ST_OK);
    assert_int_equal(st_model_corrupt_slots(a.model), 1);
    assert_false(model_has_process_index(a.model, index));
    slot->pid = -5;
    assert_int_equal(st_model_refresh(a.model, a.reader), ST_OK);
    assert_int_equal(st_model_corrupt_slots(a.model), 1);

    /* Objects are unaffected throughout. */
    assert_int_equal(st_model_object_count(a.model), 1);
    detach_fixture(&a);
}

static void test_bad_object_slots(void **state)
{
    (void)state;
    const char *session = test_session_new();
    attached a = attach_fixture(session);
    st_lock *other = NULL;
    assert_int_equal(st_lock_open(a.writer, "other", &other), ST_OK);
    assert_int_equal(st_model_refresh(a.model, a.reader), ST_OK);
    assert_int_equal(st_model_object_count(a.model), 2);
    assert_int_equal(st_model_corrupt_slots(a.model), 0);

    st_object_slot *guard = &a.writer->objects[0];
    assert_string_equal(guard->header.name, "guard");
    guard->header.type = 77;
    assert_int_equal(st_model_refresh(a.model, a.reader), ST_OK);
    assert_int_equal(st_model_corrupt_slots(a.model), 1);
    assert_int_equal(st_model_object_count(a.model), 1);
    assert_string_equal(st_model_object(a.model, 0)->name, "other");

    guard->header.type = ST_TYPE_NONE;
    assert_int_equal(st_model_refresh(a.model, a.reader), ST_OK);
    assert_int_equal(st_model_corrupt_slots(a.model), 1);
    assert_int_equal(st_model_object_count(a.model), 1);

    guard->header.type = ST_TYPE_COUNT;
    assert_int_equal(st_model_refresh(a.model, a.reader), ST_OK);
    assert_int_equal(st_model_corrupt_slots(a.model), 1);
    assert_int_equal(st_model_object_count(a.model), 1);

    /* A slot still initialising is simply not there (not corrupt). */
    guard->header.type = ST_TYPE_LOCK;
    guard->header.status = ST_SLOT_INITIALIZING;
    assert_int_equal(st_model_refresh(a.model, a.reader), ST_OK);
    assert_int_equal(st_model_corrupt_slots(a.model), 0);
    assert_int_equal(st_model_object_count(a.model), 1);

    guard->header.status = ST_SLOT_LIVE;
    assert_int_equal(st_model_refresh(a.model, a.reader), ST_OK);
    assert_int_equal(st_model_corrupt_slots(a.model), 0);
    assert_int_equal(st_model_object_count(a.model), 2);
    st_lock_close(other);
    detach_fixture(&a);
}

static void test_names_without_nul(void **state)
{
    (void)state;
    const char *session = test_session_new();
    attached a = attach_fixture(session);
    st_object_slot *guard = &a.writer->objects[0];
    memset(guard->header.name, 'A', sizeof guard->header.name);   /* 64 x 'A' */
    assert_int_equal(sizeof guard->header.name, 64);
    st_process_slot *self = a.writer->self;
    memset(self->name, 'B', sizeof self->name);                  /* 32 x 'B' */
    memset(self->role, 'R', sizeof self->role);                  /* 24 x 'R' */

    assert_int_equal(st_model_refresh(a.model, a.reader), ST_OK);
    assert_int_equal(st_model_corrupt_slots(a.model), 0);
    assert_int_equal(st_model_object_count(a.model), 1);
    const st_object_view *object = st_model_object(a.model, 0);
    char expected[ST_OBJECT_NAME_BYTES];
    memset(expected, 'A', ST_OBJECT_NAME_MAX);
    expected[ST_OBJECT_NAME_MAX] = '\0';
    assert_int_equal(object->name[ST_OBJECT_NAME_BYTES - 1], '\0');
    assert_int_equal(strlen(object->name), 63);
    assert_string_equal(object->name, expected);

    assert_int_equal(st_model_process_count(a.model), 1);
    const st_process_view *process = st_model_process(a.model, 0);
    assert_int_equal(process->name[sizeof process->name - 1], '\0');
    assert_int_equal(strlen(process->name), ST_PROCESS_NAME_MAX);
    for (size_t i = 0; i < ST_PROCESS_NAME_MAX; i++)
        assert_int_equal(process->name[i], 'B');
    assert_int_equal(strlen(process->role), ST_PROCESS_ROLE_MAX);
    for (size_t i = 0; i < ST_PROCESS_ROLE_MAX; i++)
        assert_int_equal(process->role[i], 'R');

    /* A process blocked on that object gets the bounded name too. */
    st_process_slot *slot = spare_process_slot(a.writer);
    fill_process(slot, "waiter");
    slot->blocked_object = 1;
    slot->blocked_op = ST_OP_ACQUIRE;
    assert_int_equal(st_model_refresh(a.model, a.reader), ST_OK);
    bool found = false;
    for (size_t i = 0; i < st_model_process_count(a.model); i++) {
        const st_process_view *p = st_model_process(a.model, i);
        if (strcmp(p->name, "waiter") != 0)
            continue;
        found = true;
        assert_true(p->blocked);
        assert_string_equal(p->blocked_object_name, expected);
    }
    assert_true(found);
    detach_fixture(&a);
}

/* ---- fuzz ------------------------------------------------------------------ */

static void check_views(const st_model *model, uint32_t processes, uint32_t objects)
{
    size_t np = st_model_process_count(model), no = st_model_object_count(model);
    if (np > processes || no > objects)
        fail_msg("%zu processes / %zu objects exceed capacities %u / %u", np, no, processes, objects);
    assert_true(st_model_corrupt_slots(model) <= processes + objects + 1);
    for (size_t i = 0; i < np; i++) {
        const st_process_view *p = st_model_process(model, i);
        assert_true(p->index < processes);
        assert_true(p->pid > 0);
        assert_true((unsigned)p->state < ST_PROCESS_STATE_COUNT);
        assert_true(memchr(p->name, '\0', sizeof p->name) != NULL);
        assert_true(memchr(p->role, '\0', sizeof p->role) != NULL);
        assert_true(memchr(p->blocked_object_name, '\0', sizeof p->blocked_object_name) != NULL);
        if (p->blocked) {
            assert_true(p->blocked_object < objects);
            assert_true((unsigned)p->blocked_op < ST_OP_COUNT);
        }
        /* An end is an exit code or a signal, never both, never a stop. */
        if (p->exit_known)
            assert_true((p->exit_status >= 0 && p->exit_status <= 255 && p->exit_signal == -1) ||
                        (p->exit_status == -1 && p->exit_signal > 0 && p->exit_signal < 128));
        else
            assert_true(p->exit_status == -1 && p->exit_signal == -1);
    }
    for (size_t i = 0; i < no; i++) {
        const st_object_view *o = st_model_object(model, i);
        assert_true(o->index < objects);
        assert_true(i == 0 || o->index > st_model_object(model, i - 1)->index);
        assert_int_equal(o->type, ST_TYPE_LOCK);
        assert_string_equal(o->type_name, "lock");
        assert_true(memchr(o->name, '\0', sizeof o->name) != NULL);
        assert_true(o->field_count <= ST_MAX_FIELDS);
        assert_non_null(st_object_field(o, "acquisitions"));
    }
}

static uint32_t rand32(void)
{
    return ((uint32_t)rand() << 16) ^ (uint32_t)rand();
}

static void test_fuzz_slots(void **state)
{
    (void)state;
    const char *session = test_session_new();
    st_table_options opts = { 0 };
    opts.session = session;
    opts.process_capacity = SMALL_PROCESSES;
    opts.object_capacity = SMALL_OBJECTS;
    st_table *writer = NULL;
    assert_int_equal(st_table_open(&opts, &writer), ST_OK);
    st_lock *locks[4];
    char name[16];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "fuzz%d", i);
        assert_int_equal(st_lock_open(writer, name, &locks[i]), ST_OK);
        assert_int_equal(st_lock_acquire(locks[i], ST_FOREVER), ST_OK);
        assert_int_equal(st_lock_release(locks[i]), ST_OK);
    }
    for (int i = 0; i < 4; i++)
        st_lock_close(locks[i]);
    /* Every object slot is inside objects_used, so every one is read. */
    ST_STORE(writer->header->objects_used, SMALL_OBJECTS);

    st_table *reader = NULL;
    assert_int_equal(st_table_attach_readonly(session, &reader), ST_OK);
    st_model *model = NULL;
    assert_int_equal(st_model_new(&model), ST_OK);
    assert_int_equal(st_model_refresh(model, reader), ST_OK);
    assert_int_equal(st_model_object_count(model), 4);

    uint8_t *process_area = (uint8_t *)writer->processes;
    size_t process_bytes = (size_t)SMALL_PROCESSES * ST_PROCESS_SLOT_SIZE;
    uint8_t *object_area = (uint8_t *)writer->objects;
    size_t object_bytes = (size_t)SMALL_OBJECTS * ST_OBJECT_SLOT_SIZE;
    st_table_header header_before = *writer->header;
    static const uint32_t types[] = { ST_TYPE_LOCK, ST_TYPE_LOCK, ST_TYPE_LOCK, ST_TYPE_NONE, ST_TYPE_COUNT, 77 };
    size_t listed_objects = 0, listed_processes = 0;

    srand(20240601);
    for (int iter = 0; iter < 300; iter++) {
        for (size_t i = 0; i < process_bytes; i++)
            process_area[i] = (uint8_t)rand();
        for (size_t i = 0; i < object_bytes; i++)
            object_area[i] = (uint8_t)rand();
        if (iter % 3 != 0) {
            /* Mostly live slots with plausible-looking fields, so the
             * validation of each field (not only the status) is exercised. */
            for (uint32_t i = 0; i < SMALL_PROCESSES; i++) {
                st_process_slot *p = &writer->processes[i];
                p->status = rand() % 5 ? ST_SLOT_LIVE : rand32();
                p->pid = rand() % 3 == 0 ? (int32_t)rand32() : (rand() % 2 ? getpid() : rand() % 100000);
                p->state = rand() % 4 ? (uint32_t)(rand() % ST_PROCESS_STATE_COUNT) : rand32();
                p->blocked_object = rand() % 4 ? (uint32_t)(rand() % (SMALL_OBJECTS + 3)) : rand32();
                p->blocked_op = rand() % 4 ? (uint32_t)(rand() % ST_OP_COUNT) : rand32();
                /* An end recorded or not; an exit code, a signal, or anything. */
                p->exit_recorded = rand() % 4 ? (uint32_t)(rand() % 2) : rand32();
                p->exit_status = rand() % 3 == 0 ? (rand() % 256) << 8
                                 : rand() % 2   ? rand() % 160
                                                : (int32_t)rand32();
            }
            for (uint32_t i = 0; i < SMALL_OBJECTS; i++) {
                st_object_slot *o = &writer->objects[i];
                o->header.status = rand() % 5 ? ST_SLOT_LIVE : rand32();
                o->header.type = types[rand() % (int)(sizeof types / sizeof types[0])];
                if (rand() % 2)
                    o->header.name[ST_OBJECT_NAME_MAX] = '\0';
            }
        }
        st_result r = st_model_refresh(model, reader);
        if (r != ST_OK)
            fail_msg("iteration %d: refresh %s: %s", iter, st_result_name(r), st_error_detail());
        check_views(model, SMALL_PROCESSES, SMALL_OBJECTS);
        listed_objects += st_model_object_count(model);
        listed_processes += st_model_process_count(model);
    }
    /* The header was never touched, and the structured rounds did list slots. */
    assert_memory_equal(&header_before, writer->header, offsetof(st_table_header, registry_lock));
    assert_true(listed_objects > 0);
    assert_true(listed_processes > 0);

    st_model_free(model);
    st_table_close(reader);
    st_table_close(writer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_garbage_is_foreign, test_teardown),
        cmocka_unit_test_teardown(test_wrong_version, test_teardown),
        cmocka_unit_test_teardown(test_truncated_to_half, test_teardown),
        cmocka_unit_test_teardown(test_smaller_than_a_header, test_teardown),
        cmocka_unit_test_teardown(test_empty_segment_not_ready, test_teardown),
        cmocka_unit_test_teardown(test_magic_zero_not_ready, test_teardown),
        cmocka_unit_test_teardown(test_corrupt_headers, test_teardown),
        cmocka_unit_test_teardown(test_consistent_header_larger_than_segment, test_teardown),
        cmocka_unit_test_teardown(test_header_changed_after_attach, test_teardown),
        cmocka_unit_test_teardown(test_truncated_after_attach, test_teardown),
        cmocka_unit_test_teardown(test_removed_session, test_teardown),
        cmocka_unit_test_teardown(test_bad_process_slots, test_teardown),
        cmocka_unit_test_teardown(test_bad_object_slots, test_teardown),
        cmocka_unit_test_teardown(test_names_without_nul, test_teardown),
        cmocka_unit_test_teardown(test_fuzz_slots, test_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, test_teardown);
}
