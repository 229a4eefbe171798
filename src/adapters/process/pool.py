"""`ProcessPool`: CPU-bound calls run in worker processes, awaited from the event loop.

The engine and the verification are pure Python for the most part: in a thread of the process
that serves HTTP (the embedded default) or renews leases (the worker) they hold the GIL, and
every request waits behind them (measured before: p99 of 2.6 s for `POST /new` while tasks
ran). In a process of their own they cost the serving process nothing but a pipe.

    parent                                   child (forkserver, else spawn)
    run(fn, *args, on_stage=sink)  ──job──▶   fn(*args, on_stage=put)
      await sink(stage, percent)   ◀─stage──    put((job, stage, percent))
      ...                          ◀─done───    (always, last)
      the result                   ◀─result─    return / raise

What a call sends and gets back is pickled: plain data only. Nothing secret goes to a child —
the callers keep the credentials and the LLM client in the parent.

Stages come back through one queue shared by the pool's processes, read by one thread of the
parent and handed to the loop of the call they belong to, in the order they were sent; the
call returns after the last of them. A sink that raises (say, the lease was lost) ends the call
with its error at once. A call cancelled or ended early cannot stop a child mid-way (a process
pool runs a job to its end): the child finishes that job, its stages and result are dropped,
and the call's slot is busy until then. `close()` ends the children at once.

The children may run at a lower scheduling priority than the parent (`niceness`): where the
analyses and the process that serves share the CPUs, the serving one then gets a CPU first
when both want one, and the analyses lose nothing while the serving one is idle.

A child that dies (killed, out of memory) breaks the pool: the calls running in it raise
`BrokenProcessPool` (their tasks are tried again later) and the next call starts a new pool.
A parent that dies (a worker killed with SIGKILL) takes its children with it: each child
watches the parent's pid and exits when it ends. Without that they would wait for jobs for
ever, and keep the fork server and the resource tracker alive with them (each child holds
the fork server's "alive" pipe).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import logging
import multiprocessing
import os
import pickle
import select
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar, cast

from application.ports.compute import ComputePool, StageSink

__all__ = ["ProcessPool"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_DONE = "__done__"


class ProcessPool(ComputePool):
    """`processes` worker processes; `initializer(*initargs)` runs first in each (say, to
    configure its logging), and `preload` names modules the fork server imports once so that
    each child starts warm; the children run `niceness` steps below the parent's priority."""

    def __init__(
        self,
        processes: int,
        *,
        initializer: Callable[..., None] | None = None,
        initargs: Sequence[Any] = (),
        preload: Sequence[str] = (),
        niceness: int = 0,
    ) -> None:
        if processes < 1:
            raise ValueError("a process pool needs at least one process")
        if not 0 <= niceness <= 19:
            raise ValueError("a niceness is from 0 to 19")
        methods = multiprocessing.get_all_start_methods()
        # Not fork: the parent runs threads (the event loop's executor, Kafka's, this pool's
        # reader), and a forked child may inherit a lock one of them held.
        self._context = multiprocessing.get_context(
            "forkserver" if "forkserver" in methods else "spawn"
        )
        if preload and self._context.get_start_method() == "forkserver":
            self._context.set_forkserver_preload(list(preload))
        self._processes = processes
        self._initializer = initializer
        self._initargs = tuple(initargs)
        self._niceness = niceness
        self._events = self._context.SimpleQueue()
        self._jobs = itertools.count(1)
        self._listeners: dict[int, Callable[[tuple[str, int]], None]] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._executor = self._new_executor()
        self._reader = threading.Thread(target=self._read, name="process-pool-stages", daemon=True)
        self._reader.start()
        # The children start now, not with the first task: starting one takes a second or
        # more, which would come out of that task's lease before its first stage renews it.
        for _ in range(processes):
            self._executor.submit(_nothing)

    @property
    def processes(self) -> int:
        return self._processes

    async def run(
        self, fn: Callable[..., T], /, *args: Any, on_stage: StageSink | None = None, **kwargs: Any
    ) -> T:
        """`fn(*args, **kwargs)` in a child; with `on_stage`, `fn` is given an `on_stage(stage,
        percent)` of its own whose calls reach `on_stage` here, awaited one after the other."""
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[tuple[str, int]] = asyncio.Queue()
        job = next(self._jobs)

        def deliver(event: tuple[str, int]) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(events.put_nowait, event)

        self._listeners[job] = deliver
        getter: asyncio.Future[tuple[str, int]] | None = None
        future = asyncio.wrap_future(self._submit(job, fn, args, kwargs, on_stage is not None))
        try:
            while True:
                getter = asyncio.ensure_future(events.get())
                waiting: set[asyncio.Future[Any]] = {getter} if future.done() else {getter, future}
                await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():
                    # The job ended; a result is followed by its last stages and the marker,
                    # an error needs them no more.
                    getter.cancel()
                    if future.exception() is not None:
                        return cast(T, future.result())
                    continue
                stage, percent = getter.result()
                if stage == _DONE:
                    return cast(T, await future)
                if on_stage is not None:
                    await on_stage(stage, percent)
        except BrokenProcessPool:
            log.error("an analysis process died; the next call starts a new pool")
            raise
        finally:
            self._listeners.pop(job, None)
            if getter is not None:
                getter.cancel()
            if not future.done():
                future.cancel()  # still queued: it never starts

    def close(self) -> None:
        """Stop the children now, whatever they run; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            executor = self._executor
        _terminate(executor)
        self._events.put((0, _DONE, 0))  # wakes the reader, which sees the pool closed
        self._reader.join(timeout=5)

    # -- internals ----------------------------------------------------------------------------

    def _new_executor(self) -> concurrent.futures.ProcessPoolExecutor:
        return concurrent.futures.ProcessPoolExecutor(
            max_workers=self._processes,
            mp_context=self._context,
            initializer=_start_child,
            initargs=(
                self._events,
                self._initializer,
                self._initargs,
                os.getpid(),
                self._niceness,
            ),
        )

    def _submit(
        self,
        job: int,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        with_stage: bool,
    ) -> concurrent.futures.Future[Any]:
        with self._lock:
            if self._closed:
                raise RuntimeError("the process pool is closed")
            try:
                return self._executor.submit(_run_job, job, fn, args, kwargs, with_stage)
            except BrokenProcessPool:
                _terminate(self._executor)
                self._executor = self._new_executor()
                return self._executor.submit(_run_job, job, fn, args, kwargs, with_stage)

    def _read(self) -> None:
        while True:
            try:
                job, stage, percent = self._events.get()
            except (EOFError, OSError):
                return
            if self._closed:
                return
            listener = self._listeners.get(job)
            if listener is not None:  # none: a job whose call ended early
                listener((stage, percent))


def _terminate(executor: concurrent.futures.ProcessPoolExecutor) -> None:
    # `ProcessPoolExecutor` stops its children only once their jobs end; a verification may
    # take a minute. Python 3.14 has `terminate_workers()`; before it, the children are here.
    children = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for child in children:
        with contextlib.suppress(Exception):
            child.terminate()
    for child in children:
        with contextlib.suppress(Exception):
            child.join(timeout=5)


# -- in the child ------------------------------------------------------------------------------

_events: Any = None


def _start_child(
    events: Any,
    initializer: Callable[..., None] | None,
    initargs: tuple[Any, ...],
    parent: int,
    niceness: int,
) -> None:
    global _events
    _events = events
    if niceness:
        os.nice(niceness)
    threading.Thread(
        target=_exit_with, args=(parent,), name="process-pool-parent", daemon=True
    ).start()
    if initializer is not None:
        initializer(*initargs)


def _exit_with(parent: int) -> None:
    """Ends this child when the process that owns the pool has ended, whatever it runs."""
    try:
        handle = os.pidfd_open(parent)  # Linux: readable once the process has ended
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):  # no pidfd here: ask every second
        while _alive(parent):
            time.sleep(1.0)
        os._exit(1)
    select.select([handle], [], [])
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _nothing() -> None:
    pass


def _run_job(
    job: int,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    with_stage: bool,
) -> Any:
    if with_stage:

        def on_stage(stage: str, percent: int) -> None:
            _events.put((job, stage, percent))

        kwargs = {**kwargs, "on_stage": on_stage}
    try:
        return fn(*args, **kwargs)
    except Exception as error:
        raise _portable(error) from None
    finally:
        _events.put((job, _DONE, 0))


def _portable(error: Exception) -> Exception:
    """`error` if it survives the pipe back; else a RuntimeError that says what it was (an
    exception whose __init__ wants other arguments than its message cannot be unpickled, and
    one that cannot breaks the whole pool)."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error
