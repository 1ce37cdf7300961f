/* crew.c - forking, ordering about and reaping a lesson's worker processes,
 * and the lesson rhythm (see crew.h).
 *
 * Invariants: each member's two pipes have exactly one reader and one
 * writer (a member closes the ends it inherited for earlier members), so
 * EOF means what it says in both directions; every member hired is reaped
 * by crew_reap or crew_dismiss, whatever happened before.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crew.h"

void crew_init(struct crew *crew, st_table *table, const char *lesson)
{
    memset(crew, 0, sizeof *crew);
    crew->table = table;
    crew->parent = getpid();
    crew->lesson = lesson;
}

/* In a new member: close the pipe ends the parent holds for the members
 * forked before it. */
static void close_inherited_pipes(struct crew *crew)
{
    for (int i = 0; i < crew->count; i++) {
        if (crew->members[i].orders >= 0)
            close(crew->members[i].orders);
        if (crew->members[i].reports >= 0)
            close(crew->members[i].reports);
    }
}

static int member_life(struct crew *crew, struct crew_member *self, const char *role,
                       crew_main_fn fn, void *context, int number)
{
    st_result result = st_process_register(crew->table, self->name, role);
    if (result != ST_OK) {
        demo_report("st_process_register", result);
        return 1;
    }
    int status = fn(context, number, self);
    result = st_process_unregister(crew->table);
    if (result != ST_OK) {
        demo_report("st_process_unregister", result);
        status = 1;
    }
    return status;
}

int crew_hire(struct crew *crew, const char *name, const char *role, crew_main_fn fn, void *context,
              int number)
{
    if (crew->count >= CREW_MAX_MEMBERS) {
        demo_warn("more than %d processes", CREW_MAX_MEMBERS);
        return -1;
    }
    int index = crew->count;
    struct crew_member *member = &crew->members[index];
    memset(member, 0, sizeof *member);
    snprintf(member->name, sizeof member->name, "%s", name);

    int orders[2], reports[2];
    if (pipe(orders) != 0) {
        demo_warn("pipe: %s", strerror(errno));
        return -1;
    }
    if (pipe(reports) != 0) {
        demo_warn("pipe: %s", strerror(errno));
        close(orders[0]);
        close(orders[1]);
        return -1;
    }

    fflush(NULL);   /* or the child would print the parent's pending output again */
    pid_t pid = fork();
    if (pid < 0) {
        demo_warn("fork: %s", strerror(errno));
        close(orders[0]);
        close(orders[1]);
        close(reports[0]);
        close(reports[1]);
        return -1;
    }
    if (pid == 0) {
        /* The member. Should the parent die, the kernel sends us SIGTERM. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != crew->parent)
            _exit(1);   /* the parent died before prctl() took effect */
        close(orders[1]);
        close(reports[0]);
        close_inherited_pipes(crew);
        member->orders = orders[0];
        member->reports = reports[1];
        member->pid = getpid();
        int status = member_life(crew, member, role, fn, context, number);
        fflush(NULL);
        _exit(status);   /* not exit(): the parent's atexit handlers are not ours */
    }

    close(orders[0]);
    close(reports[1]);
    member->pid = pid;
    member->orders = orders[1];
    member->reports = reports[0];
    crew->count++;
    return index;
}

bool crew_order(struct crew *crew, int index, const struct crew_order *order)
{
    struct crew_member *member = &crew->members[index];
    if (member->orders < 0)
        return false;
    ssize_t n;
    do
        n = write(member->orders, order, sizeof *order);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof *order)
        return false;   /* EPIPE: the member is gone */
    member->busy = true;
    return true;
}

static void forward_stop(struct crew *crew)
{
    if (crew->stop_forwarded)
        return;
    crew->stop_forwarded = true;
    for (int i = 0; i < crew->count; i++)
        if (crew->members[i].pid > 0 && crew->members[i].busy)
            kill(crew->members[i].pid, SIGTERM);
}

enum crew_status crew_await(struct crew *crew, int index, struct crew_report *report)
{
    struct crew_member *member = &crew->members[index];
    memset(report, 0, sizeof *report);
    if (member->reports < 0)
        return report->status = CREW_GONE;
    for (;;) {
        ssize_t n = read(member->reports, report, sizeof *report);
        if (n == (ssize_t)sizeof *report)
            break;
        if (n < 0 && errno == EINTR) {
            if (demo_stop_requested())
                forward_stop(crew);
            continue;   /* the report comes as soon as the member stops */
        }
        memset(report, 0, sizeof *report);
        return report->status = CREW_GONE;   /* EOF: it exited without reporting */
    }
    member->busy = false;
    return (enum crew_status)report->status;
}

bool crew_run_orders(struct crew *crew, int count, const struct crew_order *orders,
                     struct crew_report *reports, bool *quit)
{
    int sent = 0;
    while (sent < count && crew_order(crew, sent, &orders[sent]))
        sent++;
    bool complete = sent == count;
    for (int i = 0; i < sent; i++) {
        struct crew_report report;
        enum crew_status status = crew_await(crew, i, &report);
        if (reports != NULL)
            reports[i] = report;
        if (status == CREW_DONE)
            continue;
        complete = false;
        if (status == CREW_GONE && !demo_stop_requested()) {
            demo_warn("%s quit in the middle of a round", crew->members[i].name);
            if (quit != NULL)
                *quit = true;
        }
    }
    return complete;
}

bool crew_next_order(struct crew_member *self, struct crew_order *order)
{
    for (;;) {
        if (demo_stop_requested())
            return false;
        ssize_t n = read(self->orders, order, sizeof *order);
        if (n == (ssize_t)sizeof *order)
            return true;
        if (n < 0 && errno == EINTR)
            continue;
        return false;   /* EOF: the parent sends us home */
    }
}

bool crew_report(struct crew_member *self, const struct crew_report *report)
{
    ssize_t n;
    do
        n = write(self->reports, report, sizeof *report);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof *report;
}

void crew_ask_to_stop(struct crew *crew, int index)
{
    if (crew->members[index].pid > 0)
        kill(crew->members[index].pid, SIGTERM);
}

static void close_pipes(struct crew_member *member)
{
    if (member->orders >= 0)
        close(member->orders);
    if (member->reports >= 0)
        close(member->reports);
    member->orders = member->reports = -1;
}

static bool judge_exit(struct crew_member *member, int status)
{
    if (WIFEXITED(status)) {
        member->exit_status = WEXITSTATUS(status);
        if (member->exit_status == 0)
            return true;
        demo_warn("%s exited with status %d", member->name, member->exit_status);
        return false;
    }
    if (WIFSIGNALED(status)) {
        member->exit_status = 128 + WTERMSIG(status);
        demo_warn("%s was killed by signal %d (%s)", member->name, WTERMSIG(status),
                  strsignal(WTERMSIG(status)));
    }
    return false;
}

static bool reap_until(struct crew_member *member, int64_t deadline)
{
    if (member->pid <= 0)
        return member->exit_status == 0;
    int status = 0;
    pid_t reaped;
    while ((reaped = waitpid(member->pid, &status, WNOHANG)) == 0 && demo_now_ns() < deadline)
        usleep(5000);
    bool well;
    if (reaped == 0) {
        demo_warn("%s did not stop; killing it", member->name);
        kill(member->pid, SIGKILL);
        while (waitpid(member->pid, &status, 0) < 0 && errno == EINTR)
            ;
        member->exit_status = 128 + SIGKILL;
        well = false;
    } else if (reaped < 0) {
        member->exit_status = 1;
        well = false;
    } else {
        well = judge_exit(member, status);
    }
    member->pid = 0;
    close_pipes(member);
    return well;
}

bool crew_reap(struct crew *crew, int index, int64_t timeout_ns)
{
    return reap_until(&crew->members[index], demo_now_ns() + timeout_ns);
}

bool crew_watch_until(struct crew *crew, int64_t end_ns)
{
    while (!demo_should_stop() && demo_now_ns() < end_ns) {
        int64_t next = demo_now_ns() + 100000000LL;   /* look every 0.1 s */
        demo_sleep_until(next < end_ns ? next : end_ns);
        for (int i = 0; i < crew->count; i++) {
            struct crew_member *member = &crew->members[i];
            int status;
            if (member->pid <= 0 || waitpid(member->pid, &status, WNOHANG) != member->pid)
                continue;
            member->pid = 0;
            close_pipes(member);
            bool well = judge_exit(member, status);
            if (well && demo_should_stop())
                continue;   /* it saw the end of the lesson before we did */
            if (well)
                demo_warn("%s left before the lesson ended", member->name);
            return false;
        }
    }
    return true;
}

bool crew_dismiss(struct crew *crew, int64_t timeout_ns)
{
    for (int i = 0; i < crew->count; i++) {
        struct crew_member *member = &crew->members[i];
        if (member->pid <= 0)
            continue;
        close_pipes(member);
        if (member->busy)
            kill(member->pid, SIGTERM);
    }
    bool well = true;
    int64_t deadline = demo_now_ns() + timeout_ns;
    for (int i = 0; i < crew->count; i++)
        if (!reap_until(&crew->members[i], deadline))
            well = false;
    return well;
}

/* ---- shared memory ----------------------------------------------------------- */

void *crew_shared_alloc(size_t size)
{
    void *memory = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) {
        demo_warn("mmap of %zu shared bytes: %s", size, strerror(errno));
        return NULL;
    }
    return memory;
}

void crew_shared_free(void *memory, size_t size)
{
    if (memory != NULL)
        munmap(memory, size);
}

/* ---- the lesson's own process --------------------------------------------------- */

bool lesson_open(const struct lesson_options *opts, const char *name, st_table **table)
{
    st_table_options table_options = { .session = opts->session };
    st_result result = st_table_open(&table_options, table);
    if (result != ST_OK) {
        *table = NULL;
        demo_report("st_table_open", result);
        return false;
    }
    result = st_process_register(*table, name, "lesson");
    if (result != ST_OK) {
        demo_report("st_process_register", result);
        return false;
    }
    return true;
}

void lesson_close(st_table *table)
{
    if (table == NULL)
        return;
    st_result result = st_process_unregister(table);
    if (result != ST_OK && result != ST_ENOENT)
        demo_report("st_process_unregister", result);
    st_table_close(table);
}

/* ---- rhythm --------------------------------------------------------------------- */

int64_t lesson_pace(const struct lesson_options *opts, int64_t ns)
{
    (void)opts;   /* --speed is kept by main.c */
    return demo_scaled_ns(ns);
}

void lesson_nap(const struct lesson_options *opts, int64_t ns)
{
    demo_sleep_until(demo_now_ns() + lesson_pace(opts, ns));
}

void lesson_sleep_until(int64_t deadline_ns)
{
    while (!demo_should_stop()) {
        int64_t now = demo_now_ns();
        if (now >= deadline_ns)
            return;
        /* Short slices: the end of --duration interrupts no sleep. */
        demo_sleep_until(deadline_ns - now > 50000000LL ? now + 50000000LL : deadline_ns);
    }
}

int lesson_play_rounds(lesson_round_fn play, void *context, int64_t period_ns)
{
    int played = 0;
    int64_t next = demo_now_ns();
    for (int round = 1; !demo_stop_requested(); round++) {
        if (!play(context, round))
            break;
        played++;
        if (demo_should_stop())
            break;
        next += demo_scaled_ns(period_ns);
        if (next < demo_now_ns())
            next = demo_now_ns();   /* running late: do not try to catch up */
        lesson_sleep_until(next);
        if (demo_should_stop())
            break;
    }
    return played;
}

uint32_t lesson_random(uint64_t *state, uint32_t bound)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return bound == 0 ? 0 : (uint32_t)(x % bound);
}

uint64_t lesson_seed(int number)
{
    uint64_t seed = (uint64_t)demo_now_ns() ^ ((uint64_t)getpid() << 32) ^
                    (uint64_t)number * 0x9e3779b97f4a7c15ull;
    return seed != 0 ? seed : 1;
}
