/* queue.c - the queue lesson: a bounded queue between producers and
 * consumers, with a quality inspector taking samples.
 *
 * The process "shop" opens the bounded queue "orders" (capacity 8) and the
 * event "shop-open" (set while orders are taken), and forks
 *
 *   "producer-1" .. "producer-3"   put numbered orders, fast in the rush
 *                                  hour and slowly in the quiet hour (the
 *                                  two alternate every few seconds), with a
 *                                  timeout: a full queue makes them wait
 *                                  (producers_blocked), and a put that
 *                                  times out is tried again (put_timeouts);
 *   "consumer-1", "consumer-2"     get orders and take a while over each;
 *   "inspector"                    now and then gets one order with a
 *                                  short timeout, inspects it and reports;
 *                                  in the quiet hour the queue is often
 *                                  empty and its get times out
 *                                  (get_timeouts), which it reports too.
 *
 * Every got order is marked task_done. In the dashboard: "orders" filling
 * up to its capacity in the rush hour (depth, high_water, producers
 * blocked) and draining in the quiet hour (consumers blocked), the put and
 * get rates, and the process states flipping between running and blocked.
 *
 * Closing time: the shop clears "shop-open"; the producers finish and exit;
 * the shop joins the queue (waits until every order is task_done) and puts
 * one closing notice per consumer and inspector behind the last order (a
 * "poison pill"): each leaves when it gets one. The queue stays open, so
 * the lesson can run again in the same session.
 *
 * The claim checked: every order put was got exactly once - by a consumer
 * or the inspector - and arrived intact (each carries a checksum). Per
 * producer, the orders got are counted in shared memory by number, so a
 * lost order (count 0) or a duplicated one (count 2) is found. Exit status
 * 1 otherwise.
 */
#include "config.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "crew.h"
#include "../tui/i18n.h"

#define QUEUE_NAME "orders"
#define CAPACITY 8
#define PRODUCERS 3
#define CONSUMERS 2
#define MAX_ORDERS_PER_PRODUCER (1u << 20)   /* a producer stops there */
#define PERIOD_NS 8000000000LL               /* rush hour + quiet hour */
#define RUSH_PUT_NS 120000000LL              /* between two orders of one producer */
#define QUIET_PUT_NS 900000000LL
#define CONSUME_NS 250000000LL               /* a consumer's work on one order */
#define INSPECT_EVERY_NS 700000000LL
#define INSPECT_TIMEOUT_NS 300000000LL
#define PUT_TIMEOUT_NS 250000000LL    /* in the rush hour some puts time out */
#define GET_TIMEOUT_NS 200000000LL
#define JOIN_TIMEOUT_NS 20000000000LL
#define STOP_TIMEOUT_NS 10000000000LL

struct order {
    int32_t producer;    /* 1-based */
    uint32_t number;     /* 0-based, per producer */
    uint64_t checksum;
    char item[40];
};

/* Shared with every member. */
struct ledger {
    uint32_t put[PRODUCERS + 1];            /* orders each producer put */
    int64_t got_by[CONSUMERS + 2];          /* orders got: [1..2] consumers, [3] inspector */
    int64_t inspector_timeouts;
    int64_t corrupt;                        /* orders whose checksum was wrong */
    int64_t strays;                         /* orders from no known producer */
    uint8_t got[PRODUCERS + 1][MAX_ORDERS_PER_PRODUCER];   /* times each order was got */
};

struct shop {
    const struct lesson_options *opts;
    st_table *table;
    st_queue *orders;
    st_event *open;
    struct ledger *ledger;
    int64_t start_ns;
    struct crew crew;
};

static const char *const items[] = { "espresso", "croissant", "bagel", "green tea",
                                     "muffin", "sandwich", "orange juice", "cookie" };

static uint64_t order_checksum(const struct order *order)
{
    uint64_t h = 1469598103934665603ull;   /* FNV-1a over the fields before checksum */
    const unsigned char *bytes = (const unsigned char *)order;
    for (size_t i = 0; i < offsetof(struct order, checksum); i++)
        h = (h ^ bytes[i]) * 1099511628211ull;
    for (size_t i = 0; i < sizeof order->item; i++)
        h = (h ^ (unsigned char)order->item[i]) * 1099511628211ull;
    return h;
}

/* At closing time the shop puts one notice per consumer and inspector
 * behind the last order (the classic "poison pill"): whoever gets one
 * leaves. The queue itself stays open, ready for the next run. */
static struct order closing_notice(void)
{
    struct order notice;
    memset(&notice, 0, sizeof notice);
    notice.producer = 0;
    notice.number = UINT32_MAX;
    snprintf(notice.item, sizeof notice.item, "closing time");
    notice.checksum = order_checksum(&notice);
    return notice;
}

static bool is_closing_notice(const struct order *order, size_t length)
{
    return length == sizeof *order && order->producer == 0 && order->number == UINT32_MAX &&
           order->checksum == order_checksum(order);
}

static bool rush_hour(const struct shop *shop)
{
    int64_t period = lesson_pace(shop->opts, PERIOD_NS);
    return (demo_now_ns() - shop->start_ns) % period < period / 2;
}

/* ==== producers ============================================================ */

static bool shop_is_open(struct shop *shop)
{
    bool open = false;
    st_result result = st_event_is_set(shop->open, &open);
    if (result != ST_OK)
        demo_report("st_event_is_set(shop-open)", result);
    return open && !demo_should_stop();
}

static int producer_main(void *context, int number, struct crew_member *self)
{
    struct shop *shop = context;
    (void)self;
    uint64_t seed = lesson_seed(number);
    uint32_t next = 0;
    while (shop_is_open(shop) && next < MAX_ORDERS_PER_PRODUCER) {
        struct order order;
        memset(&order, 0, sizeof order);
        order.producer = number;
        order.number = next;
        snprintf(order.item, sizeof order.item, "%s",
                 items[lesson_random(&seed, sizeof items / sizeof items[0])]);
        order.checksum = order_checksum(&order);

        st_result result;
        do   /* a full queue: wait, and try again while the shop is open */
            result = st_queue_put(shop->orders, &order, sizeof order, PUT_TIMEOUT_NS);
        while (result == ST_ETIMEDOUT && shop_is_open(shop));
        if (result == ST_ETIMEDOUT)
            break;   /* closing time: this order was never put */
        if (result != ST_OK) {
            demo_report("st_queue_put(orders)", result);
            return 1;
        }
        shop->ledger->put[number] = ++next;   /* only this producer writes it */

        int64_t pause = rush_hour(shop) ? RUSH_PUT_NS : QUIET_PUT_NS;
        lesson_nap(shop->opts,
                   pause / 2 + ST_MILLISECONDS(lesson_random(&seed, (uint32_t)(pause / 1000000))));
    }
    return 0;
}

/* ==== consumers and the inspector ========================================= */

/* Record one got order. Returns false when the order was not intact. */
static bool record(struct shop *shop, int taker, const struct order *order, size_t length)
{
    struct ledger *ledger = shop->ledger;
    ledger->got_by[taker]++;
    if (length != sizeof *order || order->checksum != order_checksum(order)) {
        __atomic_add_fetch(&ledger->corrupt, 1, __ATOMIC_RELAXED);
        return false;
    }
    if (order->producer < 1 || order->producer > PRODUCERS ||
        order->number >= MAX_ORDERS_PER_PRODUCER) {
        __atomic_add_fetch(&ledger->strays, 1, __ATOMIC_RELAXED);
        return false;
    }
    __atomic_add_fetch(&ledger->got[order->producer][order->number], 1, __ATOMIC_RELAXED);
    return true;
}

/* Get until the closing notice. A consumer does not stop on a stop
 * request: the shop sends the notices then, after the last order, and
 * every order put must still be got. It stops if the shop itself is gone. */
static int consumer_main(void *context, int number, struct crew_member *self)
{
    struct shop *shop = context;
    (void)self;
    for (;;) {
        struct order order;
        size_t length;
        st_result result = st_queue_get(shop->orders, &order, sizeof order, &length,
                                        GET_TIMEOUT_NS);
        if (result == ST_ETIMEDOUT) {
            if (getppid() != shop->crew.parent)
                return 1;   /* the shop died: nobody will send us home */
            continue;
        }
        if (result != ST_OK) {
            demo_report("st_queue_get(orders)", result);
            return 1;
        }
        if (is_closing_notice(&order, length))
            return st_queue_task_done(shop->orders) == ST_OK ? 0 : 1;
        bool intact = record(shop, number, &order, length);
        if (!demo_should_stop() && intact)
            lesson_nap(shop->opts, CONSUME_NS);   /* preparing the order */
        result = st_queue_task_done(shop->orders);
        if (result != ST_OK) {
            demo_report("st_queue_task_done(orders)", result);
            return 1;
        }
    }
}

static int inspector_main(void *context, int number, struct crew_member *self)
{
    struct shop *shop = context;
    (void)number;
    (void)self;
    int64_t inspected = 0;
    for (;;) {   /* until the closing notice */
        if (!demo_should_stop())
            lesson_nap(shop->opts, INSPECT_EVERY_NS);
        struct order order;
        size_t length;
        st_result result = st_queue_get(shop->orders, &order, sizeof order, &length,
                                        lesson_pace(shop->opts, INSPECT_TIMEOUT_NS));
        if (result == ST_ETIMEDOUT) {
            shop->ledger->inspector_timeouts++;
            if (getppid() != shop->crew.parent)
                return 1;
            if (!demo_should_stop())
                demo_say("inspector: waited %.1f s, no order to inspect (queue empty; %" PRId64
                         " timeouts so far)",
                         (double)lesson_pace(shop->opts, INSPECT_TIMEOUT_NS) / 1e9,
                         shop->ledger->inspector_timeouts);
            continue;
        }
        if (result != ST_OK) {
            demo_report("st_queue_get(orders)", result);
            return 1;
        }
        if (is_closing_notice(&order, length))
            return st_queue_task_done(shop->orders) == ST_OK ? 0 : 1;
        bool intact = record(shop, CONSUMERS + 1, &order, length);
        inspected++;
        st_queue_info info;
        if (!shop->opts->quiet && !demo_should_stop() &&
            st_queue_info_get(shop->orders, &info) == ST_OK)
            demo_say("inspector: order %u of producer-%d (%s) %s; %" PRIu64 " of %u waiting in "
                     "\"" QUEUE_NAME "\"",
                     order.number + 1, order.producer, order.item,
                     intact ? _("passes inspection") : _("is DAMAGED"), info.depth, info.capacity);
        result = st_queue_task_done(shop->orders);
        if (result != ST_OK) {
            demo_report("st_queue_task_done(orders)", result);
            return 1;
        }
    }
}

/* ==== the shop ============================================================= */

static bool open_objects(struct shop *shop, uint64_t *baseline_unfinished)
{
    st_result result = st_queue_open(shop->table, QUEUE_NAME, CAPACITY, sizeof(struct order),
                                     &shop->orders);
    if (result != ST_OK) {
        demo_report("st_queue_open(" QUEUE_NAME ")", result);
        return false;
    }
    result = st_event_open(shop->table, "shop-open", &shop->open);
    if (result != ST_OK) {
        demo_report("st_event_open(shop-open)", result);
        return false;
    }
    st_queue_info info;
    result = st_queue_info_get(shop->orders, &info);
    if (result != ST_OK) {
        demo_report("st_queue_info_get(" QUEUE_NAME ")", result);
        return false;
    }
    if (info.closed || info.max_message_bytes < sizeof(struct order)) {
        demo_warn("the session already has a queue \"" QUEUE_NAME "\" that %s; use another "
                  "--session",
                  info.closed ? _("was shut down") : _("cannot hold an order"));
        return false;
    }

    /* Orders left by an earlier run that was killed are not ours. */
    struct order stale;
    size_t length;
    int64_t discarded = 0;
    while (st_queue_try_get(shop->orders, &stale, sizeof stale, &length) == ST_OK) {
        st_queue_task_done(shop->orders);
        discarded++;
    }
    if (discarded > 0)
        demo_say("discarded %" PRId64 " order%s left in \"" QUEUE_NAME "\" by an earlier run",
                 discarded, discarded == 1 ? "" : "s");
    result = st_queue_info_get(shop->orders, &info);
    *baseline_unfinished = result == ST_OK ? info.unfinished_tasks : 0;
    return result == ST_OK;
}

static bool hire_crew(struct shop *shop)
{
    char name[ST_PROCESS_NAME_MAX + 1];
    for (int i = 1; i <= PRODUCERS; i++) {
        snprintf(name, sizeof name, "producer-%d", i);
        if (crew_hire(&shop->crew, name, "producer", producer_main, shop, i) < 0)
            return false;
    }
    for (int i = 1; i <= CONSUMERS; i++) {
        snprintf(name, sizeof name, "consumer-%d", i);
        if (crew_hire(&shop->crew, name, "consumer", consumer_main, shop, i) < 0)
            return false;
    }
    return crew_hire(&shop->crew, "inspector", "inspector", inspector_main, shop, 1) >= 0;
}

/* The shop is open until the end; it announces each rush and quiet hour. */
static bool stay_open(struct shop *shop)
{
    int last_phase = -1;
    while (!demo_should_stop()) {
        int phase = rush_hour(shop) ? 1 : 0;
        if (phase != last_phase && !shop->opts->quiet) {
            st_queue_info info;
            if (st_queue_info_get(shop->orders, &info) == ST_OK)
                demo_say("shop: %s (\"" QUEUE_NAME "\" holds %" PRIu64 " of %u)",
                         phase ? "rush hour: the producers put orders faster than the "
                                 "consumers get them"
                               : "quiet hour: few orders; the consumers and the inspector wait",
                         info.depth, info.capacity);
        }
        last_phase = phase;
        if (!crew_watch_until(&shop->crew, demo_now_ns() + lesson_pace(shop->opts, 500000000LL)))
            return false;
    }
    return true;
}

/* Closing time, in order: no new orders, every order done, everyone home. */
static bool close_shop(struct shop *shop, uint64_t baseline_unfinished)
{
    bool well = true;
    st_result result = st_event_clear(shop->open);
    if (result != ST_OK) {
        demo_report("st_event_clear(shop-open)", result);
        well = false;
    }
    for (int i = 0; i < PRODUCERS && i < shop->crew.count; i++)
        crew_ask_to_stop(&shop->crew, i);   /* cut their pause short */
    for (int i = 0; i < PRODUCERS && i < shop->crew.count; i++)
        if (!crew_reap(&shop->crew, i, STOP_TIMEOUT_NS))
            well = false;

    if (baseline_unfinished == 0) {
        result = st_queue_join(shop->orders, JOIN_TIMEOUT_NS);
    } else {
        /* An earlier run left unfinished tasks that will never be done. */
        st_queue_info info;
        int64_t deadline = demo_now_ns() + JOIN_TIMEOUT_NS;
        while ((result = st_queue_info_get(shop->orders, &info)) == ST_OK &&
               info.unfinished_tasks > baseline_unfinished && demo_now_ns() < deadline)
            usleep(20000);
        if (result == ST_OK && info.unfinished_tasks > baseline_unfinished)
            result = ST_ETIMEDOUT;
    }
    if (result != ST_OK) {
        demo_report("waiting for every order to be done (st_queue_join)", result);
        well = false;
    }

    struct order notice = closing_notice();
    for (int i = 0; i < CONSUMERS + 1; i++) {
        result = st_queue_put(shop->orders, &notice, sizeof notice, ST_SECONDS(5));
        if (result != ST_OK) {
            demo_report("st_queue_put(closing notice)", result);
            well = false;
            break;
        }
    }
    if (!crew_dismiss(&shop->crew, STOP_TIMEOUT_NS))
        well = false;
    return well;
}

/* Every order put got exactly once, intact? */
static bool check_ledger(const struct shop *shop)
{
    const struct ledger *ledger = shop->ledger;
    int64_t put = 0, lost = 0, duplicated = 0, phantom = 0;
    for (int p = 1; p <= PRODUCERS; p++) {
        put += ledger->put[p];
        for (uint32_t n = 0; n < MAX_ORDERS_PER_PRODUCER; n++) {
            uint8_t times = ledger->got[p][n];
            if (n < ledger->put[p]) {
                lost += times == 0;
                duplicated += times > 1 ? times - 1 : 0;
            } else {
                phantom += times;   /* got, but never (successfully) put */
            }
        }
    }
    int64_t got = 0;
    for (int t = 1; t <= CONSUMERS + 1; t++)
        got += ledger->got_by[t];

    bool held = lost == 0 && duplicated == 0 && phantom == 0 && ledger->corrupt == 0 &&
                ledger->strays == 0 && got == put;
    if (held)
        demo_say("%d producers put %" PRId64 " orders; consumer-1 got %" PRId64
                 ", consumer-2 %" PRId64 ", inspector %" PRId64 " (its get timed out %" PRId64
                 " time%s): %s",
                 PRODUCERS, put, ledger->got_by[1], ledger->got_by[2], ledger->got_by[3],
                 ledger->inspector_timeouts, ledger->inspector_timeouts == 1 ? "" : "s",
                 "every order got exactly once");
    if (!held)
        demo_claim_failed("%" PRId64 " orders put, %" PRId64 " got: %" PRId64 " lost, %" PRId64
                          " got twice or more, %" PRId64 " got but never put, %" PRId64
                          " damaged, %" PRId64 " from nowhere",
                          put, got, lost, duplicated, phantom, ledger->corrupt, ledger->strays);
    return held;
}

int lesson_queue(const struct lesson_options *opts)
{
    struct shop shop = { .opts = opts, .start_ns = demo_now_ns() };
    bool failed = false;
    uint64_t baseline_unfinished = 0;
    shop.ledger = crew_shared_alloc(sizeof *shop.ledger);
    if (shop.ledger != NULL && lesson_open(opts, "shop", &shop.table) &&
        open_objects(&shop, &baseline_unfinished)) {
        demo_say("producer-1..3 put orders into \"" QUEUE_NAME "\" (capacity %d); consumer-1..2 "
                 "and the inspector get them", CAPACITY);
        crew_init(&shop.crew, shop.table, demo_lesson_name());
        st_result result = st_event_set(shop.open);
        if (result != ST_OK) {
            demo_report("st_event_set(shop-open)", result);
            failed = true;
        }
        if (failed || !hire_crew(&shop) || !stay_open(&shop))
            failed = true;
        if (!close_shop(&shop, baseline_unfinished))
            failed = true;
        if (!failed && !check_ledger(&shop))
            failed = true;
    } else {
        failed = true;
    }
    st_queue_close(shop.orders);
    st_event_close(shop.open);
    lesson_close(shop.table);
    crew_shared_free(shop.ledger, sizeof *shop.ledger);
    return failed ? 1 : 0;
}
