"""Small helpers shared by the tests."""

import queue
import time


def wait_until(predicate, timeout=15.0, interval=0.05, what="condition"):
    """Polls `predicate` until it returns a truthy value (returned) or fails after `timeout` seconds.

    The timeout only bounds a hang; tests never assert on how long something took."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


class Events:
    """A kazoo watch callback that queues every WatchedEvent it receives."""

    def __init__(self):
        self.q = queue.Queue()

    def __call__(self, event):
        self.q.put(event)

    def next(self, timeout=15.0):
        try:
            return self.q.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no watch event arrived") from None

    def none_within(self, seconds=0.5):
        """True if no event arrives within `seconds` (used after a sync, to check a watch did not fire twice)."""
        try:
            ev = self.q.get(timeout=seconds)
        except queue.Empty:
            return True
        raise AssertionError(f"unexpected extra watch event {ev}")
