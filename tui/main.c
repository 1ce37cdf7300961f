/* main.c - synctop: top for inter-process synchronization.
 *
 * This file only dispatches: parse the command line (options.c), run a
 * housekeeping command (session_commands.c), or attach read-only to one
 * session and hand the table and a model to the refresh loop with the
 * printer the options chose (output.h).
 *
 *   --once [--json]      one refresh; measured over a short warm-up so CPU%
 *                        and rates are figures of now, not since start
 *   --batch [--json]     refresh every -d seconds, -n times or until stopped
 *   (no mode)            the interactive dashboard (dashboard.c) when stdin
 *                        and stdout are a terminal, else --batch output
 *
 * Exit status: 0 ok; 1 runtime error (foreign, corrupt or incompatible
 * table, a failed refresh or write); 2 usage error or unknown session.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <synctop/model.h>
#include <synctop/result.h>
#include <synctop/table.h>

#include "cli_text.h"
#include "dashboard.h"
#include "options.h"
#include "output.h"
#include "gc_command.h"
#include "i18n.h"
#include "run_command.h"
#include "session_commands.h"

/* --once measures CPU% and rates over this interval, unless -d says otherwise. */
#define ONCE_WARMUP_S 0.2


static void print_failure(const char *what, const char *session, st_result result)
{
    const char *detail = st_error_detail();
    fprintf(stderr, "synctop: %s '%s': %s%s%s\n", what, session, st_strerror(result),
            detail[0] ? ": " : "", detail);
}

/* Attach to the session read-only. Returns 0, or the exit status after
 * printing why not. */
static int attach_session(const synctop_options *options, st_table **table)
{
    char session[ST_SESSION_NAME_MAX + 1];
    char problem[CLI_MESSAGE_BYTES];
    if (!cli_resolve_session(options->session, session, problem, sizeof problem)) {
        fprintf(stderr, "synctop: %s\n", problem);
        options_print_usage(stderr);
        return 2;
    }
    st_result result = st_table_attach_readonly(session, table);
    if (result == ST_ENOENT) {
        fprintf(stderr, _("synctop: no session '%s' is running (start one with: synctop-demo race)\n"), session);
        return 2;
    }
    if (result != ST_OK) {
        print_failure(_("cannot attach to session"), session, result);
        return 1;
    }
    return 0;
}

/* The loop's plan for the chosen mode. */
static refresh_plan plan_for(const synctop_options *options)
{
    refresh_plan plan = {
        .delay_s = options->delay_s,
        .count = options->iterations,
        .blank_line_between = !options->json,
    };
    if (options->mode == MODE_ONCE) {
        plan.count = 1;
        plan.warmup_s = options->delay_given ? options->delay_s : ONCE_WARMUP_S;
    }
    if (!options->json)
        plan.print = batch_print_text;
    else if (options->mode == MODE_ONCE && isatty(STDOUT_FILENO))
        plan.print = json_print_pretty;
    else
        plan.print = json_print_compact;   /* JSON Lines, or a single line for scripts */
    return plan;
}

static int show_session(const synctop_options *options)
{
    st_table *table = NULL;
    int status = attach_session(options, &table);
    if (status != 0)
        return status;
    st_model *model = NULL;
    st_result result = st_model_new(&model);
    if (result != ST_OK) {
        print_failure(_("cannot build a model of session"), st_table_session(table), result);
        st_table_close(table);
        return 1;
    }
    refresh_plan plan = plan_for(options);
    status = run_refreshes(table, model, &plan);
    st_model_free(model);
    st_table_close(table);
    return status;
}

int main(int argc, char **argv)
{
    synctop_options options;
    i18n_init();
    /* `synctop run ...` watches a program it starts: its own command line. */
    if (argc > 1 && strcmp(argv[1], "run") == 0)
        return run_command_main(argc - 1, argv + 1);
    int status = options_parse(argc, argv, &options, stderr);
    if (status != 0)
        return status;

    switch (options.mode) {
    case MODE_HELP:
        options_print_help(stdout);
        return 0;
    case MODE_VERSION:
        printf("synctop %s\n", PACKAGE_VERSION);
        return 0;
    case MODE_LIST:
        return session_list_command();
    case MODE_REMOVE:
        return session_remove_command(options.remove_session, options.force);
    case MODE_GC:
        return gc_command(options.session);
    case MODE_DASHBOARD:
        /* A person at a terminal gets the dashboard; a pipe or a file gets
         * the plain view, so `synctop | less` and scripts keep working. */
        if (isatty(STDOUT_FILENO) && isatty(STDIN_FILENO))
            return dashboard_run(&options);
        options.mode = MODE_BATCH;
        return show_session(&options);
    case MODE_ONCE:
    case MODE_BATCH:
        return show_session(&options);
    }
    return 1;
}
