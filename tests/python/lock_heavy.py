"""A lock-heavy multiprocessing program, for make bench.

Two processes each take and release a Lock of their own ITERATIONS times,
and every 16th time also the Lock of a shared counter. Every iteration is
a Python-level acquire and release (sem_trywait, sem_getvalue, sem_post
underneath), so the interpreter's work per lock operation is what the
watched and unwatched runs compare; the shared lock is contended now and
then, but not so much that the scheduler's hand-offs rule the time (two
processes fighting over one lock on every iteration vary by 2x from run to
run on their own). Prints the wall time in seconds; exits 1 on a lost
update.

usage: lock_heavy.py ITERATIONS
"""
import multiprocessing
import sys
import time


def work(own_lock, counter_lock, counter, iterations):
    for number in range(iterations):
        with own_lock:
            pass
        if number % 16 == 0:
            with counter_lock:
                counter.value += 1


def main():
    iterations = int(sys.argv[1])
    counter = multiprocessing.RawValue("l", 0)
    counter_lock = multiprocessing.Lock()
    start = time.perf_counter()
    workers = [multiprocessing.Process(target=work, args=(multiprocessing.Lock(), counter_lock, counter, iterations))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - start
    if counter.value != 2 * ((iterations + 15) // 16):
        sys.exit(1)
    print("%.6f" % elapsed)


if __name__ == "__main__":
    main()
