"""Objects a multiprocessing manager serves, used a known number of times.

The main process starts a Manager (its server process started with
START_METHOD) and asks it for a dict, a list, a Lock, a Queue and a Value;
three named workers ("worker-1".."worker-3", started with START_METHOD
too) each make, through their proxies:

    ITEMS  shared_dict[key] = i       (one call each)
    ITEMS  shared_list.append(i)
    ITEMS  jobs.put(i)
    2      with guard:                (acquire, release)
    2          total.value += 1       (get, set)

and nothing else, so the manager's server receives exactly 3 * ITEMS calls
on the dict, the list and the queue, 6 on the lock and 6 on the value; the
dict and the list then hold 3 * ITEMS items. "done" says so.

Then the main process takes the lock (one call) and starts "waiter",
whose acquire() stays waiting for the server's reply until the test writes
"release": the main process releases the lock (one call), the waiter gets
it and releases it (two calls): 10 calls on the lock in all; "done2".

usage: manager_objects.py WORKDIR START_METHOD [ITEMS]
"""
import multiprocessing
import sys

from watch_helpers import pause, step


def worker(shared_dict, shared_list, guard, jobs, total, items):
    name = multiprocessing.current_process().name
    for i in range(items):
        shared_dict["%s-%d" % (name, i)] = i
        shared_list.append(i)
        jobs.put(i)
    with guard:
        total.value += 1


def waiter(guard):
    guard.acquire()
    guard.release()


def main():
    workdir, method = sys.argv[1], sys.argv[2]
    items = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    ctx = multiprocessing.get_context(method)
    manager = ctx.Manager()
    shared_dict = manager.dict()
    shared_list = manager.list()
    guard = manager.Lock()
    jobs = manager.Queue()
    total = manager.Value("i", 0)
    workers = [ctx.Process(name="worker-%d" % n, target=worker,
                           args=(shared_dict, shared_list, guard, jobs, total, items))
               for n in range(1, 4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join()
    step(workdir, "done")

    pause(workdir, "hold")
    guard.acquire()
    blocked = ctx.Process(name="waiter", target=waiter, args=(guard,))
    blocked.start()
    pause(workdir, "release")
    guard.release()
    blocked.join()
    step(workdir, "done2")
    pause(workdir, "end")
    manager.shutdown()
    sys.exit(0 if all(p.exitcode == 0 for p in workers + [blocked]) else 1)


if __name__ == "__main__":
    main()
