"""A Pool(2, maxtasksperchild=3) given 10 tasks, then terminated.

Each worker leaves after 3 tasks and the pool starts another in its place:
the 10 tasks (map, chunksize 1) are run by 4 workers, 3 of which leave
(workers_replaced 3), with 2 live workers at the end. The file "done" is
written with the pool still open; after "close" it is terminated
(terminate(), not close()) and joined, then "closed" is written.

usage: pool_recycle.py WORKDIR
"""
import multiprocessing
import sys

from watch_helpers import pause, step


def square(number):
    return number * number


def main():
    workdir = sys.argv[1]
    recycled = multiprocessing.Pool(2, maxtasksperchild=3)
    squares = recycled.map(square, range(10), chunksize=1)
    step(workdir, "done")
    pause(workdir, "close")
    recycled.terminate()
    recycled.join()
    step(workdir, "closed")
    if squares != [n * n for n in range(10)]:
        sys.exit(1)
    pause(workdir, "end")


if __name__ == "__main__":
    main()
