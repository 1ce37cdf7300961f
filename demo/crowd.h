/* crowd.h - a crowd of clients sharing a few slots through one semaphore:
 * the engine of the `semaphore` lesson (3 download slots for 10 downloads)
 * and the `pool-db` lesson (5 database connections for 10 users), which
 * differ only in their story (crowd_story).
 */
#ifndef SYNCTOP_DEMO_CROWD_H
#define SYNCTOP_DEMO_CROWD_H

#include <stdint.h>

#include "lessons.h"

struct crowd_story {
    const char *manager;          /* the lesson's own process: "download-manager" */
    const char *semaphore;        /* "download-slots" */
    uint32_t slots;               /* its initial value: at most this many at once */
    int clients;                  /* how many compete (at most CROWD_MAX_CLIENTS) */
    const char *client_prefix;    /* "download" -> "download-1" ... */
    const char *client_role;      /* "download" */
    const char *slot_word;        /* "slot", "connection" */
    const char *doing;            /* "downloading", "querying" */
    int64_t work_min_ms, work_max_ms;   /* holding a slot */
    int64_t rest_min_ms, rest_max_ms;   /* between two turns */
};

#define CROWD_MAX_CLIENTS 16

/* Run the lesson: fork the clients, report once a second, check that never
 * more than story->slots held a slot at once (by the clients' own count and
 * by the semaphore's peak_in_use), stop and reap everyone. Returns the exit
 * status. */
int crowd_run(const struct lesson_options *opts, const struct crowd_story *story);

#endif
