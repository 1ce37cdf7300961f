/* meters.h - the header of the dashboard, htop style: on the left one bar
 * per CPU and a memory bar, on the right the session and its status (live,
 * paused, session ended, waiting), counts of processes and of objects by
 * kind, the load average and the uptime.
 */
#ifndef SYNCTOP_TUI_METERS_H
#define SYNCTOP_TUI_METERS_H

#include <synctop/model.h>

#include "columns.h"
#include "screen.h"

typedef struct meters_status {
    const char *session;       /* the session's name */
    const char *status;        /* "LIVE", "PAUSED", "SESSION ENDED", "WAITING", "COMMAND ENDED: ..." */
    screen_role status_role;
    double delay_s;            /* refresh interval, shown with LIVE */
} meters_status;

/* Lines the header takes at this width. */
int meters_height(const st_model *model, const dataset *data, int width);

/* Draw the header on lines 0 .. meters_height() - 1. */
void meters_draw(const st_model *model, const dataset *data, const meters_status *status, int width);

#endif
