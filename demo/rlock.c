/* rlock.c - the rlock lesson: a bank transfer that takes its lock twice.
 *
 * A branch keeps ACCOUNTS accounts in shared memory, guarded by the RLock
 * "accounts-lock". transfer() takes accounts-lock and calls withdraw() and
 * deposit(), and each of those takes accounts-lock again - they must also
 * work when called on their own. With a re-entrant lock that is fine: the
 * owner re-enters, the depth goes 1 -> 2 -> 1 -> 2 -> 1, and the lock is
 * free only after the last release. Cashiers "cashier-1" .. "cashier-3"
 * (processes) transfer between random accounts; inside withdraw() each one
 * holds the lock a moment (demo_pause), so the Locks view shows DEPTH 2.
 *
 * The same transfer with a plain Lock, "accounts-plain-lock": withdraw()
 * asks for a lock its own caller already holds. Waiting would never end (a
 * self-deadlock); the Lock refuses at once with ST_EDEADLK, and the
 * transfer is abandoned with no money moved. "branch-manager" (this
 * process) tries it every round, with a timeout, so that a Lock that did
 * not detect it could not hang the lesson.
 *
 * Every round (about one every 2 s at --speed 1) the manager sends each
 * cashier TRANSFERS transfers to make and, once all reported, checks that
 * the total of all accounts is still exactly ACCOUNTS * OPENING_BALANCE.
 *
 * The claim: every round's total exact; every transfer saw the depth
 * 1 -> 2 -> 1 -> 2 -> 1 -> 0 through st_rlock_depth(); every plain-Lock
 * re-acquire refused with ST_EDEADLK; and the dashboard counts one
 * acquisition per transfer and three recursions per acquisition.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "crew.h"
#include "lessons.h"
#include "../tui/i18n.h"

#define RLOCK_NAME "accounts-lock"
#define PLAIN_LOCK_NAME "accounts-plain-lock"
#define CASHIERS 3
#define ACCOUNTS 8
#define OPENING_BALANCE 1000
#define TRANSFERS 4                 /* per cashier and round */
#define ROUND_PERIOD_NS 2000000000LL
#define SHOWN_HOLD_MS 800           /* the narrated transfer's moment at depth 2 */
#define BRIEF_HOLD_MS 40            /* every other transfer's */
#define PLAIN_TIMEOUT_NS 1000000000LL
#define DEPTH_STEPS 6               /* the depths one transfer reads */

enum order_kind { ORDER_TRANSFER = 1 };

/* Shared by the manager and every cashier (forked after it is made). */
struct branch_shared {
    volatile int64_t balance[ACCOUNTS];
    int64_t transfers;      /* completed transfers, by every cashier */
    int64_t wrong_depths;   /* transfers whose depths were not 1,2,1,2,1,0 */
};

struct branch {
    const struct lesson_options *opts;
    st_table *table;
    st_rlock *rlock;
    st_lock *plain;
    struct branch_shared *shared;
    struct crew crew;
    bool hired;
    bool failed;
    int rounds;             /* rounds played to their end */
    int wrong_totals;       /* rounds whose total was not exact */
    int plain_tries;        /* plain-Lock transfers tried */
    int plain_detected;     /* ... whose re-acquire was refused with ST_EDEADLK */
};

/* ==== the cashier (a child process) ======================================== */

/* One transfer's depth readings (st_rlock_depth after each step). */
struct depth_trace {
    uint32_t depth[DEPTH_STEPS];
    int steps;
};

static bool read_depth(st_rlock *rlock, struct depth_trace *trace)
{
    uint32_t depth = 0;
    st_result result = st_rlock_depth(rlock, &depth);
    if (result != ST_OK) {
        demo_report("st_rlock_depth(" RLOCK_NAME ")", result);
        return false;
    }
    if (trace->steps < DEPTH_STEPS)
        trace->depth[trace->steps] = depth;
    trace->steps++;
    return true;
}

static bool take_accounts_lock(st_rlock *rlock)
{
    st_result result = st_rlock_acquire(rlock, ST_FOREVER);
    if (result == ST_OK)
        return true;
    /* ST_EOWNERDEAD: a cashier died mid-transfer; the money may be
     * half-moved, which the round's total will show. */
    demo_report("st_rlock_acquire(" RLOCK_NAME ")", result);
    return false;
}

static bool give_back_accounts_lock(st_rlock *rlock)
{
    st_result result = st_rlock_release(rlock);
    if (result != ST_OK)
        demo_report("st_rlock_release(" RLOCK_NAME ")", result);
    return result == ST_OK;
}

/* Take amount out of an account; callable on its own, so it takes the
 * lock itself (the second time, when transfer() calls it). */
static bool withdraw(struct branch *branch, int account, int64_t amount, int64_t hold_ms,
                     struct depth_trace *trace)
{
    if (!take_accounts_lock(branch->rlock))
        return false;
    bool ok = read_depth(branch->rlock, trace);
    branch->shared->balance[account] -= amount;
    demo_pause(hold_ms);   /* a moment at depth 2, for the Locks view */
    return give_back_accounts_lock(branch->rlock) && ok;
}

static bool deposit(struct branch *branch, int account, int64_t amount, struct depth_trace *trace)
{
    if (!take_accounts_lock(branch->rlock))
        return false;
    bool ok = read_depth(branch->rlock, trace);
    branch->shared->balance[account] += amount;
    return give_back_accounts_lock(branch->rlock) && ok;
}

static bool depths_as_taught(const struct depth_trace *trace)
{
    static const uint32_t taught[DEPTH_STEPS] = { 1, 2, 1, 2, 1, 0 };
    return trace->steps == DEPTH_STEPS && memcmp(trace->depth, taught, sizeof taught) == 0;
}

/* Move amount from one account to another, holding accounts-lock for the
 * whole of it. shown: narrate the depths and hold long enough to watch. */
static bool transfer(struct branch *branch, const char *who, int from, int to, int64_t amount,
                     bool shown)
{
    struct depth_trace trace = { .steps = 0 };
    if (!take_accounts_lock(branch->rlock))
        return false;
    bool ok = read_depth(branch->rlock, &trace);
    if (shown)
        demo_say("%s: transfer(%" PRId64 " from account %d to %d) took " RLOCK_NAME
                 ": depth %u; withdraw() takes it again - DEPTH 2 in the Locks view now",
                 who, amount, from, to, trace.depth[0]);
    ok = withdraw(branch, from, amount, shown ? SHOWN_HOLD_MS : BRIEF_HOLD_MS, &trace) && ok;
    ok = ok && read_depth(branch->rlock, &trace);
    ok = ok && deposit(branch, to, amount, &trace);
    ok = ok && read_depth(branch->rlock, &trace);
    ok = give_back_accounts_lock(branch->rlock) && ok;
    ok = ok && read_depth(branch->rlock, &trace);
    if (!ok)
        return false;

    __atomic_add_fetch(&branch->shared->transfers, 1, __ATOMIC_SEQ_CST);
    if (!depths_as_taught(&trace))
        __atomic_add_fetch(&branch->shared->wrong_depths, 1, __ATOMIC_SEQ_CST);
    if (shown)
        demo_say("%s: depth %u -> %u (withdraw) -> %u -> %u (deposit) -> %u -> %u: "
                 "released, the transfer is done", who, trace.depth[0], trace.depth[1],
                 trace.depth[2], trace.depth[3], trace.depth[4], trace.depth[5]);
    return true;
}

static int cashier_main(void *context, int number, struct crew_member *self)
{
    struct branch *branch = context;
    uint64_t seed = lesson_seed(number);
    struct crew_order order;
    while (crew_next_order(self, &order)) {
        struct crew_report report = { .status = CREW_DONE };
        for (int64_t i = 0; i < order.arg[0]; i++) {
            if (demo_stop_requested()) {
                report.status = CREW_STOPPED;
                break;
            }
            int from = (int)lesson_random(&seed, ACCOUNTS);
            int to = (from + 1 + (int)lesson_random(&seed, ACCOUNTS - 1)) % ACCOUNTS;
            int64_t amount = 1 + (int64_t)lesson_random(&seed, 100);
            bool shown = order.arg[1] == number && i == 0;
            if (!transfer(branch, self->name, from, to, amount, shown)) {
                report.status = CREW_FAILED;
                break;
            }
            report.value[0]++;
        }
        if (!crew_report(self, &report) || report.status == CREW_FAILED)
            return report.status == CREW_FAILED ? 1 : 0;
    }
    return 0;
}

/* ==== the manager (the lesson's process) =================================== */

/* The same transfer guarded by a plain Lock: withdraw() re-acquires the
 * lock its caller holds. Returns false when a call failed otherwise. */
static bool try_plain_transfer(struct branch *branch, int round)
{
    st_result result = st_lock_acquire(branch->plain, demo_scaled_ns(PLAIN_TIMEOUT_NS));
    if (result != ST_OK) {
        demo_report("st_lock_acquire(" PLAIN_LOCK_NAME ")", result);
        return false;
    }
    /* withdraw(), with a plain Lock: the same lock, by its own holder. */
    st_result again = st_lock_acquire(branch->plain, demo_scaled_ns(PLAIN_TIMEOUT_NS));
    branch->plain_tries++;
    if (again == ST_EDEADLK) {
        branch->plain_detected++;
        if (round == 1)
            demo_say("the same transfer with the plain Lock \"" PLAIN_LOCK_NAME "\": withdraw() "
                     "asked for the lock transfer() holds - a self-deadlock, detected: %s (%s); "
                     "the transfer is abandoned, no money moved", st_result_name(again),
                     st_strerror(again));
    } else if (again == ST_OK) {
        demo_warn(PLAIN_LOCK_NAME ": its holder acquired it a second time");
        st_lock_release(branch->plain);
    } else {
        demo_warn(PLAIN_LOCK_NAME ": a re-acquire by its holder gave %s, not ST_EDEADLK%s",
                  st_result_name(again),
                  again == ST_ETIMEDOUT ? _(" (without the timeout it would hang forever)") : "");
    }
    result = st_lock_release(branch->plain);
    if (result != ST_OK) {
        demo_report("st_lock_release(" PLAIN_LOCK_NAME ")", result);
        return false;
    }
    return true;
}

static int64_t total_of_accounts(const struct branch *branch)
{
    int64_t total = 0;
    for (int i = 0; i < ACCOUNTS; i++)
        total += branch->shared->balance[i];
    return total;
}

static bool play_round(void *context, int round)
{
    struct branch *branch = context;
    struct crew_order orders[CASHIERS];
    for (int i = 0; i < CASHIERS; i++)
        orders[i] = (struct crew_order){ .kind = ORDER_TRANSFER, .round = round,
                                         .arg = { TRANSFERS, 1 + (round - 1) % CASHIERS } };
    struct crew_report reports[CASHIERS];
    memset(reports, 0, sizeof reports);
    bool quit = false;
    bool complete = crew_run_orders(&branch->crew, CASHIERS, orders, reports, &quit);
    for (int i = 0; i < CASHIERS; i++)
        if (reports[i].status == CREW_FAILED)
            branch->failed = true;
    if (quit)
        branch->failed = true;
    if (!complete)
        return false;

    int64_t total = total_of_accounts(branch);
    int64_t expected = (int64_t)ACCOUNTS * OPENING_BALANCE;
    if (total != expected) {
        branch->wrong_totals++;
        demo_warn("round %d: the accounts total %" PRId64 ", expected %" PRId64, round, total,
                  expected);
    } else {
        demo_say("round %-3d %d transfers under " RLOCK_NAME ": total of the %d accounts "
                 "%" PRId64 ": exact", round, CASHIERS * TRANSFERS, ACCOUNTS, total);
    }
    if (!try_plain_transfer(branch, round)) {
        branch->failed = true;
        return false;
    }
    branch->rounds++;
    return true;
}

static bool open_branch(struct branch *branch)
{
    if (!lesson_open(branch->opts, "branch-manager", &branch->table))
        return false;
    st_result result = st_rlock_open(branch->table, RLOCK_NAME, &branch->rlock);
    if (result != ST_OK) {
        demo_report("st_rlock_open(" RLOCK_NAME ")", result);
        return false;
    }
    result = st_lock_open(branch->table, PLAIN_LOCK_NAME, &branch->plain);
    if (result != ST_OK) {
        demo_report("st_lock_open(" PLAIN_LOCK_NAME ")", result);
        return false;
    }
    branch->shared = crew_shared_alloc(sizeof *branch->shared);
    if (branch->shared == NULL)
        return false;
    for (int i = 0; i < ACCOUNTS; i++)
        branch->shared->balance[i] = OPENING_BALANCE;
    return true;
}

static bool hire_cashiers(struct branch *branch)
{
    crew_init(&branch->crew, branch->table, demo_lesson_name());
    branch->hired = true;
    for (int i = 1; i <= CASHIERS; i++) {
        char name[ST_PROCESS_NAME_MAX + 1];
        snprintf(name, sizeof name, "cashier-%d", i);
        if (crew_hire(&branch->crew, name, "cashier", cashier_main, branch, i) < 0)
            return false;
    }
    return true;
}

/* What the dashboard shows for accounts-lock must add up: one acquisition
 * per transfer, and per acquisition three successful acquire calls. */
static int check_dashboard(const struct branch *branch, int64_t transfers)
{
    struct demo_watch watch;
    if (!demo_watch_open(&watch, branch->opts->session))
        return 1;
    uint64_t acquisitions = 0, recursions = 0;
    bool seen = demo_watch_refresh(&watch) &&
                demo_watch_u64(&watch, RLOCK_NAME, "acquisitions", &acquisitions) &&
                demo_watch_u64(&watch, RLOCK_NAME, "recursions", &recursions);
    demo_watch_close(&watch);
    if (!seen)
        return demo_claim_failed("the dashboard shows no acquisitions or recursions for "
                                 RLOCK_NAME);
    if (acquisitions != (uint64_t)transfers || recursions != 3 * acquisitions)
        return demo_claim_failed(RLOCK_NAME ": %" PRId64 " transfers, but the dashboard counts "
                                 "%" PRIu64 " acquisitions and %" PRIu64 " recursions (expected "
                                 "%" PRId64 " and %" PRId64 ")", transfers, acquisitions,
                                 recursions, transfers, 3 * transfers);
    demo_say(RLOCK_NAME ": %" PRIu64 " acquisitions, %" PRIu64 " recursions (%" PRIu64
             " re-entries by withdraw() and deposit())", acquisitions, recursions,
             recursions - acquisitions);
    return 0;
}

static int check_claim(const struct branch *branch)
{
    if (branch->failed)
        return 1;
    int64_t transfers = __atomic_load_n(&branch->shared->transfers, __ATOMIC_SEQ_CST);
    int64_t wrong_depths = __atomic_load_n(&branch->shared->wrong_depths, __ATOMIC_SEQ_CST);
    if (branch->rounds == 0) {
        demo_say("stopped before the first round finished.");
        return 0;
    }
    if (branch->wrong_totals > 0)
        return demo_claim_failed("the total of the accounts was wrong in %d of %d rounds; "
                                 RLOCK_NAME " did not keep the transfers apart",
                                 branch->wrong_totals, branch->rounds);
    if (wrong_depths > 0)
        return demo_claim_failed("%" PRId64 " of %" PRId64 " transfers did not see the depth go "
                                 "1 -> 2 -> 1 -> 2 -> 1 -> 0", wrong_depths, transfers);
    if (branch->plain_detected != branch->plain_tries)
        return demo_claim_failed("the plain Lock refused its holder's re-acquire with ST_EDEADLK "
                                 "only %d of %d times", branch->plain_detected,
                                 branch->plain_tries);
    demo_say("%d rounds, %" PRId64 " transfers: every total exact, every transfer at depth "
             "1 -> 2 -> 1; the plain Lock detected the self-deadlock %d of %d times.",
             branch->rounds, transfers, branch->plain_detected, branch->plain_tries);
    return check_dashboard(branch, transfers);
}

int lesson_rlock(const struct lesson_options *opts)
{
    struct branch branch = { .opts = opts };
    if (open_branch(&branch)) {
        demo_say("%d cashiers transfer money between %d accounts; transfer() takes the RLock "
                 "\"" RLOCK_NAME "\" and calls withdraw() and deposit(), which take it again. "
                 "Watch DEPTH in the Locks view: synctop -s %s", CASHIERS, ACCOUNTS,
                 opts->session);
        if (hire_cashiers(&branch))
            lesson_play_rounds(play_round, &branch, ROUND_PERIOD_NS);
        else
            branch.failed = true;
    } else {
        branch.failed = true;
    }
    if (branch.hired && !crew_dismiss(&branch.crew, DEMO_DISMISS_NS))
        branch.failed = true;
    int status = branch.shared != NULL ? check_claim(&branch) : 1;
    crew_shared_free(branch.shared, sizeof *branch.shared);
    st_lock_close(branch.plain);
    st_rlock_close(branch.rlock);
    lesson_close(branch.table);
    return status;
}
