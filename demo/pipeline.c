/* pipeline.c - the pipeline lesson: three stages joined by two queues.
 *
 *   "reader" --[ raw-lines ]--> "processor-1..N" --[ processed-lines ]--> "writer"
 *
 * The reader reads the lines of a text (numbered, so that each can be
 * traced) and puts them on the queue "raw-lines"; the processors turn each
 * line into upper case and count its words, and put the result on
 * "processed-lines"; the writer writes them to a file (a temporary file,
 * unlinked as soon as it is created and open - so it goes away with its
 * last descriptor even if the lesson is killed - and fsync'ed at the end).
 * The process "pipeline" started the three stages and reports every few
 * seconds how full each queue is.
 *
 * The processors are slower than the reader, on purpose: in the dashboard
 * "raw-lines" fills to its capacity and the reader blocks putting (the
 * queue in front of the slowest stage is where work piles up), while
 * "processed-lines" stays nearly empty and the writer waits. Watch the
 * put and get rates settle on the processors' pace.
 *
 * Shutting down in order: when the time is up the reader puts one "end of
 * text" marker per processor behind its last line; a processor that gets
 * one passes an end marker on to the writer and leaves; the writer leaves
 * once it has seen every processor's marker. Every line is behind no
 * marker, so none is left in a queue.
 *
 * The claim checked: every line the reader put reached the file exactly
 * once (counted by line number in shared memory), correctly processed, and
 * the file holds exactly that many lines. Exit status 1 otherwise.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crew.h"
#include "../tui/i18n.h"

#define RAW_NAME "raw-lines"
#define PROCESSED_NAME "processed-lines"
#define CAPACITY 16
#define MAX_LINES (1u << 20)             /* per run; the reader stops there */
#define READ_NS 60000000LL               /* the reader: a line every 60 ms ... */
#define PROCESS_MIN_MS 250               /* ... a processor: 250-350 ms a line */
#define PROCESS_SPREAD_MS 100
#define REPORT_NS 3000000000LL
#define TIMEOUT_NS 200000000LL
#define STOP_TIMEOUT_NS 10000000000LL

enum { LINE = 1, END_OF_TEXT = 2 };

struct line {
    int32_t kind;
    uint32_t number;
    int32_t words;          /* processed lines */
    char text[116];
};

/* Shared with every member. */
struct tally {
    uint32_t read;                   /* lines the reader put */
    int64_t processed[LESSON_MAX_WORKERS + 1];
    int64_t written;
    int64_t wrong;                   /* processed lines that do not match their source */
    uint64_t file_bytes;
    uint8_t seen[MAX_LINES];         /* times the writer got each line */
};

struct pipeline {
    const struct lesson_options *opts;
    st_table *table;
    st_queue *raw;
    st_queue *processed;
    int processors;
    struct tally *tally;
    char path[64];                   /* the writer's file, unlinked at once */
    int fd;                          /* ... open here, inherited by the writer */
    struct crew crew;
    bool failed;
};

static const char *const verses[] = {
    "the quick brown fox jumps over the lazy dog",
    "a queue in front of the slowest stage fills up first",
    "every line goes through every stage exactly once",
    "producers wait when the queue is full",
    "consumers wait when the queue is empty",
    "three stages and two queues make a pipeline",
    "shut down from the front so that nothing is left behind",
};

#define VERSES (sizeof verses / sizeof verses[0])

static void source_line(uint32_t number, char *text, size_t size)
{
    snprintf(text, size, "%06u %s", number, verses[number % VERSES]);
}

/* The processors' work: upper case, and the number of words. */
static int process_text(const char *in, char *out, size_t size)
{
    int words = 0;
    bool in_word = false;
    size_t i = 0;
    for (; in[i] != '\0' && i + 1 < size; i++) {
        out[i] = (char)toupper((unsigned char)in[i]);
        bool letter = !isspace((unsigned char)in[i]);
        words += letter && !in_word;
        in_word = letter;
    }
    out[i] = '\0';
    return words;
}

/* A put that waits while the queue is full, as long as the lesson is not
 * interrupted by a signal (the shutdown markers must still get through when
 * the time is up). */
static st_result put_line(st_queue *queue, const struct line *line)
{
    st_result result;
    do
        result = st_queue_put(queue, line, sizeof *line, TIMEOUT_NS);
    while (result == ST_ETIMEDOUT && !demo_stop_requested());
    return result;
}

/* A get that waits while the queue is empty, until the parent is gone. */
static st_result get_line(struct pipeline *pipeline, st_queue *queue, struct line *line)
{
    for (;;) {
        size_t length;
        st_result result = st_queue_get(queue, line, sizeof *line, &length, TIMEOUT_NS);
        if (result == ST_OK && length != sizeof *line)
            return ST_EINVAL;
        if (result != ST_ETIMEDOUT)
            return result;
        if (getppid() != pipeline->crew.parent)
            return ST_ECLOSED;   /* the pipeline process died: nobody ends the text */
    }
}

/* ==== the stages =========================================================== */

static int reader_main(void *context, int number, struct crew_member *self)
{
    struct pipeline *pipeline = context;
    (void)number;
    (void)self;
    uint32_t n = 0;
    while (!demo_should_stop() && n < MAX_LINES) {
        struct line line = { .kind = LINE, .number = n };
        source_line(n, line.text, sizeof line.text);
        st_result result = put_line(pipeline->raw, &line);
        if (result == ST_ETIMEDOUT)
            break;   /* interrupted while the queue was full: this line was not put */
        if (result != ST_OK) {
            demo_report("st_queue_put(" RAW_NAME ")", result);
            return 1;
        }
        pipeline->tally->read = ++n;
        lesson_nap(pipeline->opts, READ_NS);
    }
    /* The end of the text, once for each processor, behind the last line. */
    struct line end = { .kind = END_OF_TEXT };
    for (int i = 0; i < pipeline->processors; i++) {
        st_result result;
        do   /* even after a signal: the processors are still there to take it */
            result = st_queue_put(pipeline->raw, &end, sizeof end, TIMEOUT_NS);
        while (result == ST_ETIMEDOUT && getppid() == pipeline->crew.parent);
        if (result != ST_OK) {
            demo_report("st_queue_put(" RAW_NAME ", end of text)", result);
            return 1;
        }
    }
    return 0;
}

static int processor_main(void *context, int number, struct crew_member *self)
{
    struct pipeline *pipeline = context;
    (void)self;
    uint64_t seed = lesson_seed(number);
    for (;;) {
        struct line line;
        st_result result = get_line(pipeline, pipeline->raw, &line);
        if (result != ST_OK) {
            demo_report("st_queue_get(" RAW_NAME ")", result);
            return 1;
        }
        if (line.kind == END_OF_TEXT) {
            do
                result = st_queue_put(pipeline->processed, &line, sizeof line, TIMEOUT_NS);
            while (result == ST_ETIMEDOUT && getppid() == pipeline->crew.parent);
            st_queue_task_done(pipeline->raw);   /* JoinableQueue style: handled */
            return result == ST_OK ? 0 : 1;
        }
        struct line out = { .kind = LINE, .number = line.number };
        out.words = process_text(line.text, out.text, sizeof out.text);
        lesson_nap(pipeline->opts,
                   ST_MILLISECONDS(PROCESS_MIN_MS + lesson_random(&seed, PROCESS_SPREAD_MS)));
        do
            result = st_queue_put(pipeline->processed, &out, sizeof out, TIMEOUT_NS);
        while (result == ST_ETIMEDOUT && getppid() == pipeline->crew.parent);
        if (result != ST_OK) {
            demo_report("st_queue_put(" PROCESSED_NAME ")", result);
            return 1;
        }
        st_queue_task_done(pipeline->raw);
        pipeline->tally->processed[number]++;
    }
}

static bool write_all(int fd, const char *data, size_t size)
{
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        data += n;
        size -= (size_t)n;
    }
    return true;
}

static int writer_main(void *context, int number, struct crew_member *self)
{
    struct pipeline *pipeline = context;
    (void)number;
    (void)self;
    struct tally *tally = pipeline->tally;
    int fd = pipeline->fd;   /* inherited: the file has no name any more */
    int ends = 0, status = 0;
    while (ends < pipeline->processors) {
        struct line line;
        st_result result = get_line(pipeline, pipeline->processed, &line);
        if (result != ST_OK) {
            demo_report("st_queue_get(" PROCESSED_NAME ")", result);
            status = 1;
            break;
        }
        st_queue_task_done(pipeline->processed);
        if (line.kind == END_OF_TEXT) {
            ends++;
            continue;
        }
        char source[sizeof line.text], expected[sizeof line.text];
        source_line(line.number, source, sizeof source);
        int words = process_text(source, expected, sizeof expected);
        if (line.number >= MAX_LINES || strcmp(line.text, expected) != 0 || line.words != words) {
            tally->wrong++;
            continue;
        }
        tally->seen[line.number]++;
        char record[sizeof line.text + 16];
        int length = snprintf(record, sizeof record, "%s (%d words)\n", line.text, line.words);
        if (!write_all(fd, record, (size_t)length)) {
            demo_warn("writer: writing %s: %s", pipeline->path, strerror(errno));
            status = 1;
            break;
        }
        tally->written++;
        tally->file_bytes += (uint64_t)length;
    }
    if (fsync(fd) != 0 && status == 0) {
        demo_warn("writer: fsync %s: %s", pipeline->path, strerror(errno));
        status = 1;
    }
    return status;
}

/* ==== the pipeline process ================================================= */

static bool open_queue(struct pipeline *pipeline, const char *name, st_queue **out)
{
    st_result result = st_queue_open(pipeline->table, name, CAPACITY, sizeof(struct line), out);
    st_queue_info info;
    if (result == ST_OK)
        result = st_queue_info_get(*out, &info);
    if (result != ST_OK) {
        demo_report(name, result);
        return false;
    }
    if (info.closed || info.max_message_bytes < sizeof(struct line)) {
        demo_warn("the session already has a queue \"%s\" that %s; use another --session", name,
                  info.closed ? _("was shut down") : _("cannot hold a line"));
        return false;
    }
    /* Lines left by an earlier run that was killed are not ours. */
    struct line stale;
    size_t length;
    while (st_queue_try_get(*out, &stale, sizeof stale, &length) == ST_OK)
        st_queue_task_done(*out);
    return true;
}

/* The writer's file: created, opened and unlinked at once, so that it
 * disappears with the last descriptor - even if the lesson is killed. */
static bool create_file(struct pipeline *pipeline)
{
    const char *dir = getenv("TMPDIR");
    snprintf(pipeline->path, sizeof pipeline->path, "%s/synctop-pipeline-XXXXXX",
             dir != NULL && dir[0] != '\0' && strlen(dir) < 30 ? dir : "/tmp");
    pipeline->fd = mkostemp(pipeline->path, O_CLOEXEC);
    if (pipeline->fd < 0) {
        demo_warn("cannot create %s: %s", pipeline->path, strerror(errno));
        return false;
    }
    if (unlink(pipeline->path) != 0) {
        demo_warn("cannot unlink %s: %s", pipeline->path, strerror(errno));
        return false;
    }
    return true;
}

/* Lines in the file, read through our descriptor. */
static int64_t count_file_lines(int fd)
{
    int64_t lines = 0;
    char buffer[8192];
    off_t offset = 0;
    ssize_t n;
    while ((n = pread(fd, buffer, sizeof buffer, offset)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            lines += buffer[i] == '\n';
        offset += n;
    }
    return n < 0 ? -1 : lines;
}

/* The file must hold one line per line read, and nothing else. */
static bool check(struct pipeline *pipeline)
{
    struct tally *tally = pipeline->tally;
    uint32_t missing = 0, twice = 0;
    for (uint32_t n = 0; n < tally->read; n++) {
        missing += tally->seen[n] == 0;
        twice += tally->seen[n] > 1;
    }
    int64_t file_lines = count_file_lines(pipeline->fd);
    int64_t processed = 0;
    for (int i = 1; i <= pipeline->processors; i++)
        processed += tally->processed[i];

    if (missing > 0 || twice > 0 || tally->wrong > 0 || file_lines != (int64_t)tally->read) {
        demo_claim_failed("%u lines read, %" PRId64 " in the file: %u missing, %u twice or "
                          "more, %" PRId64 " processed wrong", tally->read, file_lines, missing,
                          twice, tally->wrong);
        return false;
    }
    demo_say("reader read %u lines, the processors processed %" PRId64 ", the writer wrote %"
             PRId64 " (%" PRIu64 " bytes): every line exactly once", tally->read, processed,
             tally->written, tally->file_bytes);
    return true;
}

static void report(struct pipeline *pipeline)
{
    st_queue_info raw, processed;
    if (st_queue_info_get(pipeline->raw, &raw) != ST_OK ||
        st_queue_info_get(pipeline->processed, &processed) != ST_OK)
        return;
    demo_say("\"" RAW_NAME "\" %2" PRIu64 "/%u, \"" PROCESSED_NAME "\" %2" PRIu64 "/%u; "
             "read %u, written %" PRId64 "%s", raw.depth, raw.capacity, processed.depth,
             processed.capacity, pipeline->tally->read, pipeline->tally->written,
             raw.depth * 2 > raw.capacity ? _(": the processors are the bottleneck") : "");
}

int lesson_pipeline(const struct lesson_options *opts)
{
    struct pipeline pipeline = {
        .opts = opts,
        .processors = opts->workers > 0 ? opts->workers : LESSON_DEFAULT_WORKERS,
        .fd = -1,
    };
    pipeline.tally = crew_shared_alloc(sizeof *pipeline.tally);
    if (pipeline.tally == NULL || !lesson_open(opts, "pipeline", &pipeline.table) ||
        !open_queue(&pipeline, RAW_NAME, &pipeline.raw) ||
        !open_queue(&pipeline, PROCESSED_NAME, &pipeline.processed) || !create_file(&pipeline))
        pipeline.failed = true;

    if (!pipeline.failed) {
        demo_say("reader -> \"" RAW_NAME "\" -> processor-1..%d -> \"" PROCESSED_NAME "\" -> "
                 "writer (into %s, unlinked at once)", pipeline.processors, pipeline.path);
        crew_init(&pipeline.crew, pipeline.table, demo_lesson_name());
        char name[ST_PROCESS_NAME_MAX + 1];
        /* Back to front, so that every stage finds its consumer running. */
        if (crew_hire(&pipeline.crew, "writer", "writer", writer_main, &pipeline, 1) < 0)
            pipeline.failed = true;
        for (int i = 1; i <= pipeline.processors && !pipeline.failed; i++) {
            snprintf(name, sizeof name, "processor-%d", i);
            if (crew_hire(&pipeline.crew, name, "processor", processor_main, &pipeline, i) < 0)
                pipeline.failed = true;
        }
        if (!pipeline.failed &&
            crew_hire(&pipeline.crew, "reader", "reader", reader_main, &pipeline, 1) < 0)
            pipeline.failed = true;

        /* Watch until the time is up; the stages then leave in order. */
        while (!pipeline.failed && !demo_should_stop()) {
            int64_t next = demo_now_ns() + lesson_pace(opts, REPORT_NS);
            if (!crew_watch_until(&pipeline.crew, next))
                pipeline.failed = true;
            else if (!demo_should_stop())
                report(&pipeline);
        }
        if (pipeline.failed) {
            for (int i = 0; i < pipeline.crew.count; i++)
                crew_ask_to_stop(&pipeline.crew, i);
        }
        /* The reader ends the text; everyone else follows the markers. */
        bool well = true;
        for (int i = pipeline.crew.count - 1; i >= 0; i--)
            if (!crew_reap(&pipeline.crew, i, STOP_TIMEOUT_NS))
                well = false;
        if (!well)
            pipeline.failed = true;
        if (!pipeline.failed && !check(&pipeline))
            pipeline.failed = true;
    }
    if (pipeline.fd >= 0)
        close(pipeline.fd);   /* the file's last descriptor: its blocks are freed */
    st_queue_close(pipeline.raw);
    st_queue_close(pipeline.processed);
    lesson_close(pipeline.table);
    crew_shared_free(pipeline.tally, sizeof *pipeline.tally);
    return pipeline.failed ? 1 : 0;
}
