"""run(): commands, exit codes, output, env, cwd, stdin, timeouts."""

from __future__ import annotations

import builtins

import pytest

import smolvm
from smolvm import CommandError, CommandResult, SmolVM


def test_run_shell_string(vm: SmolVM) -> None:
    r = vm.run("echo 'Hello from SmolVM'")
    assert isinstance(r, CommandResult)
    assert r.exit_code == 0 and r.ok
    assert r.stdout == "Hello from SmolVM\n"
    assert r.stderr == ""
    assert r.output == "Hello from SmolVM"  # stdout, stripped
    assert r.duration > 0


def test_run_argv_list_needs_no_quoting(vm: SmolVM) -> None:
    r = vm.run(["printf", "%s|", "a b", "$HOME", "it's"])
    assert r.stdout == "a b|$HOME|it's|"


def test_exit_code_is_a_result_not_an_error(vm: SmolVM) -> None:
    r = vm.run("exit 7")
    assert r.exit_code == 7
    assert not r.ok
    assert r.signal == 0 and not r.timed_out


def test_check_raises_command_error(vm: SmolVM) -> None:
    with pytest.raises(CommandError) as info:
        vm.run("echo boom >&2; exit 3", check=True)
    assert info.value.result.exit_code == 3
    assert "exited with code 3" in str(info.value) and "boom" in str(info.value)


def test_stderr_and_output_order(vm: SmolVM) -> None:
    r = vm.run("echo out; echo err >&2")
    assert (r.stdout, r.stderr) == ("out\n", "err\n")
    assert r.output == "out"
    assert r.combined == "out\nerr\n" and str(r) == r.combined
    r = vm.run("printf a; printf b >&2")
    assert r.combined == "a\nb"  # a newline keeps the two apart


def test_env_and_cwd(vm: SmolVM) -> None:
    r = vm.run('echo "$GREETING $OTHER"; pwd', env={"GREETING": "hi there", "OTHER": "x=y"},
               cwd="/tmp")
    assert r.stdout == "hi there x=y\n/tmp\n"
    with pytest.raises(smolvm.ConfigError, match="env key"):
        vm.run("true", env={"A=B": "c"})


def test_binary_stdin_and_stdout(vm: SmolVM) -> None:
    data = bytes(range(256)) * 64
    r = vm.run(["cat"], stdin=data)
    assert r.stdout_bytes == data
    assert len(r.stdout_bytes) == 16384


def test_invalid_utf8_is_replaced_in_text(vm: SmolVM) -> None:
    r = vm.run(["printf", "\\377ok"])
    assert r.stdout_bytes == b"\xffok"
    assert r.stdout == "\ufffdok"


def test_timeout_raises_with_partial_output(vm: SmolVM) -> None:
    with pytest.raises(smolvm.TimeoutError) as info:
        vm.run("echo started; sleep 20", timeout=0.5)
    err = info.value
    assert isinstance(err, builtins.TimeoutError)  # also the builtin one
    assert err.code == "ETIMEOUT"
    assert err.result is not None and err.result.timed_out
    assert err.result.stdout == "started\n"
    assert err.result.duration < 5


def test_timeout_as_result(vm: SmolVM) -> None:
    r = vm.run("sleep 20", timeout=0.3, raise_on_timeout=False)
    assert r.timed_out and not r.ok
    assert r.signal == 9 and r.exit_code == 128 + 9


def test_login_shell_by_default_raw_on_request(vm: SmolVM) -> None:
    # What agents write: bash arithmetic, [[ ]], source.
    r = vm.run("echo $((2**40)); [[ a == a ]] && echo yes; source /dev/null && echo sourced")
    assert r.stdout == "1099511627776\nyes\nsourced\n", r.stderr
    probe = 'if [ -n "$BASH_VERSION" ]; then echo bash; else echo posix; fi'
    assert vm.run(probe).stdout == "bash\n"
    assert vm.run(probe, shell="login").stdout == "bash\n"
    assert vm.run(probe, shell="raw").stdout == "posix\n"
    with vm.stream(probe, shell="raw") as s:
        out = b"".join(e.data for e in s if e.kind == "stdout")
    assert out == b"posix\n"
    with pytest.raises(smolvm.ConfigError, match="shell='zsh'"):
        vm.run("true", shell="zsh")


def test_bad_arguments_are_config_errors(vm: SmolVM) -> None:
    with pytest.raises(smolvm.ConfigError, match="exactly one of argv"):
        vm.run([])
    with pytest.raises(smolvm.ConfigError, match="timeout=-1"):
        vm.run("true", timeout=-1)
    with pytest.raises(smolvm.ConfigError, match="command"):
        vm.run(42)  # type: ignore[arg-type]
