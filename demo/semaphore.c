/* semaphore.c - the semaphore lesson: 3 download slots for 10 downloads.
 *
 * Ten downloads ("download-1" .. "download-10") each want to fetch a file,
 * over and over; the semaphore "download-slots" starts at 3, so at most
 * three download at once and the rest wait their turn. The process
 * "download-manager" reports once a second who is downloading and who
 * waits. In synctop: download-slots sits at value 0 with in_use 3, its
 * waiters and contentions grow, and peak_in_use never passes 3.
 *
 * The claim: never more than 3 downloads at once - counted by the downloads
 * themselves and by the semaphore's peak_in_use (see crowd.c).
 */
#include "config.h"

#include "crowd.h"

int lesson_semaphore(const struct lesson_options *opts)
{
    static const struct crowd_story story = {
        .manager = "download-manager",
        .semaphore = "download-slots",
        .slots = 3,
        .clients = 10,
        .client_prefix = "download",
        .client_role = "download",
        .slot_word = "slot",
        .doing = "downloading",
        .work_min_ms = 500, .work_max_ms = 1500,
        .rest_min_ms = 200, .rest_max_ms = 1000,
    };
    return crowd_run(opts, &story);
}
