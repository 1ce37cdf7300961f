/* watch.c - a lesson's read-only look at its own session, the way synctop
 * sees it (see lessons.h). Lessons that teach something the dashboard
 * shows - a deadlock cycle, a semaphore's concurrency peak - check it here,
 * through the same public model API the viewer uses. */
#include "config.h"

#include <string.h>

#include "lessons.h"

bool demo_watch_open(struct demo_watch *watch, const char *session)
{
    memset(watch, 0, sizeof *watch);
    st_result result = st_table_attach_readonly(session, &watch->table);
    if (result != ST_OK) {
        demo_report("st_table_attach_readonly", result);
        return false;
    }
    result = st_model_new(&watch->model);
    if (result != ST_OK) {
        demo_report("st_model_new", result);
        demo_watch_close(watch);
        return false;
    }
    return true;
}

bool demo_watch_refresh(struct demo_watch *watch)
{
    st_result result = st_model_refresh(watch->model, watch->table);
    if (result != ST_OK) {
        demo_report("st_model_refresh", result);
        return false;
    }
    return true;
}

const st_object_view *demo_watch_object(const struct demo_watch *watch, const char *name)
{
    size_t count = st_model_object_count(watch->model);
    for (size_t i = 0; i < count; i++) {
        const st_object_view *object = st_model_object(watch->model, i);
        if (strcmp(object->name, name) == 0)
            return object;
    }
    return NULL;
}

bool demo_watch_u64(const struct demo_watch *watch, const char *object, const char *field,
                    uint64_t *out)
{
    const st_object_view *view = demo_watch_object(watch, object);
    if (view == NULL)
        return false;
    const st_field *f = st_object_field(view, field);
    if (f == NULL)
        return false;
    switch (f->kind) {
    case ST_VALUE_U64:
        *out = f->value.u64;
        return true;
    case ST_VALUE_I64:
    case ST_VALUE_PID:
        *out = f->value.i64 < 0 ? 0 : (uint64_t)f->value.i64;
        return true;
    case ST_VALUE_DOUBLE:
        *out = f->value.f64 < 0 ? 0 : (uint64_t)f->value.f64;
        return true;
    default:
        return false;
    }
}

const st_process_view *demo_watch_process(const struct demo_watch *watch, pid_t pid)
{
    size_t count = st_model_process_count(watch->model);
    for (size_t i = 0; i < count; i++) {
        const st_process_view *process = st_model_process(watch->model, i);
        if (process->pid == pid)
            return process;
    }
    return NULL;
}

void demo_watch_close(struct demo_watch *watch)
{
    st_model_free(watch->model);
    st_table_close(watch->table);
    memset(watch, 0, sizeof *watch);
}
