"""Two processes take two Locks in opposite orders: a deadlock, which the
dashboard's detector must find (the locks' holders and the processes'
"blocked on" are all it needs). A process gives up its second acquire
after 3 seconds, which lets the other through, so the program ends by
itself.

usage: deadlock.py WORKDIR
"""
import multiprocessing
import sys

from watch_helpers import pause, step


def take_in_order(first, second, me, other, workdir):
    with first:
        step(workdir, me)
        pause(workdir, other)
        # The first to give up lets the other through: both end.
        if second.acquire(timeout=3):
            second.release()


def main():
    workdir = sys.argv[1]
    left_fork = multiprocessing.Lock()
    right_fork = multiprocessing.Lock()
    philosophers = [
        multiprocessing.Process(target=take_in_order, args=(left_fork, right_fork, "a", "b", workdir)),
        multiprocessing.Process(target=take_in_order, args=(right_fork, left_fork, "b", "a", workdir)),
    ]
    for philosopher in philosophers:
        philosopher.start()
    for philosopher in philosophers:
        philosopher.join()
    if any(philosopher.exitcode != 0 for philosopher in philosophers):
        sys.exit(1)


if __name__ == "__main__":
    main()
