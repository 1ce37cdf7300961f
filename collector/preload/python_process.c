/* python_process.c - reading a Python process's name and role (see
 * python_process.h).
 *
 * Only attributes are read, never a function called: the module
 * multiprocessing.process from sys.modules (if the program imported it),
 * its _current_process, that object's _name and _target.__name__; and
 * sys.argv[0] for the main process. A manager's server process (target
 * BaseManager._run_server, name "SyncManager-1") has the role "manager". The functions are found with dlsym once
 * per process (a program that is not Python finds none and is never
 * asked); the interpreter's error indicator is saved before and restored
 * after. A fork child still carries its parent's _current_process until
 * Process._bootstrap replaces it, so the answer is "final" only once a
 * target is seen (watch_session.c asks again until then).
 */
#include "preload/preload.h"
#include "preload/python_process.h"
#include "synctop/text.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

typedef struct _object py_object;

static struct {
    int state;                      /* 0 not looked up, 1 found, -1 not usable */
    py_object *(*sys_get)(const char *);                    /* borrowed */
    py_object *(*dict_get)(py_object *, const char *);      /* borrowed */
    py_object *(*sequence_item)(py_object *, long);         /* new reference */
    py_object *(*get_attr)(py_object *, const char *);      /* new reference */
    const char *(*as_utf8)(py_object *);
    void (*dec_ref)(py_object *);
    void (*err_fetch)(py_object **, py_object **, py_object **);
    void (*err_restore)(py_object *, py_object *, py_object *);
    void (*err_clear)(void);
    long (*as_long)(py_object *);
} api;

#define LOOKUP(field, name) \
    do { \
        void *found = dlsym(RTLD_DEFAULT, name); \
        if (!found) \
            return false; \
        memcpy(&api.field, &found, sizeof found); \
    } while (0)

static bool lookup_api(void)
{
    LOOKUP(sys_get, "PySys_GetObject");
    LOOKUP(dict_get, "PyDict_GetItemString");
    LOOKUP(sequence_item, "PySequence_GetItem");
    LOOKUP(get_attr, "PyObject_GetAttrString");
    LOOKUP(as_utf8, "PyUnicode_AsUTF8");
    LOOKUP(dec_ref, "Py_DecRef");
    LOOKUP(err_fetch, "PyErr_Fetch");
    LOOKUP(err_restore, "PyErr_Restore");
    LOOKUP(err_clear, "PyErr_Clear");
    LOOKUP(as_long, "PyLong_AsLong");
    return true;
}

/* A str object's text into out (valid UTF-8, cut at a character boundary). */
static bool copy_str(py_object *value, char *out, size_t size)
{
    const char *utf8 = value ? api.as_utf8(value) : NULL;
    if (!utf8) {
        api.err_clear();
        return false;
    }
    st_text_sanitize(utf8, (size_t)-1, out, size, 0);
    return out[0] != '\0';
}

/* The str attribute path of object ("_target", "__name__"), copied. */
static bool attribute_text(py_object *object, const char *first, const char *second, char *out, size_t size)
{
    py_object *value = api.get_attr(object, first);
    if (!value) {
        api.err_clear();
        return false;
    }
    bool found;
    if (second) {
        py_object *inner = api.get_attr(value, second);
        if (!inner)
            api.err_clear();
        found = inner && copy_str(inner, out, size);
        if (inner)
            api.dec_ref(inner);
    } else {
        found = copy_str(value, out, size);
    }
    api.dec_ref(value);
    return found;
}

/* "app.py" for "/home/me/app.py"; "-c" stays "-c". */
static bool script_name(char *out, size_t size)
{
    py_object *argv = api.sys_get("argv");
    if (!argv)
        return false;
    py_object *first = api.sequence_item(argv, 0);
    if (!first) {
        api.err_clear();
        return false;
    }
    char path[512];
    bool found = copy_str(first, path, sizeof path);
    api.dec_ref(first);
    if (!found)
        return false;
    const char *slash = strrchr(path, '/');
    const char *base = slash && slash[1] ? slash + 1 : path;
    st_text_sanitize(base, (size_t)-1, out, size, 0);
    return out[0] != '\0';
}

static bool read_identity(bool is_main, char *name, size_t name_size, char *role, size_t role_size)
{
    if (is_main)
        return script_name(name, name_size);
    py_object *modules = api.sys_get("modules");
    py_object *module = modules ? api.dict_get(modules, "multiprocessing.process") : NULL;
    if (!module)
        return false;
    py_object *current = api.get_attr(module, "_current_process");
    if (!current) {
        api.err_clear();
        return false;
    }
    attribute_text(current, "_name", NULL, name, name_size);
    bool final = attribute_text(current, "_target", "__name__", role, role_size);
    /* A manager's server process (multiprocessing.managers): its target is
     * BaseManager._run_server. */
    if (final && strcmp(role, "_run_server") == 0)
        snprintf(role, role_size, "manager");
    api.dec_ref(current);
    return final;
}

bool python_process_identity(bool is_main, char *name, size_t name_size, char *role, size_t role_size)
{
    name[0] = role[0] = '\0';
    if (api.state == 0)
        api.state = lookup_api() ? 1 : -1;
    if (api.state != 1)
        return true;                 /* nothing to ask, ever */
    py_object *type, *value, *traceback;
    tls.guard++;
    api.err_fetch(&type, &value, &traceback);
    bool final = read_identity(is_main, name, name_size, role, role_size);
    api.err_restore(type, value, traceback);
    tls.guard--;
    return final;
}

/* multiprocessing.pool.worker(inqueue, outqueue, initializer, initargs,
 * maxtasks, wrap_exception): its maxtasks, read from the current process's
 * _target and _args. */
static long read_pool_worker_maxtasks(void)
{
    py_object *modules = api.sys_get("modules");
    py_object *module = modules ? api.dict_get(modules, "multiprocessing.process") : NULL;
    if (!module)
        return 0;
    py_object *current = api.get_attr(module, "_current_process");
    if (!current) {
        api.err_clear();
        return 0;
    }
    char target[32], where[32];
    long maxtasks = 0;
    if (attribute_text(current, "_target", "__name__", target, sizeof target) && strcmp(target, "worker") == 0 &&
        attribute_text(current, "_target", "__module__", where, sizeof where) &&
        strcmp(where, "multiprocessing.pool") == 0) {
        py_object *args = api.get_attr(current, "_args");
        py_object *item = args ? api.sequence_item(args, 4) : NULL;
        if (item) {
            maxtasks = api.as_long(item);   /* None: -1 and a TypeError */
            api.dec_ref(item);
        }
        if (args)
            api.dec_ref(args);
        api.err_clear();
    }
    api.dec_ref(current);
    return maxtasks > 0 ? maxtasks : 0;
}

long python_pool_worker_maxtasks(void)
{
    if (api.state == 0)
        api.state = lookup_api() ? 1 : -1;
    if (api.state != 1)
        return 0;
    py_object *type, *value, *traceback;
    tls.guard++;
    api.err_fetch(&type, &value, &traceback);
    long maxtasks = read_pool_worker_maxtasks();
    api.err_restore(type, value, traceback);
    tls.guard--;
    return maxtasks;
}
