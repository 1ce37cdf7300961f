/* deadlock.c - wait-for cycle detection (see deadlock.h). */
#include "deadlock.h"

#include <stdlib.h>

/* Edges sorted by waiter pid, so "what is this holder blocked on" is a
 * binary search; ties keep the first edge. */
typedef struct {
    const st_waitfor_edge *edges;
    const uint32_t *by_waiter;   /* edge indices sorted by waiter */
    size_t n;
} graph;

static int compare_by_waiter(const void *a, const void *b, void *context)
{
    const st_waitfor_edge *edges = context;
    const st_waitfor_edge *x = &edges[*(const uint32_t *)a];
    const st_waitfor_edge *y = &edges[*(const uint32_t *)b];
    if (x->waiter != y->waiter)
        return x->waiter < y->waiter ? -1 : 1;
    return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* The edge whose waiter is pid, or UINT32_MAX. */
static uint32_t edge_of(const graph *g, pid_t pid)
{
    size_t low = 0, high = g->n;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        if (g->edges[g->by_waiter[mid]].waiter < pid)
            low = mid + 1;
        else
            high = mid;
    }
    if (low < g->n && g->edges[g->by_waiter[low]].waiter == pid)
        return g->by_waiter[low];
    return UINT32_MAX;
}

enum { UNSEEN = 0 };

size_t st_waitfor_find_cycles(const st_waitfor_edge *edges, size_t n, uint32_t *scratch,
                              st_waitfor_cycle *out, size_t max)
{
    if (n == 0)
        return 0;
    uint32_t *by_waiter = scratch;
    uint32_t *walk_of = scratch + n;   /* which walk first reached an edge; 0 = none */
    for (size_t i = 0; i < n; i++) {
        by_waiter[i] = (uint32_t)i;
        walk_of[i] = UNSEEN;
    }
    qsort_r(by_waiter, n, sizeof *by_waiter, compare_by_waiter, (void *)edges);
    graph g = { edges, by_waiter, n };

    size_t found = 0;
    for (size_t start = 0; start < n; start++) {
        uint32_t walk = (uint32_t)start + 1;
        if (walk_of[start] != UNSEEN || edge_of(&g, edges[start].waiter) != start)
            continue;   /* already walked, or a duplicate edge of its waiter */
        uint32_t e = (uint32_t)start;
        while (e != UINT32_MAX && walk_of[e] == UNSEEN) {
            walk_of[e] = walk;
            e = edge_of(&g, edges[e].holder);
        }
        if (e == UINT32_MAX || walk_of[e] != walk)
            continue;   /* ran off the graph, or into an earlier walk */
        /* e is on a cycle found by this walk: go round it once. */
        if (found < max) {
            st_waitfor_cycle *cycle = &out[found];
            cycle->length = 0;
            uint32_t member = e;
            do {
                if (cycle->length < ST_WAITFOR_MAX_CYCLE)
                    cycle->members[cycle->length] = member;
                cycle->length++;
                member = edge_of(&g, edges[member].holder);
            } while (member != e && cycle->length <= n);
        }
        found++;
    }
    return found;
}
