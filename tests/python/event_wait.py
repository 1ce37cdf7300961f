"""An Event waited on by 3 processes, set once by the main process (on
"go"). Exits 1 if a waiter was not woken.

usage: event_wait.py WORKDIR
"""
import multiprocessing
import sys

from watch_helpers import pause, step


def wait_until_ready(ready):
    if not ready.wait(timeout=120):
        sys.exit(1)


def main():
    workdir = sys.argv[1]
    ready = multiprocessing.Event()
    waiters = [multiprocessing.Process(target=wait_until_ready, args=(ready,)) for _ in range(3)]
    for waiter in waiters:
        waiter.start()
    pause(workdir, "go")
    ready.set()
    for waiter in waiters:
        waiter.join()
    print("exit codes", [waiter.exitcode for waiter in waiters], flush=True)
    step(workdir, "done")
    if any(waiter.exitcode != 0 for waiter in waiters):
        sys.exit(1)
    pause(workdir, "end")


if __name__ == "__main__":
    main()
