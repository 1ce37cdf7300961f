"""Small messages over a multiprocessing Pipe, for make bench.

A worker sends MESSAGES messages of 64 bytes over a duplex Pipe; the main
process receives them all and answers "done" (so the worker's last
message is read before it ends). Every message is one Connection.send_bytes
and one recv_bytes (a write, and two reads: header and payload). Prints the
wall time in seconds; exits 1 on a lost message.

usage: pipe_heavy.py MESSAGES
"""
import multiprocessing
import sys
import time


def work(end, messages):
    payload = b"m" * 64
    for _ in range(messages):
        end.send_bytes(payload)
    end.recv_bytes()


def main():
    messages = int(sys.argv[1])
    here, there = multiprocessing.Pipe()
    start = time.perf_counter()
    worker = multiprocessing.Process(target=work, args=(there, messages))
    worker.start()
    received = 0
    for _ in range(messages):
        received += len(here.recv_bytes())
    here.send_bytes(b"done")
    worker.join()
    elapsed = time.perf_counter() - start
    if received != 64 * messages or worker.exitcode != 0:
        sys.exit(1)
    print("%.6f" % elapsed)


if __name__ == "__main__":
    main()
