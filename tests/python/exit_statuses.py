"""Processes that end in three ways, joined by their parent.

"finisher" returns (exit status 0), "failer" calls sys.exit(3), "victim"
waits until its parent kills it with SIGKILL. Each first releases `ready`
twice: a process registers (and is named) while it counts its first
operation, which may finish after the parent woke up; its second release
comes after that. The parent takes all six, kills the victim, joins them all and checks their exit codes as
multiprocessing reports them. The test then reads the session after "done":
failer exited with status 3, victim killed by signal 9, finisher exited 0;
after "end" and the program's own end, the main process exited 0 too
(recorded by synctop run).

usage: exit_statuses.py WORKDIR START_METHOD
"""
import multiprocessing
import os
import signal
import sys
import time

from watch_helpers import pause, step


def finisher(ready):
    ready.release()
    ready.release()


def failer(ready):
    ready.release()
    ready.release()
    sys.exit(3)


def victim(ready):
    ready.release()
    ready.release()
    while True:
        time.sleep(60)


def main():
    workdir, method = sys.argv[1], sys.argv[2]
    ctx = multiprocessing.get_context(method)
    ready = ctx.Semaphore(0)
    workers = [ctx.Process(name=name, target=target, args=(ready,))
               for name, target in (("finisher", finisher), ("failer", failer), ("victim", victim))]
    for worker in workers:
        worker.start()
    for _ in range(2 * len(workers)):
        ready.acquire()
    os.kill(workers[2].pid, signal.SIGKILL)
    for worker in workers:
        worker.join()
    codes = [worker.exitcode for worker in workers]
    if codes != [0, 3, -signal.SIGKILL]:
        print("unexpected exit codes", codes, file=sys.stderr)
        sys.exit(1)
    step(workdir, "done")
    pause(workdir, "end")


if __name__ == "__main__":
    main()
