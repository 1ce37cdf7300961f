/* crew.h - the worker processes of a lesson, and the rhythm it keeps.
 *
 * Most lessons are one parent process and a crew of named children that it
 * forks once and keeps for the whole run. A crew member is either
 *
 *   free-running  its function loops on its own (a producer, a sensor) until
 *                 a stop is requested or the lesson's objects tell it to
 *                 finish (a queue shut down, an event cleared); or
 *   order-driven  its function loops on crew_next_order(): the parent sends
 *                 one order per round down a private pipe and waits for one
 *                 report per member on a second pipe (the race lesson's
 *                 pattern). Closing the order pipe sends the member home.
 *
 * Every member registers in the session under its own name before its
 * function runs and unregisters after it returns, so the dashboard lists
 * "doubler-1", "producer-2" ... exactly while they live. A member gets
 * SIGTERM should the parent die (PR_SET_PDEATHSIG), and the parent always
 * reaps every member, killing one that does not leave within the time it
 * allows.
 *
 * The rhythm: lessons wait in "beats" that --speed shortens (lesson_pace,
 * lesson_nap: main.c's demo_scaled_ns), and run until --duration has passed
 * or a stop is requested (demo_should_stop, lesson_play_rounds).
 */
#ifndef SYNCTOP_DEMO_CREW_H
#define SYNCTOP_DEMO_CREW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lessons.h"

#define CREW_MAX_MEMBERS (LESSON_MAX_WORKERS + 8)

/* One order from the parent, one report back; both fit in PIPE_BUF, so
 * each travels in one write. Their meaning is the lesson's. */
struct crew_order {
    int32_t kind;
    int32_t round;
    int64_t arg[3];
};

enum crew_status { CREW_DONE = 0, CREW_STOPPED = 1, CREW_FAILED = 2, CREW_GONE = 3 };

struct crew_report {
    int32_t status;   /* enum crew_status */
    int32_t reserved;
    int64_t value[3];
};

struct crew_member;

/* A member's function: number is the member's 1-based number within its
 * kind (the N in "doubler-N"). Returns the member's exit status. */
typedef int (*crew_main_fn)(void *context, int number, struct crew_member *self);

struct crew_member {
    char name[ST_PROCESS_NAME_MAX + 1];
    pid_t pid;          /* 0 once reaped */
    int orders;         /* parent: write end of the order pipe; member: read end */
    int reports;        /* parent: read end of the report pipe; member: write end */
    bool busy;          /* an order was sent and no report came back yet */
    int exit_status;    /* after reaping: 0-255, or 128 + signal */
};

struct crew {
    st_table *table;
    pid_t parent;
    const char *lesson;   /* the lesson's name (messages get it from demo_warn) */
    int count;
    bool stop_forwarded;
    struct crew_member members[CREW_MAX_MEMBERS];
};

/* Prepare an empty crew publishing into table. */
void crew_init(struct crew *crew, st_table *table, const char *lesson);

/* Fork a member called name (role shown beside it), running fn(context,
 * number, self) in the child. Returns its index in crew->members, or -1
 * (with a message on stderr) when it could not. */
int crew_hire(struct crew *crew, const char *name, const char *role, crew_main_fn fn, void *context,
              int number);

/* Parent: send an order to member index / wait for its report. await
 * returns CREW_GONE when the member exited without reporting. While it
 * waits, a stop request is forwarded to the busy members (SIGTERM) once. */
bool crew_order(struct crew *crew, int index, const struct crew_order *order);
enum crew_status crew_await(struct crew *crew, int index, struct crew_report *report);

/* Parent: one round of orders: send orders[i] to member i for i < count,
 * then wait for all their reports (into reports[i]; reports may be NULL).
 * True when every member reported CREW_DONE. A member that exited without
 * reporting while no stop was requested is named on stderr and sets *quit
 * (quit may be NULL). */
bool crew_run_orders(struct crew *crew, int count, const struct crew_order *orders,
                     struct crew_report *reports, bool *quit);

/* Member: the next order; false when the parent closed the pipe (go home)
 * or a stop was requested. */
bool crew_next_order(struct crew_member *self, struct crew_order *order);
bool crew_report(struct crew_member *self, const struct crew_report *report);

/* Parent: SIGTERM member index (its stop flag turns true). */
void crew_ask_to_stop(struct crew *crew, int index);

/* Parent: reap member index, waiting up to timeout_ns and then killing it.
 * Returns true when it exited with status 0 (prints why not otherwise). */
bool crew_reap(struct crew *crew, int index, int64_t timeout_ns);

/* Parent: sleep until end_ns or demo_should_stop(), watching the members.
 * Returns false (with a message) as soon as one exits on its own before
 * the end (a member that exits 0 once demo_should_stop() is true saw the
 * end first: that is fine). */
bool crew_watch_until(struct crew *crew, int64_t end_ns);

/* Parent: close every pipe, ask busy members to stop, and reap everyone
 * within timeout_ns (stragglers are killed). True when all exited 0. */
bool crew_dismiss(struct crew *crew, int64_t timeout_ns);

/* ---- memory shared with members forked afterwards ------------------------ */

/* size bytes of zeroed MAP_SHARED anonymous memory, or NULL (message
 * printed). Pages are touched only when used. */
void *crew_shared_alloc(size_t size);
void crew_shared_free(void *memory, size_t size);

/* ---- the lesson's own process ----------------------------------------------- */

/* Open the session's table and register the calling process as name
 * (role "lesson"). Prints why not and returns false on failure. */
bool lesson_open(const struct lesson_options *opts, const char *name, st_table **table);

/* Unregister the calling process and close table (NULL is a no-op). */
void lesson_close(st_table *table);

/* ---- rhythm ---------------------------------------------------------------- */

/* ns of lesson time at the chosen --speed (shorter when faster). */
int64_t lesson_pace(const struct lesson_options *opts, int64_t ns);

/* Sleep lesson_pace(ns), returning early on a stop request. */
void lesson_nap(const struct lesson_options *opts, int64_t ns);

/* Sleep until deadline_ns, returning early once demo_should_stop(). */
void lesson_sleep_until(int64_t deadline_ns);

/* Rounds, one every period_ns of lesson time (scaled by --speed; a late
 * round starts at once, without catching up), until demo_should_stop():
 * the first round runs unless a stop was requested, and the round under
 * way when --duration passes is finished. play returns false to end early.
 * Returns the rounds played to their end. */
typedef bool (*lesson_round_fn)(void *context, int round);
int lesson_play_rounds(lesson_round_fn play, void *context, int64_t period_ns);

/* A random number in [0, bound) from a per-process xorshift state. */
uint32_t lesson_random(uint64_t *state, uint32_t bound);

/* Seed for lesson_random that differs per process and run. */
uint64_t lesson_seed(int number);

#endif
