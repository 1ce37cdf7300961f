/* lifecycle.c - the interposition library's start and its forks.
 *
 * At load: find the real functions and check glibc's object layouts
 * (real_calls.c). Nothing else happens until the program touches a shared
 * object: no table is opened, no process registered (watch_session.c).
 *
 * In a fork child, what the parent's threads were doing is not the child's:
 * a failed try remembered by the forking thread, a Queue getter's "blocked"
 * mark, a Python composite being assembled, and spin locks another thread
 * may have held at the moment of fork are all reset. The table and the map
 * of watched objects are inherited on purpose (the child shares the
 * parent's semaphores at the same addresses); libsynctop's own atfork
 * handler gives the child its pid and a new fork generation, so it
 * registers itself on its first counted operation. Nothing here depends on
 * atexit: Python's fork children leave through os._exit.
 */
#include "preload/preload.h"
#include "preload/watch_objects.h"

#include <sys/syscall.h>
#include <unistd.h>

pid_t thread_id_slow(void)
{
    tls.tid = (pid_t)syscall(SYS_gettid);
    return tls.tid;
}

static void child_after_fork(void)
{
    tls.tid = 0;
    tls.tried = NULL;
    tls.pending_start = 0;
    tls.marked_get = NULL;
    tracked_after_fork();
    watch_after_fork();
    watch_objects_after_fork();
}

__attribute__((constructor)) static void preload_start(void)
{
    real_resolve();
    tls.guard++;
    layout_known = real_layout_matches();
    pthread_atfork(NULL, NULL, child_after_fork);
    tls.guard--;
}
