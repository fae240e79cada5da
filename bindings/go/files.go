package smolvm

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"smolvm/internal/raw"
)

// TransferOptions bounds one file transfer (since ABI 1.2). A guest decides
// what it sends, so every transfer has a size limit and a deadline; the
// zero value means the defaults (1 GiB, 5 minutes).
type TransferOptions struct {
	// MaxBytes: most bytes received from the guest and written to host
	// files (a sparse file counts at its full size). 0: 1 GiB.
	MaxBytes uint64
	// Timeout: deadline for the whole transfer. 0: 5 minutes.
	Timeout time.Duration
}

func (o TransferOptions) native() (uint64, uint, error) {
	if o.Timeout < 0 || o.Timeout > time.Duration(^uint32(0))*time.Millisecond {
		return 0, 0, fmt.Errorf("smolvm: Timeout=%v: must be 0 (the default) or up to %v", o.Timeout,
			time.Duration(^uint32(0))*time.Millisecond)
	}
	ms := uint(o.Timeout / time.Millisecond)
	if o.Timeout > 0 && ms == 0 {
		ms = 1
	}
	return o.MaxBytes, ms, nil
}

// WriteFile writes data to a guest file (created or truncated, parent
// folders made). mode 0 is 0644.
func (vm *VM) WriteFile(guestPath string, data []byte, mode uint32) error {
	if err := checkText("write file", "guestPath", guestPath); err != nil {
		return err
	}
	return vm.do(func(h raw.Struct_SS_smolvm_vm) error {
		_, err := callRC("write file", func() int {
			return raw.Smolvm_swig_vm_write_file(h, guestPath, string(data), uint(mode))
		})
		return err
	})
}

// ReadFile reads a whole guest file, within the default bounds.
func (vm *VM) ReadFile(guestPath string) ([]byte, error) {
	return vm.ReadFileWith(guestPath, TransferOptions{})
}

// ReadFileWith reads a whole guest file within opts' bounds.
func (vm *VM) ReadFileWith(guestPath string, opts TransferOptions) ([]byte, error) {
	if err := checkText("read file", "guestPath", guestPath); err != nil {
		return nil, err
	}
	maxBytes, ms, err := opts.native()
	if err != nil {
		return nil, err
	}
	var data []byte
	err = vm.do(func(h raw.Struct_SS_smolvm_vm) error {
		b, err := callPtr("read file", func() raw.Struct_SS_smolvm_swig_buf {
			return raw.Smolvm_swig_vm_read_file(h, guestPath, maxBytes, ms)
		})
		if err != nil {
			return err
		}
		defer raw.Smolvm_swig_buf_free(b)
		data = raw.Smolvm_swig_buf_bytes(b)
		return nil
	})
	return data, err
}

// PutFile copies a host file or folder (recursively) into the guest. A
// FIFO, socket or device is refused; a folder's are not sent.
func (vm *VM) PutFile(hostPath, guestPath string, opts TransferOptions) error {
	if err := checkText("put file", "hostPath", hostPath); err != nil {
		return err
	}
	if err := checkText("put file", "guestPath", guestPath); err != nil {
		return err
	}

	maxBytes, ms, err := opts.native()
	if err != nil {
		return err
	}
	return vm.do(func(h raw.Struct_SS_smolvm_vm) error {
		_, err := callRC("put file", func() int {
			return raw.Smolvm_swig_vm_put(h, hostPath, guestPath, maxBytes, ms)
		})
		return err
	})
}

// GetFile copies a guest file or folder (recursively) to the host, treating
// what the guest sends as hostile: no owner, setuid/setgid bit or special
// file lands, symlinks are never followed, hostPath's own owner and mode
// never change, and a failed copy leaves nothing behind.
func (vm *VM) GetFile(guestPath, hostPath string, opts TransferOptions) error {
	if err := checkText("get file", "guestPath", guestPath); err != nil {
		return err
	}
	if err := checkText("get file", "hostPath", hostPath); err != nil {
		return err
	}

	maxBytes, ms, err := opts.native()
	if err != nil {
		return err
	}
	return vm.do(func(h raw.Struct_SS_smolvm_vm) error {
		_, err := callRC("get file", func() int {
			return raw.Smolvm_swig_vm_get(h, guestPath, hostPath, maxBytes, ms)
		})
		return err
	})
}

// UploadFile copies one host file into the guest, making missing guest
// folders, and returns the guest path it landed at: a guestPath ending in
// "/" gets the file's name (the SmolVM Python project's upload_file).
func (vm *VM) UploadFile(hostPath, guestPath string) (string, error) {
	dest := guestPath
	if strings.HasSuffix(guestPath, "/") {
		dest = guestPath + filepath.Base(hostPath)
	}
	return dest, vm.PutFile(hostPath, dest, TransferOptions{})
}

// DownloadFile copies one guest file to the host, making missing host
// folders, and returns the host path it landed at: a hostPath ending in
// "/" or naming a folder gets the file's name. What the guest sends is
// treated as GetFile treats it.
func (vm *VM) DownloadFile(guestPath, hostPath string) (string, error) {
	dest := hostPath
	if st, err := os.Stat(hostPath); strings.HasSuffix(hostPath, "/") || (err == nil && st.IsDir()) {
		dest = filepath.Join(hostPath, path.Base(strings.TrimRight(guestPath, "/")))
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return "", &Error{Op: "download file", Status: StatusIO, Message: err.Error()}
	}
	return dest, vm.GetFile(guestPath, dest, TransferOptions{})
}
