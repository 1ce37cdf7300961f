/* deadlock.h - finding wait-for cycles.
 *
 * The wait-for graph has an edge waiter -> holder for every process blocked
 * on an object that has a holder (a Lock's "holder", an RLock's "owner").
 * A process blocks on one thing at a time, so every node has at most one
 * outgoing edge: the graph is functional, and each weakly connected part
 * holds at most one cycle. One walk per node, with colouring, finds them
 * all in linear time.
 */
#ifndef SYNCTOP_DEADLOCK_H
#define SYNCTOP_DEADLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct st_waitfor_edge {
    pid_t waiter;
    pid_t holder;
    uint32_t object;       /* what the waiter is blocked on (slot index) */
} st_waitfor_edge;

/* A cycle, as indices into the edge array, in wait order:
 * edges[members[i]].holder == edges[members[i + 1]].waiter. */
#define ST_WAITFOR_MAX_CYCLE 16
typedef struct st_waitfor_cycle {
    uint32_t length;       /* may exceed ST_WAITFOR_MAX_CYCLE; members holds the first ones */
    uint32_t members[ST_WAITFOR_MAX_CYCLE];
} st_waitfor_cycle;

/* Find the cycles among n edges (at most one edge per waiter; duplicates
 * beyond the first are ignored). Writes up to max cycles, returns how many
 * exist. scratch must hold 2 * n uint32_t. Edges are not modified. */
size_t st_waitfor_find_cycles(const st_waitfor_edge *edges, size_t n, uint32_t *scratch,
                              st_waitfor_cycle *out, size_t max);

#endif
