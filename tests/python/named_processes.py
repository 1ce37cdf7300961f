"""Processes by the names the program gave them, and a non-ASCII variable.

"producer-1" (named) puts ITEMS items on the queue `données`; an unnamed
process (Process-2) gets them all. The test reads the names and roles after
"done": producer-1 / producer, Process-2 / consumer, and the main process
named after this script.

usage: named_processes.py WORKDIR START_METHOD
"""
import multiprocessing
import sys

from watch_helpers import pause, step

ITEMS = 5


def producer(queue):
    for item in range(ITEMS):
        queue.put(item)


def consumer(queue):
    for _ in range(ITEMS):
        queue.get()


def main():
    workdir, method = sys.argv[1], sys.argv[2]
    ctx = multiprocessing.get_context(method)
    données = ctx.Queue()
    workers = [ctx.Process(name="producer-1", target=producer, args=(données,)),
               ctx.Process(target=consumer, args=(données,))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    step(workdir, "done")
    pause(workdir, "end")


if __name__ == "__main__":
    main()
