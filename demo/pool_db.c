/* pool_db.c - the pool-db lesson: a connection pool of 5 for 10 users.
 *
 * A database accepts 5 connections; 10 users ("user-1" .. "user-10") run
 * queries now and then, each holding a connection while it queries. The
 * pool is a semaphore, "db-connections", of 5: taking a connection is an
 * acquire, handing it back a release. The process "db-pool" reports once a
 * second who holds a connection and how many wait. In synctop: at busy
 * moments db-connections drops to value 0 and users queue on it (their
 * state "blocked", its waiters and wait times); peak_in_use stays at 5.
 *
 * The claim: never more than 5 connections in use at once (see crowd.c).
 */
#include "config.h"

#include "crowd.h"

int lesson_pool_db(const struct lesson_options *opts)
{
    static const struct crowd_story story = {
        .manager = "db-pool",
        .semaphore = "db-connections",
        .slots = 5,
        .clients = 10,
        .client_prefix = "user",
        .client_role = "db-user",
        .slot_word = "connection",
        .doing = "querying",
        .work_min_ms = 300, .work_max_ms = 1200,
        .rest_min_ms = 100, .rest_max_ms = 800,
    };
    return crowd_run(opts, &story);
}
