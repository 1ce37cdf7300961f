/* pipe.c - the pipe lesson: a foreman and an apprentice talking both ways
 * over one duplex Pipe.
 *
 * The process "foreman" opens the pipe "workbench" and forks the
 * "apprentice"; the foreman keeps end A, the apprentice end B. Down the
 * pipe (A to B) go instructions: "job 3: add up the squares of 1 .. n";
 * back (B to A) come progress reports ("job 3: 40% done") and finally the
 * result. While the apprentice is halfway through a job the foreman
 * already sends the next instruction, so the dashboard shows an unread
 * message waiting A to B, while B to A carries the steady reports. At the
 * end the foreman sends "go home" and the apprentice answers "bye".
 *
 * In the dashboard: "workbench" with messages and bytes each way, the
 * unread messages on each side, and which end is blocked receiving.
 *
 * The claims checked: every instruction was answered, in order, by reports
 * of 10%, 20% ... 100% and a result equal to n (n + 1) (2n + 1) / 6; and the
 * apprentice said goodbye. Exit status 1 otherwise.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "crew.h"
#include "../tui/i18n.h"

#define PIPE_NAME "workbench"
#define CAPACITY 4                 /* messages each way */
#define STEPS 10                   /* progress reports per job */
#define STEP_NS 150000000LL        /* the apprentice's work per step */
#define RECV_TIMEOUT_NS 200000000LL
#define SILENCE_LIMIT_NS 10000000000LL   /* an apprentice silent this long is lost */
#define STOP_TIMEOUT_NS 5000000000LL

enum kind {
    INSTRUCTION = 1,   /* A -> B: a job */
    GO_HOME,           /* A -> B */
    PROGRESS,          /* B -> A: percent done */
    RESULT,            /* B -> A: the job's answer */
    BYE,               /* B -> A: leaving */
};

struct message {
    int32_t kind;
    int32_t job;
    int64_t number;     /* INSTRUCTION: n; PROGRESS: percent; RESULT: the sum */
    char text[96];      /* what a person would say */
};

struct workshop {
    const struct lesson_options *opts;
    st_table *table;
    st_pipe_end *end_a;   /* the foreman's */
    st_pipe_end *end_b;   /* the apprentice's */
    struct crew crew;
    int jobs_done;
    int jobs_wrong;
    bool failed;
};

static int64_t sum_of_squares(int64_t n)
{
    return n * (n + 1) * (2 * n + 1) / 6;
}

static st_result send_message(st_pipe_end *end, int kind, int job, int64_t number,
                              const char *text)
{
    struct message message = { .kind = kind, .job = job, .number = number };
    snprintf(message.text, sizeof message.text, "%s", text);
    st_result result;
    do   /* a full pipe: the other side is slow; wait while nobody stops us */
        result = st_pipe_send(end, &message, sizeof message, RECV_TIMEOUT_NS);
    while (result == ST_ETIMEDOUT && !demo_stop_requested());
    return result;
}

/* ==== the apprentice ======================================================= */

static int apprentice_main(void *context, int number, struct crew_member *self)
{
    struct workshop *shop = context;
    (void)number;
    (void)self;
    st_pipe_close(shop->end_a);   /* the foreman's end is not ours */
    shop->end_a = NULL;
    for (;;) {
        struct message order;
        size_t length;
        st_result result = st_pipe_recv(shop->end_b, &order, sizeof order, &length,
                                        RECV_TIMEOUT_NS);
        if (result == ST_ETIMEDOUT) {
            if (getppid() != shop->crew.parent)
                return 1;   /* the foreman is gone */
            continue;
        }
        if (result != ST_OK || length != sizeof order) {
            demo_report("st_pipe_recv(" PIPE_NAME ", end B)", result);
            return 1;
        }
        if (order.kind == GO_HOME)
            return send_message(shop->end_b, BYE, 0, 0, "bye, see you tomorrow") == ST_OK ? 0 : 1;
        if (order.kind != INSTRUCTION)
            continue;

        int64_t n = order.number, sum = 0, done = 0;
        for (int step = 1; step <= STEPS; step++) {
            int64_t until = n * step / STEPS;
            for (int64_t i = done + 1; i <= until; i++)
                sum += i * i;
            done = until;
            lesson_nap(shop->opts, STEP_NS);
            char text[96];
            snprintf(text, sizeof text, "job %d: %d%% done", order.job, step * 100 / STEPS);
            if (send_message(shop->end_b, PROGRESS, order.job, step * 100 / STEPS, text) != ST_OK)
                return 1;
        }
        char text[96];
        snprintf(text, sizeof text, "job %d: the sum is %" PRId64, order.job, sum);
        if (send_message(shop->end_b, RESULT, order.job, sum, text) != ST_OK)
            return 1;
    }
}

/* ==== the foreman ========================================================== */

/* Wait for the apprentice's next message (giving up after a long silence). */
static bool receive(struct workshop *shop, struct message *message)
{
    int64_t give_up = demo_now_ns() + SILENCE_LIMIT_NS;
    for (;;) {
        size_t length;
        st_result result = st_pipe_recv(shop->end_a, message, sizeof *message, &length,
                                        RECV_TIMEOUT_NS);
        if (result == ST_OK && length == sizeof *message)
            return true;
        if (result != ST_ETIMEDOUT) {
            demo_report("st_pipe_recv(" PIPE_NAME ", end A)", result);
            return false;
        }
        if (demo_now_ns() > give_up) {
            demo_warn("the apprentice has said nothing for %.0f s", SILENCE_LIMIT_NS / 1e9);
            return false;
        }
    }
}

static int64_t job_size(int job)
{
    return 100000 + (int64_t)(job % 7) * 25000;
}

static bool instruct(struct workshop *shop, int job)
{
    char text[96];
    snprintf(text, sizeof text, "job %d: add up the squares of 1 .. %" PRId64, job, job_size(job));
    if (send_message(shop->end_a, INSTRUCTION, job, job_size(job), text) != ST_OK) {
        demo_warn("could not send job %d", job);
        return false;
    }
    demo_say("foreman -> apprentice: %s", text);
    return true;
}

/* Follow job `job` to its result; the next instruction goes out halfway.
 * Returns false when the conversation broke down. */
static bool follow_job(struct workshop *shop, int job, bool *sent_next)
{
    int expected_percent = 100 / STEPS;
    *sent_next = false;
    for (;;) {
        struct message message;
        if (!receive(shop, &message))
            return false;
        if (message.kind == PROGRESS) {
            if (message.job != job || message.number != expected_percent) {
                demo_warn("expected job %d at %d%%, got \"%s\"", job, expected_percent,
                          message.text);
                shop->jobs_wrong++;
            }
            expected_percent = (int)message.number + 100 / STEPS;
            if (message.number % 20 == 0)
                demo_say("apprentice -> foreman: %s", message.text);
            /* Halfway: the next instruction waits in the pipe meanwhile. */
            if (message.number == 50 && !demo_should_stop()) {
                if (!instruct(shop, job + 1))
                    return false;
                *sent_next = true;
            }
            continue;
        }
        if (message.kind != RESULT || message.job != job) {
            demo_warn("expected the result of job %d, got \"%s\"", job, message.text);
            shop->jobs_wrong++;
            return false;
        }
        bool right = message.number == sum_of_squares(job_size(job)) &&
                     expected_percent == 100 + 100 / STEPS;
        demo_say("apprentice -> foreman: %s (%s)", message.text, right ? _("right") : _("WRONG"));
        shop->jobs_done++;
        if (!right)
            shop->jobs_wrong++;
        return true;
    }
}

static void run_workshop(struct workshop *shop)
{
    int job = 1;
    if (!instruct(shop, job)) {
        shop->failed = true;
        return;
    }
    for (;;) {
        bool sent_next;
        if (!follow_job(shop, job, &sent_next)) {
            shop->failed = true;
            return;
        }
        job++;
        if (!sent_next) {
            if (demo_should_stop())
                break;
            if (!instruct(shop, job)) {
                shop->failed = true;
                return;
            }
        }
    }
}

/* Messages left in the pipe by an earlier run that was killed. */
static void drain(struct workshop *shop)
{
    struct message stale;
    size_t length;
    while (st_pipe_recv(shop->end_a, &stale, sizeof stale, &length, 0) == ST_OK)
        ;
    while (st_pipe_recv(shop->end_b, &stale, sizeof stale, &length, 0) == ST_OK)
        ;
}

int lesson_pipe(const struct lesson_options *opts)
{
    struct workshop shop = { .opts = opts };
    if (lesson_open(opts, "foreman", &shop.table)) {
        st_result result = st_pipe_open(shop.table, PIPE_NAME, CAPACITY, sizeof(struct message),
                                        &shop.end_a, &shop.end_b);
        if (result != ST_OK) {
            demo_report("st_pipe_open(" PIPE_NAME ")", result);
            shop.failed = true;
        }
    } else {
        shop.failed = true;
    }
    if (!shop.failed) {
        drain(&shop);
        demo_say("the foreman sends jobs down \"" PIPE_NAME "\" (end A); the apprentice (end B) "
                 "sends progress reports and results back");
        crew_init(&shop.crew, shop.table, demo_lesson_name());
        if (crew_hire(&shop.crew, "apprentice", "apprentice", apprentice_main, &shop, 1) < 0) {
            shop.failed = true;
        } else {
            st_pipe_close(shop.end_b);   /* the apprentice's end is not ours */
            shop.end_b = NULL;
            run_workshop(&shop);
            struct message bye = { 0 };
            if (!shop.failed &&
                (send_message(shop.end_a, GO_HOME, 0, 0, "go home") != ST_OK ||
                 !receive(&shop, &bye) || bye.kind != BYE)) {
                demo_warn("the apprentice did not say goodbye");
                shop.failed = true;
            } else if (!shop.failed) {
                demo_say("foreman -> apprentice: go home; apprentice -> foreman: %s", bye.text);
            }
        }
        if (!crew_dismiss(&shop.crew, STOP_TIMEOUT_NS))
            shop.failed = true;
    }
    st_pipe_close(shop.end_a);
    st_pipe_close(shop.end_b);
    lesson_close(shop.table);

    if (shop.jobs_wrong > 0)
        return demo_claim_failed("%d of %d jobs came back wrong or out of order",
                                 shop.jobs_wrong, shop.jobs_done);
    if (!shop.failed)
        demo_say("%d job%s instructed and answered in order, every result right",
                 shop.jobs_done, shop.jobs_done == 1 ? "" : "s");
    return shop.failed ? 1 : 0;
}
