"""vm.pty() / vm.shell(): a command on a terminal in the guest, as another
user, with write / read / resize, on the shared real VM."""

import pytest

import smolvm


def test_shell_runs_python_interactively_and_exits_with_its_code(vm: smolvm.SmolVM) -> None:
    with vm.shell(rows=30, cols=100) as term:
        assert isinstance(term, smolvm.Terminal)
        # Quoted apart so that the echo of the typed line is not the prompt.
        term.write("PS1='gu''est# '; stty size\n")
        assert b"30 100" in term.read_until(b"guest# ")
        term.resize(40, 120)
        term.write("stty size\n")
        assert b"40 120" in term.read_until(b"40 120")
        term.write("python3\n")
        term.read_until(b">>> ")
        term.write("print(6*7)\n")
        assert b"42" in term.read_until(b"42")
        term.write("exit()\n")
        term.read_until(b"guest# ")
        term.write("exit 9\n")
        assert term.wait(30) == 9


def test_pty_as_the_unprivileged_user_with_sigwinch(vm: smolvm.SmolVM) -> None:
    script = "trap 'echo winch $(stty size)' WINCH; echo ready; id -un; until read x; do :; done; echo bye $x"
    # raw: dash runs the WINCH trap while read waits (bash -c waits for the line).
    with vm.pty(script, rows=10, cols=20, user="user", term="vt100", shell="raw") as term:
        out = term.read_until(b"ready")
        term.resize(11, 21)
        out += term.read_until(b"winch 11 21")
        term.write("now\n")
        out += term.read_until(b"bye now")
        assert term.wait(30) == 0
    assert b"user" in out


def test_run_as_a_user_and_refusals_name_the_value(vm: smolvm.SmolVM) -> None:
    assert vm.run("id -u", user="user").stdout.strip() == "1000"
    assert vm.run("id -u", user="1000:1000").stdout.strip() == "1000"
    with pytest.raises(smolvm.ConfigError, match="user 'nobody-here'"):
        vm.run("true", user="nobody-here")
    with pytest.raises(smolvm.ConfigError, match="rows=0: must be 1..1000"):
        vm.pty("true", rows=0)
    with vm.stream("sleep 30") as plain:
        with pytest.raises(smolvm.ConfigError, match="no terminal"):
            plain.resize(10, 10)
