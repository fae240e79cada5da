#!/usr/bin/env bash
# `smolvm shell` and `smolvm exec -it` through a real terminal (tmux): the
# guest terminal has the local size and follows a resize, python3 runs
# interactively, the exit code is the shell's, and the local terminal's
# settings are the same afterwards as before. Boots a real VM.
# Usage: shell_terminal_test.sh SMOLVM_BINARY
set -euo pipefail
smolvm=$1
command -v tmux >/dev/null || { echo "FAIL: tmux is missing (scripts/install-deps.sh installs it)"; exit 1; }
id=shelltest-$$
sock=shelltest-$$
work=$(mktemp -d)
cleanup() {
  tmux -L "$sock" kill-server 2>/dev/null || true
  "$smolvm" rm "$id" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  echo "--- pane:"
  tmux -L "$sock" capture-pane -p -t t || true
  # What the VM went through, for a failure that does not reproduce.
  echo "--- inspect:"
  "$smolvm" inspect "$id" 2>&1 | grep -E '"(state|boot|boot_reason|last_error)"' || true
  echo "--- supervisor log:"
  dir=$("$smolvm" inspect "$id" 2>/dev/null | sed -n 's/.*"state_dir": "\(.*\)".*/\1/p')
  tail -n 20 "$dir/supervisor.log" 2>&1 || true
  exit 1
}

"$smolvm" create --id "$id" --start >/dev/null

# Waits until the pane shows the pattern (grep -E), at most 30 s.
wait_for() {
  for _ in $(seq 300); do
    tmux -L "$sock" capture-pane -p -t t | grep -Eq "$1" && return 0
    sleep 0.1
  done
  fail "the terminal never showed /$1/"
}

# The pane runs a plain shell; its terminal settings are saved before and
# compared after each session.
tmux -L "$sock" new-session -d -s t -x 100 -y 30 "bash --norc --noprofile"
tmux -L "$sock" send-keys -t t "stty -g > $work/before; PS1='host\$ '" Enter
wait_for '^host\$'

tmux -L "$sock" send-keys -t t "$smolvm shell $id; echo shell-exit=\$?; stty -g > $work/after" Enter
wait_for '@smolvm'
tmux -L "$sock" send-keys -t t "PS1='guest# '" Enter
wait_for '^guest#'
tmux -L "$sock" send-keys -t t "stty size" Enter
wait_for '^30 100'
tmux -L "$sock" resize-window -t t -x 120 -y 40
sleep 0.5
tmux -L "$sock" send-keys -t t "clear; stty size" Enter
wait_for '^40 120'
tmux -L "$sock" send-keys -t t "python3" Enter
wait_for '^>>>'
tmux -L "$sock" send-keys -t t "print(6*7)" Enter
wait_for '^42'
tmux -L "$sock" send-keys -t t "exit()" Enter
tmux -L "$sock" send-keys -t t "clear; exit 7" Enter
wait_for 'shell-exit=7'
sleep 0.3
cmp -s "$work/before" "$work/after" || fail "the terminal was not restored: $(cat "$work/before") vs $(cat "$work/after")"

# exec -it as the unprivileged user: the command's own exit code.
tmux -L "$sock" send-keys -t t "clear; $smolvm exec -it -u user $id -- 'id -un; tty; exit 3'; echo exec-exit=\$?" Enter
wait_for 'exec-exit=3'
tmux -L "$sock" capture-pane -p -t t | grep -q '^user' || fail "exec -it -u user did not run as user"
tmux -L "$sock" capture-pane -p -t t | grep -q '^/dev/pts/' || fail "exec -it had no terminal"

# A signal to smolvm (not the guest) ends the session and still restores.
tmux -L "$sock" send-keys -t t "clear; $smolvm shell $id; echo killed-exit=\$?; stty -g > $work/after2" Enter
wait_for '@smolvm'
tmux -L "$sock" send-keys -t t "PS1='again# '" Enter
wait_for '^again#'
pkill -TERM -f "^$smolvm shell $id\$"
wait_for 'killed-exit=143'
sleep 0.3
cmp -s "$work/before" "$work/after2" || fail "the terminal was not restored after SIGTERM"
echo "PASS: shell and exec -it through tmux (size 30x100 -> 40x120, python3, exit codes 7 and 3, restored on exit and SIGTERM)"
