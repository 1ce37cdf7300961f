/* gc_command.c - synctop --gc (see gc_command.h).
 *
 * The collector (leaks.h) decides what is provably leaked and removes it;
 * this file only words the outcome, one self-describing line per item so
 * the output greps well and reads without a header:
 *
 *   removed /synctop-1000-demo.shm.3-18f0c1 (region 'frames', 4.0MiB, creator pid 4242 died)
 *   removed /synctop-1000-old.queue.1-18e9aa (queue data, 64.0KiB, its session 'old' no longer exists)
 *   kept /synctop-1000-demo.shm.5-18f0c2 (region 'tiles', 1.0MiB: creator pid 4243 died without
 *        unlinking it; 1 live process still uses it)
 *   collected 2 segments, 4.1MiB
 *
 * "kept" lines name leaks that some live process still uses: they are
 * shown so the user knows, never removed. Unlike the viewing modes, --gc
 * writes to a session (it marks a collected region unlinked in the status
 * table, so the dashboard stops calling it leaked).
 */
#include "config.h"

#include "gc_command.h"

#include <stdio.h>
#include <stdlib.h>

#include <synctop/leaks.h>
#include <synctop/result.h>
#include <synctop/table.h>

#include "format.h"
#include "i18n.h"

/* Enough for any real machine; more are summed up, not listed. */
#define GC_MAX_LISTED 1024

static void print_failure(const char *what, st_result result)
{
    const char *detail = st_error_detail();
    fprintf(stderr, "synctop: %s: %s%s%s\n", what, st_strerror(result), detail[0] ? ": " : "", detail);
}

static void print_removed(const st_leak *leak)
{
    char size[FORMAT_BUFFER_BYTES];
    format_bytes(leak->size_bytes, size);
    if (leak->kind == ST_LEAK_REGION)
        printf(_("removed %s (region '%s', %s, creator pid %d died)\n"), leak->segment, leak->object, size,
               (int)leak->creator_pid);
    else
        printf(_("removed %s (%s data, %s, %s)\n"), leak->segment, leak->data_kind[0] ? leak->data_kind : "unknown",
               size, leak->reason);
}

static void print_kept(const st_leak *leak)
{
    char size[FORMAT_BUFFER_BYTES];
    format_bytes(leak->size_bytes, size);
    if (leak->kind == ST_LEAK_REGION)
        printf(_("kept %s (region '%s', %s: %s)\n"), leak->segment, leak->object, size, leak->reason);
    else
        printf(_("kept %s (%s data, %s: %s)\n"), leak->segment, leak->data_kind[0] ? leak->data_kind : "unknown",
               size, leak->reason);
}

int gc_command(const char *session)
{
    char name[ST_SESSION_NAME_MAX + 1];
    if (session) {
        st_result result = st_session_resolve(session, name);
        if (result != ST_OK) {
            const char *detail = st_error_detail();
            fprintf(stderr, _("synctop: invalid session name '%s': %s\n"), session,
                    detail[0] ? detail : st_strerror(result));
            return 2;
        }
    }
    st_leak *leaks = calloc(GC_MAX_LISTED, sizeof *leaks);
    if (!leaks) {
        fputs(_("synctop: out of memory\n"), stderr);
        return 1;
    }
    size_t removed = 0;
    st_result result = st_leaks_collect(session ? name : NULL, leaks, GC_MAX_LISTED, &removed);
    if (result != ST_OK) {
        print_failure(_("cannot collect leaked shared memory"), result);
        free(leaks);
        return 1;
    }
    uint64_t removed_bytes = 0;
    for (size_t i = 0; i < removed && i < GC_MAX_LISTED; i++) {
        print_removed(&leaks[i]);
        removed_bytes += leaks[i].size_bytes;
    }
    if (removed > GC_MAX_LISTED)
        printf(_("... and %zu more removed\n"), removed - GC_MAX_LISTED);

    /* What is left leaked is in use: say so, and why. */
    size_t kept = 0;
    result = st_leaks_scan(session ? name : NULL, leaks, GC_MAX_LISTED, &kept);
    if (result != ST_OK) {
        print_failure(_("cannot list the leaks left"), result);
        free(leaks);
        return 1;
    }
    for (size_t i = 0; i < kept && i < GC_MAX_LISTED; i++)
        print_kept(&leaks[i]);
    free(leaks);

    if (removed == 0 && kept == 0) {
        puts(_("nothing to collect"));
        return 0;
    }
    char size[FORMAT_BUFFER_BYTES];
    printf(_("collected %zu segment%s, %s"), removed, removed == 1 ? "" : "s", format_bytes(removed_bytes, size));
    if (kept)
        printf(_("; kept %zu still in use"), kept);
    putchar('\n');
    return 0;
}
