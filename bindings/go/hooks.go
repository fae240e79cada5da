package smolvm

import (
	"context"
	"errors"
	"fmt"
)

// RunInfo is what a Hooks function sees of one Exec (or Run).
type RunInfo struct {
	VMID string
	Cmd  Cmd
	// After the command: its Result (PostRun; for RunError the output so
	// far when there is any, else nil) and, for RunError, the error.
	Result *Result
	Err    error
}

// Hooks run around every command of a VM handle, as the SmolVM Python
// project's callbacks do: an agent's guard or audit log. Nil fields are
// skipped; the hooks of one handle run in the order they were added.
//
// PreRun runs before the command reaches the guest; a non-nil error vetoes
// it: nothing runs, and Exec returns a *BlockedError wrapping that error
// (errors.Is(err, ErrBlocked) holds). PostRun sees a command that ended
// (any exit code, a Cmd.Timeout included); RunError sees one that failed
// (ctx done, the VM not running, ...).
type Hooks struct {
	PreRun   func(ctx context.Context, run *RunInfo) error
	PostRun  func(ctx context.Context, run *RunInfo)
	RunError func(ctx context.Context, run *RunInfo)
}

// ErrBlocked matches (errors.Is) every error of a vetoed command.
var ErrBlocked = errors.New("smolvm: command blocked by a hook")

// BlockedError is what Exec returns when a PreRun hook vetoed the command.
type BlockedError struct {
	VMID   string
	Cmd    Cmd
	Reason error // what the hook returned
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("smolvm exec: blocked in vm '%s': %v", e.VMID, e.Reason)
}

// Is makes errors.Is(err, ErrBlocked) hold.
func (e *BlockedError) Is(target error) bool { return target == ErrBlocked }

// Unwrap gives the hook's own error to errors.Is and errors.As.
func (e *BlockedError) Unwrap() error { return e.Reason }

// AddHooks adds hooks after those of Options.Hooks and earlier calls. It
// works on a closed handle too (its commands fail with ErrClosed anyway).
func (vm *VM) AddHooks(h Hooks) {
	vm.hooksMu.Lock()
	defer vm.hooksMu.Unlock()
	vm.hooks = append(vm.hooks, h)
}

// aroundRun runs exec between the handle's hooks.
func (vm *VM) aroundRun(ctx context.Context, c Cmd, exec func() (*Result, error)) (*Result, error) {
	vm.hooksMu.Lock()
	hooks := append([]Hooks(nil), vm.hooks...)
	vm.hooksMu.Unlock()
	run := &RunInfo{VMID: vm.id, Cmd: c}
	for _, h := range hooks {
		if h.PreRun == nil {
			continue
		}
		if err := h.PreRun(ctx, run); err != nil {
			return nil, &BlockedError{VMID: vm.id, Cmd: c, Reason: err}
		}
	}
	res, err := exec()
	run.Result, run.Err = res, err
	for _, h := range hooks {
		if err == nil && h.PostRun != nil {
			h.PostRun(ctx, run)
		} else if err != nil && h.RunError != nil {
			h.RunError(ctx, run)
		}
	}
	return res, err
}
