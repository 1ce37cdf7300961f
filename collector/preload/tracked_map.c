/* tracked_map.c - the process's map from a libc object's address to what
 * we know of it (its object slot and part, or "ignored").
 *
 * An open-addressing hash table in private memory (a static array: no
 * malloc, its pages are committed only where entries are written, and a
 * fork child inherits a copy, so a semaphore created before fork is known
 * to the child at the same address). Lookups are
 * lock-free and touch one entry in the usual case: every interposed call on
 * a shared object makes one. Entries are written under a spin lock and
 * published by storing the address last (release); a removed entry keeps a
 * tombstone (address 1) so that probes go on past it.
 *
 *   entry = { address | slot, part, op, roles | maximum, opens | body | object }
 *
 * The map holds 64 Ki entries (2.5 MiB of address space, touched only where
 * used); probes stop after 64 entries. A full map means new objects go
 * unwatched (one warning), never that the program stops.
 */
#include "preload/preload.h"

#include <sched.h>

#define MAP_SIZE TRACKED_MAP_SIZE
#define MAP_PROBES TRACKED_MAP_PROBES
#define ADDRESS_EMPTY 0u
#define ADDRESS_REMOVED 1u

tracked_object tracked_entries[TRACKED_MAP_SIZE];
static int map_lock;

#define home_of tracked_home

static void lock_map(void)
{
    while (__atomic_exchange_n(&map_lock, 1, __ATOMIC_ACQUIRE))
        sched_yield();
}

static void unlock_map(void)
{
    __atomic_store_n(&map_lock, 0, __ATOMIC_RELEASE);
}

tracked_object *tracked_put(const void *address, const tracked_object *value)
{
    uintptr_t wanted = (uintptr_t)address;
    if (wanted <= ADDRESS_REMOVED)
        return NULL;
    lock_map();
    tracked_object *map = tracked_entries;
    tracked_object *chosen = NULL;
    if (map) {
        size_t i = home_of(wanted);
        for (unsigned probe = 0; probe < MAP_PROBES; probe++, i = (i + 1) & (MAP_SIZE - 1)) {
            uintptr_t at = map[i].address;
            if (at == wanted) {
                chosen = &map[i];      /* replace what we knew */
                break;
            }
            if (!chosen && at == ADDRESS_REMOVED)
                chosen = &map[i];
            if (at == ADDRESS_EMPTY) {
                if (!chosen)
                    chosen = &map[i];
                break;
            }
        }
    }
    if (chosen) {
        if (chosen->address != wanted)
            __atomic_store_n(&chosen->address, (uintptr_t)ADDRESS_REMOVED, __ATOMIC_RELAXED);
        chosen->slot = value->slot;
        chosen->part = value->part;
        chosen->op = value->op;
        chosen->roles = value->roles;
        chosen->maximum = value->maximum;
        chosen->opens = value->opens;
        chosen->body = value->body;
        chosen->object = value->object;
        __atomic_store_n(&chosen->address, wanted, __ATOMIC_RELEASE);
    }
    unlock_map();
    return chosen;
}

void tracked_remove(const void *address)
{
    lock_map();
    tracked_object *entry = tracked_find(address);
    if (entry)
        __atomic_store_n(&entry->address, (uintptr_t)ADDRESS_REMOVED, __ATOMIC_RELEASE);
    unlock_map();
}

void tracked_after_fork(void)
{
    /* Another thread of the parent may have held the lock at fork. */
    map_lock = 0;
}
