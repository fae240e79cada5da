package smolvm

import (
	"errors"

	"smolvm/internal/raw"
)

// Status is a smolvm_status code from the C ABI (always negative).
type Status int

// The status codes of include/smolvm/smolvm.h.
const (
	StatusError       Status = -1  // unclassified failure
	StatusInvalid     Status = -2  // bad argument or configuration value
	StatusNotFound    Status = -3  // no such VM, file, plugin or image
	StatusState       Status = -4  // operation not allowed in the VM's state
	StatusTimeout     Status = -5  // a deadline passed
	StatusExists      Status = -6  // the id or resource is taken
	StatusPlugin      Status = -7  // a plugin is missing, mismatched or failed
	StatusIO          Status = -8  // file system or process failure on the host
	StatusPermission  Status = -9  // missing privilege or capability
	StatusUnsupported Status = -10 // the host or backend cannot do this
	StatusBusy        Status = -11 // the store or resource is busy
	StatusProtocol    Status = -12 // the guest agent broke the protocol
	StatusNoMemory    Status = -13 // out of memory
)

// String is the C library's short name of the code, e.g. "EINVAL".
func (s Status) String() string { return raw.Smolvm_status_str(int(s)) }

// Error is every failure the native library reports. Op names the Go
// method, Message is the library's own text (it names the field, the value
// and what is allowed).
//
// Match a kind of failure with errors.Is(err, smolvm.ErrNotFound) and so on;
// get the details with errors.As(err, &e) where e is a *smolvm.Error.
type Error struct {
	Op      string
	Status  Status
	Message string
}

func (e *Error) Error() string {
	s := "smolvm"
	if e.Op != "" {
		s += " " + e.Op
	}
	s += ": " + e.Status.String()
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is makes errors.Is match any *Error against the sentinel of its status.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Op == "" && t.Message == "" && t.Status == e.Status
}

// Sentinels for errors.Is, one per status code.
var (
	ErrUnknown     = &Error{Status: StatusError}
	ErrInvalid     = &Error{Status: StatusInvalid}
	ErrNotFound    = &Error{Status: StatusNotFound}
	ErrState       = &Error{Status: StatusState}
	ErrTimeout     = &Error{Status: StatusTimeout}
	ErrExists      = &Error{Status: StatusExists}
	ErrPlugin      = &Error{Status: StatusPlugin}
	ErrIO          = &Error{Status: StatusIO}
	ErrPermission  = &Error{Status: StatusPermission}
	ErrUnsupported = &Error{Status: StatusUnsupported}
	ErrBusy        = &Error{Status: StatusBusy}
	ErrProtocol    = &Error{Status: StatusProtocol}
	ErrNoMemory    = &Error{Status: StatusNoMemory}
)

// ErrClosed is returned by every method of a VM after Close.
var ErrClosed = errors.New("smolvm: the VM handle is closed")
