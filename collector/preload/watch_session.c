/* watch_session.c - the interposition library's link to the session: the
 * status table, this process's slot in it, and the foreign objects.
 *
 * The table is opened on the first shared object the program touches, not
 * at load: a process that never touches one (a shell wrapper, Python's
 * resource tracker, a compiler a build runs) never opens the table and
 * never appears in it. The session is $SYNCTOP_SESSION (`synctop run` sets
 * it), else "default". A fork child inherits the open table; it registers
 * itself on its first counted operation (libsynctop's fork generation says
 * when), with the role "main" if it is the process `synctop run` started
 * ($SYNCTOP_RUN_PID) and "child" otherwise. A Python process then renames
 * itself as its program knows it (watch_name_refresh, python_process.c):
 * "app.py", or "producer-1" with the role "producer".
 *
 * Failing to open the table, or a full table, prints one line on stderr
 * (once per program: a fork child inherits "already said") and the program
 * runs on, unobserved.
 *
 * Foreign objects are named for people ("Queue orders (app.py:31)") and
 * found by machines through their members' identity keys. A name another
 * object already has gets " #2", " #3"... (objects made in a loop on one
 * line); the key check after st_object_open tells "this is mine, created
 * by another process of the program" from "another object with that name".
 */
#include "preload/preload.h"
#include "preload/python_process.h"
#include "preload/python_site.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static st_table *table;
st_table *watched_table;
static int table_state;              /* 0 not tried, 1 open, -1 unavailable */
static int table_lock;
static int warned;                   /* inherited by fork children: one warning per program */
static unsigned registered_generation;
static bool watch_is_main;           /* the process synctop run started */
bool watch_name_settled;
unsigned watch_name_ops;
static char shown_name[ST_PROCESS_NAME_MAX + 1];   /* what this process last published */
static char shown_role[ST_PROCESS_ROLE_MAX + 1];
bool watch_unregistered = true;
unsigned watch_hold_shift = 64;

void watch_warn_once(const char *format, ...)
{
    if (__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
        return;
    char line[512];
    int len = snprintf(line, sizeof line, "synctop-preload[%d]: ", (int)getpid());
    va_list args;
    va_start(args, format);
    if (len > 0 && (size_t)len < sizeof line)
        len += vsnprintf(line + len, sizeof line - (size_t)len, format, args);
    va_end(args);
    if (len < 0)
        return;
    if ((size_t)len >= sizeof line - 1)
        len = (int)sizeof line - 2;
    line[len++] = '\n';
    ssize_t written;
    do {
        written = write(STDERR_FILENO, line, (size_t)len);
    } while (written < 0 && errno == EINTR);
}

st_table *watch_table(void)
{
    if (__builtin_expect(__atomic_load_n(&table_state, __ATOMIC_ACQUIRE) == 1, 1))
        return table;
    if (table_state < 0)
        return NULL;
    while (__atomic_exchange_n(&table_lock, 1, __ATOMIC_ACQUIRE)) {
    }
    if (table_state == 0) {
        st_table *opened = NULL;
        st_table_options options = { 0 };
        tls.guard++;
        st_result r = st_table_open(&options, &opened);
        tls.guard--;
        if (r == ST_OK) {
            table = opened;
            watch_hold_shift = opened->hold_sample_shift;
            watched_table = opened;
            __atomic_store_n(&table_state, 1, __ATOMIC_RELEASE);
        } else {
            const char *session = getenv("SYNCTOP_SESSION");
            watch_warn_once("cannot watch this program: session '%s': %s: %s; it runs on, unobserved",
                            session && *session ? session : ST_DEFAULT_SESSION, st_strerror(r), st_error_detail());
            __atomic_store_n(&table_state, -1, __ATOMIC_RELEASE);
        }
    }
    __atomic_store_n(&table_lock, 0, __ATOMIC_RELEASE);
    if (table_state != 1)
        return NULL;
    watch_register_process(table);   /* opening registered us; now with our role */
    return table;
}

void watch_register_process(st_table *watched)
{
    watch_unregistered = false;
    if (__builtin_expect(registered_generation == st_fork_generation, 1))
        return;
    registered_generation = st_fork_generation;
    int saved_errno = errno;
    const char *run_pid = getenv("SYNCTOP_RUN_PID");
    const char *role = NULL;
    if (run_pid && *run_pid)
        role = atoi(run_pid) == (int)getpid() ? "main" : "child";
    watch_is_main = role && strcmp(role, "main") == 0;
    tls.guard++;
    st_result r = st_process_register(watched, NULL, role);
    tls.guard--;
    if (r == ST_EFULL)
        watch_warn_once("the process table of session '%s' is full: some processes of this program "
                        "are not listed (start synctop run with SYNCTOP_PROCESSES=N)", watched->session);
    errno = saved_errno;
    if (r == ST_OK)
        watch_name_refresh();        /* a process may never count an operation (the main one) */
}

/* ---- identity keys ---- */

static uint64_t mix64(uint64_t x)
{
    /* splitmix64's finaliser */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static uint64_t nonzero_key(uint64_t hash)
{
    uint64_t key = hash & ST_FOREIGN_KEY_MASK;
    return key ? key : 1;
}

uint64_t key_of_name(const char *name)
{
    uint64_t h = 14695981039346656037ull;   /* FNV-1a, 64 bits, over "sem:" + name */
    for (const char *p = "sem:"; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return nonzero_key(mix64(h));
}

uint64_t key_of_words(uint64_t a, uint64_t b, uint64_t c)
{
    return nonzero_key(mix64(mix64(mix64(a) ^ b) ^ c));
}

/* ---- foreign objects ---- */

static void foreign_body_init(void *raw, const void *params)
{
    const foreign_spec *spec = params;
    st_foreign_body *body = raw;
    body->kind = (uint32_t)spec->kind;
    body->members[0] = st_foreign_member_pack(spec->key, spec->part, spec->op);
    body->member_count = 1;
    if (spec->part == 0) {
        body->initial = spec->initial;
        body->maximum = spec->maximum;
    }
    if (spec->kind == ST_FOREIGN_PY_MANAGED) {
        body->managed.length = -1;
        snprintf(body->managed.typeid, sizeof body->managed.typeid, "%s", spec->typeid ? spec->typeid : "");
    }
}

static st_foreign_body *body_at(st_table *watched, uint32_t slot)
{
    return (st_foreign_body *)(void *)watched->objects[slot].body.raw;
}

static bool is_foreign_type(uint32_t type)
{
    return (type >= ST_TYPE_FOREIGN_LOCK && type <= ST_TYPE_FOREIGN_QUEUE) || type == ST_TYPE_FOREIGN_POOL ||
           type == ST_TYPE_FOREIGN_MANAGED;
}

/* The copy number to try first for a name: objects made in a loop on one
 * line get #2, #3 ... in turn, and the n-th need not try n names. */
#define COPY_HINTS 64
static struct {
    uint64_t name_hash;
    int next_copy;
} copy_hints[COPY_HINTS];

static int *copy_hint(const char *name)
{
    uint64_t hash = key_of_name(name);
    unsigned i = (unsigned)(hash % COPY_HINTS);
    if (copy_hints[i].name_hash != hash) {
        copy_hints[i].name_hash = hash;
        copy_hints[i].next_copy = 1;
    }
    return &copy_hints[i].next_copy;
}

#define MAX_COPIES 9999

bool watch_create_object(st_table *watched, const foreign_spec *spec, uint32_t *slot_out)
{
    char name[ST_OBJECT_NAME_MAX + 1];
    int *hint = copy_hint(spec->name);
    for (int copy = *hint; copy <= MAX_COPIES; copy++) {
        if (copy == 1) {
            snprintf(name, sizeof name, "%s", spec->name);
        } else {
            char suffix[12];
            int suffix_len = snprintf(suffix, sizeof suffix, " #%d", copy);
            int base_len = (int)strnlen(spec->name, ST_OBJECT_NAME_MAX - (size_t)suffix_len);
            snprintf(name, sizeof name, "%.*s%s", base_len, spec->name, suffix);
        }
        uint32_t index;
        tls.guard++;
        st_result r = st_object_open(watched, spec->type, name, foreign_body_init, spec, &index);
        tls.guard--;
        if (r == ST_EWRONGTYPE)
            continue;
        if (r != ST_OK) {
            if (r == ST_EFULL)
                watch_warn_once("the object table of session '%s' is full (%u objects): new objects of this "
                                "program are not watched (start synctop run with SYNCTOP_OBJECTS=N)",
                                watched->session, watched->object_capacity);
            return false;
        }
        const st_foreign_body *body = body_at(watched, index);
        if (__atomic_load_n(&body->member_count, __ATOMIC_ACQUIRE) > 0 &&
            st_foreign_member_key(body->members[0]) == spec->key) {
            *hint = copy;
            *slot_out = index;
            return true;
        }
        /* The name belongs to another object: try the next copy number. */
    }
    return false;
}

void watch_add_member(st_table *watched, uint32_t slot, uint64_t key, unsigned part, unsigned op,
                      uint32_t initial, uint32_t maximum)
{
    st_foreign_body *body = body_at(watched, slot);
    uint32_t n = body->member_count;
    if (n >= ST_FOREIGN_MEMBERS_MAX)
        return;   /* still watched by this process and its fork children, not findable by key */
    if (part == 0) {
        ST_STORE(body->initial, initial);
        ST_STORE(body->maximum, maximum);
    }
    body->members[n] = st_foreign_member_pack(key, part, op);
    __atomic_store_n(&body->member_count, n + 1, __ATOMIC_RELEASE);
}

bool watch_find_member(st_table *watched, uint64_t key, uint32_t *slot, unsigned *part, unsigned *op)
{
    uint32_t used = __atomic_load_n(&watched->header->objects_used, __ATOMIC_ACQUIRE);
    if (used > watched->object_capacity)
        used = watched->object_capacity;
    for (uint32_t i = 0; i < used; i++) {
        const st_object_slot *object = &watched->objects[i];
        if (__atomic_load_n(&object->header.status, __ATOMIC_ACQUIRE) != ST_SLOT_LIVE ||
            !is_foreign_type(object->header.type))
            continue;
        const st_foreign_body *body = body_at(watched, i);
        uint32_t n = __atomic_load_n(&body->member_count, __ATOMIC_ACQUIRE);
        if (n > ST_FOREIGN_MEMBERS_MAX)
            n = ST_FOREIGN_MEMBERS_MAX;
        for (uint32_t m = 0; m < n; m++) {
            uint64_t member = body->members[m];
            if (st_foreign_member_key(member) == key) {
                *slot = i;
                *part = st_foreign_member_part(member);
                *op = st_foreign_member_op(member);
                return true;
            }
        }
    }
    return false;
}

/* What the preload does on each operation follows from the object's kind
 * and the member's part (see foreign_body.h). */
static uint16_t roles_of(st_foreign_kind kind, unsigned part, const st_foreign_body *body, uint32_t *maximum)
{
    *maximum = 0;
    switch (kind) {
    case ST_FOREIGN_PY_LOCK:
        *maximum = 1;
        return ROLE_HOLDER | ROLE_PYTHON_BOUND;
    case ST_FOREIGN_PY_RLOCK:
        return ROLE_HOLDER;
    case ST_FOREIGN_PY_SEMAPHORE:
    case ST_FOREIGN_SEM_NAMED:
    case ST_FOREIGN_SEM_UNNAMED:
        return ROLE_PEAK;
    case ST_FOREIGN_PY_BOUNDED_SEMAPHORE:
        *maximum = body->maximum;
        return ROLE_PEAK | ROLE_PYTHON_BOUND;
    case ST_FOREIGN_PY_EVENT:
        return part == 2 ? ROLE_PART_HOLDER | ROLE_EVENT_LOCK : 0;
    case ST_FOREIGN_PY_QUEUE:
        if (part == 0)
            return ROLE_PEAK;
        return part == 1 ? ROLE_PART_HOLDER | ROLE_QUEUE_GET_LOCK : ROLE_PART_HOLDER;
    case ST_FOREIGN_PY_SIMPLE_QUEUE:
        if (part == 1)
            return ROLE_PART_HOLDER | ROLE_QUEUE_GET_LOCK;
        return part == 2 ? ROLE_PART_HOLDER : 0;
    case ST_FOREIGN_PTHREAD_MUTEX:
        return ROLE_HOLDER;   /* its fast path is interpose_pthread.c's own */
    default:
        return 0;
    }
}

void watch_bind(st_table *watched, tracked_object *t, uint32_t slot, unsigned part, unsigned op)
{
    t->slot = slot;
    t->object = &watched->objects[slot];
    t->body = body_at(watched, slot);
    t->part = (uint8_t)(part <= ST_FOREIGN_PART_NONE ? part : ST_FOREIGN_PART_NONE);
    t->op = (uint8_t)op;
    uint32_t maximum;
    t->roles = roles_of((st_foreign_kind)t->body->kind, t->part, t->body, &maximum);
    if (t->part == ST_FOREIGN_PART_NONE)
        t->roles = 0;
    t->maximum = maximum;
}

void watch_after_fork(void)
{
    /* Another thread of the parent may have held it at fork. */
    table_lock = 0;
    watch_unregistered = true;
    watch_name_settled = false;
    watch_name_ops = 0;
    shown_name[0] = shown_role[0] = '\0';   /* the child's slot is a fresh one */
}

/* ---- the process's name and role, as its Python program knows them ---- */


/* Publish name/role when they differ from what this process last wrote. */
static void publish_name(const char *name, const char *role)
{
    bool new_name = name[0] && strcmp(name, shown_name) != 0;
    bool new_role = role[0] && strcmp(role, shown_role) != 0;
    if (!new_name && !new_role)
        return;
    tls.guard++;
    st_result r = st_process_register(watched_table, new_name ? name : NULL, new_role ? role : NULL);
    tls.guard--;
    if (r != ST_OK)
        return;
    if (new_name)
        snprintf(shown_name, sizeof shown_name, "%s", name);
    if (new_role)
        snprintf(shown_role, sizeof shown_role, "%s", role);
}

void watch_name_refresh(void)
{
    if (!watched_table || watch_unregistered)
        return;
    int saved_errno = errno;
    if (!python_active()) {
        /* Not Python: nothing to ask. Python without the GIL: ask later,
         * but not forever (a program may never call us with it held). */
        if (python_absent() || ++watch_name_ops > 4096)
            watch_name_settled = true;
        errno = saved_errno;
        return;
    }
    if (registered_generation != st_fork_generation) {
        errno = saved_errno;
        return;
    }
    char name[ST_PROCESS_NAME_MAX + 1], role[ST_PROCESS_ROLE_MAX + 1];
    bool final = python_process_identity(watch_is_main, name, sizeof name, role, sizeof role);
    publish_name(name, role);
    if (final)
        watch_name_settled = true;
    errno = saved_errno;
}
