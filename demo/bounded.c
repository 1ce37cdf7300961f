/* bounded.c - the bounded lesson: a bounded semaphore over-released.
 *
 * An office has 2 printer tokens, the bounded semaphore "printer-tokens":
 * a clerk takes a token, prints, and gives it back. "clerk-1" and "clerk-2"
 * do it right. "careless-clerk" gives its token back twice - the classic
 * bug of releasing more than was acquired. A plain semaphore would quietly
 * count one token too many and let 3 clerks print at once; a bounded one
 * refuses any release that would take it above its initial value:
 * st_semaphore_release() returns ST_EOVERFLOW, changes nothing, and counts
 * an over-release the dashboard shows.
 *
 * Who gets the error: when every token is home, the careless clerk's own
 * second release is refused at once. When some token is out, the second
 * release still fits under the bound (nothing can tell it apart from an
 * honest one), and the bound catches the surplus later: the release of the
 * last token to come home is refused. Either way, each double release is
 * caught exactly once, by whoever hits the bound, once all tokens are back
 * - that is what the lesson counts. The process "office-manager" narrates.
 *
 * The claim: the over-release happened and was caught (at least one
 * ST_EOVERFLOW, never more than there were double releases, and the
 * dashboard's over_releases counts it).
 */
#include "config.h"

#include <stdio.h>

#include "crew.h"
#include "lessons.h"

#define TOKENS 2
#define SEMAPHORE_NAME "printer-tokens"

struct office_shared {
    int64_t double_releases;   /* the careless clerk's second releases */
    int64_t refused;           /* releases refused with ST_EOVERFLOW, by anyone */
    int64_t prints;
};

struct office {
    st_semaphore *tokens;
    struct office_shared *shared;
};

/* Give a token back; a refusal is the lesson, not a failure. Returns false
 * when the call failed otherwise. */
static bool give_back(struct office *office, const char *who, bool second_time)
{
    st_result result = st_semaphore_release(office->tokens);
    if (result == ST_EOVERFLOW) {
        __atomic_add_fetch(&office->shared->refused, 1, __ATOMIC_SEQ_CST);
        if (second_time)
            demo_say("%s gave its token back a second time: refused with %s - every token "
                     "was already home; the bounded semaphore caught the bug", who,
                     st_result_name(result));
        else
            demo_say("%s gave its token back: refused with %s - a token too many came home "
                     "(a double release earlier); the bound caught it", who,
                     st_result_name(result));
        return true;
    }
    if (result != ST_OK) {
        demo_report("st_semaphore_release(" SEMAPHORE_NAME ")", result);
        return false;
    }
    if (second_time)
        demo_say("%s gave its token back a second time: accepted for now (tokens are out, so "
                 "it fits under the bound); the surplus will be caught when the last token "
                 "comes home", who);
    return true;
}

static bool print_once(struct office *office)
{
    st_result result = st_semaphore_acquire(office->tokens, ST_FOREVER);
    if (result != ST_OK) {
        demo_report("st_semaphore_acquire(" SEMAPHORE_NAME ")", result);
        return false;
    }
    demo_pause_between(300, 900);   /* printing */
    __atomic_add_fetch(&office->shared->prints, 1, __ATOMIC_RELAXED);
    return true;
}

static int clerk_main(void *context, int number, struct crew_member *self)
{
    (void)number;
    struct office *office = context;
    while (!demo_stop_requested()) {
        if (!print_once(office) || !give_back(office, self->name, false))
            return 1;
        demo_pause_between(100, 600);
    }
    return 0;
}

static int careless_main(void *context, int number, struct crew_member *self)
{
    (void)number;
    struct office *office = context;
    demo_pause_between(500, 1000);
    while (!demo_stop_requested()) {
        if (!print_once(office) || !give_back(office, self->name, false))
            return 1;
        /* The bug: the same token, given back again. */
        __atomic_add_fetch(&office->shared->double_releases, 1, __ATOMIC_SEQ_CST);
        if (!give_back(office, self->name, true))
            return 1;
        demo_pause_between(2000, 3000);
    }
    return 0;
}

static int check_claim(const struct lesson_options *opts, const struct office_shared *shared)
{
    if (shared->double_releases == 0) {
        demo_say("stopped before the careless clerk released a token twice.");
        return 0;
    }
    if (shared->refused == 0)
        return demo_claim_failed("the careless clerk released a token twice %lld time%s, but no "
                                 "release was refused with ST_EOVERFLOW",
                                 (long long)shared->double_releases,
                                 shared->double_releases == 1 ? "" : "s");
    if (shared->refused > shared->double_releases)
        return demo_claim_failed("%lld releases were refused but only %lld double releases "
                                 "happened: an honest release was refused",
                                 (long long)shared->refused, (long long)shared->double_releases);

    struct demo_watch watch;
    if (!demo_watch_open(&watch, opts->session))
        return 1;
    uint64_t over_releases = 0;
    bool seen = demo_watch_refresh(&watch) &&
                demo_watch_u64(&watch, SEMAPHORE_NAME, "over_releases", &over_releases);
    demo_watch_close(&watch);
    if (!seen)
        return demo_claim_failed("the dashboard shows no over_releases for " SEMAPHORE_NAME);
    if (over_releases < (uint64_t)shared->refused)
        return demo_claim_failed("%lld releases were refused, but the dashboard counts only "
                                 "%llu over_releases", (long long)shared->refused,
                                 (unsigned long long)over_releases);
    demo_say("%lld prints; %lld double release%s, %lld caught as ST_EOVERFLOW (the dashboard's "
             "over_releases: %llu).", (long long)shared->prints,
             (long long)shared->double_releases, shared->double_releases == 1 ? "" : "s",
             (long long)shared->refused, (unsigned long long)over_releases);
    return 0;
}

int lesson_bounded(const struct lesson_options *opts)
{
    struct office office = { 0 };
    st_table *table = NULL;
    struct crew crew;
    bool hired = false;
    int status = 1;

    if (!lesson_open(opts, "office-manager", &table))
        goto out;
    st_result result = st_bounded_semaphore_open(table, SEMAPHORE_NAME, TOKENS, &office.tokens);
    if (result != ST_OK) {
        demo_report("st_bounded_semaphore_open(" SEMAPHORE_NAME ")", result);
        goto out;
    }
    office.shared = crew_shared_alloc(sizeof *office.shared);
    if (office.shared == NULL)
        goto out;

    demo_say("%d printer tokens, the bounded semaphore \"" SEMAPHORE_NAME "\"; clerk-1 and "
             "clerk-2 take one to print and give it back; careless-clerk gives its token back "
             "twice. Watch over_releases: synctop -s %s", TOKENS, opts->session);

    crew_init(&crew, table, demo_lesson_name());
    hired = true;
    if (crew_hire(&crew, "clerk-1", "clerk", clerk_main, &office, 1) < 0 ||
        crew_hire(&crew, "clerk-2", "clerk", clerk_main, &office, 2) < 0 ||
        crew_hire(&crew, "careless-clerk", "clerk", careless_main, &office, 3) < 0)
        goto out;

    /* Until the end, and at least until the bug happened once. */
    while (!demo_stop_requested()) {
        demo_pause(200);
        if (demo_time_is_up() &&
            __atomic_load_n(&office.shared->double_releases, __ATOMIC_SEQ_CST) > 0)
            break;
    }
    status = 0;

out:
    if (hired) {
        /* Each clerk gives back what it holds before it leaves: then every
         * surplus token has met the bound. */
        for (int i = 0; i < crew.count; i++)
            crew_ask_to_stop(&crew, i);
        if (!crew_dismiss(&crew, DEMO_DISMISS_NS))
            status = 1;
    }
    if (status == 0 && office.shared != NULL)
        status = check_claim(opts, office.shared);
    crew_shared_free(office.shared, sizeof *office.shared);
    st_semaphore_close(office.tokens);
    lesson_close(table);
    return status;
}
