"""A BoundedSemaphore(2) released once too often: Python's ValueError must
still be raised (the preload only watches). Exits 3 if it was not.

usage: bounded_over.py WORKDIR
"""
import multiprocessing
import sys

from watch_helpers import pause, step


def main():
    workdir = sys.argv[1]
    pool_slots = multiprocessing.BoundedSemaphore(2)
    pool_slots.acquire()
    pool_slots.release()
    raised = False
    try:
        pool_slots.release()
        print("no error", flush=True)
    except ValueError as error:
        raised = True
        print("ValueError raised:", error, flush=True)
    print("value", pool_slots.get_value(), flush=True)
    step(workdir, "done")
    pause(workdir, "end")
    if not raised:
        sys.exit(3)


if __name__ == "__main__":
    main()
