/* resources.c - the resources lesson: three workers, each heavy on one
 * resource, for the dashboard's CPU and memory meters.
 *
 * The process "meter-reader" forks
 *
 *   "cpu-hog"     computes without pause: its CPU% stays near 100 (of one
 *                 CPU) and the CPU meter of the core it runs on fills;
 *   "memory-hog"  maps about 200 MiB and touches every page, a tenth at a
 *                 time, holds it a while, gives it back and starts over:
 *                 its resident memory (RSS) climbs to 200 MiB and drops;
 *   "io-hog"      writes a temporary file 1 MiB at a time, fsync'ing each
 *                 MiB to the disk (the file starts over at 16 MiB; it was
 *                 unlinked as soon as it was opened, so it goes away with
 *                 the lesson, however the lesson ends): mostly waiting for
 *                 the disk, it uses little CPU although it is busy.
 *
 * Each publishes its progress in a shared Value - "cpu-hog-work" (million
 * steps computed), "memory-hog-bytes" (bytes touched and held now),
 * "io-hog-bytes" (bytes written and synced) - and the meter-reader reads
 * the three processes the way synctop does (the session's model) and
 * prints their CPU% and RSS every few seconds.
 *
 * For tests: with SYNCTOP_DEMO_HOLD_MEMORY=1 in the environment, memory-hog
 * holds its first full 200 MiB until the lesson is stopped (SIGINT, SIGTERM
 * or the end of --duration) instead of for a paced while, so that a test
 * on a busy machine sees the peak for sure before it stops the lesson.
 *
 * The claims checked: memory-hog's own RSS reached at least 95% of what it
 * touched, and the dashboard's model saw it above half of that while it
 * held the memory; io-hog's file held exactly what was written after every
 * fsync; cpu-hog computed. Exit status 1 otherwise.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crew.h"

#define MEMORY_BYTES (200ull << 20)
#define MEMORY_STEPS 10
#define MEMORY_STEP_NS 100000000LL    /* touching takes ten of these */
#define MEMORY_HOLD_NS 2000000000LL
#define MEMORY_REST_NS 1000000000LL
#define IO_CHUNK (1u << 20)
#define IO_FILE_MAX (16u << 20)
#define IO_PAUSE_NS 250000000LL   /* about 4 MiB/s at --speed 1 */
#define CPU_PUBLISH_NS 100000000LL
#define SAMPLE_NS 200000000LL         /* the meter-reader looks this often ... */
#define REPORT_NS 2000000000LL        /* ... and prints this often */
#define STOP_TIMEOUT_NS 10000000000LL

/* Shared with the hogs. */
struct gauges {
    uint64_t cpu_steps;
    uint64_t memory_peak_rss;         /* memory-hog's own measure, bytes */
    uint64_t memory_touched;          /* bytes touched in the last cycle */
    int memory_holds;                 /* hold periods completed */
    int memory_holding;               /* 1 while it holds the memory */
    uint64_t io_written;              /* bytes written and synced, in all */
    int io_mismatches;                /* fsync'ed file size != bytes written */
    char io_path[64];                 /* unlinked at once: see create_io_file */
};

struct meters {
    const struct lesson_options *opts;
    st_table *table;
    st_value *cpu_work;
    st_value *memory_bytes;
    st_value *io_bytes;
    struct gauges *gauges;
    int io_fd;                         /* io-hog's file, inherited by io-hog */
    struct crew crew;
    int cpu_index, memory_index, io_index;
    uint64_t seen_rss_while_holding;   /* the model's highest RSS for memory-hog */
    double seen_cpu_percent;           /* the model's highest CPU% for cpu-hog */
    bool failed;
};

/* ==== the hogs ============================================================= */

static int cpu_hog_main(void *context, int number, struct crew_member *self)
{
    struct meters *meters = context;
    (void)number;
    (void)self;
    uint64_t x = 88172645463325252ull, steps = 0;
    while (!demo_should_stop()) {
        int64_t until = demo_now_ns() + CPU_PUBLISH_NS;   /* computing, not paced */
        while (demo_now_ns() < until) {
            for (int i = 0; i < 100000; i++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
            }
            steps += 100000;
        }
        meters->gauges->cpu_steps = steps + (x & 1);   /* x keeps the loop from vanishing */
        st_value_set_u64(meters->cpu_work, steps / 1000000);
    }
    return 0;
}

static uint64_t own_rss(void)
{
    FILE *statm = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, resident = 0;
    if (statm != NULL) {
        if (fscanf(statm, "%llu %llu", &size, &resident) != 2)
            resident = 0;
        fclose(statm);
    }
    return resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* The test hook described at the top. */
static bool hold_until_stopped(void)
{
    const char *hold = getenv("SYNCTOP_DEMO_HOLD_MEMORY");
    return hold != NULL && strcmp(hold, "1") == 0;
}

static int memory_hog_main(void *context, int number, struct crew_member *self)
{
    struct meters *meters = context;
    struct gauges *gauges = meters->gauges;
    (void)number;
    (void)self;
    long page = sysconf(_SC_PAGESIZE);
    while (!demo_should_stop()) {
        unsigned char *memory = mmap(NULL, MEMORY_BYTES, PROT_READ | PROT_WRITE,
                                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (memory == MAP_FAILED) {
            demo_warn("memory-hog: mmap of %llu MiB: %s", MEMORY_BYTES >> 20, strerror(errno));
            return 1;
        }
        uint64_t touched = 0;
        for (int step = 0; step < MEMORY_STEPS && !demo_should_stop(); step++) {
            uint64_t end = MEMORY_BYTES / MEMORY_STEPS * (uint64_t)(step + 1);
            for (; touched < end; touched += (uint64_t)page)
                memory[touched] = (unsigned char)(touched >> 12);   /* one write per page */
            st_value_set_u64(meters->memory_bytes, touched);
            lesson_nap(meters->opts, MEMORY_STEP_NS);
        }
        uint64_t rss = own_rss();
        if (rss > gauges->memory_peak_rss)
            gauges->memory_peak_rss = rss;
        gauges->memory_touched = touched;
        if (touched == MEMORY_BYTES) {
            __atomic_store_n(&gauges->memory_holding, 1, __ATOMIC_RELEASE);
            if (hold_until_stopped())
                lesson_sleep_until(INT64_MAX);
            else
                lesson_nap(meters->opts, MEMORY_HOLD_NS);
            if (!demo_should_stop())   /* the meter-reader looked all along */
                gauges->memory_holds++;
            __atomic_store_n(&gauges->memory_holding, 0, __ATOMIC_RELEASE);
        }
        munmap(memory, MEMORY_BYTES);
        st_value_set_u64(meters->memory_bytes, 0);
        lesson_nap(meters->opts, MEMORY_REST_NS);
    }
    return 0;
}

static int io_hog_main(void *context, int number, struct crew_member *self)
{
    struct meters *meters = context;
    struct gauges *gauges = meters->gauges;
    (void)number;
    (void)self;
    int fd = meters->io_fd;
    static char chunk[IO_CHUNK];
    memset(chunk, 'x', sizeof chunk);
    uint64_t in_file = 0;
    int status = 0;
    while (!demo_should_stop()) {
        if (in_file >= IO_FILE_MAX) {   /* start the file over */
            if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
                demo_warn("io-hog: truncating %s: %s", gauges->io_path, strerror(errno));
                status = 1;
                break;
            }
            in_file = 0;
        }
        size_t done = 0;
        while (done < sizeof chunk) {
            ssize_t n = write(fd, chunk + done, sizeof chunk - done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            done += (size_t)n;
        }
        if (done != sizeof chunk || fsync(fd) != 0) {
            demo_warn("io-hog: writing %s: %s", gauges->io_path, strerror(errno));
            status = 1;
            break;
        }
        in_file += done;
        struct stat st;
        if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != in_file)
            gauges->io_mismatches++;
        gauges->io_written += done;
        st_value_set_u64(meters->io_bytes, gauges->io_written);
        lesson_nap(meters->opts, IO_PAUSE_NS);
    }
    return status;
}

/* ==== the meter-reader ===================================================== */

static bool open_values(struct meters *meters)
{
    uint64_t zero = 0;
    st_result result = st_value_open(meters->table, "cpu-hog-work", ST_UINT64, &zero,
                                     &meters->cpu_work);
    if (result == ST_OK)
        result = st_value_open(meters->table, "memory-hog-bytes", ST_UINT64, &zero,
                               &meters->memory_bytes);
    if (result == ST_OK)
        result = st_value_open(meters->table, "io-hog-bytes", ST_UINT64, &zero,
                               &meters->io_bytes);
    if (result != ST_OK) {
        demo_report("st_value_open", result);
        return false;
    }
    return true;
}

/* io-hog's file: created, opened and unlinked at once, so that it goes
 * away with its last descriptor - even if the lesson is killed. */
static bool create_io_file(struct meters *meters)
{
    struct gauges *gauges = meters->gauges;
    const char *dir = getenv("TMPDIR");
    snprintf(gauges->io_path, sizeof gauges->io_path, "%s/synctop-io-hog-XXXXXX",
             dir != NULL && dir[0] != '\0' && strlen(dir) < 30 ? dir : "/tmp");
    meters->io_fd = mkostemp(gauges->io_path, O_CLOEXEC);
    if (meters->io_fd < 0) {
        demo_warn("cannot create %s: %s", gauges->io_path, strerror(errno));
        return false;
    }
    if (unlink(gauges->io_path) != 0) {
        demo_warn("cannot unlink %s: %s", gauges->io_path, strerror(errno));
        return false;
    }
    return true;
}

/* One look through the dashboard's eyes; a line now and then. */
static void sample(struct meters *meters, struct demo_watch *watch, bool print)
{
    if (!demo_watch_refresh(watch))
        return;
    const struct crew_member *m = meters->crew.members;
    const st_process_view *cpu = demo_watch_process(watch, m[meters->cpu_index].pid);
    const st_process_view *memory = demo_watch_process(watch, m[meters->memory_index].pid);
    const st_process_view *io = demo_watch_process(watch, m[meters->io_index].pid);
    if (cpu != NULL && cpu->sampled && cpu->cpu_percent > meters->seen_cpu_percent)
        meters->seen_cpu_percent = cpu->cpu_percent;
    if (memory != NULL && memory->sampled &&
        __atomic_load_n(&meters->gauges->memory_holding, __ATOMIC_ACQUIRE) &&
        memory->rss_bytes > meters->seen_rss_while_holding)
        meters->seen_rss_while_holding = memory->rss_bytes;
    if (print && cpu != NULL && memory != NULL && io != NULL)
        demo_say("cpu-hog %3.0f%% CPU | memory-hog %4" PRIu64 " MiB resident | io-hog %3.0f%% "
                 "CPU, %" PRIu64 " MiB written and synced",
                 cpu->cpu_percent, memory->rss_bytes >> 20, io->cpu_percent,
                 meters->gauges->io_written >> 20);
}

static void read_meters(struct meters *meters)
{
    struct demo_watch watch;
    if (!demo_watch_open(&watch, st_table_session(meters->table))) {
        meters->failed = true;
        return;
    }
    int64_t next_report = demo_now_ns() + lesson_pace(meters->opts, REPORT_NS);
    while (!demo_should_stop()) {
        int64_t next = demo_now_ns() + SAMPLE_NS;   /* not paced: a hold is short at speed */
        if (!crew_watch_until(&meters->crew, next)) {
            meters->failed = true;
            break;
        }
        bool print = demo_now_ns() >= next_report;
        if (print)
            next_report += lesson_pace(meters->opts, REPORT_NS);
        sample(meters, &watch, print && !demo_should_stop());
    }
    demo_watch_close(&watch);
}

static bool check(struct meters *meters)
{
    const struct gauges *g = meters->gauges;
    bool held = true;
    if (g->memory_touched == MEMORY_BYTES && g->memory_peak_rss < MEMORY_BYTES / 100 * 95) {
        demo_claim_failed("memory-hog touched %llu MiB but its RSS reached only %" PRIu64 " MiB",
                          MEMORY_BYTES >> 20, g->memory_peak_rss >> 20);
        held = false;
    }
    if (g->memory_holds > 0 && meters->seen_rss_while_holding < MEMORY_BYTES / 2) {
        demo_claim_failed("memory-hog held %llu MiB, but the dashboard's model never saw its "
                          "RSS above %" PRIu64 " MiB", MEMORY_BYTES >> 20,
                          meters->seen_rss_while_holding >> 20);
        held = false;
    }
    if (g->io_mismatches > 0) {
        demo_claim_failed("io-hog's file size differed from what it wrote %d time%s",
                          g->io_mismatches, g->io_mismatches == 1 ? "" : "s");
        held = false;
    }
    if (g->cpu_steps == 0) {
        demo_claim_failed("cpu-hog computed nothing");
        held = false;
    }
    if (held)
        demo_say("cpu-hog: %" PRIu64 " million steps (the dashboard saw up to %.0f%% CPU); "
                 "memory-hog: RSS up to %" PRIu64 " MiB (dashboard: %" PRIu64 " MiB); io-hog: %"
                 PRIu64 " MiB written and synced",
                 g->cpu_steps / 1000000, meters->seen_cpu_percent, g->memory_peak_rss >> 20,
                 meters->seen_rss_while_holding >> 20, g->io_written >> 20);
    return held;
}

int lesson_resources(const struct lesson_options *opts)
{
    struct meters meters = { .opts = opts, .io_fd = -1 };
    meters.gauges = crew_shared_alloc(sizeof *meters.gauges);
    if (meters.gauges == NULL || !lesson_open(opts, "meter-reader", &meters.table) ||
        !open_values(&meters) || !create_io_file(&meters))
        meters.failed = true;
    if (!meters.failed) {
        demo_say("cpu-hog computes, memory-hog touches %llu MiB, io-hog writes and fsyncs %s "
                 "(unlinked at once): watch their CPU%% and RSS", MEMORY_BYTES >> 20,
                 meters.gauges->io_path);
        crew_init(&meters.crew, meters.table, demo_lesson_name());
        meters.cpu_index = crew_hire(&meters.crew, "cpu-hog", "cpu", cpu_hog_main, &meters, 1);
        meters.memory_index = crew_hire(&meters.crew, "memory-hog", "memory", memory_hog_main,
                                        &meters, 1);
        meters.io_index = crew_hire(&meters.crew, "io-hog", "io", io_hog_main, &meters, 1);
        if (meters.cpu_index < 0 || meters.memory_index < 0 || meters.io_index < 0)
            meters.failed = true;
        else
            read_meters(&meters);
        for (int i = 0; i < meters.crew.count; i++)
            crew_ask_to_stop(&meters.crew, i);
        if (!crew_dismiss(&meters.crew, STOP_TIMEOUT_NS))
            meters.failed = true;
    }
    if (meters.io_fd >= 0)
        close(meters.io_fd);   /* the file's last descriptor: its blocks are freed */
    if (!meters.failed && !check(&meters))
        meters.failed = true;
    st_value_close(meters.cpu_work);
    st_value_close(meters.memory_bytes);
    st_value_close(meters.io_bytes);
    lesson_close(meters.table);
    crew_shared_free(meters.gauges, sizeof *meters.gauges);
    return meters.failed ? 1 : 0;
}
