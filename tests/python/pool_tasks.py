"""A Pool(3) given a known amount of work, for the pool object of synctop run.

After the file "go": map of 20 items with chunksize 1 (20 task messages),
5 apply_async (5), imap of 10 items with chunksize 4 (3 chunks: 3 task
messages) and one apply_async whose task raises (1, failed): 29 task
messages, each answered by one result message. The file "done" is written
with the pool still open (3 idle workers). After "hold": 5 apply_async
tasks that wait for the file "release" (3 running, 2 queued); "released"
once their results are in. After "close" the pool is closed and joined
(each worker reads its stop sentinel), then "closed" is written.

usage: pool_tasks.py WORKDIR
"""
import multiprocessing
import sys

from watch_helpers import pause, step


def square(number):
    return number * number


def fail(number):
    raise ValueError("task %d fails on purpose" % number)


def hold(workdir):
    pause(workdir, "release")
    return 1


def main():
    workdir = sys.argv[1]
    pool = multiprocessing.Pool(3)
    pause(workdir, "go")
    squares = pool.map(square, range(20), chunksize=1)
    pending = [pool.apply_async(square, (number,)) for number in range(5)]
    applied = [result.get() for result in pending]
    chunked = list(pool.imap(square, range(10), chunksize=4))
    failed = pool.apply_async(fail, (7,))
    try:
        failed.get()
        raised = False
    except ValueError:
        raised = True
    print("map", sum(squares), "apply", sum(applied), "imap", sum(chunked), "raised", raised, flush=True)
    step(workdir, "done")
    ok = raised and squares == [n * n for n in range(20)] and applied == [0, 1, 4, 9, 16] and \
        chunked == [n * n for n in range(10)]
    pause(workdir, "hold")
    held = [pool.apply_async(hold, (workdir,)) for _ in range(5)]
    ok = ok and sum(result.get() for result in held) == 5
    step(workdir, "released")
    pause(workdir, "close")
    pool.close()
    pool.join()
    step(workdir, "closed")
    if not ok:
        sys.exit(1)
    pause(workdir, "end")


if __name__ == "__main__":
    main()
