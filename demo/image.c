/* image.c - the image lesson: a 1000 x 1000 RGB picture in shared memory
 * turned grayscale by several workers at once, each taking a band of rows.
 *
 * The process "darkroom" creates two shared-memory regions: "photo-rgb"
 * (3 000 000 bytes, three per pixel) and "photo-gray" (1 000 000 bytes, one
 * per pixel), and forks the workers "grayscaler-1" .. "grayscaler-N" (4 by
 * default), which attach to both by name. Every round it paints a new
 * picture, gives grayscaler k the rows [k * 1000 / N, (k + 1) * 1000 / N),
 * and waits for them; each writes
 *
 *     gray = (77 r + 150 g + 29 b + 128) / 256      (integer luma, ITU-R 601)
 *
 * for its rows only, in bands, so the dashboard sees them at work. No lock:
 * every pixel is read by one worker and written by one worker.
 *
 * The claim checked: the picture the workers made is byte for byte the one
 * the darkroom computes alone (serially) from the same pixels. Before each
 * round the gray region is filled with the complement of the expected
 * result, so a row nobody converted cannot pass by accident. At the end the
 * workers detach and both regions are unlinked.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crew.h"
#include "../tui/i18n.h"

#define WIDTH 1000
#define HEIGHT 1000
#define RGB_NAME "photo-rgb"
#define GRAY_NAME "photo-gray"
#define ROUND_NS 1000000000LL
#define BANDS_PER_WORKER 10
#define BAND_NAP_NS 30000000LL
#define DISMISS_TIMEOUT_NS 3000000000LL

enum { ORDER_CONVERT = 1 };

struct darkroom {
    const struct lesson_options *opts;
    st_table *table;
    st_shm *rgb_region;
    st_shm *gray_region;
    unsigned char *expected;   /* the serial result, private to the darkroom */
    struct crew crew;
    int rounds;
    int wrong_rounds;
    bool failed;
};

static unsigned char luma(const unsigned char *pixel)
{
    return (unsigned char)((77u * pixel[0] + 150u * pixel[1] + 29u * pixel[2] + 128u) >> 8);
}

static void convert_rows(const unsigned char *rgb, unsigned char *gray, int first, int end)
{
    for (int y = first; y < end; y++)
        for (int x = 0; x < WIDTH; x++) {
            size_t i = (size_t)y * WIDTH + (size_t)x;
            gray[i] = luma(rgb + 3 * i);
        }
}

/* ==== a grayscaler ========================================================= */

static int grayscaler_main(void *context, int number, struct crew_member *self)
{
    struct darkroom *room = context;
    (void)number;

    st_shm *rgb_region = NULL, *gray_region = NULL;
    st_result result = st_shm_attach(room->table, RGB_NAME, &rgb_region);
    if (result == ST_OK)
        result = st_shm_attach(room->table, GRAY_NAME, &gray_region);
    if (result != ST_OK) {
        demo_report("st_shm_attach", result);
        st_shm_close(rgb_region);
        return 1;
    }
    const unsigned char *rgb = st_shm_data(rgb_region);
    unsigned char *gray = st_shm_data(gray_region);

    struct crew_order order;
    while (crew_next_order(self, &order)) {
        int first = (int)order.arg[0], end = (int)order.arg[1];
        int band = (end - first + BANDS_PER_WORKER - 1) / BANDS_PER_WORKER;
        if (band < 1)
            band = 1;
        for (int y = first; y < end; y += band) {
            convert_rows(rgb, gray, y, y + band < end ? y + band : end);
            if (y + band < end)
                lesson_nap(room->opts, BAND_NAP_NS);
        }
        struct crew_report report = { .status = CREW_DONE, .value = { end - first } };
        if (!crew_report(self, &report))
            break;
    }
    st_shm_close(gray_region);
    st_shm_close(rgb_region);
    return 0;
}

/* ==== the darkroom ========================================================= */

static bool create_region(st_table *table, const char *name, size_t size, st_shm **out)
{
    st_result result = st_shm_create(table, name, size, out);
    if (result == ST_EBUSY) {
        /* Left over by an earlier run that was killed: start afresh. */
        st_shm_unlink_name(table, name);
        result = st_shm_create(table, name, size, out);
    }
    if (result != ST_OK) {
        demo_warn("st_shm_create(%s): %s (%s)", name,
                  st_strerror(result), st_error_detail());
        return false;
    }
    return true;
}

/* A new picture every round: gradients and a checkerboard that move. */
static void paint(unsigned char *rgb, int round)
{
    for (int y = 0; y < HEIGHT; y++)
        for (int x = 0; x < WIDTH; x++) {
            unsigned char *pixel = rgb + 3 * ((size_t)y * WIDTH + (size_t)x);
            pixel[0] = (unsigned char)(x + round * 13);
            pixel[1] = (unsigned char)(y * 2 + round * 7);
            pixel[2] = (unsigned char)(((x / 50 + y / 50 + round) & 1) ? 230 - x / 8 : y / 5);
        }
}

/* One round (a lesson_round_fn). Returns false when it could not complete. */
static bool play_round(void *context, int round)
{
    struct darkroom *room = context;
    unsigned char *rgb = st_shm_data(room->rgb_region);
    unsigned char *gray = st_shm_data(room->gray_region);
    paint(rgb, round);

    int64_t serial_start = demo_now_ns();
    convert_rows(rgb, room->expected, 0, HEIGHT);
    double serial_s = (double)(demo_now_ns() - serial_start) / 1e9;
    for (size_t i = 0; i < (size_t)WIDTH * HEIGHT; i++)
        gray[i] = (unsigned char)~room->expected[i];   /* every unconverted pixel is wrong */

    int workers = room->crew.count;
    struct crew_order orders[CREW_MAX_MEMBERS];
    for (int k = 0; k < workers; k++)
        orders[k] = (struct crew_order){
            .kind = ORDER_CONVERT,
            .round = round,
            .arg = { HEIGHT * k / workers, HEIGHT * (k + 1) / workers },
        };
    int64_t started = demo_now_ns();
    if (!crew_run_orders(&room->crew, workers, orders, NULL, &room->failed))
        return false;
    double parallel_s = (double)(demo_now_ns() - started) / 1e9;

    size_t wrong = 0;
    for (size_t i = 0; i < (size_t)WIDTH * HEIGHT; i++)
        wrong += gray[i] != room->expected[i];
    room->rounds++;
    if (wrong > 0) {
        room->wrong_rounds++;
        demo_warn("round %d: %zu of %d gray pixels differ from the serial "
                  "result", round, wrong, WIDTH * HEIGHT);
    } else {
        demo_say("round %-3d %d grayscaler%s converted %dx%d in %.2f s (with their pauses; "
                 "serially %.3f s): identical to the serial result",
                 round, workers, workers == 1 ? "" : "s", WIDTH, HEIGHT, parallel_s, serial_s);
    }
    return true;
}

static bool unlink_region(st_shm **region, const char *name)
{
    if (*region == NULL)
        return false;
    st_result result = st_shm_unlink(*region);
    if (result != ST_OK)
        demo_warn("st_shm_unlink(%s): %s", name, st_strerror(result));
    st_shm_close(*region);
    *region = NULL;
    return result == ST_OK;
}

int lesson_image(const struct lesson_options *opts)
{
    struct darkroom room = { .opts = opts };
    int workers = opts->workers > 0 ? opts->workers : LESSON_DEFAULT_WORKERS;

    if (lesson_open(opts, "darkroom", &room.table) &&
        create_region(room.table, RGB_NAME, (size_t)WIDTH * HEIGHT * 3, &room.rgb_region) &&
        create_region(room.table, GRAY_NAME, (size_t)WIDTH * HEIGHT, &room.gray_region) &&
        (room.expected = malloc((size_t)WIDTH * HEIGHT)) != NULL) {
        crew_init(&room.crew, room.table, demo_lesson_name());
        demo_say("%d grayscaler%s turn the %dx%d RGB picture in \"" RGB_NAME "\" into \""
                 GRAY_NAME "\", a band of rows each",
                 workers, workers == 1 ? "" : "s", WIDTH, HEIGHT);
        for (int i = 1; i <= workers && !room.failed; i++) {
            char name[ST_PROCESS_NAME_MAX + 1];
            snprintf(name, sizeof name, "grayscaler-%d", i);
            if (crew_hire(&room.crew, name, "grayscaler", grayscaler_main, &room, i) < 0)
                room.failed = true;
        }
        if (!room.failed)
            lesson_play_rounds(play_round, &room, ROUND_NS);
        if (!crew_dismiss(&room.crew, DISMISS_TIMEOUT_NS))
            room.failed = true;
    } else {
        room.failed = true;
    }
    bool rgb_gone = unlink_region(&room.rgb_region, RGB_NAME);
    bool gray_gone = unlink_region(&room.gray_region, GRAY_NAME);
    if (!rgb_gone || !gray_gone)
        room.failed = true;
    free(room.expected);
    lesson_close(room.table);

    if (room.rounds > 0)
        demo_say("%d of %d pictures came out identical to the serial result; %s",
                 room.rounds - room.wrong_rounds, room.rounds,
                 rgb_gone && gray_gone ? _("both regions unlinked") : _("the regions NOT unlinked"));
    if (room.wrong_rounds > 0)
        return demo_claim_failed("%d picture%s differed from the serial result",
                                 room.wrong_rounds, room.wrong_rounds == 1 ? "" : "s");
    return room.failed ? 1 : 0;
}
