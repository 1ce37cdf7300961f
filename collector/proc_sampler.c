/* proc_sampler.c - /proc figures for the model, read through libproc2.
 *
 * The system figures are one procps_stat_select() and one
 * procps_meminfo_select() per call (never the *_get calls, which cache for a
 * wall-clock second), plus procps_loadavg() and procps_uptime(); the busy CPU
 * share is the delta of STAT_TIC_SUM_BUSY over STAT_TIC_SUM_TOTAL since the
 * previous call, kept here; the same per CPU from one procps_stat_reap() of
 * the cpuN lines.
 *
 * For processes there are two ways to read a list of PIDs, and neither wins
 * everywhere. procps_pids_select() reads only the PIDs asked for, but each
 * one costs several files (stat, statm, status and a stat() of the
 * directory) and at most 255 PIDs fit in one call; procps_pids_reap() walks
 * every task on the machine, so it costs the same (~16 ms on a machine with
 * ~1000 tasks) whether we want 10 PIDs or 1000. Each call therefore counts
 * the distinct PIDs it was given and picks select below
 * ST_PROC_SAMPLER_REAP_THRESHOLD, reap above. The two paths give the same
 * answers: results are matched by PIDS_ID_PID, not by position (an exited PID
 * is silently absent from a select), and a thread id that select would
 * happily report under its own number is dropped because reap never lists it.
 *
 * CPU % is computed here, not with PIDS_TICS_ALL_DELTA: libproc2 keys that
 * history by PID only, so a new process shows its lifetime ticks as one
 * "delta" and a recycled PID inherits a stranger's history. We remember
 * (pid, start_ticks, utime+stime ticks, CLOCK_MONOTONIC time) for every
 * process found in the last call, in an array sorted by PID; a process gets a
 * CPU figure only when the previous call saw the same PID with the same start
 * time. Entries of processes not found in the latest call are dropped, so the
 * history is never larger than the last list, and duplicate PIDs in a list
 * are read once so they cannot shadow each other's delta.
 *
 * libproc2 owns its result stacks and strings and reuses them on the next
 * call: everything we keep is copied out. Results are read with our own
 * accessor rather than PIDS_VAL, whose arity changed between 4.0.4 and 4.0.5.
 * Nothing here is thread-safe; the caller keeps a sampler in one thread.
 */
#include "proc_sampler.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libproc2/meminfo.h>
#include <libproc2/misc.h>
#include <libproc2/pids.h>
#include <libproc2/stat.h>

/* procps_pids_select() refuses more than this many PIDs per call (EINVAL). */
#define SELECT_BATCH_MAX 255

/* The items read per process; the enum gives each one's index in a stack. */
enum {
    ITEM_PID,
    ITEM_TGID,
    ITEM_STATE,
    ITEM_TICS,
    ITEM_BEGAN,
    ITEM_RES,
    ITEM_COUNT
};

static const enum pids_item process_items[ITEM_COUNT] = {
    [ITEM_PID] = PIDS_ID_PID,        /* s_int */
    [ITEM_TGID] = PIDS_ID_TGID,      /* s_int */
    [ITEM_STATE] = PIDS_STATE,       /* s_ch */
    [ITEM_TICS] = PIDS_TICS_ALL,     /* ull_int: utime + stime */
    [ITEM_BEGAN] = PIDS_TICS_BEGAN,  /* ull_int */
    /* Resident pages from /proc/PID/stat: the same figure as statm's (and
     * ps's) resident size once multiplied by the page size, without
     * opening a second file per process (PIDS_MEM_RES reads statm: a reap
     * of 1100 tasks takes 24 ms with it, 17 ms without). */
    [ITEM_RES] = PIDS_RSS,           /* ul_int, pages */
};

/* One process as read in the current call. */
typedef struct raw_sample {
    pid_t pid;
    char state;
    uint64_t ticks;
    uint64_t began;
    uint64_t rss_pages;
    uint64_t when_ns;
    bool cpu_known;
    double cpu_percent;
} raw_sample;

/* What we remember of a process between calls. */
typedef struct history_entry {
    pid_t pid;
    uint64_t began;
    uint64_t ticks;
    uint64_t when_ns;
} history_entry;

struct st_proc_sampler {
    struct pids_info *pids;
    struct stat_info *stat;
    struct meminfo_info *meminfo;
    long hertz;
    uint64_t page_size;

    bool have_sys;
    uint64_t sys_busy;
    uint64_t sys_total;
    double sys_cpu_percent;

    /* Per-CPU baselines, indexed by CPU id (STAT_TIC_ID). */
    bool cpu_seen[ST_MAX_CPUS];
    uint64_t cpu_busy[ST_MAX_CPUS];
    uint64_t cpu_total[ST_MAX_CPUS];
    double cpu_percent[ST_MAX_CPUS];

    /* Per-call scratch, reused. */
    unsigned *wanted;          /* distinct PIDs > 0 of the call, ascending */
    size_t wanted_cap;
    raw_sample *raw;           /* what was found, ascending by pid */
    size_t raw_len;
    size_t raw_cap;

    /* History, ascending by pid; next is the buffer the call builds. */
    history_entry *hist;
    size_t hist_len;
    size_t hist_cap;
    history_entry *next;
    size_t next_cap;

    const char *strategy;
};

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Make buf hold at least need elements of size elem; *moved is the buffer
 * to use from now on (buf itself, or where realloc moved it). False when out
 * of memory, with buf untouched. Grows geometrically; gives memory back when
 * a much shorter list follows a long one. */
static bool reserve(void *buf, size_t *cap, size_t need, size_t elem, void **moved)
{
    *moved = buf;
    if (need <= *cap) {
        if (*cap > 1024 && need < *cap / 4) {
            size_t smaller = need < 512 ? 512 : need * 2;
            void *p = realloc(buf, smaller * elem);
            if (p) {   /* a failed shrink is harmless */
                *moved = p;
                *cap = smaller;
            }
        }
        return true;
    }
    size_t ncap = *cap ? *cap * 2 : 64;
    if (ncap < need)
        ncap = need;
    if (ncap > SIZE_MAX / elem)
        return false;
    void *p = realloc(buf, ncap * elem);
    if (!p)
        return false;
    *moved = p;
    *cap = ncap;
    return true;
}

static int cmp_unsigned(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return (x > y) - (x < y);
}

static int cmp_raw(const void *a, const void *b)
{
    pid_t x = ((const raw_sample *)a)->pid, y = ((const raw_sample *)b)->pid;
    return (x > y) - (x < y);
}

static bool wanted_contains(const st_proc_sampler *s, size_t m, unsigned pid)
{
    size_t lo = 0, hi = m;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->wanted[mid] == pid)
            return true;
        if (s->wanted[mid] < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static const raw_sample *raw_find(const st_proc_sampler *s, pid_t pid)
{
    size_t lo = 0, hi = s->raw_len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->raw[mid].pid == pid)
            return &s->raw[mid];
        if (s->raw[mid].pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Our accessor for a pids stack (instead of PIDS_VAL, pitfall 8): the result
 * at index idx, or NULL if the stack does not hold the item we asked for
 * there. */
static const struct pids_result *stack_item(const struct pids_stack *stack, int idx)
{
    if (!stack || !stack->head || stack->head[idx].item != process_items[idx])
        return NULL;
    return &stack->head[idx];
}

/* Copy one stack into s->raw if it is a process we asked for. Returns false
 * if the stack is not laid out as requested. */
static bool take_stack(st_proc_sampler *s, const struct pids_stack *stack, size_t m,
                       uint64_t when_ns)
{
    const struct pids_result *pid = stack_item(stack, ITEM_PID);
    const struct pids_result *tgid = stack_item(stack, ITEM_TGID);
    const struct pids_result *state = stack_item(stack, ITEM_STATE);
    const struct pids_result *ticks = stack_item(stack, ITEM_TICS);
    const struct pids_result *began = stack_item(stack, ITEM_BEGAN);
    const struct pids_result *res = stack_item(stack, ITEM_RES);
    if (!pid || !tgid || !state || !ticks || !began || !res)
        return false;
    /* A thread id is reported by select under its own number; reap never
     * lists it. Ask for processes only, so both paths agree (pitfall 6). */
    if (pid->result.s_int <= 0 || pid->result.s_int != tgid->result.s_int)
        return true;
    if (!wanted_contains(s, m, (unsigned)pid->result.s_int))
        return true;
    if (s->raw_len >= s->raw_cap)   /* cannot happen: each wanted PID once */
        return true;
    raw_sample *r = &s->raw[s->raw_len++];
    r->pid = (pid_t)pid->result.s_int;
    r->state = (char)state->result.s_ch;
    r->ticks = (uint64_t)ticks->result.ull_int;
    r->began = (uint64_t)began->result.ull_int;
    r->rss_pages = (uint64_t)res->result.ul_int;
    r->when_ns = when_ns;
    r->cpu_known = false;
    r->cpu_percent = 0.0;
    return true;
}

static st_result fetch_select(st_proc_sampler *s, size_t m)
{
    for (size_t off = 0; off < m; off += SELECT_BATCH_MAX) {
        size_t count = m - off < SELECT_BATCH_MAX ? m - off : SELECT_BATCH_MAX;
        uint64_t before = monotonic_ns();
        struct pids_fetch *fetch =
            procps_pids_select(s->pids, s->wanted + off, (int)count, PIDS_SELECT_PID);
        uint64_t after = monotonic_ns();
        if (!fetch || !fetch->counts)
            return errno == ENOMEM ? ST_ENOMEM : ST_ESYSTEM;
        uint64_t when = before + (after - before) / 2;
        for (int i = 0; i < fetch->counts->total; i++)
            if (!take_stack(s, fetch->stacks[i], m, when))
                return ST_ESYSTEM;
    }
    return ST_OK;
}

static st_result fetch_reap(st_proc_sampler *s, size_t m)
{
    uint64_t before = monotonic_ns();
    struct pids_fetch *fetch = procps_pids_reap(s->pids, PIDS_FETCH_TASKS_ONLY);
    uint64_t after = monotonic_ns();
    if (!fetch || !fetch->counts)
        return errno == ENOMEM ? ST_ENOMEM : ST_ESYSTEM;
    uint64_t when = before + (after - before) / 2;
    for (int i = 0; i < fetch->counts->total; i++)
        if (!take_stack(s, fetch->stacks[i], m, when))
            return ST_ESYSTEM;
    return ST_OK;
}

st_result st_proc_sampler_new(st_proc_sampler **out)
{
    if (!out)
        return ST_EINVAL;
    *out = NULL;
    st_proc_sampler *s = calloc(1, sizeof *s);
    if (!s)
        return ST_ENOMEM;
    s->strategy = "select";
    s->hertz = procps_hertz_get();
    if (s->hertz <= 0)
        s->hertz = sysconf(_SC_CLK_TCK);
    if (s->hertz <= 0)
        s->hertz = 100;
    long page = sysconf(_SC_PAGESIZE);
    s->page_size = page > 0 ? (uint64_t)page : 4096u;

    enum pids_item items[ITEM_COUNT];
    memcpy(items, process_items, sizeof items);
    if (procps_pids_new(&s->pids, items, ITEM_COUNT) < 0 || procps_stat_new(&s->stat) < 0 ||
        procps_meminfo_new(&s->meminfo) < 0) {
        st_result rc = errno == ENOMEM ? ST_ENOMEM : ST_ESYSTEM;
        st_proc_sampler_free(s);
        return rc;
    }
    *out = s;
    return ST_OK;
}

void st_proc_sampler_free(st_proc_sampler *sampler)
{
    if (!sampler)
        return;
    if (sampler->pids)
        procps_pids_unref(&sampler->pids);
    if (sampler->stat)
        procps_stat_unref(&sampler->stat);
    if (sampler->meminfo)
        procps_meminfo_unref(&sampler->meminfo);
    free(sampler->wanted);
    free(sampler->raw);
    free(sampler->hist);
    free(sampler->next);
    free(sampler);
}

/* Busy share of each online CPU since the previous call, into
 * out->cpu_percent_per_cpu (in /proc/stat order). One procps_stat_reap()
 * of the CPU lines; the same delta rules as the total below, kept per CPU
 * id so a CPU going offline does not shift the others' baselines. A failed
 * reap leaves per_cpu_count at 0: the total still stands. */
static void sample_per_cpu(st_proc_sampler *sampler, st_system_view *out)
{
    out->per_cpu_count = 0;
    enum stat_item items[] = { STAT_TIC_ID, STAT_TIC_SUM_BUSY, STAT_TIC_SUM_TOTAL };
    struct stat_reaped *reaped = procps_stat_reap(sampler->stat, STAT_REAP_CPUS_ONLY, items, 3);
    if (!reaped || !reaped->cpus || !reaped->cpus->stacks)
        return;
    for (int i = 0; i < reaped->cpus->total && out->per_cpu_count < ST_MAX_CPUS; i++) {
        const struct stat_stack *stack = reaped->cpus->stacks[i];
        if (!stack || !stack->head || stack->head[0].item != STAT_TIC_ID ||
            stack->head[1].item != STAT_TIC_SUM_BUSY || stack->head[2].item != STAT_TIC_SUM_TOTAL)
            return;
        int id = stack->head[0].result.s_int;
        if (id < 0 || id >= ST_MAX_CPUS)
            continue;
        uint64_t busy = (uint64_t)stack->head[1].result.ull_int;
        uint64_t total = (uint64_t)stack->head[2].result.ull_int;
        double pct = sampler->cpu_percent[id];
        bool rebase = true;
        if (!sampler->cpu_seen[id]) {
            pct = total ? (double)busy * 100.0 / (double)total : 0.0;
        } else if (total > sampler->cpu_total[id]) {
            uint64_t dtotal = total - sampler->cpu_total[id];
            uint64_t dbusy = busy > sampler->cpu_busy[id] ? busy - sampler->cpu_busy[id] : 0;
            if (dbusy > dtotal)
                dbusy = dtotal;
            pct = (double)dbusy * 100.0 / (double)dtotal;
        } else if (total == sampler->cpu_total[id]) {
            rebase = false;
        }
        if (pct < 0.0)
            pct = 0.0;
        if (pct > 100.0)
            pct = 100.0;
        sampler->cpu_percent[id] = pct;
        if (rebase) {
            sampler->cpu_seen[id] = true;
            sampler->cpu_busy[id] = busy;
            sampler->cpu_total[id] = total;
        }
        out->cpu_percent_per_cpu[out->per_cpu_count++] = pct;
    }
}

st_result st_proc_sampler_system(st_proc_sampler *sampler, st_system_view *out)
{
    if (!sampler || !out)
        return ST_EINVAL;

    enum stat_item stat_items[] = { STAT_TIC_SUM_BUSY, STAT_TIC_SUM_TOTAL };
    struct stat_stack *ss = procps_stat_select(sampler->stat, stat_items, 2);
    if (!ss || !ss->head || ss->head[0].item != STAT_TIC_SUM_BUSY ||
        ss->head[1].item != STAT_TIC_SUM_TOTAL)
        return ST_ESYSTEM;
    uint64_t busy = (uint64_t)ss->head[0].result.ull_int;
    uint64_t total = (uint64_t)ss->head[1].result.ull_int;

    enum meminfo_item mem_items[] = { MEMINFO_MEM_TOTAL, MEMINFO_MEM_AVAILABLE };
    struct meminfo_stack *ms = procps_meminfo_select(sampler->meminfo, mem_items, 2);
    if (!ms || !ms->head || ms->head[0].item != MEMINFO_MEM_TOTAL ||
        ms->head[1].item != MEMINFO_MEM_AVAILABLE)
        return ST_ESYSTEM;

    st_system_view v;
    memset(&v, 0, sizeof v);
    v.mem_total_bytes = (uint64_t)ms->head[0].result.ul_int * 1024u;
    v.mem_available_bytes = (uint64_t)ms->head[1].result.ul_int * 1024u;
    if (procps_loadavg(&v.load[0], &v.load[1], &v.load[2]) < 0)
        return ST_ESYSTEM;
    double idle_s;
    if (procps_uptime(&v.uptime_s, &idle_s) < 0)
        return ST_ESYSTEM;
    long cpus = procps_cpu_count();
    v.cpus = cpus > 0 ? (uint32_t)cpus : 1;

    /* Busy share since the previous call. Totals that did not move (a call
     * within one tick) leave the baseline alone and repeat the last figure;
     * totals that went backwards (CPUs taken offline) restart the baseline. */
    double pct = sampler->sys_cpu_percent;
    bool rebase = true;
    if (!sampler->have_sys) {
        pct = total ? (double)busy * 100.0 / (double)total : 0.0;
    } else if (total > sampler->sys_total) {
        uint64_t dtotal = total - sampler->sys_total;
        /* iowait can run backwards, so busy (total - idle - iowait) can too. */
        uint64_t dbusy = busy > sampler->sys_busy ? busy - sampler->sys_busy : 0;
        if (dbusy > dtotal)
            dbusy = dtotal;
        pct = (double)dbusy * 100.0 / (double)dtotal;
    } else if (total == sampler->sys_total) {
        rebase = false;
    }
    if (pct < 0.0)
        pct = 0.0;
    if (pct > 100.0)
        pct = 100.0;
    v.cpu_percent = pct;

    sampler->sys_cpu_percent = pct;
    if (rebase) {
        sampler->have_sys = true;
        sampler->sys_busy = busy;
        sampler->sys_total = total;
    }
    sample_per_cpu(sampler, &v);
    *out = v;
    return ST_OK;
}

st_result st_proc_sampler_processes(st_proc_sampler *sampler, const pid_t *pids, size_t n,
                                    st_proc_sample *out)
{
    if (!sampler)
        return ST_EINVAL;
    if (n > 0 && (!pids || !out))
        return ST_EINVAL;
    for (size_t i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].pid = pids[i];
    }

    /* The distinct PIDs worth asking for, ascending. */
    void *moved;
    if (!reserve(sampler->wanted, &sampler->wanted_cap, n, sizeof *sampler->wanted, &moved))
        return ST_ENOMEM;
    sampler->wanted = moved;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (pids[i] > 0)
            sampler->wanted[m++] = (unsigned)pids[i];
    if (m > 1) {
        qsort(sampler->wanted, m, sizeof *sampler->wanted, cmp_unsigned);
        size_t w = 1;
        for (size_t r = 1; r < m; r++)
            if (sampler->wanted[r] != sampler->wanted[w - 1])
                sampler->wanted[w++] = sampler->wanted[r];
        m = w;
    }

    if (!reserve(sampler->raw, &sampler->raw_cap, m, sizeof *sampler->raw, &moved))
        return ST_ENOMEM;
    sampler->raw = moved;
    if (!reserve(sampler->next, &sampler->next_cap, m, sizeof *sampler->next, &moved))
        return ST_ENOMEM;
    sampler->next = moved;
    sampler->raw_len = 0;

    st_result rc = ST_OK;
    if (m < ST_PROC_SAMPLER_REAP_THRESHOLD) {
        sampler->strategy = "select";
        if (m > 0)   /* a select of no PIDs is EINVAL */
            rc = fetch_select(sampler, m);
    } else {
        sampler->strategy = "reap";
        rc = fetch_reap(sampler, m);
    }
    if (rc != ST_OK) {
        sampler->raw_len = 0;
        return rc;
    }

    /* Select returns its stacks in request order, reap in /proc order:
     * sort only when needed. */
    for (size_t i = 1; i < sampler->raw_len; i++) {
        if (sampler->raw[i - 1].pid > sampler->raw[i].pid) {
            qsort(sampler->raw, sampler->raw_len, sizeof *sampler->raw, cmp_raw);
            break;
        }
    }

    /* Deltas against the history (both ascending by pid: a merge), and the
     * next history, which holds exactly the processes found now. */
    size_t h = 0;
    for (size_t i = 0; i < sampler->raw_len; i++) {
        raw_sample *r = &sampler->raw[i];
        while (h < sampler->hist_len && sampler->hist[h].pid < r->pid)
            h++;
        if (h < sampler->hist_len && sampler->hist[h].pid == r->pid) {
            const history_entry *old = &sampler->hist[h];
            if (old->began == r->began && r->ticks >= old->ticks && r->when_ns > old->when_ns) {
                double secs = (double)(r->when_ns - old->when_ns) / 1e9;
                double cpu_secs = (double)(r->ticks - old->ticks) / (double)sampler->hertz;
                r->cpu_known = true;
                r->cpu_percent = cpu_secs / secs * 100.0;
            }
        }
        sampler->next[i] = (history_entry){
            .pid = r->pid, .began = r->began, .ticks = r->ticks, .when_ns = r->when_ns,
        };
    }
    history_entry *tmp = sampler->hist;
    size_t tmp_cap = sampler->hist_cap;
    sampler->hist = sampler->next;
    sampler->hist_cap = sampler->next_cap;
    sampler->hist_len = sampler->raw_len;
    sampler->next = tmp;
    sampler->next_cap = tmp_cap;

    for (size_t i = 0; i < n; i++) {
        const raw_sample *r = pids[i] > 0 ? raw_find(sampler, pids[i]) : NULL;
        if (!r)
            continue;
        out[i].found = true;
        out[i].state = r->state;
        out[i].start_ticks = r->began;
        out[i].cpu_known = r->cpu_known;
        out[i].cpu_percent = r->cpu_percent;
        out[i].rss_bytes = r->rss_pages * sampler->page_size;
    }
    return ST_OK;
}

const char *st_proc_sampler_last_strategy(const st_proc_sampler *sampler)
{
    return sampler ? sampler->strategy : "select";
}
