/* without_proc2.c - keeping libproc2 (and libsystemd, which it pulls in)
 * out of every watched program.
 *
 * The preload carries a whole copy of libsynctop's convenience library
 * (libtool links it with --whole-archive), viewer side included: the
 * /proc sampler refers to libproc2. The preload never samples /proc, yet
 * those references alone would make the dynamic linker load libproc2 and
 * libsystemd (with liblzma, libzstd, libgcrypt...) into every process that
 * `synctop run` watches. These hidden stand-ins resolve the references
 * inside the preload, and the module is linked --as-needed, so libproc2 is
 * not needed at all. They are never called (nothing in the preload builds a
 * model); if one ever were, it fails like a libproc2 that found nothing.
 *
 * tests/test_preload.c checks that libproc2 is not mapped into a watched
 * program, so a new libproc2 call in proc_sampler.c shows up there.
 */
#define STAND_IN(name) \
    __attribute__((visibility("hidden"))) int name(void); \
    __attribute__((visibility("hidden"))) int name(void) { return -1; }

STAND_IN(procps_cpu_count)
STAND_IN(procps_hertz_get)
STAND_IN(procps_loadavg)
STAND_IN(procps_uptime)
STAND_IN(procps_meminfo_new)
STAND_IN(procps_meminfo_select)
STAND_IN(procps_meminfo_unref)
STAND_IN(procps_pids_new)
STAND_IN(procps_pids_reap)
STAND_IN(procps_pids_select)
STAND_IN(procps_pids_unref)
STAND_IN(procps_stat_new)
STAND_IN(procps_stat_reap)
STAND_IN(procps_stat_select)
STAND_IN(procps_stat_unref)
