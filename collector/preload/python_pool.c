/* python_pool.c - a multiprocessing.Pool as one "pool" object, with the
 * native pool's figures (foreign_describe.c st_foreign_pool_describe).
 *
 * A Pool is made of three SimpleQueues (each an os.pipe and two Locks):
 * _inqueue carries tasks from the pool's task handler thread to the
 * workers, _outqueue results from the workers to its result handler
 * thread, _change_notifier wakes its worker handler. Everything they are
 * made of is created inside Pool.__init__ (python_site.c finds that frame:
 * py_site.pool_frame), so it is folded into one object named from the
 * user's call site, "Pool pool (app.py:12)", the way a Queue's parts are.
 *
 * The locks become members without a part (no figures of their own): a
 * worker waiting for _inqueue._rlock shows blocked on the pool ("get"),
 * and the pool has no holder, so the deadlock detector sees no edge
 * through a lock the user never made (a Pool's own locks cannot be part of
 * a user's cycle: each is held only around one pipe read or write).
 *
 * The figures come from the messages of the two pipes, framed by
 * interpose_pipe.c, which hands every whole message here with its first
 * bytes (a pickle): task messages written (submitted) and read by workers
 * (started); results written by workers and read by the result handler
 * (done). A message whose pickle is None is a stop sentinel, not counted:
 * a worker that reads one exits. A result is (job, i, (success, value)):
 * the byte after the two integers is NEWFALSE when it carries an exception
 * (failed). Only the message boundaries and these few bytes are looked at.
 *
 * Workers: a process other than the creator that takes (or waits for)
 * _inqueue._rlock or reads the task pipe is a worker of the pool; it is
 * counted once (process-local state; a fork child is a new process), and
 * no more once it has read its sentinel. The creator takes _inqueue._rlock
 * only to drain the tasks in terminate() (_help_stuff_finish): from then
 * on the pool shows no live figures, as a closed native pool.
 *
 * A worker of a Pool(maxtasksperchild=N) leaves after writing its N-th
 * result (N is read once from its Process's _args, with the GIL held): it
 * is counted as stopped then, and as replaced.
 *
 * What is not followed: spawn and forkserver workers receive the pipes by
 * fd passing (new fds, not watched; the creator's counts still are); a
 * worker killed (a crash, a signal) stays counted until terminate(); a
 * task (one message) is a chunk of map/imap (chunksize items), not an
 * item.
 */
#include "preload/python_pool.h"
#include "preload/python_process.h"
#include "synctop/text.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The Pool being built in this process: its parts come one after another
 * from the same Pool.__init__ frame; a part seen again is a new Pool (a
 * frame address may be reused). */
#define POOL_PARTS 12
static struct {
    pid_t pid;
    const void *frame;
    uint32_t slot;
    uint64_t parts[POOL_PARTS];
    unsigned part_count;
} building;

/* This process as a worker of a pool. */
static struct {
    pid_t pid;                      /* st_self_pid when counted (else inherited: not ours) */
    uint32_t slot;
    bool stopped;                   /* read its stop sentinel, or did its maxtasks */
    bool asked;                     /* maxtasks was read (it needs the GIL) */
    uint64_t maxtasks;              /* Pool(maxtasksperchild): it leaves after as many results, 0: never */
    uint64_t completed;             /* results it wrote */
    uint64_t task_start;            /* ticks at reading the task it runs, 0: none */
} worker;

static st_foreign_body *pool_body(st_table *table, uint32_t slot)
{
    return (st_foreign_body *)(void *)table->objects[slot].body.raw;
}

/* "Pool pool (app.py:12)". */
static void pool_name(const py_site *site, char *out, size_t size)
{
    char full[160], variable[32], display[32], file[32];
    st_text_sanitize(site->variable, (size_t)-1, variable, 25, 0);
    st_text_sanitize(site->display, (size_t)-1, display, 17, 0);
    st_text_sanitize(site->file, (size_t)-1, file, 21, 0);
    if (variable[0])
        snprintf(full, sizeof full, "%s %s (%s:%d)", display, variable, file, site->line);
    else
        snprintf(full, sizeof full, "%s (%s:%d)", display, file, site->line);
    size_t room = ST_OBJECT_NAME_MAX + 1 - 4;   /* a " #nn" suffix may follow */
    st_text_sanitize(full, (size_t)-1, out, size < room ? size : room, 0);
}

/* The Pool object the part (outer_attr, what) of site belongs to. */
static bool pool_object(st_table *table, const py_site *site, const char *what, uint32_t *slot)
{
    uint64_t part = key_of_words(key_of_name(site->outer_attr), key_of_name(what), 0);
    bool same = building.pid == st_self_pid && building.frame == site->pool_frame;
    for (unsigned i = 0; same && i < building.part_count; i++)
        if (building.parts[i] == part)
            same = false;
    if (!same) {
        char name[ST_OBJECT_NAME_MAX + 1];
        pool_name(site, name, sizeof name);
        foreign_spec spec = {
            .type = ST_TYPE_FOREIGN_POOL,
            .kind = ST_FOREIGN_PY_POOL,
            .key = key_of_words((uint64_t)st_self_pid, ticks_now(), (uint64_t)(uintptr_t)site->pool_frame),
            .part = ST_FOREIGN_PART_NONE,
            .op = ST_OP_GET,
            .name = name,
        };
        uint32_t made;
        if (!watch_create_object(table, &spec, &made))
            return false;
        ST_STORE(pool_body(table, made)->pool.creator_pid, (int32_t)st_self_pid);
        building.pid = st_self_pid;
        building.frame = site->pool_frame;
        building.slot = made;
        building.part_count = 0;
    }
    if (building.part_count < POOL_PARTS)
        building.parts[building.part_count++] = part;
    *slot = building.slot;
    return true;
}

bool pool_pipe_made(st_table *table, const py_site *site, uint32_t *slot, pool_end *reader, pool_end *writer)
{
    if (!pool_object(table, site, "pipe", slot))
        return false;
    if (strcmp(site->outer_attr, "inqueue") == 0) {
        *reader = POOL_END_TASK_READER;
        *writer = POOL_END_TASK_WRITER;
        return true;
    }
    if (strcmp(site->outer_attr, "outqueue") == 0) {
        *reader = POOL_END_RESULT_READER;
        *writer = POOL_END_RESULT_WRITER;
        return true;
    }
    return false;                    /* the change notifier: wakes a thread, carries nothing counted */
}

bool pool_lock_made(st_table *table, const py_site *site, uint64_t key, tracked_object *t)
{
    uint32_t slot;
    if (!pool_object(table, site, site->attr1, &slot))
        return false;
    bool getter = strcmp(site->attr1, "_rlock") == 0;
    unsigned op = getter ? ST_OP_GET : ST_OP_PUT;
    bool task_or_result = strcmp(site->outer_attr, "inqueue") == 0 || strcmp(site->outer_attr, "outqueue") == 0;
    /* Listed (for spawned workers, which open them by name) as room allows:
     * the first member is the pool's own key, then the four locks the
     * workers use; the change notifier's stay this process's (and its fork
     * children's) only. */
    if (task_or_result)
        watch_add_member(table, slot, key, ST_FOREIGN_PART_NONE, op, 0, 0);
    watch_bind(table, t, slot, ST_FOREIGN_PART_NONE, op);
    if (getter && strcmp(site->outer_attr, "inqueue") == 0)
        t->roles = ROLE_POOL_TASK_LOCK;
    return true;
}

/* ---- counting ---- */

/* The worker's maxtasks, once (when Python can be asked: the first take of
 * _inqueue._rlock is a sem_trywait made with the GIL held). */
static void worker_ask(void)
{
    if (worker.asked || !python_active())
        return;
    worker.asked = true;
    long maxtasks = python_pool_worker_maxtasks();
    worker.maxtasks = maxtasks > 0 ? (uint64_t)maxtasks : 0;
}

static void worker_seen(st_foreign_body *b, uint32_t slot)
{
    if (worker.pid != st_self_pid) {
        worker.pid = st_self_pid;
        worker.slot = slot;
        worker.stopped = worker.asked = false;
        worker.maxtasks = worker.completed = worker.task_start = 0;
        ST_ATOMIC_ADD(b->pool.workers_started, 1u);
    }
    worker_ask();
}

void pool_task_reader(st_table *table, uint32_t slot)
{
    st_foreign_body *b = pool_body(table, slot);
    if (ST_LOAD(b->pool.creator_pid) != (int32_t)st_self_pid)
        worker_seen(b, slot);
}

void pool_task_lock_taken(tracked_object *t)
{
    st_foreign_body *b = t->body;
    if (ST_LOAD(b->pool.creator_pid) == (int32_t)st_self_pid)
        ST_STORE(b->pool.terminated, 1);      /* _help_stuff_finish: terminate() */
    else
        worker_seen(b, t->slot);
}

/* Whether a pickle is None: PROTO n, NONE, STOP (protocol 2 and later), or
 * NONE, STOP. */
static bool pickled_none(const uint8_t *head, size_t have, uint64_t size)
{
    if (size == 4 && have >= 4)
        return head[0] == 0x80 && head[2] == 'N' && head[3] == '.';
    return size == 2 && have >= 2 && head[0] == 'N' && head[1] == '.';
}

/* Skip one pickled integer at head[*at]; false if it is not one. */
static bool skip_int(const uint8_t *head, size_t have, size_t *at)
{
    if (*at >= have)
        return false;
    switch (head[*at]) {
    case 'K':                        /* BININT1 */
        *at += 2;
        return true;
    case 'M':                        /* BININT2 */
        *at += 3;
        return true;
    case 'J':                        /* BININT4 */
        *at += 5;
        return true;
    case 0x8a:                       /* LONG1: a length byte, then that many */
        if (*at + 1 >= have)
            return false;
        *at += 2u + head[*at + 1];
        return true;
    default:
        return false;
    }
}

/* Whether a result (job, i, (success, value)) says success is False: after
 * PROTO and FRAME, the two integers, then NEWTRUE (0x88) or NEWFALSE (0x89). */
static bool result_failed(const uint8_t *head, size_t have)
{
    size_t at = 0;
    if (have >= 2 && head[0] == 0x80)
        at = 2;
    if (at < have && head[at] == 0x95)   /* FRAME and its 8-byte length */
        at += 9;
    if (!skip_int(head, have, &at) || !skip_int(head, have, &at))
        return false;
    return at < have && head[at] == 0x89;
}

void pool_message(st_table *table, uint32_t slot, pool_end end, const uint8_t *head, size_t have, uint64_t size)
{
    st_foreign_body *b = pool_body(table, slot);
    watch_register_if_new(table);
    bool sentinel = pickled_none(head, have, size);
    switch (end) {
    case POOL_END_TASK_WRITER:
        if (!sentinel)
            ST_ATOMIC_ADD(b->parts[0].releases, 1u);
        break;
    case POOL_END_TASK_READER:
        if (ST_LOAD(b->pool.creator_pid) == (int32_t)st_self_pid) {
            if (!sentinel)
                ST_ATOMIC_ADD(b->pool.tasks_discarded, 1u);
            break;
        }
        worker_seen(b, slot);
        if (sentinel) {
            if (!worker.stopped) {
                worker.stopped = true;
                ST_ATOMIC_ADD(b->pool.workers_stopped, 1u);
            }
            break;
        }
        ST_ATOMIC_ADD(b->parts[0].acquisitions, 1u);
        worker.task_start = ticks_now();
        break;
    case POOL_END_RESULT_WRITER:
        if (sentinel)
            break;
        if (worker.pid == st_self_pid && worker.slot == slot && worker.task_start != 0) {
            uint64_t now = ticks_now();
            uint64_t ns = now > worker.task_start ? ticks_to_ns(now - worker.task_start) : 0;
            worker.task_start = 0;
            ST_ATOMIC_ADD(b->pool.task_ns_total, ns);
            uint64_t seen = ST_LOAD(b->pool.task_ns_max);
            while (ns > seen && !__atomic_compare_exchange_n(&b->pool.task_ns_max, &seen, ns, true,
                                                             __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
            }
        }
        ST_ATOMIC_ADD(b->parts[1].releases, 1u);
        if (worker.pid == st_self_pid && worker.slot == slot && !worker.stopped && worker.maxtasks != 0 &&
            ++worker.completed >= worker.maxtasks) {
            /* Its last task (worker()'s loop ends): it leaves, and the
             * pool starts another in its place. */
            worker.stopped = true;
            ST_ATOMIC_ADD(b->pool.workers_replaced, 1u);
            ST_ATOMIC_ADD(b->pool.workers_stopped, 1u);
        }
        break;
    case POOL_END_RESULT_READER:
        if (sentinel)
            break;
        ST_ATOMIC_ADD(b->parts[1].acquisitions, 1u);
        if (result_failed(head, have))
            ST_ATOMIC_ADD(b->pool.tasks_failed, 1u);
        break;
    case POOL_END_NONE:
        break;
    }
}
