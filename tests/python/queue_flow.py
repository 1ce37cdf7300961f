"""A Queue(4) with 2 producers and 3 slow consumers.

Producers put ITEMS items each; consumers wait for the file "drain", then
take one item every 20 ms until they get None (one per consumer, put by the
main process at the end). Until "drain", the queue is full (depth 4) and
both producers are blocked in put().

usage: queue_flow.py WORKDIR ITEMS
"""
import multiprocessing
import sys
import time

from watch_helpers import pause, step


def produce(orders, items):
    for number in range(items):
        orders.put(number)


def consume(orders, workdir):
    pause(workdir, "drain")
    while orders.get() is not None:
        time.sleep(0.02)


def main():
    workdir, items = sys.argv[1], int(sys.argv[2])
    orders = multiprocessing.Queue(4)
    producers = [multiprocessing.Process(target=produce, args=(orders, items)) for _ in range(2)]
    consumers = [multiprocessing.Process(target=consume, args=(orders, workdir)) for _ in range(3)]
    pause(workdir, "go")
    for process in producers + consumers:
        process.start()
    for producer in producers:
        producer.join()
    for _ in consumers:
        orders.put(None)
    for consumer in consumers:
        consumer.join()
    print("queue empty", orders.empty(), flush=True)
    step(workdir, "done")
    if any(process.exitcode != 0 for process in producers + consumers):
        sys.exit(1)
    pause(workdir, "end")


if __name__ == "__main__":
    main()
