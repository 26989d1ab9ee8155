"""A producer run beside its consumer: the items come through a bounded queue from a background thread.

Indexing reads, fetches and chunks the next documents this way while the embedder works on the current ones: web
fetches wait on the network and parsing runs between the embedder's batches, instead of all of it first. The queue
is bounded so that a large archive is read only as fast as it is embedded (memory stays flat).

Either side stops the other: the producer's exception is raised in the consumer where its next item would have
been, and leaving the block early (an error, Ctrl-C, a break) makes the producer stop at its next item.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

POLL_S = 0.1  # how often a blocked side looks whether the other has gone


class _Done:
    """Put after the producer's last item."""


class _Failed:
    """The producer's exception, carried to the consumer."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class ProducerVanishedError(RuntimeError):
    """The producer thread ended without a last word (cannot happen unless the thread itself is broken)."""


class _Ahead(Generic[T]):
    def __init__(self, produce: Callable[[], Iterable[T]], maxsize: int, name: str) -> None:
        self._produce = produce
        self._items: queue.Queue[T | _Done | _Failed] = queue.Queue(maxsize)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _put(self, item: T | _Done | _Failed) -> bool:
        """Queue the item unless the consumer has gone; False when it has."""
        while not self.stop.is_set():
            try:
                self._items.put(item, timeout=POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        items: Iterator[T] | None = None
        try:
            items = iter(self._produce())
            for item in items:
                if not self._put(item):
                    return
            self._put(_Done())
        except BaseException as exc:  # every failure reaches the consumer, which raises it as its own
            self._put(_Failed(exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:  # a generator left early runs its cleanup (open files, connections) here
                with contextlib.suppress(Exception):
                    close()

    def consume(self) -> Iterator[T]:
        while True:
            try:
                item = self._items.get(timeout=POLL_S)
            except queue.Empty:
                if not self.thread.is_alive() and self._items.empty():
                    raise ProducerVanishedError("the background reader stopped without finishing") from None
                continue
            if isinstance(item, _Done):
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item


@contextlib.contextmanager
def ahead(produce: Callable[[], Iterable[T]], maxsize: int = 32, name: str = "ahead") -> Iterator[Iterator[T]]:
    """The items of `produce()`, made in a background thread at most `maxsize` items ahead of the consumer.

    The producer's exception is raised by the iterator; when the block is left, the producer stops at its next item
    (a daemon thread, so a producer stuck in a slow call never keeps the process alive)."""
    runner = _Ahead(produce, maxsize, name)
    runner.thread.start()
    try:
        yield runner.consume()
    finally:
        runner.stop.set()
        runner.thread.join(timeout=POLL_S * 2)
