package smolvm

import "smolvm/internal/raw"

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

// ReadFile reads a whole guest file.
func (vm *VM) ReadFile(guestPath string) ([]byte, error) {
	if err := checkText("read file", "guestPath", guestPath); err != nil {
		return nil, err
	}
	var data []byte
	err := vm.do(func(h raw.Struct_SS_smolvm_vm) error {
		b, err := callPtr("read file", func() raw.Struct_SS_smolvm_swig_buf { return raw.Smolvm_swig_vm_read_file(h, guestPath) })
		if err != nil {
			return err
		}
		defer raw.Smolvm_swig_buf_free(b)
		data = raw.Smolvm_swig_buf_bytes(b)
		return nil
	})
	return data, err
}
