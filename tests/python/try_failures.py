"""Blocking acquires are contentions, failed non-blocking ones try_failures.

A Semaphore(3) and 10 workers that each take it once, blocking: 3 get it
and hold it until the file "release" exists, 7 block (7 contended
acquisitions, no try failure). A Lock held by the main process and 4
workers that each try it twice without blocking (acquire(False),
acquire(timeout=0): 8 try failures) and then take it, blocking (4
contended acquisitions). Afterwards the main process takes the 3 units and
fails NONBLOCKING acquire(False) and TIMEOUT_ZERO acquire(timeout=0) on the
Semaphore. Exits 1 if an acquire answered otherwise than expected.

usage: try_failures.py WORKDIR NONBLOCKING TIMEOUT_ZERO
"""
import multiprocessing
import sys

from watch_helpers import pause, step


def hold_a_slot(slots, workdir):
    with slots:
        pause(workdir, "release")


def try_then_take(lock):
    if lock.acquire(False) or lock.acquire(timeout=0):
        sys.exit(1)
    with lock:
        pass


def main():
    workdir, nonblocking, timeout_zero = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    slots = multiprocessing.Semaphore(3)
    gate = multiprocessing.Lock()
    gate.acquire()
    workers = [multiprocessing.Process(target=hold_a_slot, args=(slots, workdir)) for _ in range(10)]
    workers += [multiprocessing.Process(target=try_then_take, args=(gate,)) for _ in range(4)]
    pause(workdir, "go")
    for worker in workers:
        worker.start()
    pause(workdir, "release")
    gate.release()
    for worker in workers:
        worker.join()
    failed = any(worker.exitcode != 0 for worker in workers)
    for _ in range(3):
        failed |= not slots.acquire()
    for _ in range(nonblocking):
        failed |= slots.acquire(False)
    for _ in range(timeout_zero):
        failed |= slots.acquire(timeout=0)
    for _ in range(3):
        slots.release()
    step(workdir, "done")
    pause(workdir, "end")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
