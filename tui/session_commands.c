/* session_commands.c - --list and --remove (see session_commands.h).
 *
 * --list prints one self-describing line per session, so it reads without
 * a header and greps well:
 *
 *   default   1.2MiB  3 live processes  5 objects
 *   old-run   4.0KiB  invalid: the segment is not a synctop table
 *   planted   4.0KiB  unsafe, not yours: another user owns it or ...
 *
 * --remove refuses a session that live processes still use unless --force,
 * because removing it under them leaves them publishing into a table no
 * viewer can find.
 */
#include "config.h"

#include "session_commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <synctop/result.h>
#include <synctop/table.h>

#include "format.h"
#include "i18n.h"

static int compare_by_name(const void *a, const void *b)
{
    const st_session_info *left = a, *right = b;
    return strcmp(left->name, right->name);
}

/* All sessions into a malloc'd array (sorted by name). Returns ST_OK or
 * the failure; *sessions is NULL when *count is 0. */
static st_result load_sessions(st_session_info **sessions, size_t *count)
{
    size_t capacity = 32;
    *sessions = NULL;
    *count = 0;
    /* The list can grow between two calls; a few rounds settle it. */
    for (int attempt = 0; attempt < 8; attempt++) {
        st_session_info *buffer = calloc(capacity, sizeof *buffer);
        if (buffer == NULL)
            return ST_ENOMEM;
        size_t found = 0;
        st_result result = st_session_list(buffer, capacity, &found);
        if (result != ST_OK) {
            free(buffer);
            return result;
        }
        if (found <= capacity) {
            qsort(buffer, found, sizeof *buffer, compare_by_name);
            if (found == 0) {
                free(buffer);
                buffer = NULL;
            }
            *sessions = buffer;
            *count = found;
            return ST_OK;
        }
        free(buffer);
        capacity = found + 16;
    }
    return ST_ENOMEM;   /* the list kept growing faster than we could read it */
}

int session_list_command(void)
{
    st_session_info *sessions;
    size_t count;
    st_result result = load_sessions(&sessions, &count);
    if (result != ST_OK) {
        const char *detail = st_error_detail();
        fprintf(stderr, _("synctop: cannot list sessions: %s%s%s\n"), st_strerror(result),
                detail[0] ? ": " : "", detail);
        return 1;
    }
    if (count == 0) {
        puts(_("no sessions"));
        return 0;
    }
    /* A session's name is a /dev/shm file name: any bytes but '/'. */
    int name_width = 0;
    for (size_t i = 0; i < count; i++) {
        char name[4 * ST_SESSION_NAME_MAX];
        int length = (int)strlen(format_text(sessions[i].name, name, sizeof name));
        if (length > name_width)
            name_width = length;
    }
    for (size_t i = 0; i < count; i++) {
        const st_session_info *session = &sessions[i];
        char size_text[FORMAT_BUFFER_BYTES], name[4 * ST_SESSION_NAME_MAX];
        printf("%-*s %8s  ", name_width, format_text(session->name, name, sizeof name),
               format_bytes(session->size_bytes, size_text));
        if (session->valid)
            printf(_("%u live process%s  %u object%s\n"), (unsigned)session->live_processes,
                   session->live_processes == 1 ? "" : "es", (unsigned)session->objects,
                   session->objects == 1 ? "" : "s");
        else if (session->status == ST_EUNSAFE)
            fputs(_("unsafe, not yours: another user owns it or others may open it; synctop will not use it "
                   "(remove it as its owner or root)\n"), stdout);
        else
            printf(_("invalid: %s\n"), st_strerror(session->status));
    }
    free(sessions);
    return 0;
}

int session_remove_command(const char *session, bool force)
{
    char name[ST_SESSION_NAME_MAX + 1];
    st_result result = st_session_resolve(session, name);
    if (result != ST_OK) {
        const char *detail = st_error_detail();
        fprintf(stderr, _("synctop: invalid session name '%s': %s\n"), session,
                detail[0] ? detail : st_strerror(result));
        return 2;
    }
    result = st_session_remove(name, force);
    switch (result) {
    case ST_OK:
        printf(_("removed session '%s'\n"), name);
        return 0;
    case ST_ENOENT:
        fprintf(stderr, _("synctop: no session '%s' (synctop --list shows the sessions)\n"), name);
        return 2;
    case ST_EBUSY:
        fprintf(stderr, _("synctop: session '%s' is in use: live processes are attached to it; "
                          "--force removes it anyway\n"), name);
        return 1;
    default: {
        const char *detail = st_error_detail();
        fprintf(stderr, _("synctop: cannot remove session '%s': %s%s%s\n"), name, st_strerror(result),
                detail[0] ? ": " : "", detail);
        return 1;
    }
    }
}
