package smolvm

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"smolvm/internal/raw"
)

// Cmd is a command for Exec: either Args (run directly) or Shell (a shell
// command line, run as ShellMode says), not both.
type Cmd struct {
	Args  []string
	Shell string
	// How Shell runs: "" or "login" (the VM user's login shell with -l -c,
	// bash in the default image), "raw" (POSIX /bin/sh -c).
	ShellMode string
	Env       []string // "KEY=VALUE", added to the guest's environment
	Dir       string   // working directory; "": /
	Stdin     []byte   // sent, then stdin is closed
	// The command and everything it started (its cgroup in the guest) is
	// killed after this, and Exec returns at most a short grace later
	// (SMOLVM_EXEC_GRACE_MS) whatever the guest does; 0: no limit.
	Timeout time.Duration
	// Who the command runs as: "" the VM's default (root), a guest user
	// name ("user", uid 1000, in the default image) or "uid[:gid]".
	User string
}

// Result is how a command ended. A non-zero exit code is a result, not an
// error.
type Result struct {
	ExitCode int  // the exit status, or 128+signal when killed
	Signal   int  // the signal that ended it, or 0
	TimedOut bool // Cmd.Timeout killed it
	Stdout   []byte
	Stderr   []byte
	Duration time.Duration
}

// Success reports whether the command exited 0 on its own.
func (r *Result) Success() bool { return r.ExitCode == 0 && r.Signal == 0 && !r.TimedOut }

// How long one native wait for output may block before ctx is looked at
// again: the longest a cancellation can go unnoticed.
const pollInterval = 50 * time.Millisecond

// How long to wait for the exit event after killing a cancelled command.
const killGrace = 5 * time.Second

const sigkill = 9

// Run runs command in the VM user's login shell. See Exec.
func (vm *VM) Run(ctx context.Context, command string) (*Result, error) {
	return vm.Exec(ctx, Cmd{Shell: command})
}

// Exec runs a command to completion and collects its output. When ctx is
// done first, the command's process group is killed and Exec returns the
// output so far (a non-nil *Result) with an error that wraps ctx.Err().
// The handle's Hooks run around it; one may veto it (a *BlockedError).
func (vm *VM) Exec(ctx context.Context, c Cmd) (*Result, error) {
	return vm.aroundRun(ctx, c, func() (*Result, error) { return vm.exec(ctx, c) })
}

func (vm *VM) exec(ctx context.Context, c Cmd) (*Result, error) {
	var res *Result
	err := vm.do(func(h raw.Struct_SS_smolvm_vm) error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("smolvm exec: not started: %w", err)
		}
		o, err := execOptions(c)
		if err != nil {
			return err
		}
		defer raw.Smolvm_swig_exec_opts_free(o)
		s, err := callPtr("exec", func() raw.Struct_SS_smolvm_swig_stream { return raw.Smolvm_swig_stream_start(h, o) })
		if err != nil {
			return err
		}
		defer raw.Smolvm_swig_stream_free(s) // kills the command if still running
		// Cmd.Stdin went with the start; closing now gives the command EOF
		// rather than a read that never ends.
		if _, err := callRC("exec", func() int { return raw.Smolvm_swig_stream_close_stdin(s) }); err != nil {
			return err
		}
		res, err = pump(ctx, s)
		return err
	})
	return res, err
}

func execOptions(c Cmd) (raw.Struct_SS_smolvm_swig_exec_opts, error) {
	o, err := callPtr("exec", raw.Smolvm_swig_exec_opts_new)
	if err != nil {
		return o, err
	}
	if err := checkCmdText(c); err != nil {
		raw.Smolvm_swig_exec_opts_free(o)
		return o, err
	}
	var steps []func() int
	if c.Shell != "" {
		steps = append(steps, func() int { return raw.Smolvm_swig_exec_opts_set_command(o, c.Shell) })
	}
	for _, a := range c.Args {
		a := a
		steps = append(steps, func() int { return raw.Smolvm_swig_exec_opts_add_arg(o, a) })
	}
	for _, e := range c.Env {
		e := e
		steps = append(steps, func() int { return raw.Smolvm_swig_exec_opts_add_env(o, e) })
	}
	if c.Dir != "" {
		steps = append(steps, func() int { return raw.Smolvm_swig_exec_opts_set_cwd(o, c.Dir) })
	}
	if c.ShellMode != "" {
		steps = append(steps, func() int { return raw.Smolvm_swig_exec_opts_set_shell(o, c.ShellMode) })
	}
	if c.User != "" {
		steps = append(steps, func() int { return raw.Smolvm_swig_exec_opts_set_user(o, c.User) })
	}
	if len(c.Stdin) > 0 {
		steps = append(steps, func() int { return raw.Smolvm_swig_exec_opts_set_stdin(o, string(c.Stdin)) })
	}
	if c.Timeout > 0 {
		ms := uint((c.Timeout + time.Millisecond - 1) / time.Millisecond)
		steps = append(steps, func() int { return raw.Smolvm_swig_exec_opts_set_timeout_ms(o, ms) })
	}
	for _, step := range steps {
		if _, err := callRC("exec", step); err != nil {
			raw.Smolvm_swig_exec_opts_free(o)
			return o, err
		}
	}
	return o, nil
}

// pump collects the stream's events until the exit event, watching ctx
// between short native waits.
func pump(ctx context.Context, s raw.Struct_SS_smolvm_swig_stream) (*Result, error) {
	var out, errb bytes.Buffer
	res := &Result{}
	var cancelled error
	deadline := time.Time{} // set once cancelled: the kill grace period
events:
	for {
		if cancelled == nil && ctx.Err() != nil {
			cancelled = ctx.Err()
			deadline = time.Now().Add(killGrace)
			// A failure here means the command is already gone; the exit
			// event (or the stream's error) below says how it ended.
			_, _ = callRC("exec", func() int { return raw.Smolvm_swig_stream_kill(s, sigkill) })
		}
		if cancelled != nil && time.Now().After(deadline) {
			break // the kill went unanswered; report the cancellation
		}
		t, err := callRC("exec", func() int { return raw.Smolvm_swig_stream_next(s, int(pollInterval/time.Millisecond)) })
		switch {
		case t == int(raw.SMOLVM_ETIMEOUT):
			// nothing yet: look at ctx again
		case err != nil && cancelled != nil:
			break events // the kill broke the stream; report the cancellation
		case err != nil:
			return nil, err
		case t == int(raw.SMOLVM_EVENT_STDOUT):
			out.Write(raw.Smolvm_swig_stream_data(s))
		case t == int(raw.SMOLVM_EVENT_STDERR):
			errb.Write(raw.Smolvm_swig_stream_data(s))
		case t == int(raw.SMOLVM_EVENT_EXIT):
			res.ExitCode = raw.Smolvm_swig_stream_exit_code(s)
			res.Signal = raw.Smolvm_swig_stream_signal(s)
			res.TimedOut = raw.Smolvm_swig_stream_timed_out(s) != 0
			res.Duration = time.Duration(raw.Smolvm_swig_stream_duration_us(s)) * time.Microsecond
			break events
		default:
			return nil, &Error{Op: "exec", Status: StatusProtocol, Message: fmt.Sprintf("unknown event type %d", t)}
		}
	}
	res.Stdout, res.Stderr = out.Bytes(), errb.Bytes()
	if cancelled != nil {
		return res, fmt.Errorf("smolvm exec: cancelled, command killed: %w", cancelled)
	}
	return res, nil
}

func checkCmdText(c Cmd) error {
	texts := []string{"Shell", c.Shell, "Dir", c.Dir, "User", c.User}
	for i, a := range c.Args {
		texts = append(texts, fmt.Sprintf("Args[%d]", i), a)
	}
	for i, e := range c.Env {
		texts = append(texts, fmt.Sprintf("Env[%d]", i), e)
	}
	return checkText("exec", texts...)
}
