/* python_manager.c - a multiprocessing manager's served objects as
 * "managed" objects (see python_manager.h).
 *
 * A manager is a server process: every proxy method call (`shared[k] = v`,
 * `lock.acquire()`, `jobs.put(x)`) is a request its Server.serve_client
 * receives on the proxy's connection, answers by calling the object, and
 * replies to. We hook Python there, from C, through the C API under the
 * GIL (found with dlsym, as python_site.c does):
 *
 *  - BaseManager._create (the client that asks for a new object): after
 *    the server made it, the object is registered (watch_create_object)
 *    under the identity key of (server address, object id), named from
 *    the user's line that called manager.dict(): "manager.dict()
 *    shared (app.py:40)".
 *  - BaseProxy._callmethod (any process that calls through a proxy, if
 *    it has the hooks): the caller is marked blocked on the object (in
 *    "acquire", "get", "put", "wait"..., else "recv") until the reply
 *    comes, so the dashboard says which process waits for what, and the
 *    process is listed even when it touches nothing else we watch.
 *  - Server.serve_client (the server process): the connection it serves is
 *    handed over inside a thin wrapper whose recv() counts a call on the
 *    request's object (calls + 1, waiting + 1) and whose send() ends it
 *    (waiting - 1, replies + 1), first storing len() of a dict or list
 *    (exact built-in types only: no user code runs). "waiting" is thus the
 *    calls received and not yet answered: the callers blocked waiting for
 *    their reply, such as a worker in a managed Lock's acquire().
 *  - Server.serve_forever: the server process registers itself at once
 *    (its role "manager" comes from python_process.c: its target is
 *    BaseManager._run_server), even before it serves a call.
 *  - Server.decref: an object whose last reference went is forgotten by
 *    the server's cache of slots (its id may be reused by a new object,
 *    whose registration retires the old object's key).
 *
 * Each wrapper returns what the original returned and raises what it
 * raised; our part swallows its own exceptions. The hooks are installed
 * once per interpreter, when BaseManager.start makes its pipe (python_site.c
 * sees it), or, in a server process started by spawn or forkserver, when
 * the Server's Listener calls listen() (interposed here: until the hooks
 * are in, a listen() of a Python program reads its stack once). A program
 * that never starts a manager never runs any of this, and Python's
 * start-up is untouched. A server forked by BaseManager.start inherits
 * the hooks, and so do the processes forked from the one that started the
 * manager; spawned workers have none (their calls are counted by the
 * server all the same, but they are not shown blocked). A manager reached
 * only with connect(), from a program that never started one, is not
 * watched.
 */
#include "preload/preload.h"
#include "preload/python_manager.h"
#include "preload/python_site.h"
#include "synctop/text.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct _object py_object;
typedef py_object *(*py_cfunction)(py_object *, py_object *);

/* CPython's PyMethodDef (a stable layout). */
typedef struct py_method_def {
    const char *name;
    py_cfunction method;
    int flags;
    const char *doc;
} py_method_def;

#define PY_METH_VARARGS 0x0001
#define PY_METH_O 0x0008
#define PY_FILE_INPUT 257

static struct {
    int state;                      /* 0 not looked up, 1 found, -1 missing */
    py_object *(*cfunction_new)(py_method_def *, py_object *, py_object *);
    int (*parse_tuple)(py_object *, const char *, ...);
    py_object *(*long_from)(long);
    long (*long_as)(py_object *);
    py_object *(*compile)(const char *, const char *, int, void *, int);
    py_object *(*eval_code)(py_object *, py_object *, py_object *);
    py_object *(*dict_new)(void);
    int (*dict_set)(py_object *, const char *, py_object *);
    py_object *(*builtins)(void);   /* borrowed */
    py_object *(*err_occurred)(void);
    void (*err_clear)(void);
    void (*dec_ref)(py_object *);
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
    LOOKUP(cfunction_new, "PyCFunction_NewEx");
    LOOKUP(parse_tuple, "PyArg_ParseTuple");
    LOOKUP(long_from, "PyLong_FromLong");
    LOOKUP(long_as, "PyLong_AsLong");
    LOOKUP(compile, "Py_CompileStringExFlags");
    LOOKUP(eval_code, "PyEval_EvalCode");
    LOOKUP(dict_new, "PyDict_New");
    LOOKUP(dict_set, "PyDict_SetItemString");
    LOOKUP(builtins, "PyEval_GetBuiltins");
    LOOKUP(err_occurred, "PyErr_Occurred");
    LOOKUP(err_clear, "PyErr_Clear");
    LOOKUP(dec_ref, "Py_DecRef");
    return true;
}

/* ---- the objects ---- */

static uint64_t managed_key(const char *address, const char *ident)
{
    char text[512];
    snprintf(text, sizeof text, "manager:%s|%s", address, ident);
    return key_of_name(text);
}

static st_foreign_body *managed_body(long slot)
{
    st_table *table = watched_table;
    if (!table || slot < 0 || (unsigned long)slot >= table->object_capacity)
        return NULL;
    st_object_slot *object = &table->objects[slot];
    if (__atomic_load_n(&object->header.status, __ATOMIC_ACQUIRE) != ST_SLOT_LIVE ||
        object->header.type != ST_TYPE_FOREIGN_MANAGED)
        return NULL;
    return (st_foreign_body *)(void *)object->body.raw;
}

/* A new object with key replaces an old one whose id was reused: the old
 * one keeps its figures and name, under a key nobody asks for. */
static void retire_key(st_table *table, uint64_t key)
{
    uint32_t slot;
    unsigned part, op;
    if (!watch_find_member(table, key, &slot, &part, &op))
        return;
    st_foreign_body *body = managed_body(slot);
    if (body && st_foreign_member_key(body->members[0]) == key)
        __atomic_store_n(&body->members[0], st_foreign_member_pack(key_of_words(key, slot, 1), part, op),
                         __ATOMIC_RELEASE);
}

/* The object (address, ident): registered by a client with the user's
 * call site, or found (else made, unnamed) by the server. */
static long managed_object(const char *address, const char *ident, const char *typeid, bool client)
{
    st_table *table = watch_table();
    if (!table)
        return -1;
    watch_register_if_new(table);
    uint64_t key = managed_key(address, ident);
    char full[160], name[ST_OBJECT_NAME_MAX + 1 - 4];   /* room for a " #nn" suffix */
    char type[24], variable[PY_SITE_TEXT], file[PY_SITE_TEXT];
    int line = 0;
    st_text_sanitize(typeid, (size_t)-1, type, sizeof type, 0);
    if (client) {
        retire_key(table, key);
        if (python_active() && python_caller_site(variable, sizeof variable, file, sizeof file, &line)) {
            if (variable[0])
                snprintf(full, sizeof full, "manager.%s() %.24s (%.20s:%d)", type, variable, file, line);
            else
                snprintf(full, sizeof full, "manager.%s() (%.20s:%d)", type, file, line);
        } else {
            snprintf(full, sizeof full, "manager.%s()", type);
        }
    } else {
        uint32_t slot;
        unsigned part, op;
        if (watch_find_member(table, key, &slot, &part, &op))
            return managed_body(slot) ? (long)slot : -1;
        snprintf(full, sizeof full, "manager.%s()", type);
    }
    st_text_sanitize(full, (size_t)-1, name, sizeof name, 0);
    foreign_spec spec = {
        .type = ST_TYPE_FOREIGN_MANAGED,
        .kind = ST_FOREIGN_PY_MANAGED,
        .key = key,
        .part = 0,
        .op = ST_OP_NONE,
        .name = name,
        .typeid = type,
    };
    uint32_t slot;
    if (!watch_create_object(table, &spec, &slot))
        return -1;
    return (long)slot;
}

/* ---- the functions the Python hooks call ---- */

static py_object *py_register(py_object *self, py_object *args)
{
    (void)self;
    const char *address, *ident, *typeid;
    if (!api.parse_tuple(args, "sss", &address, &ident, &typeid))
        return NULL;
    return api.long_from(managed_object(address, ident, typeid, true));
}

static py_object *py_lookup(py_object *self, py_object *args)
{
    (void)self;
    const char *address, *ident, *typeid;
    if (!api.parse_tuple(args, "sss", &address, &ident, &typeid))
        return NULL;
    long slot = managed_object(address, ident, typeid, false);
    st_foreign_body *body = managed_body(slot);
    if (body)
        ST_STORE(body->managed.server_pid, (int32_t)getpid());
    return api.long_from(slot);
}

static py_object *py_begin(py_object *self, py_object *arg)
{
    (void)self;
    long slot = api.long_as(arg);
    if (slot == -1 && api.err_occurred())
        return NULL;
    st_foreign_body *body = managed_body(slot);
    if (body) {
        ST_ATOMIC_ADD(body->parts[0].acquisitions, 1u);
        ST_ATOMIC_ADD(body->parts[0].waiters, 1u);
    }
    return api.long_from(0);
}

static py_object *py_end(py_object *self, py_object *args)
{
    (void)self;
    long slot, length;
    if (!api.parse_tuple(args, "ll", &slot, &length))
        return NULL;
    st_foreign_body *body = managed_body(slot);
    if (body) {
        if (length >= 0)
            ST_STORE(body->managed.length, (int64_t)length);
        uint32_t waiting = ST_LOAD(body->parts[0].waiters);
        while (waiting > 0 && !__atomic_compare_exchange_n(&body->parts[0].waiters, &waiting, waiting - 1, true,
                                                           __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        }
        ST_ATOMIC_ADD(body->parts[0].releases, 1u);
    }
    return api.long_from(0);
}

/* The operation a caller waiting for the reply to methodname is shown in. */
static st_operation operation_of(const char *methodname)
{
    static const struct {
        const char *method;
        st_operation op;
    } known[] = {
        { "acquire", ST_OP_ACQUIRE }, { "release", ST_OP_RELEASE }, { "wait", ST_OP_WAIT },
        { "wait_for", ST_OP_WAIT },   { "get", ST_OP_GET },         { "put", ST_OP_PUT },
        { "join", ST_OP_JOIN },       { "set", ST_OP_SET },         { "clear", ST_OP_CLEAR },
        { "notify", ST_OP_NOTIFY },   { "notify_all", ST_OP_NOTIFY },
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(methodname, known[i].method) == 0)
            return known[i].op;
    return ST_OP_RECV;               /* any other call: waiting to receive its reply */
}

/* The caller's objects by key: one lookup in the table per object, checked
 * on each use (an id the server reuses is a new object with the same key;
 * the old one's key was retired). */
#define CALLER_CACHE 256
static struct {
    uint64_t key;
    uint32_t slot;
} caller_cache[CALLER_CACHE];

static long caller_slot(st_table *table, uint64_t key)
{
    unsigned i = (unsigned)(key % CALLER_CACHE);
    if (caller_cache[i].key == key) {
        st_foreign_body *body = managed_body(caller_cache[i].slot);
        if (body && st_foreign_member_key(__atomic_load_n(&body->members[0], __ATOMIC_ACQUIRE)) == key)
            return caller_cache[i].slot;
    }
    uint32_t slot;
    unsigned part, op;
    if (!watch_find_member(table, key, &slot, &part, &op) || !managed_body(slot))
        return -1;
    caller_cache[i].key = key;
    caller_cache[i].slot = slot;
    return slot;
}

/* A proxy's call, in the calling process: marked blocked on its object
 * until the reply comes (call_end). Returns the slot, or -1: not marked. */
static py_object *py_call_begin(py_object *self, py_object *args)
{
    (void)self;
    const char *address, *ident, *methodname;
    if (!api.parse_tuple(args, "sss", &address, &ident, &methodname))
        return NULL;
    st_table *table = watched_table;
    long slot = table ? caller_slot(table, managed_key(address, ident)) : -1;
    if (slot >= 0) {
        watch_register_if_new(table);
        watch_name_if_due();
        tls.guard++;
        st_process_mark_blocked(table, (uint32_t)slot, operation_of(methodname));
        tls.guard--;
    }
    return api.long_from(slot);
}

static py_object *py_call_end(py_object *self, py_object *args)
{
    (void)self;
    (void)args;
    if (watched_table) {
        tls.guard++;
        st_process_mark_unblocked(watched_table);
        tls.guard--;
    }
    return api.long_from(0);
}

static py_object *py_started(py_object *self, py_object *args)
{
    (void)self;
    (void)args;
    st_table *table = watch_table();
    if (table) {
        watch_register_if_new(table);
        watch_name_refresh();
    }
    return api.long_from(0);
}

static py_method_def methods[] = {
    { "_synctop_register", py_register, PY_METH_VARARGS, NULL },
    { "_synctop_lookup", py_lookup, PY_METH_VARARGS, NULL },
    { "_synctop_begin", py_begin, PY_METH_O, NULL },
    { "_synctop_end", py_end, PY_METH_VARARGS, NULL },
    { "_synctop_started", py_started, PY_METH_VARARGS, NULL },
    { "_synctop_call_begin", py_call_begin, PY_METH_VARARGS, NULL },
    { "_synctop_call_end", py_call_end, PY_METH_VARARGS, NULL },
};

/* ---- the hooks ---- */

/* Compiled under a file name inside "multiprocessing/": python_site.c walks
 * through these frames, as through multiprocessing's own, to the user's. */
#define HOOKS_FILE "<synctop>/multiprocessing/managers_hooks"

static const char hooks_source[] =
    "__name__ = 'synctop_manager_hooks'\n"
    "import sys\n"
    "_managers = sys.modules['multiprocessing.managers']\n"
    "_BaseManager = _managers.BaseManager\n"
    "_Server = _managers.Server\n"
    "_slots = {}\n"
    "\n"
    "def _like(original, wrapper):\n"
    "    for attribute in ('__module__', '__name__', '__qualname__', '__doc__'):\n"
    "        try:\n"
    "            setattr(wrapper, attribute, getattr(original, attribute))\n"
    "        except Exception:\n"
    "            pass\n"
    "    wrapper.__wrapped__ = original\n"
    "    return wrapper\n"
    "\n"
    "_original_create = _BaseManager._create\n"
    "def _create(self, typeid, /, *args, **kwds):\n"
    "    token, exposed = _original_create(self, typeid, *args, **kwds)\n"
    "    try:\n"
    "        _synctop_register(repr(token.address), str(token.id), str(typeid))\n"
    "    except Exception:\n"
    "        pass\n"
    "    return token, exposed\n"
    "_BaseManager._create = _like(_original_create, _create)\n"
    "\n"
    "_BaseProxy = _managers.BaseProxy\n"
    "_original_callmethod = _BaseProxy._callmethod\n"
    "def _callmethod(self, methodname, args=(), kwds={}):\n"
    "    try:\n"
    "        token = self._token\n"
    "        slot = _synctop_call_begin(repr(token.address), str(token.id), methodname)\n"
    "    except Exception:\n"
    "        slot = -1\n"
    "    try:\n"
    "        return _original_callmethod(self, methodname, args, kwds)\n"
    "    finally:\n"
    "        if slot >= 0:\n"
    "            _synctop_call_end()\n"
    "_BaseProxy._callmethod = _like(_original_callmethod, _callmethod)\n"
    "\n"
    "class _WatchedConnection(object):\n"
    "    __slots__ = ('_connection', '_server', '_slot', '_ident')\n"
    "    def __init__(self, server, connection):\n"
    "        self._connection = connection\n"
    "        self._server = server\n"
    "        self._slot = -1\n"
    "        self._ident = None\n"
    "    def recv(self):\n"
    "        request = self._connection.recv()\n"
    "        try:\n"
    "            ident = request[0]\n"
    "            slot = _slots.get(ident)\n"
    "            if slot is None:\n"
    "                server = self._server\n"
    "                entry = server.id_to_obj.get(ident)\n"
    "                if entry is None:\n"
    "                    entry = server.id_to_local_proxy_obj.get(ident)\n"
    "                if entry is not None:\n"
    "                    slot = _synctop_lookup(repr(server.address), str(ident), type(entry[0]).__name__)\n"
    "                    _slots[ident] = slot\n"
    "            if slot is not None and slot >= 0:\n"
    "                _synctop_begin(slot)\n"
    "                self._slot = slot\n"
    "                self._ident = ident\n"
    "        except Exception:\n"
    "            pass\n"
    "        return request\n"
    "    def send(self, message):\n"
    "        slot = self._slot\n"
    "        if slot >= 0:\n"
    "            self._slot = -1\n"
    "            length = -1\n"
    "            try:\n"
    "                entry = self._server.id_to_obj.get(self._ident)\n"
    "                if entry is not None and (type(entry[0]) is dict or type(entry[0]) is list):\n"
    "                    length = len(entry[0])\n"
    "            except Exception:\n"
    "                pass\n"
    "            try:\n"
    "                _synctop_end(slot, length)\n"
    "            except Exception:\n"
    "                pass\n"
    "        return self._connection.send(message)\n"
    "    def _finish(self):\n"
    "        slot = self._slot\n"
    "        if slot >= 0:\n"
    "            self._slot = -1\n"
    "            try:\n"
    "                _synctop_end(slot, -1)\n"
    "            except Exception:\n"
    "                pass\n"
    "    def __getattr__(self, name):\n"
    "        return getattr(self._connection, name)\n"
    "\n"
    "_original_serve_client = _Server.serve_client\n"
    "def serve_client(self, conn):\n"
    "    watched = _WatchedConnection(self, conn)\n"
    "    try:\n"
    "        return _original_serve_client(self, watched)\n"
    "    finally:\n"
    "        watched._finish()\n"
    "_Server.serve_client = _like(_original_serve_client, serve_client)\n"
    "\n"
    "_original_serve_forever = _Server.serve_forever\n"
    "def serve_forever(self):\n"
    "    try:\n"
    "        _synctop_started()\n"
    "    except Exception:\n"
    "        pass\n"
    "    return _original_serve_forever(self)\n"
    "_Server.serve_forever = _like(_original_serve_forever, serve_forever)\n"
    "\n"
    "_original_decref = _Server.decref\n"
    "def decref(self, c, ident):\n"
    "    try:\n"
    "        return _original_decref(self, c, ident)\n"
    "    finally:\n"
    "        try:\n"
    "            if ident not in self.id_to_refcount:\n"
    "                _slots.pop(ident, None)\n"
    "        except Exception:\n"
    "            pass\n"
    "_Server.decref = _like(_original_decref, decref)\n";

static bool installed;

/* ---- listen(): a manager's server started by spawn or forkserver ---- */

static int (*real_listen)(int, int);

INTERPOSED int listen(int fd, int backlog)
{
    if (__builtin_expect(real_listen == NULL, 0)) {
        void *found = dlsym(RTLD_NEXT, "listen");
        memcpy(&real_listen, &found, sizeof found);
    }
    int r = real_listen(fd, backlog);
    if (r == 0 && !installed && tls.guard == 0 && !python_absent()) {
        int saved = errno;
        python_manager_listen_check();
        errno = saved;
    }
    return r;
}

void python_manager_install(void)
{
    if (installed)
        return;
    installed = true;
    if (api.state == 0)
        api.state = lookup_api() ? 1 : -1;
    if (api.state != 1)
        return;
    py_object *globals = api.dict_new();
    if (!globals) {
        api.err_clear();
        return;
    }
    bool ready = api.dict_set(globals, "__builtins__", api.builtins()) == 0;
    for (size_t i = 0; ready && i < sizeof methods / sizeof methods[0]; i++) {
        py_object *function = api.cfunction_new(&methods[i], NULL, NULL);
        ready = function && api.dict_set(globals, methods[i].name, function) == 0;
        if (function)
            api.dec_ref(function);
    }
    py_object *code = ready ? api.compile(hooks_source, HOOKS_FILE, PY_FILE_INPUT, NULL, -1) : NULL;
    py_object *result = code ? api.eval_code(code, globals, globals) : NULL;
    if (!result)
        api.err_clear();
    if (result)
        api.dec_ref(result);
    if (code)
        api.dec_ref(code);
    api.dec_ref(globals);
}
