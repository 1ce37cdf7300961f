"""A duplex Pipe and a one-way Pipe between the main process and a worker.

The worker waits in orders.recv_bytes() (blocked reading the duplex pipe)
until the main process, after the file "send", sends ITEMS messages of
1, 2, ... ITEMS bytes; the worker answers each with a message twice as
long, and sends ITEMS messages of 100 bytes and one of 20000 bytes (sent
as a separate header and payload) over the one-way pipe. Counting is
checked by the test through synctop --once --json.

usage: pipe_flow.py WORKDIR ITEMS
"""
import multiprocessing
import sys

from watch_helpers import pause, step


def work(replies, results_out, items):
    for _ in range(items):
        order = replies.recv_bytes()
        replies.send_bytes(b"r" * (2 * len(order)))
    for _ in range(items):
        results_out.send_bytes(b"s" * 100)
    results_out.send_bytes(b"b" * 20000)


def main():
    workdir, items = sys.argv[1], int(sys.argv[2])
    orders, replies = multiprocessing.Pipe()
    results_in, results_out = multiprocessing.Pipe(duplex=False)
    worker = multiprocessing.Process(target=work, args=(replies, results_out, items))
    worker.start()
    pause(workdir, "send")
    answered = 0
    for number in range(1, items + 1):
        orders.send_bytes(b"o" * number)
        answered += len(orders.recv_bytes())
    received = sum(len(results_in.recv_bytes()) for _ in range(items + 1))
    worker.join()
    print("answered", answered, "received", received, flush=True)
    step(workdir, "done")
    if worker.exitcode != 0 or answered != items * (items + 1) or received != 100 * items + 20000:
        sys.exit(1)
    pause(workdir, "end")


if __name__ == "__main__":
    main()
