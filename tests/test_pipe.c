/* test_pipe.c - the duplex Pipe between a parent (end A) and its child
 * (end B): 100000 messages each way at once, exact counts and order; poll;
 * oversized messages; the figures the viewer's model reads back. */
#include "helpers.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <synctop/synctop.h>

static st_table *table;
static st_pipe_end *end_a, *end_b;

static int setup(void **state)
{
    (void)state;
    st_table_options opts = { .session = test_session_new() };
    assert_int_equal(st_table_open(&opts, &table), ST_OK);
    return 0;
}

static int teardown(void **state)
{
    test_teardown(state);
    st_pipe_close(end_a);
    st_pipe_close(end_b);
    end_a = end_b = NULL;
    st_table_close(table);
    table = NULL;
    return 0;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The figure field_name of the pipe called name, through the viewer's model. */
static uint64_t figure(const char *name, const char *field_name)
{
    return test_object_field_u64(st_table_session(table), "pipe", name, field_name);
}

/* ---- 100000 messages each way, both at once ---------------------------------- */

#define EXCHANGE 100000

typedef struct exchange_message {
    uint64_t seq;
    char from;
    uint8_t fill[23];
} exchange_message;

typedef struct sender_args {
    st_pipe_end *end;
    char from;
    int failed;
} sender_args;

static void *send_all(void *arg)
{
    sender_args *args = arg;
    for (uint64_t seq = 0; seq < EXCHANGE; seq++) {
        exchange_message m;
        memset(&m, 0, sizeof m);
        m.seq = seq;
        m.from = args->from;
        /* Vary the length: 9 to 32 bytes. */
        size_t length = 9 + seq % 24;
        if (st_pipe_send(args->end, &m, length, ST_SECONDS(30)) != ST_OK) {
            args->failed = 1;
            break;
        }
    }
    return NULL;
}

/* Send EXCHANGE messages from a thread while receiving EXCHANGE in this
 * one; 0 when every message arrived whole and in order. */
static int exchange(st_pipe_end *end, char self, char peer)
{
    st_pipe_poll(end, 0);  /* registers the process before the threads start */
    sender_args args = { end, self, 0 };
    pthread_t sender;
    if (pthread_create(&sender, NULL, send_all, &args) != 0)
        return 10;
    int status = 0;
    for (uint64_t seq = 0; seq < EXCHANGE && status == 0; seq++) {
        exchange_message m;
        size_t length;
        if (st_pipe_recv(end, &m, sizeof m, &length, ST_SECONDS(30)) != ST_OK)
            status = 11;
        else if (length != 9 + seq % 24 || m.seq != seq || m.from != peer)
            status = 12;
    }
    pthread_join(sender, NULL);
    if (status == 0 && args.failed)
        status = 13;
    /* Nothing more arrives than was sent. */
    if (status == 0 && st_pipe_poll(end, ST_MILLISECONDS(10)) != ST_ETIMEDOUT)
        status = 14;
    return status;
}

static int child_end_b(void *arg)
{
    (void)arg;
    st_pipe_close(end_a);  /* the child plays B only */
    return exchange(end_b, 'b', 'a');
}

static void test_exchange_both_ways_at_once(void **state)
{
    (void)state;
    assert_int_equal(st_pipe_open(table, "duplex", 64, 32, &end_a, &end_b), ST_OK);
    assert_int_equal(st_pipe_end_name(end_a), 'a');
    assert_int_equal(st_pipe_end_name(end_b), 'b');
    uint64_t t0 = now_ns();
    pid_t child = test_spawn(child_end_b, NULL);
    st_pipe_close(end_b);  /* the parent plays A only */
    end_b = NULL;
    assert_int_equal(exchange(end_a, 'a', 'b'), 0);
    assert_int_equal(test_wait(child, 60000), 0);
    double seconds = (double)(now_ns() - t0) / 1e9;
    print_message("# %d messages each way in %.2f s\n", EXCHANGE, seconds);
    uint64_t bytes = 0;
    for (uint64_t seq = 0; seq < EXCHANGE; seq++)
        bytes += 9 + seq % 24;
    assert_int_equal(figure("duplex", "messages_a_to_b"), EXCHANGE);
    assert_int_equal(figure("duplex", "messages_b_to_a"), EXCHANGE);
    assert_int_equal(figure("duplex", "bytes_a_to_b"), bytes);
    assert_int_equal(figure("duplex", "bytes_b_to_a"), bytes);
    assert_int_equal(figure("duplex", "unread_messages_a_to_b"), 0);
    assert_int_equal(figure("duplex", "unread_bytes_b_to_a"), 0);
    assert_int_equal(figure("duplex", "capacity"), 64);
    assert_int_equal(figure("duplex", "a_send_blocked"), 0);
    assert_int_equal(figure("duplex", "b_recv_blocked"), 0);
}

/* ---- poll ------------------------------------------------------------------------ */

/* Sends once the parent is blocked polling, 100 ms later. */
static int send_later(void *arg)
{
    if (!test_wait_blocked(st_table_session(table), getppid(), "polled", TEST_WAIT_MS))
        return 3;
    test_sleep_ms(100);   /* not synchronization: the time the poll is measured to wait */
    return st_pipe_send(end_b, arg, strlen(arg), ST_SECONDS(5)) == ST_OK ? 0 : 2;
}

static void test_poll(void **state)
{
    (void)state;
    assert_int_equal(st_pipe_open(table, "polled", 4, 16, &end_a, &end_b), ST_OK);
    assert_int_equal(st_pipe_poll(end_a, 0), ST_ETIMEDOUT);
    uint64_t t0 = now_ns();
    assert_int_equal(st_pipe_poll(end_a, ST_MILLISECONDS(100)), ST_ETIMEDOUT);
    assert_true(now_ns() - t0 >= 95000000u);
    /* A's own sends are not for A to receive. */
    assert_int_equal(st_pipe_send(end_a, "to b", 4, 0), ST_OK);
    assert_int_equal(st_pipe_poll(end_a, 0), ST_ETIMEDOUT);
    assert_int_equal(st_pipe_poll(end_b, 0), ST_OK);
    assert_int_equal(st_pipe_poll(end_b, ST_FOREVER), ST_OK);
    /* poll consumes nothing. */
    assert_int_equal(figure("polled", "unread_messages_a_to_b"), 1);
    char buf[16];
    size_t length;
    assert_int_equal(st_pipe_recv(end_b, buf, sizeof buf, &length, 0), ST_OK);
    assert_int_equal(length, 4);
    assert_memory_equal(buf, "to b", 4);
    /* poll with a timeout wakes when the other end sends. */
    pid_t child = test_spawn(send_later, "hello");
    t0 = now_ns();
    assert_int_equal(st_pipe_poll(end_a, ST_SECONDS(10)), ST_OK);
    assert_true(now_ns() - t0 >= 50000000u);
    assert_int_equal(test_wait(child, 10000), 0);
    assert_int_equal(st_pipe_recv(end_a, buf, sizeof buf, &length, 0), ST_OK);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(st_pipe_recv(end_a, buf, sizeof buf, &length, ST_MILLISECONDS(20)), ST_ETIMEDOUT);
    assert_int_equal(figure("polled", "recv_timeouts"), 1);
}

/* ---- sizes, figures, full ------------------------------------------------------------ */

static void test_sizes_and_figures(void **state)
{
    (void)state;
    assert_int_equal(st_pipe_open(table, "sized", 2, 8, &end_a, &end_b), ST_OK);
    assert_int_equal(st_pipe_send(end_a, "123456789", 9, 0), ST_EOVERFLOW);
    assert_non_null(strstr(st_error_detail(), "larger"));
    assert_int_equal(st_pipe_send(end_a, "12345678", 8, 0), ST_OK);
    assert_int_equal(st_pipe_send(end_a, "abc", 3, 0), ST_OK);
    /* Full one way (capacity 2): times out; the other way is free. */
    assert_int_equal(st_pipe_send(end_a, "x", 1, ST_MILLISECONDS(20)), ST_ETIMEDOUT);
    assert_int_equal(st_pipe_send(end_b, "back", 4, 0), ST_OK);
    assert_int_equal(figure("sized", "messages_a_to_b"), 2);
    assert_int_equal(figure("sized", "messages_b_to_a"), 1);
    assert_int_equal(figure("sized", "bytes_a_to_b"), 11);
    assert_int_equal(figure("sized", "bytes_b_to_a"), 4);
    assert_int_equal(figure("sized", "unread_bytes_a_to_b"), 11);
    assert_int_equal(figure("sized", "unread_bytes_b_to_a"), 4);
    assert_int_equal(figure("sized", "unread_messages_a_to_b"), 2);
    assert_int_equal(figure("sized", "send_timeouts"), 1);
    assert_int_equal(figure("sized", "max_message_bytes"), 8);
    /* Too small a buffer: ST_EOVERFLOW with the size needed; it stays. */
    char small[4];
    size_t length = 0;
    assert_int_equal(st_pipe_recv(end_b, small, sizeof small, &length, 0), ST_EOVERFLOW);
    assert_int_equal(length, 8);
    assert_int_equal(figure("sized", "unread_messages_a_to_b"), 2);
    char buf[8];
    assert_int_equal(st_pipe_recv(end_b, buf, sizeof buf, &length, 0), ST_OK);
    assert_int_equal(length, 8);
    assert_memory_equal(buf, "12345678", 8);
    assert_int_equal(st_pipe_recv(end_b, buf, sizeof buf, &length, 0), ST_OK);
    assert_int_equal(length, 3);
    assert_int_equal(st_pipe_recv(end_a, buf, sizeof buf, &length, 0), ST_OK);
    assert_memory_equal(buf, "back", 4);
    assert_int_equal(figure("sized", "unread_bytes_a_to_b"), 0);
    assert_int_equal(figure("sized", "unread_bytes_b_to_a"), 0);
    assert_int_equal(figure("sized", "bytes_a_to_b"), 11);
}

static int recv_one_blocking(void *arg)
{
    (void)arg;
    char buf[16];
    size_t length;
    return st_pipe_recv(end_b, buf, sizeof buf, &length, ST_SECONDS(10)) == ST_OK ? 0 : 2;
}

static bool receiver_blocked(void *arg)
{
    (void)arg;
    return figure("waiting", "b_recv_blocked") == 1;
}

static void test_blocked_receiver_is_visible(void **state)
{
    (void)state;
    assert_int_equal(st_pipe_open(table, "waiting", 4, 16, &end_a, &end_b), ST_OK);
    pid_t child = test_spawn(recv_one_blocking, NULL);
    assert_true(test_wait_until(receiver_blocked, NULL, TEST_WAIT_MS));
    assert_int_equal(figure("waiting", "a_recv_blocked"), 0);
    assert_int_equal(st_pipe_send(end_a, "wake", 4, 0), ST_OK);
    assert_int_equal(test_wait(child, 10000), 0);
    assert_int_equal(figure("waiting", "b_recv_blocked"), 0);
}

static int open_end_b_by_name(void *arg)
{
    (void)arg;
    st_table *own = NULL;
    st_table_options opts = { .session = st_table_session(table) };
    if (st_table_open(&opts, &own) != ST_OK)
        return 2;
    st_pipe_end *b = NULL;
    if (st_pipe_open(own, "by-name", 1, 1, NULL, &b) != ST_OK)
        return 3;
    char buf[32];
    size_t length;
    if (st_pipe_recv(b, buf, sizeof buf, &length, ST_SECONDS(10)) != ST_OK)
        return 4;
    if (st_pipe_send(b, buf, length, ST_SECONDS(10)) != ST_OK)  /* echo */
        return 5;
    st_pipe_close(b);
    st_table_close(own);
    return 0;
}

static void test_unrelated_processes_by_name(void **state)
{
    (void)state;
    assert_int_equal(st_pipe_open(table, "by-name", 8, 32, &end_a, NULL), ST_OK);
    pid_t child = test_spawn(open_end_b_by_name, NULL);
    assert_int_equal(st_pipe_send(end_a, "ping pong", 9, 0), ST_OK);
    char buf[32];
    size_t length;
    assert_int_equal(st_pipe_recv(end_a, buf, sizeof buf, &length, ST_SECONDS(10)), ST_OK);
    assert_int_equal(length, 9);
    assert_memory_equal(buf, "ping pong", 9);
    assert_int_equal(test_wait(child, 10000), 0);
    char needle[128];
    snprintf(needle, sizeof needle, "%s.pipe.", st_table_session(table));
    assert_int_equal(test_shm_count(needle), 1);
}

static void test_segment_removed_with_the_session(void **state)
{
    (void)state;
    const char *session = test_session_new();
    st_table_options opts = { .session = session };
    st_table *other = NULL;
    assert_int_equal(st_table_open(&opts, &other), ST_OK);
    st_pipe_end *a = NULL;
    assert_int_equal(st_pipe_open(other, "p", 4, 64, &a, NULL), ST_OK);
    char needle[128];
    snprintf(needle, sizeof needle, "%s.pipe.", session);
    assert_int_equal(test_shm_count(needle), 1);
    st_pipe_close(a);
    st_table_close(other);
    assert_int_equal(st_session_remove(session, true), ST_OK);
    assert_int_equal(test_shm_count(needle), 0);
}

static void test_bad_input(void **state)
{
    (void)state;
    assert_int_equal(st_pipe_open(table, "bad", 4, 16, &end_a, &end_b), ST_OK);
    char buf[16];
    size_t length;
    assert_int_equal(st_pipe_send(NULL, "x", 1, 0), ST_EINVAL);
    assert_int_equal(st_pipe_recv(NULL, buf, sizeof buf, &length, 0), ST_EINVAL);
    assert_int_equal(st_pipe_poll(NULL, 0), ST_EINVAL);
    assert_int_equal(st_pipe_end_name(NULL), 0);
    assert_int_equal(st_pipe_send(end_a, "x", 1, -1), ST_EINVAL);
    assert_non_null(strstr(st_error_detail(), "negative"));
    assert_int_equal(st_pipe_recv(end_a, buf, sizeof buf, &length, -1), ST_EINVAL);
    assert_int_equal(st_pipe_poll(end_a, -1), ST_EINVAL);
    assert_int_equal(st_pipe_send(end_a, NULL, 3, 0), ST_EINVAL);
    assert_int_equal(st_pipe_recv(end_a, NULL, 3, &length, 0), ST_EINVAL);
    assert_int_equal(st_pipe_recv(end_a, buf, sizeof buf, NULL, 0), ST_EINVAL);
    st_pipe_end *x = NULL, *y = NULL;
    assert_int_equal(st_pipe_open(table, "x", 4, 16, NULL, NULL), ST_EINVAL);
    assert_int_equal(st_pipe_open(NULL, "x", 4, 16, &x, &y), ST_EINVAL);
    assert_int_equal(st_pipe_open(table, NULL, 4, 16, &x, &y), ST_EINVAL);
    assert_int_equal(st_pipe_open(table, "x", 0, 16, &x, &y), ST_EINVAL);
    assert_int_equal(st_pipe_open(table, "x", 4, 0, &x, &y), ST_EINVAL);
    char long_name[ST_OBJECT_NAME_MAX + 2];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(st_pipe_open(table, long_name, 4, 16, &x, &y), ST_ENAMETOOLONG);
    st_queue *q = NULL;
    assert_int_equal(st_queue_open(table, "a-queue", 4, 16, &q), ST_OK);
    assert_int_equal(st_pipe_open(table, "a-queue", 4, 16, &x, &y), ST_EWRONGTYPE);
    st_queue *not_a_queue = NULL;
    assert_int_equal(st_queue_open(table, "bad", 4, 16, &not_a_queue), ST_EWRONGTYPE);
    assert_null(not_a_queue);
    assert_null(x);
    assert_null(y);
    st_queue_close(q);
    st_pipe_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_exchange_both_ways_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_poll, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sizes_and_figures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocked_receiver_is_visible, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unrelated_processes_by_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_removed_with_the_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
    };
    return cmocka_run_group_tests_name("pipe", tests, NULL, NULL);
}
