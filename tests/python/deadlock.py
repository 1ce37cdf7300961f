"""Two processes take two Locks in opposite orders: a deadlock, which the
dashboard's detector must find (the locks' holders and the processes'
"blocked on" are all it needs). Once the test has seen it (the file
"seen"), process "a" gives up its second acquire, which lets the other
through, so the program ends by itself.

usage: deadlock.py WORKDIR
"""
import multiprocessing
import os
import sys

from watch_helpers import pause, step


def take_in_order(first, second, me, other, workdir):
    with first:
        step(workdir, me)
        pause(workdir, other)
        if me != "a":
            with second:   # blocks until "a" gives up
                return
        # Deadlocked until the test has seen it; then "a" gives up (its
        # first lock, released, lets "b" through) and both end. The short
        # timeouts only let it look for "seen" now and then.
        while not os.path.exists(os.path.join(workdir, "seen")):
            if second.acquire(timeout=0.5):
                second.release()
                return


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
