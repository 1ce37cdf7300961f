"""A Lock guarding a shared counter in 4 processes.

The main process holds the lock while the workers start, so every worker's
first acquire blocks (4 contended acquisitions at least); each worker then
increments the counter ITERATIONS times under the lock. Exits 1 if an
update was lost.

usage: lock_counter.py WORKDIR START_METHOD ITERATIONS
"""
import multiprocessing
import sys

from watch_helpers import pause, step


def work(lock, counter, iterations):
    for _ in range(iterations):
        with lock:
            counter.value += 1


def main():
    workdir, method, iterations = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ctx = multiprocessing.get_context(method)
    counter = ctx.RawValue("l", 0)
    counter_lock = ctx.Lock()
    counter_lock.acquire()
    workers = [ctx.Process(target=work, args=(counter_lock, counter, iterations)) for _ in range(4)]
    for worker in workers:
        worker.start()
    pause(workdir, "go")
    counter_lock.release()
    for worker in workers:
        worker.join()
    print("counter", counter.value, flush=True)
    step(workdir, "done")
    if counter.value != 4 * iterations:
        sys.exit(1)
    pause(workdir, "end")


if __name__ == "__main__":
    main()
