"""The GIL is released during blocking calls."""

from __future__ import annotations

import threading
import time
from typing import List

from smolvm import SmolVM


def test_other_threads_run_during_a_blocking_run(vm: SmolVM) -> None:
    ticks: List[float] = []
    stop = threading.Event()

    def ticker() -> None:  # needs the GIL for every tick
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.01)

    t = threading.Thread(target=ticker)
    t.start()
    try:
        begin = time.monotonic()
        vm.run("sleep 1")
        end = time.monotonic()
    finally:
        stop.set()
        t.join()
    during = [x for x in ticks if begin <= x <= end]
    gaps = [b - a for a, b in zip(during, during[1:])]
    assert end - begin >= 1.0
    assert len(during) >= 30, f"only {len(during)} ticks in {end - begin:.2f} s"
    assert max(gaps) < 0.3, f"ticker stalled for {max(gaps):.2f} s"


def test_two_threads_run_commands_at_once(vm: SmolVM) -> None:
    # One handle per thread (from_id); the commands overlap in the guest.
    handles = [SmolVM.from_id(vm.id) for _ in range(2)]
    results: List[str] = []

    def work(h: SmolVM) -> None:
        # raw: the login shell's start (about 0.2 s under TCG, more on a
        # busy host) is not what this measures.
        results.append(h.run("sleep 1; echo ok", shell="raw").stdout)

    threads = [threading.Thread(target=work, args=(h,)) for h in handles]
    begin = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.monotonic() - begin
    for h in handles:
        h.close()
    assert results == ["ok\n", "ok\n"]
    assert elapsed < 1.8, f"two 1 s commands took {elapsed:.2f} s: not concurrent"
    assert vm.status == "running"
