package smolvm

import (
	"runtime"

	"smolvm/internal/raw"
)

// The C helpers record their last failure per OS thread, and a goroutine
// may move to another thread between two cgo calls. Every fallible call
// therefore runs with its goroutine locked to one thread, and reads the
// error on that same thread before unlocking.

// callRC runs f (returning 0, a count, or a negative status) and turns a
// negative result into an *Error.
func callRC(op string, f func() int) (int, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rc := f()
	if rc < 0 {
		return rc, &Error{Op: op, Status: Status(rc), Message: raw.Smolvm_swig_last_error()}
	}
	return rc, nil
}

// callPtr runs f (returning a handle, nil on failure) and turns a nil
// handle into an *Error.
func callPtr[T interface{ Swigcptr() uintptr }](op string, f func() T) (T, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p := f()
	if p.Swigcptr() == 0 {
		st := raw.Smolvm_swig_last_status()
		if st >= 0 {
			st = int(StatusError) // a NULL without a recorded status
		}
		return p, &Error{Op: op, Status: Status(st), Message: raw.Smolvm_swig_last_error()}
	}
	return p, nil
}
