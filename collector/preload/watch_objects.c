/* watch_objects.c - deciding, once per libc object and process, what a
 * semaphore, mutex or condition variable is and which foreign object it
 * counts in; the answer goes into the process's map (tracked_map.c) and
 * every later call only looks it up.
 *
 * Objects are met in three ways:
 *  - created here: sem_open(O_CREAT), sem_init / pthread_mutex_init /
 *    pthread_cond_init with the process-shared attribute. The object is
 *    named then: by the Python call site when multiprocessing creates it,
 *    by its semaphore name, or by its address and the creating function
 *    ("mutex 0x7f3a12c04040 (init_shared)");
 *  - opened here by name (sem_open without O_CREAT): found by its key;
 *  - first used here (a fork child inherits the map, so this only happens
 *    in a process that did not create it and did not fork from its
 *    creator): found by the identity of its memory, or registered under
 *    that identity ("mutex app-state+0x40").
 * Objects in synctop's own segments are never watched (a program built on
 * libsynctop keeps its own figures), and neither is anything when the
 * table cannot be had: they are recorded as ignored, so that the question
 * is never asked twice.
 *
 * Python composites (foreign_body.h) are assembled as they are created:
 * the members of one Event or Queue come one after the other from the same
 * __init__ frame, each with a role (attribute) of its own; a role already
 * seen means a new instance, made on the same line.
 */
#include "preload/preload.h"
#include "synctop/text.h"
#include "preload/mapping_identity.h"
#include "preload/python_pool.h"
#include "preload/python_site.h"
#include "preload/watch_objects.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#define SEM_VALUE_LIMIT 2147483647u   /* SEM_VALUE_MAX on Linux; Python's maxvalue */

static bool map_full;

static const tracked_object ignored = { .slot = TRACK_IGNORED };

/* Remember what we decided about address; the entry, or NULL if ignored or
 * if the map is full. */
static tracked_object *remember(const void *address, const tracked_object *t)
{
    tracked_object *entry = tracked_put(address, t);
    if (!entry) {
        map_full = true;
        watch_warn_once("more process-shared objects than synctop can follow in one process: "
                        "new ones are not watched");
        return NULL;
    }
    return entry->body ? entry : NULL;
}

/* ---- names ---- */

/* Copy text into out (size bytes), cut to fit. */
static void copy_cut(char *out, size_t size, const char *text)
{
    size_t len = strnlen(text, size - 1);
    memcpy(out, text, len);
    out[len] = '\0';
}

/* Names leave room for a " #nn" suffix (watch_create_object). */
#define NAME_ROOM (ST_OBJECT_NAME_MAX + 1 - 4)

/* text cut to at most max bytes at a character boundary ("café.py" is
 * never left with half an "é"). */
static const char *cut_text(const char *text, size_t max, char *buffer, size_t size)
{
    st_text_sanitize(text, (size_t)-1, buffer, max + 1 < size ? max + 1 : size, 0);
    return buffer;
}

/* "<display> <who> (<file>:<line>)". */
static void python_name(const py_site *site, char *out, size_t size)
{
    char who[64], full[160], a[32], b[32], display[32], file[32];
    if (site->variable[0] && site->outer_attr[0])
        snprintf(who, sizeof who, "%s.%s", cut_text(site->variable, 20, a, sizeof a),
                 cut_text(site->outer_attr, 20, b, sizeof b));
    else
        snprintf(who, sizeof who, "%s", cut_text(site->variable[0] ? site->variable : site->outer_attr, 24, a, sizeof a));
    cut_text(site->display, 16, display, sizeof display);
    cut_text(site->file, 20, file, sizeof file);
    if (who[0])
        snprintf(full, sizeof full, "%s %s (%s:%d)", display, who, file, site->line);
    else
        snprintf(full, sizeof full, "%s (%s:%d)", display, file, site->line);
    size_t room = size < NAME_ROOM ? size : NAME_ROOM;
    st_text_sanitize(full, (size_t)-1, out, room, 0);
}

/* The function at code address pc: its symbol, or "module+0xoffset". */
static void caller_name(const void *pc, char *out, size_t size)
{
    Dl_info info;
    out[0] = '\0';
    if (!pc || !dladdr(pc, &info))
        return;
    if (info.dli_sname) {
        snprintf(out, size, "%s", info.dli_sname);
        return;
    }
    if (info.dli_fname) {
        const char *base = strrchr(info.dli_fname, '/');
        base = base ? base + 1 : info.dli_fname;
        snprintf(out, size, "%.20s+%#lx", base, (unsigned long)((uintptr_t)pc - (uintptr_t)info.dli_fbase));
    }
}

static const char *word_of(watched_kind kind)
{
    return kind == WATCH_MUTEX ? "mutex" : kind == WATCH_COND ? "cond" : "sem";
}

/* "<word> <where> (<creator>)": where first, the creator in what room is left. */
static void c_name(watched_kind kind, const char *where, const char *creator, char *out, size_t size)
{
    char full[160];
    int len = snprintf(full, sizeof full, "%s %.42s", word_of(kind), where);
    int room = (int)NAME_ROOM - 1 - len - 3;
    if (creator && creator[0] && room >= 4)
        snprintf(full + len, sizeof full - (size_t)len, " (%.*s)", room, creator);
    copy_cut(out, size < NAME_ROOM ? size : NAME_ROOM, full);
}

/* ---- C objects ---- */

static void spec_for(watched_kind kind, foreign_spec *spec)
{
    switch (kind) {
    case WATCH_MUTEX:
        spec->type = ST_TYPE_FOREIGN_LOCK;
        spec->kind = ST_FOREIGN_PTHREAD_MUTEX;
        break;
    case WATCH_COND:
        spec->type = ST_TYPE_FOREIGN_CONDITION;
        spec->kind = ST_FOREIGN_PTHREAD_COND;
        spec->op = ST_OP_WAIT;
        break;
    case WATCH_SEM:
        spec->type = ST_TYPE_FOREIGN_SEMAPHORE;
        spec->kind = ST_FOREIGN_SEM_UNNAMED;
        break;
    }
}

/* Find or register the object for address, met as kind. creator: the
 * function that made it, or NULL when only used here. */
static tracked_object *watch_by_memory(const void *address, watched_kind kind, const char *creator,
                                       uint32_t initial)
{
    st_table *table = watch_table();
    if (!table)
        return remember(address, &ignored);
    mapping_identity identity;
    mapping_identify(address, &identity);
    if (identity.synctop)
        return remember(address, &ignored);
    tracked_object t = { .opens = 1 };
    uint32_t slot;
    unsigned part, op;
    if (watch_find_member(table, identity.key, &slot, &part, &op)) {
        watch_bind(table, &t, slot, part, op);
        return remember(address, &t);
    }
    char name[ST_OBJECT_NAME_MAX + 1];
    c_name(kind, identity.where, creator, name, sizeof name);
    foreign_spec spec = { .key = identity.key, .part = 0, .op = ST_OP_ACQUIRE, .initial = initial, .name = name };
    spec_for(kind, &spec);
    if (!watch_create_object(table, &spec, &slot))
        return remember(address, &ignored);
    watch_bind(table, &t, slot, 0, spec.op);
    return remember(address, &t);
}

tracked_object *watch_created(const void *address, watched_kind kind, const void *caller, uint32_t initial)
{
    if (map_full)
        return NULL;
    int saved_errno = errno;
    tls.guard++;
    char creator[64];
    caller_name(caller, creator, sizeof creator);
    tracked_object *t = watch_by_memory(address, kind, creator[0] ? creator : "?", initial);
    tls.guard--;
    errno = saved_errno;
    return t;
}

tracked_object *watch_discover(const void *address, watched_kind kind)
{
    if (map_full || !layout_known || tls.guard)
        return NULL;
    int saved_errno = errno;
    tls.guard++;
    uint32_t initial = 0;
    if (kind == WATCH_SEM) {
        int value = 0;
        if (real.sem_getvalue((sem_t *)(uintptr_t)address, &value) == 0 && value > 0)
            initial = (uint32_t)value;
    }
    tracked_object *t = watch_by_memory(address, kind, NULL, initial);
    tls.guard--;
    errno = saved_errno;
    return t;
}

/* ---- Python's semaphores ---- */

static struct {
    const void *root_frame;
    py_root root;
    uint32_t slot;
    uint64_t roles[8];
    unsigned role_count;
} composite;

void watch_objects_after_fork(void)
{
    memset(&composite, 0, sizeof composite);
}

static uint64_t role_key(const py_site *site)
{
    return key_of_words(key_of_name(site->attr1), key_of_name(site->attr2), (uint64_t)site->leaf);
}

/* The member's part and operation in its composite; false when the role
 * is not one we know (then the semaphore stands alone). */
static bool composite_role(const py_site *site, unsigned *part, unsigned *op)
{
    const char *a1 = site->attr1, *a2 = site->attr2;
    bool lock_leaf = site->leaf == PY_LEAF_LOCK || site->leaf == PY_LEAF_RLOCK;
    switch (site->root) {
    case PY_ROOT_EVENT:
        if (strcmp(a1, "_flag") == 0) {
            *part = 0, *op = ST_OP_WAIT;
        } else if (strcmp(a1, "_cond") == 0 && !a2[0] && lock_leaf) {
            *part = 2, *op = ST_OP_WAIT;
        } else if (strcmp(a1, "_cond") == 0 && strcmp(a2, "_wait_semaphore") == 0) {
            *part = 1, *op = ST_OP_WAIT;
        } else if (strcmp(a1, "_cond") == 0 && a2[0]) {
            *part = ST_FOREIGN_PART_NONE, *op = ST_OP_WAIT;
        } else {
            return false;
        }
        return true;
    case PY_ROOT_CONDITION:
        if (strcmp(a1, "_wait_semaphore") == 0)
            *part = 0, *op = ST_OP_WAIT;
        else if (strcmp(a1, "_sleeping_count") == 0 || strcmp(a1, "_woken_count") == 0)
            *part = ST_FOREIGN_PART_NONE, *op = ST_OP_WAIT;
        else
            return false;
        return true;
    case PY_ROOT_QUEUE:
        if (strcmp(a1, "_sem") == 0)
            *part = 0, *op = ST_OP_PUT;
        else if (strcmp(a1, "_rlock") == 0)
            *part = 1, *op = ST_OP_GET;
        else if (strcmp(a1, "_wlock") == 0)
            *part = 2, *op = ST_OP_PUT;
        else if (strcmp(a1, "_unfinished_tasks") == 0 || strcmp(a1, "_cond") == 0)
            *part = ST_FOREIGN_PART_NONE, *op = ST_OP_JOIN;
        else
            return false;
        return true;
    case PY_ROOT_SIMPLE_QUEUE:
        if (strcmp(a1, "_rlock") == 0)
            *part = 1, *op = ST_OP_GET;
        else if (strcmp(a1, "_wlock") == 0)
            *part = 2, *op = ST_OP_PUT;
        else
            return false;
        return true;
    case PY_ROOT_NONE:
        break;
    }
    return false;
}

static void composite_spec(py_root root, foreign_spec *spec)
{
    switch (root) {
    case PY_ROOT_EVENT:
        spec->type = ST_TYPE_FOREIGN_EVENT, spec->kind = ST_FOREIGN_PY_EVENT;
        break;
    case PY_ROOT_CONDITION:
        spec->type = ST_TYPE_FOREIGN_CONDITION, spec->kind = ST_FOREIGN_PY_CONDITION;
        break;
    case PY_ROOT_SIMPLE_QUEUE:
        spec->type = ST_TYPE_FOREIGN_QUEUE, spec->kind = ST_FOREIGN_PY_SIMPLE_QUEUE;
        break;
    case PY_ROOT_QUEUE:
    case PY_ROOT_NONE:
        spec->type = ST_TYPE_FOREIGN_QUEUE, spec->kind = ST_FOREIGN_PY_QUEUE;
        break;
    }
}

static void leaf_spec(py_leaf leaf, unsigned value, foreign_spec *spec)
{
    switch (leaf) {
    case PY_LEAF_LOCK:
        spec->type = ST_TYPE_FOREIGN_LOCK, spec->kind = ST_FOREIGN_PY_LOCK, spec->maximum = 1;
        break;
    case PY_LEAF_RLOCK:
        spec->type = ST_TYPE_FOREIGN_RLOCK, spec->kind = ST_FOREIGN_PY_RLOCK, spec->maximum = 1;
        break;
    case PY_LEAF_BOUNDED_SEMAPHORE:
        spec->type = ST_TYPE_FOREIGN_BOUNDED_SEMAPHORE, spec->kind = ST_FOREIGN_PY_BOUNDED_SEMAPHORE;
        spec->maximum = value;
        break;
    case PY_LEAF_SEMAPHORE:
    case PY_LEAF_NONE:
        spec->type = ST_TYPE_FOREIGN_SEMAPHORE, spec->kind = ST_FOREIGN_PY_SEMAPHORE;
        spec->maximum = SEM_VALUE_LIMIT;
        break;
    }
}

static uint32_t leaf_maximum(py_leaf leaf, unsigned value)
{
    return leaf == PY_LEAF_LOCK || leaf == PY_LEAF_RLOCK ? 1u
         : leaf == PY_LEAF_BOUNDED_SEMAPHORE ? value : SEM_VALUE_LIMIT;
}

/* Register a multiprocessing semaphore being created from site. */
static bool watch_python(st_table *table, const py_site *site, uint64_t key, unsigned value, tracked_object *t)
{
    /* A lock of a Pool's SimpleQueue: a part of the Pool (python_pool.c). */
    if (site->pool_frame && site->root == PY_ROOT_SIMPLE_QUEUE)
        return pool_lock_made(table, site, key, t);
    char name[ST_OBJECT_NAME_MAX + 1];
    python_name(site, name, sizeof name);
    unsigned part, op;
    uint32_t slot;
    if (site->root != PY_ROOT_NONE && composite_role(site, &part, &op)) {
        uint64_t role = role_key(site);
        bool same_instance = composite.root_frame == site->root_frame && composite.root == site->root;
        for (unsigned i = 0; same_instance && i < composite.role_count; i++)
            if (composite.roles[i] == role)
                same_instance = false;   /* this role again: a new instance */
        uint32_t maximum = leaf_maximum(site->leaf, value);
        if (same_instance) {
            slot = composite.slot;
            watch_add_member(table, slot, key, part, op, value, maximum);
        } else {
            foreign_spec spec = { .key = key, .part = part, .op = op, .initial = value, .maximum = maximum,
                                  .name = name };
            composite_spec(site->root, &spec);
            if (!watch_create_object(table, &spec, &slot))
                return false;
            composite.root_frame = site->root_frame;
            composite.root = site->root;
            composite.slot = slot;
            composite.role_count = 0;
        }
        if (composite.role_count < sizeof composite.roles / sizeof composite.roles[0])
            composite.roles[composite.role_count++] = role;
        watch_bind(table, t, slot, part, op);
        return true;
    }
    foreign_spec spec = { .key = key, .part = 0, .op = ST_OP_ACQUIRE, .initial = value, .name = name };
    leaf_spec(site->leaf, value, &spec);
    if (!watch_create_object(table, &spec, &slot))
        return false;
    watch_bind(table, t, slot, 0, ST_OP_ACQUIRE);
    return true;
}

/* ---- sem_open ---- */

static tracked_object *watch_opened_guarded(sem_t *sem, const char *sem_name, int oflag, unsigned value)
{
    tracked_object *known = tracked_find(sem);
    if (known) {
        known->opens++;                     /* glibc maps one name once per process */
        return known->body ? known : NULL;
    }
    st_table *table = watch_table();
    if (!table)
        return remember(sem, &ignored);
    uint64_t key = key_of_name(sem_name);
    bool created = (oflag & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL);
    tracked_object t = { .opens = 1 };
    uint32_t slot;
    unsigned part, op;
    if (!created && watch_find_member(table, key, &slot, &part, &op)) {
        watch_bind(table, &t, slot, part, op);
        return remember(sem, &t);
    }
    if (python_active()) {
        py_site site;
        if (python_site_read(&site)) {
            if (!(oflag & O_CREAT))
                return remember(sem, &ignored);   /* rebuilt here, made where we did not watch */
            if (watch_python(table, &site, key, value, &t))
                return remember(sem, &t);
            return remember(sem, &ignored);
        }
    }
    uint32_t initial = value;
    if (!created) {
        int now = 0;
        initial = real.sem_getvalue(sem, &now) == 0 && now > 0 ? (uint32_t)now : 0;
    }
    char name[ST_OBJECT_NAME_MAX + 1], full[ST_OBJECT_NAME_MAX + 8];
    snprintf(full, sizeof full, "sem %.60s", sem_name);
    copy_cut(name, NAME_ROOM, full);
    foreign_spec spec = { .type = ST_TYPE_FOREIGN_SEMAPHORE, .kind = ST_FOREIGN_SEM_NAMED, .key = key,
                          .part = 0, .op = ST_OP_ACQUIRE, .initial = initial, .name = name };
    if (!watch_create_object(table, &spec, &slot))
        return remember(sem, &ignored);
    watch_bind(table, &t, slot, 0, ST_OP_ACQUIRE);
    return remember(sem, &t);
}

void watch_opened(sem_t *sem, const char *sem_name, int oflag, unsigned value)
{
    if (map_full)
        return;
    int saved_errno = errno;
    tls.guard++;
    watch_opened_guarded(sem, sem_name, oflag, value);
    tls.guard--;
    errno = saved_errno;
}

void watch_ignore(const void *address)
{
    if (!map_full)
        remember(address, &ignored);
}

void watch_forget(const void *address, bool opened)
{
    tracked_object *t = tracked_find(address);
    if (!t)
        return;
    if (opened && t->opens > 1) {
        t->opens--;
        return;
    }
    tracked_remove(address);
}
