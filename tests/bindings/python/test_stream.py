"""stream(): events as they happen, stdin, kill, timeouts."""

from __future__ import annotations

import time

from smolvm import ExecEvent, SmolVM


def test_events_arrive_in_order_and_incrementally(vm: SmolVM) -> None:
    seen = []
    with vm.stream("for i in 1 2 3; do echo $i; sleep 0.3; done; echo e >&2; exit 4") as s:
        for ev in s:
            assert isinstance(ev, ExecEvent)
            seen.append((time.monotonic(), ev))
    kinds = [ev.kind for _, ev in seen]
    assert kinds[-1] == "exit" and kinds.count("exit") == 1
    out = b"".join(ev.data for _, ev in seen if ev.kind == "stdout")
    err = b"".join(ev.data for _, ev in seen if ev.kind == "stderr")
    assert (out, err) == (b"1\n2\n3\n", b"e\n")
    exit_ev = seen[-1][1]
    assert exit_ev.exit_code == 4 and not exit_ev.timed_out and exit_ev.data == b""
    assert s.done and s.exit_code == 4
    first_out = next(t for t, ev in seen if ev.kind == "stdout")
    assert seen[-1][0] - first_out > 0.5, "first line should come before the command ends"


def test_poll_with_wait_returns_none_when_idle(vm: SmolVM) -> None:
    s = vm.stream("sleep 1; echo late")
    try:
        assert s.next_event(wait=0.1) is None
        assert not s.done
        rest = list(s)
        assert rest[0].kind == "stdout" and rest[0].text == "late\n"
        assert rest[-1].exit_code == 0
        assert s.next_event(wait=0) is None  # after exit: no more events
    finally:
        s.close()


def test_stdin_kept_open(vm: SmolVM) -> None:
    with vm.stream(["cat"], keep_stdin_open=True) as s:
        s.write_stdin(b"abc\x00")
        s.write_stdin("déf")
        s.close_stdin()
        events = list(s)
    assert b"".join(e.data for e in events if e.kind == "stdout") == "abc\x00déf".encode()
    assert events[-1].exit_code == 0


def test_kill_and_timeout(vm: SmolVM) -> None:
    with vm.stream("sleep 30") as s:
        s.kill()
        exit_ev = list(s)[-1]
    assert exit_ev.signal == 9 and exit_ev.exit_code == 137
    with vm.stream("sleep 30", timeout=0.3) as s:
        exit_ev = list(s)[-1]
    assert exit_ev.timed_out and exit_ev.exit_code == 137


def test_vm_runs_other_commands_while_streaming(vm: SmolVM) -> None:
    with vm.stream("sleep 0.5; echo done") as s:
        assert vm.run("echo meanwhile").stdout == "meanwhile\n"
        assert b"".join(e.data for e in s) == b"done\n"
