/* python_site.c - reading the Python stack at a semaphore's creation (see
 * python_site.h).
 *
 * Only the CPython stable-ish C API is used, looked up with dlsym once per
 * process (a program that is not Python finds none of it and is never
 * asked). All calls happen with the GIL held (python_active() checked
 * PyGILState_Check); the interpreter's error indicator is saved before and
 * restored after, so the program's own exception state is untouched.
 *
 * The stack at sem_open, innermost first, e.g. for the flag of an Event:
 *
 *   SemLock.__init__        synchronize.py   (always first)
 *   Semaphore.__init__      synchronize.py   the leaf: what made the semaphore
 *   BaseContext.Semaphore   context.py
 *   Event.__init__          synchronize.py   "self._flag = ctx.Semaphore(0)": root, attr1 "_flag"
 *   BaseContext.Event       context.py       the user asked for an "Event"
 *   <module>                app.py:8         "ready = mp.Event()": variable "ready"
 *
 * The composite root is the outermost Event, Queue, JoinableQueue or
 * SimpleQueue frame, else the innermost Condition; attributes are read from
 * the source lines of the frames from the root inwards (attr1, attr2) and
 * from the structure outwards to the user (outer_attr: Pool's
 * "self._inqueue = self._ctx.SimpleQueue()"); a Pool.__init__ frame
 * outside the structure marks it as part of that Pool (pool_frame; not a
 * ThreadPool's: its queues are not multiprocessing's). Source files are read with
 * open/read and a few are cached; a file that cannot be read only costs the
 * names their attribute.
 */
#include "preload/preload.h"
#include "preload/python_manager.h"
#include "preload/python_site.h"
#include "synctop/text.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct _object py_object;

static struct {
    int state;                      /* 0 not looked up, 1 found, -1 not Python */
    int (*is_initialized)(void);
    int (*gil_check)(void);
    py_object *(*get_frame)(void);                  /* borrowed */
    py_object *(*frame_back)(py_object *);          /* new reference */
    py_object *(*frame_code)(py_object *);          /* new reference */
    int (*frame_line)(py_object *);
    py_object *(*get_attr)(py_object *, const char *);
    const char *(*as_utf8)(py_object *);
    void (*dec_ref)(py_object *);
    void (*err_fetch)(py_object **, py_object **, py_object **);
    void (*err_restore)(py_object *, py_object *, py_object *);
    void (*err_clear)(void);
    int (*gil_ensure)(void);                        /* PyGILState_STATE is an int-sized enum */
    void (*gil_release)(int);
    void *(*this_thread_state)(void);
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
    LOOKUP(is_initialized, "Py_IsInitialized");
    LOOKUP(gil_check, "PyGILState_Check");
    LOOKUP(get_frame, "PyEval_GetFrame");
    LOOKUP(frame_back, "PyFrame_GetBack");
    LOOKUP(frame_code, "PyFrame_GetCode");
    LOOKUP(frame_line, "PyFrame_GetLineNumber");
    LOOKUP(get_attr, "PyObject_GetAttrString");
    LOOKUP(as_utf8, "PyUnicode_AsUTF8");
    LOOKUP(dec_ref, "Py_DecRef");
    LOOKUP(err_fetch, "PyErr_Fetch");
    LOOKUP(err_restore, "PyErr_Restore");
    LOOKUP(err_clear, "PyErr_Clear");
    LOOKUP(gil_ensure, "PyGILState_Ensure");
    LOOKUP(gil_release, "PyGILState_Release");
    LOOKUP(this_thread_state, "PyGILState_GetThisThreadState");
    return true;
}

bool python_active(void)
{
    if (api.state == 0) {
        tls.guard++;
        api.state = lookup_api() ? 1 : -1;
        tls.guard--;
    }
    return api.state == 1 && api.is_initialized() && api.gil_check() == 1;
}

bool python_absent(void)
{
    return api.state == -1;
}

/* ---- frames ---- */

#define MAX_FRAMES 24
#define QUALNAME_MAX 64
#define PATH_MAX_LEN 256

typedef struct frame_info {
    const void *frame;
    char qualname[QUALNAME_MAX];
    char path[PATH_MAX_LEN];
    int line;
    bool internal;                  /* in the multiprocessing package */
} frame_info;

/* A string attribute of a code object, copied. */
static void code_text(py_object *code, const char *attribute, char *out, size_t size)
{
    out[0] = '\0';
    py_object *value = api.get_attr(code, attribute);
    if (!value) {
        api.err_clear();
        return;
    }
    const char *utf8 = api.as_utf8(value);
    if (utf8)
        snprintf(out, size, "%s", utf8);
    else
        api.err_clear();
    api.dec_ref(value);
}

static void describe_frame(py_object *frame, frame_info *out)
{
    out->frame = frame;
    out->line = api.frame_line(frame);
    py_object *code = api.frame_code(frame);
    out->qualname[0] = out->path[0] = '\0';
    if (code) {
        code_text(code, "co_qualname", out->qualname, sizeof out->qualname);
        if (!out->qualname[0])
            code_text(code, "co_name", out->qualname, sizeof out->qualname);
        code_text(code, "co_filename", out->path, sizeof out->path);
        api.dec_ref(code);
    }
    out->internal = strstr(out->path, "/multiprocessing/") != NULL;
}

static bool path_ends_with(const char *path, const char *end)
{
    size_t len = strlen(path), end_len = strlen(end);
    return len >= end_len && strcmp(path + len - end_len, end) == 0;
}

static bool is_socket_module(const frame_info *frame)
{
    return path_ends_with(frame->path, "/socket.py");
}

/* Walk from the innermost frame outwards, through multiprocessing's own
 * frames, up to and including the first frame of the user's code. */
static int read_frames(frame_info *frames, int max)
{
    int count = 0;
    py_object *frame = api.get_frame();   /* borrowed */
    bool owned = false;
    while (frame && count < max) {
        describe_frame(frame, &frames[count]);
        /* socket.socketpair, called by multiprocessing's Pipe, is walked through. */
        bool user = !frames[count].internal && !(count == 0 && is_socket_module(&frames[0]));
        count++;
        py_object *back = user ? NULL : api.frame_back(frame);
        if (owned)
            api.dec_ref(frame);
        frame = back;
        owned = true;
    }
    if (frame && owned)
        api.dec_ref(frame);
    return count;
}

/* ---- source lines ---- */

#define CACHED_FILES 6
#define SOURCE_MAX (2u << 20)

static struct cached_file {
    char path[PATH_MAX_LEN];
    char *text;                     /* NUL-terminated, or NULL if unreadable */
    unsigned uses;
} cache[CACHED_FILES];
static unsigned cache_clock;

static char *read_whole_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t size = 0, capacity = 16384;
    char *text = malloc(capacity + 1);
    while (text) {
        if (size == capacity) {
            if (capacity >= SOURCE_MAX)
                break;
            char *bigger = realloc(text, capacity * 2 + 1);
            if (!bigger) {
                free(text);
                text = NULL;
                break;
            }
            text = bigger;
            capacity *= 2;
        }
        ssize_t n = read(fd, text + size, capacity - size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        size += (size_t)n;
    }
    close(fd);
    if (text)
        text[size] = '\0';
    return text;
}

static const char *file_text(const char *path)
{
    struct cached_file *oldest = &cache[0];
    for (int i = 0; i < CACHED_FILES; i++) {
        if (cache[i].path[0] && strcmp(cache[i].path, path) == 0) {
            cache[i].uses = ++cache_clock;
            return cache[i].text;
        }
        if (cache[i].uses < oldest->uses)
            oldest = &cache[i];
    }
    free(oldest->text);
    snprintf(oldest->path, sizeof oldest->path, "%s", path);
    oldest->text = read_whole_file(path);
    oldest->uses = ++cache_clock;
    return oldest->text;
}

/* Line number line (from 1) of path, copied into out. */
static bool source_line(const char *path, int line, char *out, size_t size)
{
    if (line < 1 || path[0] == '\0' || path[0] == '<')
        return false;
    const char *text = file_text(path);
    if (!text)
        return false;
    for (int n = 1; n < line; n++) {
        text = strchr(text, '\n');
        if (!text)
            return false;
        text++;
    }
    size_t len = strcspn(text, "\n");
    snprintf(out, size, "%.*s", (int)len, text);
    return true;
}

/* Python 3 identifiers may be non-ASCII ("données"): any byte of a UTF-8
 * sequence counts (the name is made valid UTF-8 where it is cut). */
static bool identifier_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (unsigned char)c >= 0x80;
}

static bool identifier_char(char c)
{
    return identifier_start(c) || (c >= '0' && c <= '9');
}

/* The name a statement assigns to: "self._sem = ctx.BoundedSemaphore(n)"
 * gives "_sem", "orders: Queue = mp.Queue()" gives "orders". Only a single
 * (dotted) target followed by '=' counts. */
static bool assigned_name(const char *statement, char *out, size_t size)
{
    const char *p = statement;
    while (*p == ' ' || *p == '\t')
        p++;
    const char *last = NULL;
    size_t last_len = 0;
    for (;;) {
        if (!identifier_start(*p))
            return false;
        last = p;
        while (identifier_char(*p))
            p++;
        last_len = (size_t)(p - last);
        if (*p != '.')
            break;
        p++;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == ':') {                 /* an annotation: skip to its '=' */
        while (*p && *p != '=')
            p++;
    }
    if (p[0] != '=' || p[1] == '=')
        return false;
    st_text_sanitize(last, last_len, out, size, 0);   /* cut at a character boundary */
    return true;
}

static bool frame_attribute(const frame_info *frame, char *out, size_t size)
{
    char text[512];
    out[0] = '\0';
    return source_line(frame->path, frame->line, text, sizeof text) && assigned_name(text, out, size);
}

/* ---- classification ---- */

static bool named(const frame_info *frame, const char *qualname)
{
    return strcmp(frame->qualname, qualname) == 0;
}

static py_leaf leaf_of(const frame_info *frame)
{
    if (named(frame, "Lock.__init__"))
        return PY_LEAF_LOCK;
    if (named(frame, "RLock.__init__"))
        return PY_LEAF_RLOCK;
    if (named(frame, "Semaphore.__init__"))
        return PY_LEAF_SEMAPHORE;
    if (named(frame, "BoundedSemaphore.__init__"))
        return PY_LEAF_BOUNDED_SEMAPHORE;
    return PY_LEAF_NONE;
}

static py_root root_of(const frame_info *frame)
{
    if (named(frame, "Event.__init__"))
        return PY_ROOT_EVENT;
    if (named(frame, "Condition.__init__"))
        return PY_ROOT_CONDITION;
    if (named(frame, "Queue.__init__") || named(frame, "JoinableQueue.__init__"))
        return PY_ROOT_QUEUE;
    if (named(frame, "SimpleQueue.__init__"))
        return PY_ROOT_SIMPLE_QUEUE;
    return PY_ROOT_NONE;
}

/* "BaseContext.Queue" -> "Queue", "Pool.__init__" -> "Pool", "Value" -> "Value". */
static void display_name(const char *qualname, char *out, size_t size)
{
    const char *name = qualname;
    if (strncmp(name, "BaseContext.", 12) == 0)
        name += 12;
    size_t len = strcspn(name, ".");
    snprintf(out, size, "%.*s", (int)len, name);
}

static const char *basename_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static void strip_underscores(char *text)
{
    size_t skip = strspn(text, "_");
    if (skip && text[skip])
        memmove(text, text + skip, strlen(text + skip) + 1);
}

/* The frame of the multiprocessing.Pool.__init__ among frames[from, to], or
 * NULL (also for a ThreadPool, whose task queues are not pipes). */
static const void *pool_frame_of(const frame_info *frames, int from, int to)
{
    const void *pool = NULL;
    for (int i = from; i <= to; i++) {
        if (!path_ends_with(frames[i].path, "/multiprocessing/pool.py"))
            continue;
        if (named(&frames[i], "ThreadPool.__init__"))
            return NULL;
        if (named(&frames[i], "Pool.__init__") && !pool)
            pool = frames[i].frame;
    }
    return pool;
}

static bool classify(const frame_info *frames, int count, py_site *out)
{
    memset(out, 0, sizeof *out);
    if (count < 2 || !named(&frames[0], "SemLock.__init__") || !frames[0].internal)
        return false;
    int leaf = -1;
    for (int i = 1; i < count && frames[i].internal; i++) {
        if (leaf_of(&frames[i]) != PY_LEAF_NONE) {
            leaf = i;
            break;
        }
    }
    if (leaf < 0)
        return false;
    out->leaf = leaf_of(&frames[leaf]);
    int user = count - 1;            /* the user's frame, if the walk reached one */
    bool has_user = !frames[user].internal;
    int last_internal = has_user ? user - 1 : user;

    /* The composite: the outermost Event/Queue/SimpleQueue, else the innermost Condition. */
    int root = -1;
    for (int i = leaf + 1; i <= last_internal; i++) {
        py_root kind = root_of(&frames[i]);
        if (kind == PY_ROOT_EVENT || kind == PY_ROOT_QUEUE || kind == PY_ROOT_SIMPLE_QUEUE)
            root = i;
        else if (kind == PY_ROOT_CONDITION && root < 0)
            root = i;
    }
    if (root >= 0) {
        out->root = root_of(&frames[root]);
        out->root_frame = frames[root].frame;
        /* Attributes from the root inwards. */
        char attribute[PY_SITE_TEXT];
        for (int i = root; i > leaf; i--) {
            if (!frame_attribute(&frames[i], attribute, sizeof attribute))
                continue;
            if (!out->attr1[0])
                snprintf(out->attr1, sizeof out->attr1, "%s", attribute);
            else if (!out->attr2[0])
                snprintf(out->attr2, sizeof out->attr2, "%s", attribute);
        }
        /* A Condition's own lock is an object of its own, as native ones are. */
        if (out->root == PY_ROOT_CONDITION && strcmp(out->attr1, "_lock") == 0) {
            out->root = PY_ROOT_NONE;
            out->root_frame = NULL;
            root = -1;
        }
    }
    int structure = root >= 0 ? root : leaf;
    for (int i = structure + 1; i <= last_internal; i++) {
        if (frame_attribute(&frames[i], out->outer_attr, sizeof out->outer_attr)) {
            strip_underscores(out->outer_attr);
            break;
        }
    }
    out->pool_frame = pool_frame_of(frames, structure + 1, last_internal);
    display_name(frames[last_internal].qualname, out->display, sizeof out->display);
    const frame_info *site = &frames[user];
    if (has_user)
        frame_attribute(site, out->variable, sizeof out->variable);
    if (strcmp(out->variable, "self") == 0)
        out->variable[0] = '\0';
    st_text_sanitize(basename_of(site->path), (size_t)-1, out->file, sizeof out->file, 0);
    out->line = site->line;
    return true;
}

bool python_site_read(py_site *out)
{
    if (api.state != 1)
        return false;
    frame_info frames[MAX_FRAMES];
    py_object *type, *value, *traceback;
    tls.guard++;
    api.err_fetch(&type, &value, &traceback);
    int count = read_frames(frames, MAX_FRAMES);
    bool known = classify(frames, count, out);
    api.err_restore(type, value, traceback);
    tls.guard--;
    return known;
}

bool python_release_in_progress(void)
{
    if (api.state != 1)
        return false;
    static const char *const queries[] = { "get_value", "qsize", "full", "empty", "__repr__", "_is_zero", NULL };
    tls.guard++;
    py_object *type, *value, *traceback;
    api.err_fetch(&type, &value, &traceback);
    bool releasing = false;
    py_object *frame = api.get_frame();
    if (frame) {
        char name[QUALNAME_MAX];
        py_object *code = api.frame_code(frame);
        name[0] = '\0';
        if (code) {
            code_text(code, "co_name", name, sizeof name);
            api.dec_ref(code);
        }
        releasing = true;
        for (int i = 0; queries[i]; i++)
            if (strcmp(name, queries[i]) == 0)
                releasing = false;
    }
    api.err_restore(type, value, traceback);
    tls.guard--;
    return releasing;
}

/* ---- multiprocessing.Pipe ---- */

/* The targets of "parent_end, child_end = mp.Pipe()": "parent_end/child_end". */
static bool assigned_pair(const char *statement, char *out, size_t size)
{
    char first[PY_SITE_TEXT], second[PY_SITE_TEXT];
    const char *comma = strchr(statement, ',');
    if (!comma || !assigned_name(comma + 1, second, sizeof second))
        return false;
    char head[PY_SITE_TEXT * 2];
    snprintf(head, sizeof head, "%.*s = x", (int)(comma - statement), statement);
    if (!assigned_name(head, first, sizeof first))
        return false;
    snprintf(out, size, "%.14s/%.14s", first, second);
    return true;
}

static bool classify_pipe(const frame_info *frames, int count, py_site *out)
{
    memset(out, 0, sizeof *out);
    int pipe = count > 0 && is_socket_module(&frames[0]) ? 1 : 0;
    if (pipe >= count || !named(&frames[pipe], "Pipe") || !path_ends_with(frames[pipe].path, "/multiprocessing/connection.py"))
        return false;
    int user = count - 1;
    bool has_user = !frames[user].internal && user > pipe;
    int last_internal = has_user ? user - 1 : user;
    if (pipe + 1 <= last_internal && named(&frames[pipe + 1], "SimpleQueue.__init__")) {
        /* A SimpleQueue's pipe: watched only as a part of a Pool. */
        out->pool_frame = pool_frame_of(frames, pipe + 2, last_internal);
        if (!out->pool_frame)
            return false;
        for (int i = pipe + 2; i <= last_internal; i++) {
            if (frame_attribute(&frames[i], out->outer_attr, sizeof out->outer_attr)) {
                strip_underscores(out->outer_attr);
                break;
            }
        }
    } else {
        /* Only a Pipe the user asked for: those inside a Queue, SimpleQueue,
         * Pool or Manager belong to that structure. */
        for (int i = pipe + 1; i <= last_internal; i++)
            if (!named(&frames[i], "BaseContext.Pipe"))
                return false;
    }
    display_name(frames[last_internal].qualname, out->display, sizeof out->display);
    const frame_info *site = &frames[user];
    if (has_user) {
        char text[512];
        if (source_line(site->path, site->line, text, sizeof text) &&
            !assigned_name(text, out->variable, sizeof out->variable))
            assigned_pair(text, out->variable, sizeof out->variable);
    }
    if (strcmp(out->variable, "self") == 0)
        out->variable[0] = '\0';
    st_text_sanitize(basename_of(site->path), (size_t)-1, out->file, sizeof out->file, 0);
    out->line = site->line;
    return true;
}

/* BaseManager.start making the pipe its server sends its address on: the
 * moment to hook the manager (python_manager.c), before its server forks. */
static bool manager_starting(const frame_info *frames, int count)
{
    int pipe = count > 0 && is_socket_module(&frames[0]) ? 1 : 0;
    return pipe + 1 < count && named(&frames[pipe], "Pipe") && named(&frames[pipe + 1], "BaseManager.start") &&
           path_ends_with(frames[pipe + 1].path, "/multiprocessing/managers.py");
}

bool python_pipe_site_read(py_site *out)
{
    if (api.state == 0) {
        tls.guard++;
        api.state = lookup_api() ? 1 : -1;
        tls.guard--;
    }
    /* os.pipe and socket.socketpair release the GIL around the call: take it
     * back for this thread (one that never ran Python has no state: skip). */
    if (api.state != 1 || !api.is_initialized() || !api.this_thread_state())
        return false;
    tls.guard++;
    int held = api.gil_ensure();
    frame_info frames[MAX_FRAMES];
    py_object *type, *value, *traceback;
    api.err_fetch(&type, &value, &traceback);
    int count = read_frames(frames, MAX_FRAMES);
    bool known = classify_pipe(frames, count, out);
    if (!known && manager_starting(frames, count))
        python_manager_install();
    api.err_restore(type, value, traceback);
    api.gil_release(held);
    tls.guard--;
    return known;
}

/* A manager's Server.__init__ on the stack (its Listener listening). */
static bool manager_server_starting(const frame_info *frames, int count)
{
    for (int i = 0; i < count; i++)
        if (named(&frames[i], "Server.__init__") && path_ends_with(frames[i].path, "/multiprocessing/managers.py"))
            return true;
    return false;
}

void python_manager_listen_check(void)
{
    if (api.state == 0) {
        tls.guard++;
        api.state = lookup_api() ? 1 : -1;
        tls.guard--;
    }
    /* socket.listen releases the GIL around the call: take it back (a
     * thread that never ran Python has no state: skip). */
    if (api.state != 1 || !api.is_initialized() || !api.this_thread_state())
        return;
    tls.guard++;
    int held = api.gil_ensure();
    frame_info frames[MAX_FRAMES];
    py_object *type, *value, *traceback;
    api.err_fetch(&type, &value, &traceback);
    int count = read_frames(frames, MAX_FRAMES);
    if (manager_server_starting(frames, count))
        python_manager_install();
    api.err_restore(type, value, traceback);
    api.gil_release(held);
    tls.guard--;
}

bool python_caller_site(char *variable, size_t variable_size, char *file, size_t file_size, int *line)
{
    if (api.state != 1)
        return false;
    frame_info frames[MAX_FRAMES];
    py_object *type, *value, *traceback;
    tls.guard++;
    api.err_fetch(&type, &value, &traceback);
    int count = read_frames(frames, MAX_FRAMES);
    bool found = count > 0 && !frames[count - 1].internal;
    if (found) {
        const frame_info *site = &frames[count - 1];
        if (!frame_attribute(site, variable, variable_size) || strcmp(variable, "self") == 0)
            variable[0] = '\0';
        const char *base = basename_of(site->path);
        size_t len = strnlen(base, file_size - 1);
        memcpy(file, base, len);
        file[len] = '\0';
        *line = site->line;
    }
    api.err_restore(type, value, traceback);
    tls.guard--;
    return found;
}

/* ---- asking Python from a call made without the GIL ---- */

static struct {
    int state;                      /* 0 not looked up, 1 found, -1 missing */
    int (*ensure)(void);            /* PyGILState_Ensure (returns an enum) */
    void (*release)(int);
    void *(*this_thread)(void);     /* PyGILState_GetThisThreadState */
    int (*finalizing)(void);        /* Py_IsFinalizing (3.13) or _Py_IsFinalizing */
} gil;

static bool lookup_gil(void)
{
    void *ensure = dlsym(RTLD_DEFAULT, "PyGILState_Ensure");
    void *release = dlsym(RTLD_DEFAULT, "PyGILState_Release");
    void *this_thread = dlsym(RTLD_DEFAULT, "PyGILState_GetThisThreadState");
    void *finalizing = dlsym(RTLD_DEFAULT, "Py_IsFinalizing");
    if (!finalizing)
        finalizing = dlsym(RTLD_DEFAULT, "_Py_IsFinalizing");
    if (!ensure || !release || !this_thread || !finalizing)
        return false;
    memcpy(&gil.ensure, &ensure, sizeof ensure);
    memcpy(&gil.release, &release, sizeof release);
    memcpy(&gil.this_thread, &this_thread, sizeof this_thread);
    memcpy(&gil.finalizing, &finalizing, sizeof finalizing);
    return true;
}

/* Whether the code at pc is in CPython's _posixshmem module. */
static bool in_posixshmem(const void *pc)
{
    Dl_info info;
    return pc && dladdr(pc, &info) && info.dli_fname && strstr(info.dli_fname, "/_posixshmem") != NULL;
}

bool python_shm_caller_site(const void *caller, char *variable, size_t variable_size, char *file, size_t file_size,
                            int *line)
{
    if (python_active())
        return python_caller_site(variable, variable_size, file, file_size, line);
    if (api.state != 1 || !api.is_initialized() || !in_posixshmem(caller))
        return false;
    if (gil.state == 0) {
        tls.guard++;
        gil.state = lookup_gil() ? 1 : -1;
        tls.guard--;
    }
    if (gil.state != 1 || !gil.this_thread() || gil.finalizing())
        return false;
    int held = gil.ensure();
    bool found = python_caller_site(variable, variable_size, file, file_size, line);
    gil.release(held);
    return found;
}
