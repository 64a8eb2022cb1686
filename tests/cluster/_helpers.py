"""What the Dask tests share: comparisons, and killing a worker mid-job."""

import threading
import time

import numpy as np


def assert_csr_identical(got, want):
    assert got.shape == want.shape
    for name in ("indptr", "indices", "data"):
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name


def _hold_first_call(names, gate):
    """Wrap each ``fastcf.distributed.<module>.<function>`` of ``names`` (by ``client.run``).

    The first call of any of them -- a task that has started executing -- writes
    ``<gate>/held-<pid>`` (this worker's address) and waits until ``<gate>/release``
    exists; every other call runs as is. A worker started later is not wrapped.
    """
    import importlib
    import os
    import time

    from distributed import get_worker

    armed = [True]

    def wrap(task):
        def held(*args):
            if armed and armed.pop():
                path = os.path.join(gate, f"held-{os.getpid()}")
                with open(path + ".tmp", "w") as f:
                    f.write(get_worker().address)
                os.replace(path + ".tmp", path)  # the test never reads half a file
                while not os.path.exists(os.path.join(gate, "release")):
                    time.sleep(0.01)
            return task(*args)

        held.unwrapped = task
        return held

    for name in names:
        module = importlib.import_module("fastcf.distributed." + name.split(".")[0])
        task = name.split(".")[1]
        setattr(module, task, wrap(getattr(module, task)))


def _unwrap(names):
    """Undo :func:`_hold_first_call` in this worker process (if it ran here)."""
    import importlib

    for name in names:
        module = importlib.import_module("fastcf.distributed." + name.split(".")[0])
        task = getattr(module, name.split(".")[1])
        setattr(module, name.split(".")[1], getattr(task, "unwrapped", task))


def _only_copies_on(victim, dask_scheduler=None):
    """Drop every other replica of what ``victim`` holds (an AMM pass, on the scheduler).

    Dask's active memory manager does this on its own every few seconds (keeping
    one replica of what no running task needs); here it happens at once and
    always in favour of ``victim``. Returns the keys only ``victim`` then holds.
    """
    from distributed.active_memory_manager import (
        ActiveMemoryManagerExtension,
        ActiveMemoryManagerPolicy,
        Suggestion,
    )

    class KeepOn(ActiveMemoryManagerPolicy):
        def run(self):
            for ts in list(self.manager.scheduler.replicated_tasks):
                others = {ws for ws in ts.who_has if ws.address != victim}
                if len(others) < len(ts.who_has):
                    yield Suggestion("drop", ts, candidates=others)

    ActiveMemoryManagerExtension(dask_scheduler, {KeepOn()}, register=False,
                                 start=False).run_once()
    return [ts.key for ts in dask_scheduler.workers[victim].has_what if len(ts.who_has) == 1]


def _removals(client, worker):
    """The scheduler's remove-worker events of ``worker`` (what it was running and held)."""
    return [msg for _, msg in client.get_events(worker)
            if isinstance(msg, dict) and msg.get("action") == "remove-worker"]


def kill_a_worker_mid_job(client, job, names, gate):
    """``job()``'s result, one worker killed (SIGKILL) while it runs a task of ``names``.

    Every worker is made to hold the first task of ``names`` it executes (see
    :func:`_hold_first_call`); the job cannot end while one is held. The first
    worker to hold one is left the only copy of everything it shares, then
    killed; its nanny starts a new one and the held workers go on. Returns
    ``(result, the scheduler's remove-worker event of the killed worker)``.
    """
    import os
    import signal

    client.wait_for_workers(2, timeout=60)
    os.makedirs(gate)
    result, errors = [], []

    def run():
        try:
            result.append(job())
        except Exception as exc:  # noqa: BLE001 - re-raised in the test thread
            errors.append(exc)

    client.run(_hold_first_call, names, gate)
    thread = threading.Thread(target=run, daemon=True)
    try:
        thread.start()
        deadline, held = time.monotonic() + 120, []
        while not held and thread.is_alive() and time.monotonic() < deadline:
            held = [f for f in os.listdir(gate) if f.startswith("held-")
                    and not f.endswith(".tmp")]
            time.sleep(0.01)
        assert not errors, errors
        assert held, f"no task of {names} started within 120 s"
        assert thread.is_alive()  # by construction: a task of the job is held
        with open(os.path.join(gate, held[0])) as f:
            victim = f.read()
        running = client.processing([victim])[victim]
        tasks = [name.split(".")[1] for name in names]
        assert any(key.split("-")[0] in tasks for key in running), running
        # what the held task reads is needed by no other task: now only the victim has it
        assert client.run_on_scheduler(_only_copies_on, victim)
        os.kill(int(held[0].removeprefix("held-")), signal.SIGKILL)
        while not (removed := _removals(client, victim)) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(removed) == 1 and not removed[0]["expected"], removed
    finally:
        open(os.path.join(gate, "release"), "w").close()
        thread.join(120)
        client.run(_unwrap, names)
    assert not thread.is_alive(), "the job did not end within 120 s of the kill"
    assert not errors, errors
    client.wait_for_workers(2, timeout=60)  # the nanny replaced the killed worker
    return result[0], removed[0]
