"""A Semaphore(3) capping 10 processes: at most 3 hold it at once.

Each worker takes it ROUNDS times. The first time, it holds it until the
file "release" exists, so the test sees 3 holders and 7 waiters; later
rounds hold it for 10 ms.

usage: semaphore_cap.py WORKDIR ROUNDS
"""
import multiprocessing
import sys
import time

from watch_helpers import pause, step


def download(slots, rounds, workdir):
    for round_number in range(rounds):
        with slots:
            if round_number == 0:
                pause(workdir, "release")
            else:
                time.sleep(0.01)


def main():
    workdir, rounds = sys.argv[1], int(sys.argv[2])
    slots = multiprocessing.Semaphore(3)
    workers = [multiprocessing.Process(target=download, args=(slots, rounds, workdir)) for _ in range(10)]
    pause(workdir, "go")
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    step(workdir, "done")
    pause(workdir, "end")


if __name__ == "__main__":
    main()
