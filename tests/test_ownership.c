/* test_ownership.c - synctop on a shared machine: tables and data segments
 * that another user made, or that others may open, are refused; --gc
 * removes only what is provably synctop's garbage; ending a session
 * removes only the segments its table records; --remove refuses a live
 * session whose header is corrupt.
 *
 * "Another user" needs root (fchown to nobody, 65534); those cases skip
 * when not root. A file of our own with mode 0666 needs nothing. */
#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <synctop/synctop.h>
#include "internal.h"

#define NOBODY 65534

/* "/dev/shm/<name>" for a shm name with or without its '/'. */
static void shm_path(const char *name, char *out, size_t size)
{
    snprintf(out, size, "/dev/shm/%s", name[0] == '/' ? name + 1 : name);
}

static bool shm_exists(const char *name)
{
    char path[300];
    shm_path(name, path, sizeof path);
    struct stat st;
    return lstat(path, &st) == 0;
}

/* "/synctop-<euid>-<session><suffix>". */
static void session_file(const char *session, const char *suffix, char *out, size_t size)
{
    snprintf(out, size, "/synctop-%u-%s%s", (unsigned)geteuid(), session, suffix);
}

/* A plain file of ours in /dev/shm (mode 0600), for planting. */
static void plant(const char *name)
{
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 4096), 0);
    close(fd);
}

/* Make the table of session, valid, then close it (nobody registered). */
static void make_table(const char *session)
{
    st_table_options opts = { .session = session };
    st_table *table = NULL;
    assert_int_equal(st_table_open(&opts, &table), ST_OK);
    assert_int_equal(st_process_unregister(table), ST_OK);
    st_table_close(table);
}

static void change_owner_and_mode(const char *name, uid_t uid, mode_t mode)
{
    int fd = shm_open(name, O_RDWR, 0);
    assert_true(fd >= 0);
    if (uid != (uid_t)-1)
        assert_int_equal(fchown(fd, uid, uid), 0);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static void assert_refused_table(const char *session, const char *expected)
{
    st_table_options opts = { .session = session, .attach_timeout_ms = 100 };
    st_table *table = NULL;
    assert_int_equal(st_table_open(&opts, &table), ST_EUNSAFE);
    assert_null(table);
    if (!strstr(st_error_detail(), expected))
        fail_msg("expected '%s' in: %s", expected, st_error_detail());
    assert_non_null(strstr(st_error_detail(), "-s"));
    assert_int_equal(st_table_attach_readonly(session, &table), ST_EUNSAFE);
    assert_null(table);
    if (!strstr(st_error_detail(), expected))
        fail_msg("expected '%s' in: %s", expected, st_error_detail());
}

/* The sessions planted in: whatever a failing test left under their names
 * (files, a directory, a symbolic link) is removed by teardown. */
static const char *planted_sessions[8];
static int planted_count;

static const char *new_session(void)
{
    const char *session = test_session_new();
    if (planted_count < 8)
        planted_sessions[planted_count++] = session;
    return session;
}

static void remove_planted(const char *session)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "synctop-%u-%s", (unsigned)geteuid(), session);
    size_t len = strlen(prefix);
    DIR *dir = opendir("/dev/shm");
    if (!dir)
        return;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        const char *rest = entry->d_name + len;
        if (strncmp(entry->d_name, prefix, len) != 0 || (*rest && *rest != '.' && strcmp(rest, "-target") != 0))
            continue;
        char path[300];
        snprintf(path, sizeof path, "/dev/shm/%.*s", 200, entry->d_name);
        if (unlink(path) < 0)
            rmdir(path);
    }
    closedir(dir);
}

static int teardown(void **state)
{
    test_teardown(state);
    for (int i = 0; i < planted_count; i++)
        remove_planted(planted_sessions[i]);
    planted_count = 0;
    return 0;
}

/* ---- 1. tables and segments that are not ours, or not private ---- */

static void test_table_of_another_user_is_refused(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    const char *session = new_session();
    char name[128];
    session_file(session, "", name, sizeof name);
    /* The attack: someone else creates our name first, open to all. */
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0666);
    assert_true(fd >= 0);
    assert_int_equal(fchown(fd, NOBODY, NOBODY), 0);
    assert_int_equal(fchmod(fd, 0666), 0);
    close(fd);
    assert_refused_table(session, "owned by uid 65534, mode 0666");

    /* A valid table handed over to another owner, private mode: refused too. */
    assert_int_equal(shm_unlink(name), 0);
    make_table(session);
    change_owner_and_mode(name, NOBODY, 0600);
    assert_refused_table(session, "owned by uid 65534, mode 0600");

    /* --list does not call it valid: it says unsafe. */
    char *out = NULL;
    char *const argv[] = { (char *)SYNCTOP_BINARY, (char *)"--list", NULL };
    assert_int_equal(test_run(argv, &out, NULL, 10000), 0);
    char *line = strstr(out, session);
    assert_non_null(line);
    assert_non_null(strstr(line, "unsafe"));
    free(out);
}

static void test_table_open_to_others_is_refused(void **state)
{
    (void)state;
    const char *session = new_session();
    char name[128];
    session_file(session, "", name, sizeof name);
    make_table(session);
    change_owner_and_mode(name, (uid_t)-1, 0666);
    char expected[64];
    snprintf(expected, sizeof expected, "owned by uid %u, mode 0666", (unsigned)geteuid());
    assert_refused_table(session, expected);
    /* Group bits alone are enough to refuse. */
    change_owner_and_mode(name, (uid_t)-1, 0640);
    snprintf(expected, sizeof expected, "mode 0640");
    assert_refused_table(session, expected);
}

static void test_header_of_another_uid_is_refused(void **state)
{
    (void)state;
    const char *session = new_session();
    make_table(session);
    char name[128];
    session_file(session, "", name, sizeof name);
    int fd = shm_open(name, O_RDWR, 0);
    assert_true(fd >= 0);
    st_table_header *header = mmap(NULL, sizeof *header, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    assert_true(header != MAP_FAILED);
    header->owner_uid = (uint32_t)geteuid() + 1;
    munmap(header, sizeof *header);
    assert_refused_table(session, "its header says uid");
}

static void test_only_private_mode_can_be_asked_for(void **state)
{
    (void)state;
    const char *session = new_session();
    st_table_options opts = { .session = session, .mode = 0666 };
    st_table *table = NULL;
    assert_int_equal(st_table_open(&opts, &table), ST_EINVAL);
    assert_null(table);
    assert_false(shm_exists(session));
    opts.mode = 0600;
    assert_int_equal(st_table_open(&opts, &table), ST_OK);
    char name[128];
    session_file(session, "", name, sizeof name);
    char path[300];
    shm_path(name, path, sizeof path);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_uid, geteuid());
    st_table_close(table);
}

/* The name ("/synctop-...") of session's first data segment of kind. */
static bool find_segment(const char *session, const char *kind, char *out, size_t size)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "synctop-%u-%s.%s.", (unsigned)geteuid(), session, kind);
    DIR *dir = opendir("/dev/shm");
    assert_non_null(dir);
    bool found = false;
    struct dirent *entry;
    while (!found && (entry = readdir(dir)) != NULL)
        if (strncmp(entry->d_name, prefix, strlen(prefix)) == 0) {
            snprintf(out, size, "/%.*s", (int)(size - 2), entry->d_name);
            found = true;
        }
    closedir(dir);
    return found;
}

static void assert_queue_refused(st_table *table, const char *expected)
{
    st_queue *queue = NULL;
    assert_int_equal(st_queue_open(table, "jobs", 4, 16, &queue), ST_EUNSAFE);
    assert_null(queue);
    if (!strstr(st_error_detail(), expected))
        fail_msg("expected '%s' in: %s", expected, st_error_detail());
}

/* A queue's data segment, opened to others (and, as root, given away):
 * another open of the queue refuses to map it. */
static void test_data_segment_not_ours_is_refused(void **state)
{
    (void)state;
    const char *session = new_session();
    st_table_options opts = { .session = session };
    st_table *table = NULL;
    assert_int_equal(st_table_open(&opts, &table), ST_OK);
    st_queue *queue = NULL;
    assert_int_equal(st_queue_open(table, "jobs", 4, 16, &queue), ST_OK);
    st_queue_close(queue);
    char segment[200];
    assert_true(find_segment(session, "queue", segment, sizeof segment));

    change_owner_and_mode(segment, (uid_t)-1, 0666);
    char expected[64];
    snprintf(expected, sizeof expected, "owned by uid %u, mode 0666", (unsigned)geteuid());
    assert_queue_refused(table, expected);

    if (geteuid() == 0) {
        change_owner_and_mode(segment, NOBODY, 0600);
        assert_queue_refused(table, "owned by uid 65534, mode 0600");
    }
    /* Ours and private again: it opens. */
    change_owner_and_mode(segment, geteuid(), 0600);
    assert_int_equal(st_queue_open(table, "jobs", 4, 16, &queue), ST_OK);
    st_queue_close(queue);
    st_table_close(table);
}

/* ---- 6. --gc removes only provable garbage ---- */

static int run_gc(const char *session, char **out)
{
    char *err = NULL;
    char *const argv[] = { (char *)SYNCTOP_BINARY, (char *)"--gc", (char *)"-s", (char *)session, NULL };
    int status = test_run(argv, out, &err, 20000);
    if (status != 0)
        print_message("synctop --gc exited %d: %s\n", status, err ? err : "");
    free(err);
    return status;
}

static int put_three_and_exit(void *arg)
{
    st_table_options opts = { .session = arg };
    st_table *table = NULL;
    st_queue *queue = NULL;
    if (st_table_open(&opts, &table) != ST_OK || st_queue_open(table, "jobs", 8, 32, &queue) != ST_OK)
        return 2;
    const char *messages[] = { "one", "two", "three" };
    for (int i = 0; i < 3; i++)
        if (st_queue_put(queue, messages[i], strlen(messages[i]) + 1, ST_FOREVER) != ST_OK)
            return 3;
    st_queue_close(queue);
    st_table_close(table);
    return 0;
}

/* An idle session (put now, get later): its queue's messages survive --gc. */
static void test_gc_keeps_the_data_of_an_idle_session(void **state)
{
    (void)state;
    const char *session = new_session();
    assert_int_equal(test_wait(test_spawn(put_three_and_exit, (void *)session), 20000), 0);
    char *out = NULL;
    assert_int_equal(run_gc(session, &out), 0);
    assert_null(strstr(out, "removed"));
    free(out);

    char segment[200];
    assert_true(find_segment(session, "queue", segment, sizeof segment));
    st_table_options opts = { .session = session };
    st_table *table = NULL;
    st_queue *queue = NULL;
    assert_int_equal(st_table_open(&opts, &table), ST_OK);
    assert_int_equal(st_queue_open(table, "jobs", 8, 32, &queue), ST_OK);
    const char *expected[] = { "one", "two", "three" };
    for (int i = 0; i < 3; i++) {
        char buffer[32];
        size_t length = 0;
        assert_int_equal(st_queue_try_get(queue, buffer, sizeof buffer, &length), ST_OK);
        assert_string_equal(buffer, expected[i]);
    }
    st_queue_close(queue);
    st_table_close(table);
}

/* Files under a session's prefix that synctop did not make, or that are not
 * ours, survive --gc even when the session is gone; a segment of synctop's
 * form, ours and private, of that gone session is collected. */
static void test_gc_touches_only_synctop_segments(void **state)
{
    (void)state;
    const char *session = new_session();   /* no table: a gone session */
    char notes[128], directory[128], link[128], target[128], open_mode[128], garbage[128], foreign[128];
    session_file(session, ".my-notes.txt", notes, sizeof notes);
    session_file(session, ".queue.1-ab", directory, sizeof directory);
    session_file(session, ".queue.2-ab", link, sizeof link);
    session_file(session, "-target", target, sizeof target);
    session_file(session, ".queue.3-ab", open_mode, sizeof open_mode);
    session_file(session, ".queue.4-ab", foreign, sizeof foreign);
    session_file(session, ".queue.5-ab", garbage, sizeof garbage);
    plant(notes);
    char path[300], target_path[300];
    shm_path(directory, path, sizeof path);
    assert_int_equal(mkdir(path, 0700), 0);
    plant(target);
    shm_path(target, target_path, sizeof target_path);
    shm_path(link, path, sizeof path);
    assert_int_equal(symlink(target_path, path), 0);
    plant(open_mode);
    change_owner_and_mode(open_mode, (uid_t)-1, 0666);
    bool root = geteuid() == 0;
    if (root) {
        plant(foreign);
        change_owner_and_mode(foreign, NOBODY, 0600);
    }
    plant(garbage);

    char *out = NULL;
    assert_int_equal(run_gc(session, &out), 0);
    assert_true(shm_exists(notes));
    assert_true(shm_exists(directory));
    assert_true(shm_exists(link));
    assert_true(shm_exists(target));
    assert_true(shm_exists(open_mode));
    if (root)
        assert_true(shm_exists(foreign));
    assert_false(shm_exists(garbage));
    /* Only the garbage is named: nothing else is "kept, still in use". */
    assert_non_null(strstr(out, garbage));
    assert_null(strstr(out, "kept"));
    assert_non_null(strstr(out, "collected 1 segment,"));
    free(out);

    shm_unlink(notes);
    shm_path(directory, path, sizeof path);
    rmdir(path);
    shm_path(link, path, sizeof path);
    unlink(path);
    shm_unlink(target);
    shm_unlink(open_mode);
    if (root)
        shm_unlink(foreign);
}

/* ---- 8. ending a session removes only what its table records ---- */

static void test_session_removal_spares_files_it_did_not_make(void **state)
{
    (void)state;
    const char *session = new_session();
    st_table_options opts = { .session = session };
    st_table *table = NULL;
    assert_int_equal(st_table_open(&opts, &table), ST_OK);
    st_queue *queue = NULL;
    assert_int_equal(st_queue_open(table, "jobs", 4, 16, &queue), ST_OK);
    st_queue_close(queue);
    char recorded[200];
    assert_true(find_segment(session, "queue", recorded, sizeof recorded));
    char planted[128], planted_like_ours[128];
    session_file(session, ".shm.36-x", planted, sizeof planted);
    session_file(session, ".shm.37-1a", planted_like_ours, sizeof planted_like_ours);
    plant(planted);
    plant(planted_like_ours);
    st_table_close(table);

    assert_int_equal(st_session_remove(session, true), ST_OK);
    assert_false(shm_exists(recorded));
    assert_true(shm_exists(planted));
    assert_true(shm_exists(planted_like_ours));
    shm_unlink(planted);
    shm_unlink(planted_like_ours);
}

/* ---- 13. --remove without --force and a corrupt header ---- */

typedef struct registered_child {
    const char *session;
    int ready[2];     /* child -> parent: registered */
    int release[2];   /* parent -> child: exit now */
} registered_child;

static int register_and_wait(void *arg)
{
    registered_child *child = arg;
    close(child->ready[0]);
    close(child->release[1]);
    st_table_options opts = { .session = child->session };
    st_table *table = NULL;
    if (st_table_open(&opts, &table) != ST_OK)
        return 2;
    char byte = 1;
    if (write(child->ready[1], &byte, 1) != 1)
        return 3;
    if (read(child->release[0], &byte, 1) < 0)
        return 4;
    return 0;
}

static void corrupt_header(const char *session, size_t offset, uint64_t value)
{
    char name[128];
    session_file(session, "", name, sizeof name);
    int fd = shm_open(name, O_RDWR, 0);
    assert_true(fd >= 0);
    uint8_t *header = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    assert_true(header != MAP_FAILED);
    memcpy(header + offset, &value, sizeof value);
    munmap(header, 4096);
}

static int run_remove(const char *session, bool force, char **err)
{
    char *const plain[] = { (char *)SYNCTOP_BINARY, (char *)"--remove", (char *)session, NULL };
    char *const forced[] = { (char *)SYNCTOP_BINARY, (char *)"--remove", (char *)session, (char *)"--force", NULL };
    return test_run(force ? forced : plain, NULL, err, 10000);
}

static void test_remove_refuses_a_live_session_with_a_corrupt_header(void **state)
{
    (void)state;
    registered_child child = { .session = new_session() };
    assert_int_equal(pipe(child.ready), 0);
    assert_int_equal(pipe(child.release), 0);
    pid_t pid = test_spawn(register_and_wait, &child);
    close(child.ready[1]);
    close(child.release[0]);
    char byte;
    assert_int_equal(read(child.ready[0], &byte, 1), 1);

    /* The magic number damaged: the process slots are still where this
     * build puts them, and one holds a live process. */
    corrupt_header(child.session, offsetof(st_table_header, magic), 0x0badc0de);
    char *err = NULL;
    assert_int_not_equal(run_remove(child.session, false, &err), 0);
    assert_non_null(strstr(err, "in use"));
    free(err);
    assert_int_equal(st_session_remove(child.session, false), ST_EBUSY);

    /* The layout damaged too: nobody can tell, so it refuses and says why. */
    corrupt_header(child.session, offsetof(st_table_header, process_offset), 12345);
    assert_int_not_equal(run_remove(child.session, false, &err), 0);
    if (!strstr(err, "header is corrupt") || !strstr(err, "--force"))
        fail_msg("unexpected message: %s", err);
    free(err);
    assert_true(test_shm_count(child.session) == 1);

    assert_int_equal(run_remove(child.session, true, NULL), 0);
    assert_int_equal(test_shm_count(child.session), 0);

    assert_int_equal(write(child.release[1], &byte, 1), 1);
    assert_int_equal(test_wait(pid, 20000), 0);
    close(child.ready[0]);
    close(child.release[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_table_of_another_user_is_refused, teardown),
        cmocka_unit_test_teardown(test_table_open_to_others_is_refused, teardown),
        cmocka_unit_test_teardown(test_header_of_another_uid_is_refused, teardown),
        cmocka_unit_test_teardown(test_only_private_mode_can_be_asked_for, teardown),
        cmocka_unit_test_teardown(test_data_segment_not_ours_is_refused, teardown),
        cmocka_unit_test_teardown(test_gc_keeps_the_data_of_an_idle_session, teardown),
        cmocka_unit_test_teardown(test_gc_touches_only_synctop_segments, teardown),
        cmocka_unit_test_teardown(test_session_removal_spares_files_it_did_not_make, teardown),
        cmocka_unit_test_teardown(test_remove_refuses_a_live_session_with_a_corrupt_header, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
