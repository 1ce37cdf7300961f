"""Shared by the scripts that tests/test_preload.c runs under `synctop run`.

Each script is an ordinary multiprocessing program; it pauses at fixed
points until the test creates a file in its work directory, so that the
test can read the session (synctop --once --json) at a moment it knows:
"go" lets the workload start, "done" is written once the work is over, and
"end" lets the script exit.
"""
import os
import time


def wait_for(path, timeout=120.0):
    """Wait until path exists (at most timeout seconds: a deadline for a
    test that failed, not a delay)."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.005)


def step(workdir, name):
    """Write the file workdir/name, telling the test where we are."""
    with open(os.path.join(workdir, name), "w"):
        pass


def pause(workdir, name):
    wait_for(os.path.join(workdir, name))
