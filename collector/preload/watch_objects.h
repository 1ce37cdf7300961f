/* watch_objects.h - meeting a libc object: deciding what it is and which
 * foreign object counts it (watch_objects.c). Every function here runs off
 * the fast path, at most once per object and process, and keeps errno. */
#ifndef SYNCTOP_PRELOAD_WATCH_OBJECTS_H
#define SYNCTOP_PRELOAD_WATCH_OBJECTS_H

#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>
#include "preload/preload.h"

typedef enum watched_kind {
    WATCH_SEM,
    WATCH_MUTEX,
    WATCH_COND,
} watched_kind;

/* A process-shared object was just initialised at address by the code at
 * caller (sem_init, pthread_mutex_init, pthread_cond_init). */
tracked_object *watch_created(const void *address, watched_kind kind, const void *caller, uint32_t initial);

/* A process-shared object the map does not know is being used. */
tracked_object *watch_discover(const void *address, watched_kind kind);

/* sem_open(name, oflag[, mode, value]) returned sem. */
void watch_opened(sem_t *sem, const char *name, int oflag, unsigned value);

/* A private object that looks process-shared (glibc marks every robust
 * mutex so): never watch it. */
void watch_ignore(const void *address);

/* sem_close / sem_destroy / pthread_*_destroy: the address is free again. */
void watch_forget(const void *address, bool opened);

/* In a fork child: a composite being assembled belongs to the parent. */
void watch_objects_after_fork(void);

/* The watched entry for a shared object (looked up, or met now); NULL
 * when it is not watched. */
static inline tracked_object *track(const void *address, watched_kind kind)
{
    tracked_object *t = tracked_find(address);
    if (__builtin_expect(t != NULL, 1))
        return t->body ? t : NULL;
    return watch_discover(address, kind);
}

#endif
