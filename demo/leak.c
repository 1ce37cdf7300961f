/* leak.c - the leak lesson: a shared-memory region whose creator exits
 * without unlinking it stays in /dev/shm for good.
 *
 * Every round (about every two seconds) the process "caretaker" forks two
 * writers that do the same work, one properly and one not:
 *
 *   "tidy-writer"      creates the region "tidy-notes", writes notes into it,
 *                      closes it and unlinks it: nothing is left.
 *   "careless-writer"  creates the region "forgotten-notes-R" (R the round),
 *                      writes notes into it, closes it - and exits without
 *                      unlinking it. Closing detaches; only unlinking
 *                      removes a region. Nobody will ever remove it now.
 *
 * In the dashboard each "forgotten-notes-R" shows `leaked` 1 (its creator
 * died and it was never unlinked), while "tidy-notes" shows `unlinked` 1.
 * At most MAX_LEAKS regions are leaked per run (later rounds only show the
 * tidy writer), and they stay after the lesson ends, on purpose: the lesson
 * prints the exact command that removes them,
 *
 *     synctop --gc -s SESSION
 *
 * The claim checked, after each round, with st_leaks_scan (the function
 * behind `synctop --gc`): the careless writer's region is reported leaked
 * (and collectable: no live process uses it), and no region called
 * "tidy-notes" is. Exit status 1 otherwise.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crew.h"
#include "../tui/i18n.h"

#define TIDY_NAME "tidy-notes"
#define LEAK_PREFIX "forgotten-notes-"
#define REGION_BYTES (256u * 1024u)
#define MAX_LEAKS 5
#define ROUND_NS 2000000000LL
#define WRITE_NAP_NS 400000000LL   /* a writer keeps its region open this long */
#define WRITER_TIMEOUT_NS 10000000000LL
#define SCAN_MAX 256

struct caretaker {
    const struct lesson_options *opts;
    st_table *table;
    int leaks;            /* regions leaked so far */
    int rounds;
    int unflagged;        /* careless regions the scan did not report (must stay 0) */
    int tidy_flagged;     /* tidy regions the scan reported (must stay 0) */
    struct writer_job *careless_job;   /* shared with the careless writer */
    bool failed;
};

struct writer_job {
    struct caretaker *caretaker;
    char region[ST_OBJECT_NAME_MAX + 1];
    int number;               /* the N of LEAK_PREFIX "N" */
    bool unlink_when_done;
};

/* ==== the writers ========================================================== */

static void write_notes(char *notes, size_t size, const char *region)
{
    size_t used = 0;
    for (int line = 1; used + 80 < size; line++) {
        int n = snprintf(notes + used, size - used,
                         "note %d in %s: remember to unlink this region\n", line, region);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

static int writer_main(void *context, int number, struct crew_member *self)
{
    struct writer_job *job = context;
    (void)number;
    (void)self;

    st_shm *region;
    st_result result = st_shm_create(job->caretaker->table, job->region, REGION_BYTES, &region);
    if (result == ST_EBUSY && job->unlink_when_done) {
        /* A tidy writer killed before it could unlink, in an earlier run. */
        st_shm_unlink_name(job->caretaker->table, job->region);
        result = st_shm_create(job->caretaker->table, job->region, REGION_BYTES, &region);
    }
    for (int next = job->number + 1; result == ST_EBUSY && !job->unlink_when_done &&
                                     next < job->number + 100; next++) {
        /* An earlier run's leak still holds the name: take the next one (the
         * job lives in shared memory, so the caretaker learns which). */
        snprintf(job->region, sizeof job->region, LEAK_PREFIX "%d", next);
        result = st_shm_create(job->caretaker->table, job->region, REGION_BYTES, &region);
    }
    if (result != ST_OK) {
        demo_warn("st_shm_create(%s): %s (%s)", job->region,
                  st_strerror(result), st_error_detail());
        return 1;
    }
    write_notes(st_shm_data(region), st_shm_size(region), job->region);
    lesson_nap(job->caretaker->opts, WRITE_NAP_NS);   /* at work, attached */

    int status = 0;
    if (job->unlink_when_done) {
        result = st_shm_unlink(region);
        if (result != ST_OK) {
            demo_report("st_shm_unlink", result);
            status = 1;
        }
    }
    /* The careless writer stops here: st_shm_close detaches, nothing more. */
    st_shm_close(region);
    return status;
}

/* ==== the caretaker ======================================================== */

/* Run one writer to its end. */
static bool run_writer(struct caretaker *caretaker, const char *process, struct writer_job *job)
{
    struct crew crew;
    crew_init(&crew, caretaker->table, "leak");
    int index = crew_hire(&crew, process, "writer", writer_main, job, 1);
    if (index < 0)
        return false;
    return crew_reap(&crew, index, WRITER_TIMEOUT_NS);
}

/* What st_leaks_scan says about the region called name. */
static const st_leak *find_leak(const st_leak *leaks, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (leaks[i].kind == ST_LEAK_REGION && strcmp(leaks[i].object, name) == 0)
            return &leaks[i];
    return NULL;
}

static void check_round(struct caretaker *caretaker, int round, const char *leaked_name)
{
    static st_leak leaks[SCAN_MAX];
    size_t count = 0;
    st_result result = st_leaks_scan(st_table_session(caretaker->table), leaks, SCAN_MAX, &count);
    if (result != ST_OK) {
        demo_report("st_leaks_scan", result);
        caretaker->failed = true;
        return;
    }
    if (count > SCAN_MAX)
        count = SCAN_MAX;

    if (find_leak(leaks, count, TIDY_NAME) != NULL) {
        caretaker->tidy_flagged++;
        demo_warn("round %d: \"" TIDY_NAME "\" was unlinked, yet it is reported leaked", round);
    }
    if (leaked_name == NULL) {
        demo_say("round %-3d tidy-writer created, used and unlinked \"" TIDY_NAME "\": "
                 "nothing left; %d region%s still leaked",
                 round, caretaker->leaks, caretaker->leaks == 1 ? "" : "s");
        return;
    }
    const st_leak *leak = find_leak(leaks, count, leaked_name);
    if (leak == NULL || !leak->collectable) {
        caretaker->unflagged++;
        demo_warn("round %d: \"%s\" was left behind by its dead creator, but st_leaks_scan %s",
                  round, leaked_name, leak == NULL ? _("does not report it") : _("calls it in use"));
        return;
    }
    demo_say("round %-3d tidy-writer unlinked \"" TIDY_NAME "\"; careless-writer exited "
             "without unlinking \"%s\": LEAKED, %u KiB (%s)",
             round, leaked_name, (unsigned)(leak->size_bytes / 1024), leak->reason);
}

/* One round (a lesson_round_fn): the tidy writer, then the careless one. */
static bool play_round(void *context, int round)
{
    struct caretaker *caretaker = context;
    struct writer_job tidy = { .caretaker = caretaker, .unlink_when_done = true };
    snprintf(tidy.region, sizeof tidy.region, "%s", TIDY_NAME);
    if (!run_writer(caretaker, "tidy-writer", &tidy)) {
        caretaker->failed = !demo_stop_requested();
        return false;
    }

    char leaked_name[ST_OBJECT_NAME_MAX + 1];
    bool leaking = caretaker->leaks < MAX_LEAKS;
    if (leaking) {
        struct writer_job *careless = caretaker->careless_job;
        *careless = (struct writer_job){ .caretaker = caretaker, .number = round };
        snprintf(careless->region, sizeof careless->region, LEAK_PREFIX "%d", round);
        bool well = run_writer(caretaker, "careless-writer", careless);
        /* Even a writer that failed may have created its region: count it
         * among those the final message tells how to remove. */
        caretaker->leaks++;
        if (!well) {
            caretaker->failed = !demo_stop_requested();
            return false;
        }
        snprintf(leaked_name, sizeof leaked_name, "%s", careless->region);
    }
    caretaker->rounds++;
    check_round(caretaker, round, leaking ? leaked_name : NULL);
    return !caretaker->failed;
}

int lesson_leak(const struct lesson_options *opts)
{
    struct caretaker caretaker = { .opts = opts };
    caretaker.careless_job = crew_shared_alloc(sizeof *caretaker.careless_job);
    if (caretaker.careless_job != NULL && lesson_open(opts, "caretaker", &caretaker.table)) {
        demo_say("every round tidy-writer unlinks its region and careless-writer does not "
                 "(at most %d leaked regions): watch \"" LEAK_PREFIX "N\", leaked 1",
                 MAX_LEAKS);
        lesson_play_rounds(play_round, &caretaker, ROUND_NS);
    } else {
        caretaker.failed = true;
    }

    if (caretaker.table != NULL && caretaker.leaks > 0) {
        demo_say("%d region%s (\"" LEAK_PREFIX "1\" ...) stay%s in /dev/shm after this "
                 "lesson, on purpose. Remove %s with:",
                 caretaker.leaks, caretaker.leaks == 1 ? "" : "s",
                 caretaker.leaks == 1 ? "s" : "", caretaker.leaks == 1 ? "it" : "them");
        demo_say("    synctop --gc -s %s", st_table_session(caretaker.table));
    }
    lesson_close(caretaker.table);
    crew_shared_free(caretaker.careless_job, sizeof *caretaker.careless_job);

    if (caretaker.unflagged > 0 || caretaker.tidy_flagged > 0)
        return demo_claim_failed("%d leaked region%s went unreported, %d unlinked region%s "
                                 "reported leaked",
                                 caretaker.unflagged, caretaker.unflagged == 1 ? "" : "s",
                                 caretaker.tidy_flagged, caretaker.tidy_flagged == 1 ? "" : "s");
    return caretaker.failed ? 1 : 0;
}
