"""The classic mistake: a child creates a SharedMemory and exits without
unlinking it.

Python 3.11's resource tracker would unlink it when the whole program ends
(with a warning), so the child unregisters it from the tracker first, as a
program that hands segments around by name does (3.13 has track=False):
nothing cleans it, and it stays in /dev/shm after the program.

The child writes "created" with its pid; the main process writes "done"
once the child has exited and waits for "end".

usage: shm_leak.py WORKDIR NAME
"""
import multiprocessing
import os
import sys
from multiprocessing import resource_tracker, shared_memory

from watch_helpers import pause, step

SIZE = 8192


def creator(name, workdir):
    leaked = shared_memory.SharedMemory(name=name, create=True, size=SIZE)
    leaked.buf[0] = 1
    resource_tracker.unregister(leaked._name, "shared_memory")
    leaked.close()
    with open(os.path.join(workdir, "created"), "w") as out:
        out.write(str(os.getpid()))


def main():
    workdir, name = sys.argv[1], sys.argv[2]
    child = multiprocessing.Process(target=creator, args=(name, workdir))
    child.start()
    child.join()
    step(workdir, "done")
    pause(workdir, "end")


if __name__ == "__main__":
    main()
