/* race.c - the race lesson: the bank account.
 *
 * Several tellers (processes) deposit 1 into the same shared balance, many
 * times each. A deposit is read - add one - write. Without a lock, two
 * tellers can read the same old balance; both write old + 1, and one of the
 * two deposits is lost. With the lock "bank-lock" around each deposit only
 * one teller at a time runs it, and the total comes out exact.
 *
 * Every round (about one per second at --speed 1) runs both halves and
 * prints, e.g.:
 *   round 3   without a lock: expected 800000, got 457219: 342781 updates lost
 *   round 3   with bank-lock: expected 800000, got 800000: exact
 *
 * The processes: "bank" (this process) forks the tellers "teller-1" ..
 * "teller-N" once and keeps them for the whole run. For each half round it
 * sends every teller one command down a pipe (deposit without / with the
 * lock) and waits for one reply per teller on a second pipe; closing the
 * command pipe sends a teller home. Watch it with `synctop`: in the locked
 * half the tellers queue up on bank-lock and its contention figures grow.
 *
 * The lesson checks its own claim and returns 1 when it does not hold: with
 * the lock every total must be exact, and without it (given two tellers and
 * two CPUs to run them at the same time) updates must be lost at least once.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lessons.h"
#include "../tui/i18n.h"

#define DEFAULT_DEPOSITS 200000L
#define HALF_ROUND_NS 500000000LL     /* a half round starts every 0.5 s (at --speed 1) */
#define NAP_NS 50000000LL
#define GO_HOME_TIMEOUT_NS 3000000000LL

/* The account lives in memory shared by the bank and every teller. volatile:
 * every read and write really goes to memory, as the story needs. */
struct account {
    volatile int64_t balance;
};

/* One byte down the command pipe per half round, one byte back. */
enum command { DEPOSIT_WITHOUT_LOCK = 'u', DEPOSIT_WITH_LOCK = 'l' };
enum reply { REPLY_DONE = 'd', REPLY_STOPPED = 's', REPLY_FAILED = 'f', REPLY_GONE = 0 };

/* What the bank knows about one teller. */
struct teller {
    char name[ST_PROCESS_NAME_MAX + 1];
    pid_t pid;         /* 0 once reaped */
    int to_teller;     /* write end of its command pipe, -1 once closed */
    int from_teller;   /* read end of its reply pipe, -1 once closed */
    bool busy;         /* a command was sent and no reply came back yet */
};

/* What the lesson found, round after round. */
struct tally {
    int unlocked_halves;       /* completed halves without the lock */
    int lossy_halves;          /* ... in which updates were lost */
    int64_t lost_total;
    int locked_halves;         /* completed halves with bank-lock */
    int wrong_locked_halves;   /* ... whose total was not exact (must stay 0) */
};

/* Everything the lesson holds, so that one function can release it all. */
struct race {
    const struct lesson_options *opts;
    long deposits;             /* per teller and half round */
    st_table *table;
    st_lock *lock;
    struct account *account;
    struct teller *tellers;
    int teller_count;          /* forked so far */
    pid_t bank_pid;
    bool failed;               /* a call failed or a teller quit */
    bool tellers_told_to_stop;
    struct tally tally;
};

/* ==== the teller (a child process) ========================================= */

/* A moment between reading and writing the balance: long enough that another
 * teller, running on another CPU, can read the same old value meanwhile. */
static void pause_briefly(void)
{
    for (volatile int spin = 0; spin < 50; spin++)
        ;
}

/* One deposit of 1, done in three steps: read, pause, write. */
static void deposit_once(struct account *account)
{
    int64_t seen = account->balance;   /* read                                   */
    pause_briefly();                   /* another teller may deposit meanwhile... */
    account->balance = seen + 1;       /* ...and this write erases their deposit  */
}

static enum reply deposit_without_lock(struct account *account, long count)
{
    for (long i = 0; i < count; i++) {
        if (demo_stop_requested())
            return REPLY_STOPPED;
        deposit_once(account);
    }
    return REPLY_DONE;
}

static enum reply deposit_with_lock(struct account *account, st_lock *lock, long count)
{
    for (long i = 0; i < count; i++) {
        if (demo_stop_requested())
            return REPLY_STOPPED;

        st_result result = st_lock_acquire(lock, ST_FOREVER);
        if (result == ST_EOWNERDEAD) {
            /* The previous holder died holding the lock; we hold it now. A
             * deposit changes the balance in one write, so it is consistent. */
            demo_warn("bank-lock: %s; carrying on", st_strerror(result));
        } else if (result != ST_OK) {
            demo_report("st_lock_acquire(bank-lock)", result);
            return REPLY_FAILED;
        }

        deposit_once(account);   /* the same three steps, now one teller at a time */

        result = st_lock_release(lock);
        if (result != ST_OK) {
            demo_report("st_lock_release(bank-lock)", result);
            return REPLY_FAILED;
        }
    }
    return REPLY_DONE;
}

/* The teller's life: register, then one command -> deposits -> reply, until
 * the bank closes the command pipe or a stop is requested. Returns the
 * teller's exit status. */
static int teller_main(struct race *race, const char *name, int commands, int replies)
{
    st_result result = st_process_register(race->table, name, "teller");
    if (result != ST_OK) {
        demo_report("st_process_register", result);
        return 1;
    }

    int status = 0;
    for (;;) {
        char command;
        ssize_t n = read(commands, &command, 1);
        if (n < 0 && errno == EINTR && !demo_stop_requested())
            continue;
        if (n != 1)
            break;   /* the bank closed the pipe, or we were asked to stop */

        char reply = command == DEPOSIT_WITH_LOCK
                         ? (char)deposit_with_lock(race->account, race->lock, race->deposits)
                         : (char)deposit_without_lock(race->account, race->deposits);
        if (reply == REPLY_FAILED)
            status = 1;
        if (write(replies, &reply, 1) != 1 || reply != REPLY_DONE)
            break;
    }

    result = st_process_unregister(race->table);
    if (result != ST_OK) {
        demo_report("st_process_unregister", result);
        status = 1;
    }
    return status;
}

/* ==== the bank (the parent process) ======================================== */

static bool open_bank(struct race *race)
{
    st_table_options table_options = { .session = race->opts->session };
    st_result result = st_table_open(&table_options, &race->table);
    if (result != ST_OK) {
        demo_report("st_table_open", result);
        return false;
    }
    result = st_process_register(race->table, "bank", "lesson");
    if (result != ST_OK) {
        demo_report("st_process_register(bank)", result);
        return false;
    }
    result = st_lock_open(race->table, "bank-lock", &race->lock);
    if (result != ST_OK) {
        demo_report("st_lock_open(bank-lock)", result);
        return false;
    }
    /* Never traced (synctop-demo traces every other object): its 1.6
     * million operations a second would push every other lesson's story
     * out of the session's event ring within milliseconds. */
    result = st_trace_set(race->table, "bank-lock", false);
    if (result != ST_OK) {
        demo_report("st_trace_set(bank-lock)", result);
        return false;
    }

    /* Memory shared with every child forked from now on. */
    void *shared = mmap(NULL, sizeof *race->account, PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) {
        demo_warn("mmap of the shared account: %s", strerror(errno));
        return false;
    }
    race->account = shared;
    race->account->balance = 0;

    race->tellers = calloc((size_t)race->opts->workers, sizeof *race->tellers);
    if (race->tellers == NULL) {
        demo_warn("out of memory");
        return false;
    }
    return true;
}

/* In a new teller: close the pipe ends the bank holds for the tellers forked
 * before it, so that each pipe has exactly one reader and one writer and
 * EOF means what it says. */
static void close_inherited_pipes(struct race *race)
{
    for (int i = 0; i < race->teller_count; i++) {
        close(race->tellers[i].to_teller);
        close(race->tellers[i].from_teller);
    }
}

/* Fork teller number `number` (1-based). Returns false when it could not. */
static bool hire_teller(struct race *race, int number)
{
    struct teller *teller = &race->tellers[race->teller_count];
    snprintf(teller->name, sizeof teller->name, "teller-%d", number);

    int commands[2], replies[2];
    if (pipe(commands) != 0) {
        demo_warn("pipe: %s", strerror(errno));
        return false;
    }
    if (pipe(replies) != 0) {
        demo_warn("pipe: %s", strerror(errno));
        close(commands[0]);
        close(commands[1]);
        return false;
    }

    fflush(NULL);   /* or the child would print the parent's pending output again */
    pid_t pid = fork();
    if (pid < 0) {
        demo_warn("fork: %s", strerror(errno));
        close(commands[0]);
        close(commands[1]);
        close(replies[0]);
        close(replies[1]);
        return false;
    }

    if (pid == 0) {
        /* The teller. Should the bank die, the kernel sends us SIGTERM. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != race->bank_pid)
            _exit(1);   /* the bank died before prctl() took effect */
        close(commands[1]);
        close(replies[0]);
        close_inherited_pipes(race);
        int status = teller_main(race, teller->name, commands[0], replies[1]);
        st_lock_close(race->lock);
        st_table_close(race->table);
        _exit(status);   /* not exit(): the bank's atexit handlers are not ours */
    }

    close(commands[0]);
    close(replies[1]);
    teller->pid = pid;
    teller->to_teller = commands[1];
    teller->from_teller = replies[0];
    race->teller_count++;
    return true;
}

static bool hire_tellers(struct race *race)
{
    for (int i = 0; i < race->opts->workers; i++)
        if (!hire_teller(race, i + 1))
            return false;
    return true;
}

/* Ask every teller that is still working to stop now (its deposit loop
 * checks for the signal). Used when the bank itself is asked to stop. */
static void tell_busy_tellers_to_stop(struct race *race)
{
    if (race->tellers_told_to_stop)
        return;
    race->tellers_told_to_stop = true;
    for (int i = 0; i < race->teller_count; i++)
        if (race->tellers[i].pid > 0 && race->tellers[i].busy)
            kill(race->tellers[i].pid, SIGTERM);
}

static bool send_command(struct teller *teller, char command)
{
    ssize_t n;
    do
        n = write(teller->to_teller, &command, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1)
        return false;   /* EPIPE: the teller is gone */
    teller->busy = true;
    return true;
}

static enum reply await_reply(struct race *race, struct teller *teller)
{
    char reply;
    for (;;) {
        ssize_t n = read(teller->from_teller, &reply, 1);
        if (n == 1)
            break;
        if (n < 0 && errno == EINTR) {
            if (demo_stop_requested())
                tell_busy_tellers_to_stop(race);
            continue;   /* the reply comes as soon as the teller stops */
        }
        return REPLY_GONE;   /* EOF: the teller exited without replying */
    }
    teller->busy = false;
    return (enum reply)reply;
}

/* Every teller makes its deposits (with or without the lock) into a balance
 * that starts at 0. Returns true when all of them finished, with the final
 * balance in *balance. */
static bool run_half_round(struct race *race, char command, int64_t *balance)
{
    race->account->balance = 0;

    int sent = 0;
    for (; sent < race->teller_count; sent++)
        if (!send_command(&race->tellers[sent], command))
            break;

    bool complete = sent == race->teller_count;
    for (int i = 0; i < sent; i++) {
        enum reply reply = await_reply(race, &race->tellers[i]);
        if (reply != REPLY_DONE)
            complete = false;
        if (reply == REPLY_FAILED)
            race->failed = true;
    }

    if (!complete && !demo_stop_requested() && !race->failed) {
        demo_warn("a teller quit before the round finished");
        race->failed = true;
    }
    *balance = race->account->balance;
    return complete;
}

static void print_half_round(const struct race *race, int round, bool locked,
                             int64_t expected, int64_t balance, double seconds)
{
    if (race->opts->quiet)
        return;
    const char *how = locked ? _("with bank-lock:") : _("without a lock:");
    int64_t lost = expected - balance;
    char verdict[64];
    if (lost == 0)
        snprintf(verdict, sizeof verdict, "%s",
                 locked || race->teller_count == 1 ? _("exact") : _("exact (no collision)"));
    else
        snprintf(verdict, sizeof verdict, _("%" PRId64 " update%s lost"), lost,
                 lost == 1 ? "" : "s");
    demo_say("round %-3d %-15s expected %" PRId64 ", got %" PRId64 ": %-22s (%.2f s)",
             round, how, expected, balance, verdict, seconds);
}

/* Round `round`, both halves. Returns false when it could not complete. */
static bool play_round(struct race *race, int round, int64_t *next_half_ns)
{
    int64_t expected = (int64_t)race->teller_count * race->deposits;
    int64_t balance;

    int64_t started = demo_now_ns();
    if (!run_half_round(race, DEPOSIT_WITHOUT_LOCK, &balance))
        return false;
    print_half_round(race, round, false, expected, balance,
                     (double)(demo_now_ns() - started) / 1e9);
    race->tally.unlocked_halves++;
    if (balance != expected) {
        race->tally.lossy_halves++;
        race->tally.lost_total += expected - balance;
    }

    /* Give the watcher a moment between the halves. */
    *next_half_ns += demo_scaled_ns(HALF_ROUND_NS);
    demo_sleep_until(*next_half_ns);
    if (demo_stop_requested())
        return false;

    started = demo_now_ns();
    if (!run_half_round(race, DEPOSIT_WITH_LOCK, &balance))
        return false;
    print_half_round(race, round, true, expected, balance,
                     (double)(demo_now_ns() - started) / 1e9);
    race->tally.locked_halves++;
    if (balance != expected) {
        race->tally.wrong_locked_halves++;
        demo_warn("with bank-lock the balance should be exact, "
                  "but %" PRId64 " updates were lost", expected - balance);
    }
    return true;
}

/* Rounds until the duration has passed (at least one round) or a stop. */
static void play_rounds(struct race *race)
{
    int64_t next_half = demo_now_ns();

    for (int round = 1; !demo_stop_requested() && !race->failed; round++) {
        if (!play_round(race, round, &next_half))
            return;
        if (demo_time_is_up())
            return;
        next_half += demo_scaled_ns(HALF_ROUND_NS);
        if (next_half < demo_now_ns())
            next_half = demo_now_ns();   /* running late: do not try to catch up */
        /* In short naps, so that the end of --duration ends the wait too. */
        for (int64_t now = demo_now_ns(); now < next_half && !demo_should_stop();
             now = demo_now_ns())
            demo_sleep_until(next_half - now > NAP_NS ? now + NAP_NS : next_half);
        if (demo_should_stop())
            return;
    }
}

static void describe_exit(const struct teller *teller, int status, bool *well)
{
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return;
    if (WIFEXITED(status))
        demo_warn("%s exited with status %d", teller->name,
                WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        demo_warn("%s was killed by signal %d (%s)", teller->name,
                WTERMSIG(status), strsignal(WTERMSIG(status)));
    *well = false;
}

/* Close every pipe (an idle teller then reads EOF and goes home), ask busy
 * tellers to stop, and reap them all; a teller that does not leave within
 * a few seconds is killed. Returns false when a teller ended badly. */
static bool send_tellers_home(struct race *race)
{
    for (int i = 0; i < race->teller_count; i++) {
        struct teller *teller = &race->tellers[i];
        close(teller->to_teller);
        close(teller->from_teller);
        teller->to_teller = teller->from_teller = -1;
        if (teller->busy && teller->pid > 0)
            kill(teller->pid, SIGTERM);
    }

    bool well = true;
    int64_t deadline = demo_now_ns() + GO_HOME_TIMEOUT_NS;
    for (int i = 0; i < race->teller_count; i++) {
        struct teller *teller = &race->tellers[i];
        int status;
        pid_t reaped;
        while ((reaped = waitpid(teller->pid, &status, WNOHANG)) == 0 &&
               demo_now_ns() < deadline)
            usleep(10000);
        if (reaped == 0) {
            demo_warn("%s did not stop; killing it", teller->name);
            kill(teller->pid, SIGKILL);
            while ((reaped = waitpid(teller->pid, &status, 0)) < 0 && errno == EINTR)
                ;
            well = false;
        } else if (reaped > 0) {
            describe_exit(teller, status, &well);
        }
        teller->pid = 0;
    }
    return well;
}

/* Release everything open_bank() and hire_tellers() acquired. */
static void close_bank(struct race *race)
{
    if (race->tellers != NULL && !send_tellers_home(race))
        race->failed = true;
    free(race->tellers);
    race->tellers = NULL;

    if (race->account != NULL)
        munmap((void *)race->account, sizeof *race->account);
    st_lock_close(race->lock);
    if (race->table != NULL) {
        st_result result = st_process_unregister(race->table);
        if (result != ST_OK && result != ST_ENOENT)
            demo_report("st_process_unregister(bank)", result);
    }
    st_table_close(race->table);
}

/* Did the lesson show what it teaches? Prints the verdict; returns the exit
 * status. */
static int check_claim(const struct race *race)
{
    const struct tally *t = &race->tally;
    int cpus = demo_cpu_count();
    bool quiet = race->opts->quiet;

    if (!quiet && t->unlocked_halves > 0) {
        demo_say("without a lock, updates were lost in %d of %d rounds (%" PRId64
                 " in all); with bank-lock, %d of %d rounds were exact.",
               t->lossy_halves, t->unlocked_halves, t->lost_total,
               t->locked_halves - t->wrong_locked_halves, t->locked_halves);
    } else if (!quiet && !race->failed) {
        demo_say("stopped before the first round finished.");
    }

    if (race->failed)
        return 1;
    if (t->wrong_locked_halves > 0) {
        return demo_claim_failed("with bank-lock the total was wrong in %d round%s; "
                                 "the lock did not exclude the tellers from each other",
                                 t->wrong_locked_halves, t->wrong_locked_halves == 1 ? "" : "s");
    }
    if (t->unlocked_halves > 0 && t->lossy_halves == 0) {
        if (cpus >= 2 && race->teller_count >= 2) {
            return demo_claim_failed("no update was lost without a lock in %d round%s "
                                     "on %d CPUs; the race exists but did not show (try a "
                                     "longer --duration or more --deposits)",
                                     t->unlocked_halves, t->unlocked_halves == 1 ? "" : "s",
                                     cpus);
        }
        if (!quiet && race->teller_count < 2)
            demo_say("note: with one teller nobody races, so no update can be lost; "
                     "try --workers 2 or more.");
        else if (!quiet)
            demo_say("note: no update was lost without a lock; on one CPU the tellers "
                     "collide only when one is preempted mid-deposit, so the race seldom "
                     "shows.");
    }
    return 0;
}

int lesson_race(const struct lesson_options *opts)
{
    struct race race = {
        .opts = opts,
        .deposits = opts->deposits > 0 ? opts->deposits : DEFAULT_DEPOSITS,
        .bank_pid = getpid(),
    };

    if (open_bank(&race)) {
        if (!opts->quiet)
            demo_say("%d teller%s deposit%s 1, %ld times a round, into one shared "
                     "balance: first without a lock, then holding \"bank-lock\". "
                     "Watch: synctop -s %s",
                   opts->workers, opts->workers == 1 ? "" : "s",
                   opts->workers == 1 ? "s" : "", race.deposits, st_table_session(race.table));
        if (hire_tellers(&race))
            play_rounds(&race);
        else
            race.failed = true;
    } else {
        race.failed = true;
    }
    close_bank(&race);
    return check_claim(&race);
}
