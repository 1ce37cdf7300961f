/* pipe.h - the instrumented Pipe: a duplex channel of framed messages
 * between two ends, A and B (Python's `a, b = multiprocessing.Pipe()`).
 *
 * What end A sends, end B receives, in order, and the other way round. The
 * usual pattern: open the pipe, fork, and let the parent keep end A and the
 * child end B (each closes the handle it does not use). Unrelated processes
 * open the same pipe by name and each keeps the end it plays. Each direction
 * holds up to capacity messages of up to max_message_bytes bytes.
 *
 * Figures (the viewer's fields): capacity, max_message_bytes,
 * messages_a_to_b, messages_b_to_a, bytes_a_to_b, bytes_b_to_a,
 * unread_messages_a_to_b, unread_messages_b_to_a, unread_bytes_a_to_b,
 * unread_bytes_b_to_a, a_send_blocked, a_recv_blocked, b_send_blocked,
 * b_recv_blocked, send_timeouts, recv_timeouts, owner_died.
 */
#ifndef SYNCTOP_PIPE_H
#define SYNCTOP_PIPE_H

/* The library is built with hidden visibility: what this header declares
 * is its public API. */
#pragma GCC visibility push(default)

#include <stddef.h>
#include <stdint.h>
#include "result.h"
#include "table.h"
#include "timeout.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct st_pipe_end st_pipe_end;

/* Open the pipe called name, creating it if it does not exist (capacity
 * messages of up to max_message_bytes each way, in one data segment that
 * lives until the session is removed; these only matter to the creator but
 * must be valid: 1 to 2^24 messages, 1 byte to 64 MiB). Sets *end_a and
 * *end_b to handles on its two ends; either pointer may be NULL when the
 * caller wants only one end (not both). ST_EWRONGTYPE when name is another
 * type of object. */
st_result st_pipe_open(st_table *table, const char *name, uint32_t capacity, uint32_t max_message_bytes,
                       st_pipe_end **end_a, st_pipe_end **end_b);

/* Send a copy of length bytes to the other end, waiting up to timeout_ns
 * for room in that direction (0 tries once, ST_FOREVER without limit).
 * ST_OK; ST_ETIMEDOUT; ST_EOVERFLOW when length exceeds the maximum message
 * size (nothing is sent); ST_EINVAL for a NULL handle, NULL data with a
 * non-zero length, or a negative timeout. */
st_result st_pipe_send(st_pipe_end *end, const void *data, size_t length, int64_t timeout_ns);

/* Receive the oldest message the other end sent, waiting up to timeout_ns.
 * *length receives its size. ST_OK; ST_ETIMEDOUT; ST_EOVERFLOW when it is
 * larger than size (*length says how large; it stays to be received);
 * ST_EINVAL for a NULL handle or length, a NULL buffer with a non-zero
 * size, or a negative timeout. */
st_result st_pipe_recv(st_pipe_end *end, void *buffer, size_t size, size_t *length, int64_t timeout_ns);

/* Whether there is something to receive, waiting up to timeout_ns for it:
 * ST_OK (a message is there), ST_ETIMEDOUT (none). Consumes nothing. */
st_result st_pipe_poll(st_pipe_end *end, int64_t timeout_ns);

/* 'a' or 'b': which end a handle is; 0 for an invalid handle. */
char st_pipe_end_name(const st_pipe_end *end);

/* Drop one end's handle (the pipe and unread messages stay in the
 * session). NULL is a no-op. */
void st_pipe_close(st_pipe_end *end);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
