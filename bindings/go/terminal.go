package smolvm

import (
	"fmt"
	"io"
	"sync"
	"time"

	"smolvm/internal/raw"
)

// TermSize is a terminal's window size: Rows and Cols each
// 1..TerminalSizeMax.
type TermSize struct {
	Rows, Cols uint32
	// TERM in the guest; "": xterm-256color.
	Term string
}

// TerminalSizeMax is the largest Rows or Cols (SMOLVM_TERMINAL_SIZE_MAX).
const TerminalSizeMax = uint32(raw.SMOLVM_TERMINAL_SIZE_MAX)

// Terminal is a command running on a terminal in the guest (Pty, Shell).
// It is an io.ReadWriter: Write types into the terminal, Read returns what
// it shows (stdout and stderr as one stream); Resize changes its size (the
// program gets SIGWINCH). The command leads the terminal's session, so job
// control, Ctrl-C ("\x03") and full-screen programs work. Close kills a
// command that still runs. Reads and writes may come from two goroutines.
type Terminal struct {
	vm      *VM
	s       raw.Struct_SS_smolvm_swig_stream
	mu      sync.Mutex // the stream: one native call at a time
	pending []byte     // output read from the stream, not yet returned
	exited  bool
	code    int
	closed  bool
}

// Pty starts c on a terminal of the given size. c.Stdin, if any, is typed
// first; stdin stays open.
func (vm *VM) Pty(c Cmd, size TermSize) (*Terminal, error) {
	if err := checkTermSize("pty", size.Rows, size.Cols); err != nil {
		return nil, err
	}
	t := &Terminal{vm: vm}
	err := vm.do(func(h raw.Struct_SS_smolvm_vm) error {
		o, err := execOptions(c)
		if err != nil {
			return err
		}
		defer raw.Smolvm_swig_exec_opts_free(o)
		if _, err := callRC("pty", func() int {
			return raw.Smolvm_swig_exec_opts_set_pty(o, uint(size.Rows), uint(size.Cols), size.Term)
		}); err != nil {
			return err
		}
		t.s, err = callPtr("pty", func() raw.Struct_SS_smolvm_swig_stream { return raw.Smolvm_swig_stream_start(h, o) })
		return err
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// Shell starts an interactive login shell (bash -l in the default image)
// on a terminal, as user ("": the VM's default). No SSH or network needed.
func (vm *VM) Shell(user string, size TermSize) (*Terminal, error) {
	return vm.Pty(Cmd{Shell: "command -v bash >/dev/null && exec bash -l || exec /bin/sh -l",
		ShellMode: "raw", User: user}, size)
}

func checkTermSize(op string, rows, cols uint32) error {
	if rows < 1 || rows > TerminalSizeMax || cols < 1 || cols > TerminalSizeMax {
		return &Error{Op: op, Status: StatusInvalid,
			Message: fmt.Sprintf("size %dx%d: rows and cols must be 1..%d", rows, cols, TerminalSizeMax)}
	}
	return nil
}

// call runs one native call on the stream, the VM handle held.
func (t *Terminal) call(op string, f func() int) (int, error) {
	var rc int
	err := t.vm.do(func(raw.Struct_SS_smolvm_vm) error {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.closed {
			return ErrClosed
		}
		var err error
		rc, err = callRC(op, f)
		return err
	})
	return rc, err
}

// Write types p into the terminal.
func (t *Terminal) Write(p []byte) (int, error) {
	if _, err := t.call("terminal write", func() int {
		return raw.Smolvm_swig_stream_write_stdin(t.s, string(p))
	}); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Read returns what the terminal shows next, waiting for it; io.EOF once
// the command has exited and everything was read.
func (t *Terminal) Read(p []byte) (int, error) {
	for len(t.pending) == 0 {
		if t.exited {
			return 0, io.EOF
		}
		if err := t.poll(pollInterval); err != nil {
			return 0, err
		}
	}
	n := copy(p, t.pending)
	t.pending = t.pending[n:]
	return n, nil
}

// poll waits up to wait for one event and files it.
func (t *Terminal) poll(wait time.Duration) error {
	var data []byte
	kind, err := t.call("terminal read", func() int {
		k := raw.Smolvm_swig_stream_next(t.s, int(wait/time.Millisecond))
		switch k {
		case int(raw.SMOLVM_EVENT_STDOUT), int(raw.SMOLVM_EVENT_STDERR):
			data = append(data, raw.Smolvm_swig_stream_data(t.s)...)
		case int(raw.SMOLVM_EVENT_EXIT):
			t.code = raw.Smolvm_swig_stream_exit_code(t.s)
		}
		return k
	})
	switch {
	case kind == int(raw.SMOLVM_ETIMEOUT):
		return nil
	case kind == int(raw.SMOLVM_EDONE):
		t.exited = true
		return nil
	case err != nil:
		return err
	case kind == int(raw.SMOLVM_EVENT_EXIT):
		t.exited = true
	}
	t.pending = append(t.pending, data...)
	return nil
}

// Resize gives the terminal a new size; its foreground programs get
// SIGWINCH.
func (t *Terminal) Resize(rows, cols uint32) error {
	if err := checkTermSize("terminal resize", rows, cols); err != nil {
		return err
	}
	_, err := t.call("terminal resize", func() int {
		return raw.Smolvm_swig_stream_resize(t.s, uint(rows), uint(cols))
	})
	return err
}

// Wait reads (and drops) output until the command exits, within timeout
// (0: no limit); its exit code.
func (t *Terminal) Wait(timeout time.Duration) (int, error) {
	deadline := time.Now().Add(timeout)
	for !t.exited {
		if timeout > 0 && time.Now().After(deadline) {
			return 0, &Error{Op: "terminal wait", Status: StatusTimeout,
				Message: fmt.Sprintf("the command still runs after %v", timeout)}
		}
		if err := t.poll(pollInterval); err != nil {
			return 0, err
		}
		t.pending = nil
	}
	return t.code, nil
}

// Close frees the terminal, killing a command that still runs.
func (t *Terminal) Close() error {
	return t.vm.do(func(raw.Struct_SS_smolvm_vm) error {
		t.mu.Lock()
		defer t.mu.Unlock()
		if !t.closed {
			raw.Smolvm_swig_stream_free(t.s)
			t.closed = true
		}
		return nil
	})
}
