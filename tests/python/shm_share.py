"""A SharedMemory made by the main process, written by a child that
attaches to it by name; both close it and the main process unlinks it, as
the documentation says to: nothing leaks.

The child writes SIZE bytes (i % 251) and pauses at "detach" while it is
attached; the main process then checks every byte, closes and unlinks the
segment, writes "done" with the number of bytes that matched, and waits
for "end".

usage: shm_share.py WORKDIR NAME
"""
import multiprocessing
import os
import sys
from multiprocessing import shared_memory

from watch_helpers import pause, step

SIZE = 4096


def writer(name, workdir):
    segment = shared_memory.SharedMemory(name=name)
    for i in range(SIZE):
        segment.buf[i] = i % 251
    step(workdir, "attached")
    pause(workdir, "detach")
    segment.close()


def main():
    workdir, name = sys.argv[1], sys.argv[2]
    buf = shared_memory.SharedMemory(name=name, create=True, size=SIZE)
    child = multiprocessing.Process(target=writer, args=(name, workdir))
    child.start()
    child.join()
    matched = sum(1 for i in range(SIZE) if buf.buf[i] == i % 251)
    buf.close()
    buf.unlink()
    with open(os.path.join(workdir, "matched"), "w") as out:
        out.write(str(matched))
    step(workdir, "done")
    pause(workdir, "end")


if __name__ == "__main__":
    main()
