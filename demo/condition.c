/* condition.c - the condition lesson: a hand-off on a condition variable.
 *
 * A kitchen. The "cook" (this lesson's own process) puts orders on a
 * counter that holds at most 3; "waiter-1" and "waiter-2" take them off
 * and serve them. The counter is guarded by the lock "counter-lock", and
 * two conditions over that one lock carry the hand-off:
 *   - "order-ready": a waiter holding counter-lock waits on it until the
 *     counter has an order (st_condition_wait_for with a predicate - the
 *     loop that makes spurious and stolen wake-ups harmless); the cook
 *     notifies it after each order it puts down;
 *   - "counter-free": the cook waits on it while the counter is full; a
 *     waiter notifies it after taking an order.
 * A wait releases counter-lock while it sleeps and takes it back before it
 * returns, so the counter is only ever touched by the lock's holder. In
 * synctop: waiters blocked on order-ready (its waiters, notifies and
 * wakeups), counter-lock passed between the three, now and then the cook
 * blocked on counter-free.
 *
 * The claim: every order is handed off exactly once - none lost, none
 * served twice: once everyone stopped, the orders cooked are exactly those
 * served plus those left on the counter (by count and by the sum of their
 * numbers).
 */
#include "config.h"

#include <stdio.h>

#include "crew.h"
#include "lessons.h"

#define COUNTER_ROOM 3
#define WAITERS 2

/* The counter, in shared memory; touched only holding counter-lock. */
struct counter {
    int32_t count;
    int32_t head;                  /* index of the oldest order */
    int64_t orders[COUNTER_ROOM];  /* order numbers */
    int64_t cooked, cooked_sum;
    int64_t served, served_sum;
};

struct kitchen {
    st_lock *lock;
    st_condition *order_ready;
    st_condition *counter_free;
    struct counter *counter;
};

static bool has_order(void *arg)
{
    return ((const struct counter *)arg)->count > 0;
}

static bool has_room(void *arg)
{
    return ((const struct counter *)arg)->count < COUNTER_ROOM;
}

static bool take_lock(struct kitchen *kitchen)
{
    st_result result = st_lock_acquire(kitchen->lock, ST_FOREVER);
    if (result == ST_EOWNERDEAD) {
        demo_warn("counter-lock: %s; the counter is updated in one step, carrying on",
                  st_strerror(result));
        return true;
    }
    if (result != ST_OK) {
        demo_report("st_lock_acquire(counter-lock)", result);
        return false;
    }
    return true;
}

static bool drop_lock(struct kitchen *kitchen)
{
    st_result result = st_lock_release(kitchen->lock);
    if (result != ST_OK) {
        demo_report("st_lock_release(counter-lock)", result);
        return false;
    }
    return true;
}

/* Wait on cond (holding counter-lock) until ready(counter), a stop, or an
 * error. Returns 1 ready, 0 stop, -1 error; the lock is held in all cases. */
static int wait_until(st_condition *cond, const char *name, st_condition_predicate ready,
                      struct counter *counter)
{
    for (;;) {
        st_result result = st_condition_wait_for(cond, ready, counter,
                                                 demo_scaled_ns(1500000000LL));
        if (result == ST_OK || (result == ST_EOWNERDEAD && ready(counter)))
            return 1;
        if (result != ST_ETIMEDOUT && result != ST_EOWNERDEAD) {
            demo_report(name, result);
            return -1;
        }
        if (demo_stop_requested())
            return 0;
    }
}

static int waiter_main(void *context, int number, struct crew_member *self)
{
    (void)number;
    struct kitchen *kitchen = context;
    struct counter *counter = kitchen->counter;

    while (!demo_stop_requested()) {
        if (!take_lock(kitchen))
            return 1;
        int64_t asked = demo_now_ns();
        int outcome = wait_until(kitchen->order_ready, "st_condition_wait_for(order-ready)",
                                 has_order, counter);
        if (outcome <= 0) {
            drop_lock(kitchen);
            return outcome < 0 ? 1 : 0;
        }
        int64_t order = counter->orders[counter->head];
        counter->head = (counter->head + 1) % COUNTER_ROOM;
        counter->count--;
        counter->served++;
        counter->served_sum += order;
        st_result result = st_condition_notify(kitchen->counter_free, 1);
        if (!drop_lock(kitchen))
            return 1;
        if (result != ST_OK) {
            demo_report("st_condition_notify(counter-free)", result);
            return 1;
        }
        demo_say("%s takes order #%lld (waited %.2f s for order-ready)", self->name,
                 (long long)order, (demo_now_ns() - asked) / 1e9);
        demo_pause_between(300, 900);   /* serving */
    }
    return 0;
}

/* The cook puts one order on the counter. 1 done, 0 stop, -1 error. */
static int cook_one(struct kitchen *kitchen)
{
    struct counter *counter = kitchen->counter;
    if (!take_lock(kitchen))
        return -1;
    int outcome = wait_until(kitchen->counter_free, "st_condition_wait_for(counter-free)",
                             has_room, counter);
    if (outcome <= 0) {
        drop_lock(kitchen);
        return outcome;
    }
    int64_t order = ++counter->cooked;
    counter->orders[(counter->head + counter->count) % COUNTER_ROOM] = order;
    counter->count++;
    counter->cooked_sum += order;
    st_result result = st_condition_notify(kitchen->order_ready, 1);
    if (!drop_lock(kitchen))
        return -1;
    if (result != ST_OK) {
        demo_report("st_condition_notify(order-ready)", result);
        return -1;
    }
    return 1;
}

static int check_claim(const struct lesson_options *opts, const struct counter *counter)
{
    int64_t left_sum = 0;
    for (int i = 0; i < counter->count; i++)
        left_sum += counter->orders[(counter->head + i) % COUNTER_ROOM];
    if (counter->cooked != counter->served + counter->count ||
        counter->cooked_sum != counter->served_sum + left_sum)
        return demo_claim_failed("orders went astray: %lld cooked, %lld served, %d left on the "
                                 "counter (order numbers: %lld cooked, %lld served, %lld left)",
                                 (long long)counter->cooked, (long long)counter->served,
                                 counter->count, (long long)counter->cooked_sum,
                                 (long long)counter->served_sum, (long long)left_sum);
    if (counter->served == 0) {
        demo_say("stopped before the first hand-off.");
        return 0;
    }
    struct demo_watch watch;
    uint64_t notifies = 0, wakeups = 0;
    if (demo_watch_open(&watch, opts->session)) {
        if (demo_watch_refresh(&watch)) {
            demo_watch_u64(&watch, "order-ready", "notifies", &notifies);
            demo_watch_u64(&watch, "order-ready", "wakeups", &wakeups);
        }
        demo_watch_close(&watch);
    }
    if (notifies == 0)
        return demo_claim_failed("%lld orders were cooked but the dashboard counts no notify "
                                 "of order-ready", (long long)counter->cooked);
    demo_say("%lld orders cooked, %lld served, %d left on the counter: none lost, none served "
             "twice (order-ready: %llu notifies, %llu wakeups).", (long long)counter->cooked,
             (long long)counter->served, counter->count, (unsigned long long)notifies,
             (unsigned long long)wakeups);
    return 0;
}

int lesson_condition(const struct lesson_options *opts)
{
    struct kitchen kitchen = { 0 };
    st_table *table = NULL;
    struct crew crew;
    bool hired = false;
    int status = 1;

    if (!lesson_open(opts, "cook", &table))
        goto out;
    st_result result = st_lock_open(table, "counter-lock", &kitchen.lock);
    if (result == ST_OK)
        result = st_condition_open(table, "order-ready", kitchen.lock, &kitchen.order_ready);
    if (result == ST_OK)
        result = st_condition_open(table, "counter-free", kitchen.lock, &kitchen.counter_free);
    if (result != ST_OK) {
        demo_report("opening counter-lock, order-ready and counter-free", result);
        goto out;
    }
    kitchen.counter = crew_shared_alloc(sizeof *kitchen.counter);
    if (kitchen.counter == NULL)
        goto out;

    demo_say("the cook puts orders on a counter for %d (guarded by \"counter-lock\") and "
             "notifies \"order-ready\"; waiters wait on it and notify \"counter-free\". "
             "Watch: synctop -s %s", COUNTER_ROOM, opts->session);
    crew_init(&crew, table, demo_lesson_name());
    hired = true;
    for (int i = 1; i <= WAITERS; i++) {
        char name[ST_PROCESS_NAME_MAX + 1];
        snprintf(name, sizeof name, "waiter-%d", i);
        if (crew_hire(&crew, name, "waiter", waiter_main, &kitchen, i) < 0)
            goto out;
    }

    status = 0;
    /* Until the end, and at least until one order was handed off. */
    while (!demo_stop_requested()) {
        if (demo_time_is_up() && __atomic_load_n(&kitchen.counter->served, __ATOMIC_SEQ_CST) > 0)
            break;
        demo_pause_between(200, 700);   /* cooking */
        int outcome = cook_one(&kitchen);
        if (outcome < 0)
            status = 1;
        if (outcome <= 0)
            break;
    }

out:
    if (hired) {
        for (int i = 0; i < crew.count; i++)
            crew_ask_to_stop(&crew, i);
        if (!crew_dismiss(&crew, DEMO_DISMISS_NS))
            status = 1;
    }
    if (status == 0 && kitchen.counter != NULL)
        status = check_claim(opts, kitchen.counter);
    crew_shared_free(kitchen.counter, sizeof *kitchen.counter);
    st_condition_close(kitchen.order_ready);
    st_condition_close(kitchen.counter_free);
    st_lock_close(kitchen.lock);
    lesson_close(table);
    return status;
}
