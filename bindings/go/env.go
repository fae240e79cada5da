package smolvm

import (
	"sort"

	"smolvm/internal/raw"
)

// SetEnv adds or replaces variables that every later command in the VM
// sees (any shell, Exec with Args), kept with the VM across Stop/Start and
// for every process attached to it. Names match [A-Za-z_][A-Za-z0-9_]*; a
// bad one is refused (ErrInvalid naming it) and nothing changes.
func (vm *VM) SetEnv(vars map[string]string) error { return vm.setEnv("set env", vars, true) }

// ReplaceEnv makes vars the VM's whole environment (see SetEnv).
func (vm *VM) ReplaceEnv(vars map[string]string) error {
	return vm.setEnv("replace env", vars, false)
}

// UnsetEnv removes variables from the VM's environment; names that are not
// set are no error.
func (vm *VM) UnsetEnv(names ...string) error {
	for _, n := range names {
		if err := checkText("unset env", "name", n); err != nil {
			return err
		}
	}
	return vm.withList("unset env", names, func(h raw.Struct_SS_smolvm_vm, l raw.Struct_SS_smolvm_swig_strlist) int {
		return raw.Smolvm_swig_vm_env_unset(h, l)
	})
}

// Env is the VM's environment (see SetEnv).
func (vm *VM) Env() (map[string]string, error) {
	env := map[string]string{}
	err := vm.do(func(h raw.Struct_SS_smolvm_vm) error {
		return readJSON("env", func() raw.Struct_SS_smolvm_swig_buf { return raw.Smolvm_swig_vm_env_list(h) }, &env)
	})
	return env, err
}

func (vm *VM) setEnv(op string, vars map[string]string, merge bool) error {
	entries := make([]string, 0, len(vars))
	for name, value := range vars {
		if err := checkText(op, "name", name, "value of "+name, value); err != nil {
			return err
		}
		entries = append(entries, name+"="+value)
	}
	sort.Strings(entries) // the same order, hence the same error, every time
	m := 0
	if merge {
		m = 1
	}
	return vm.withList(op, entries, func(h raw.Struct_SS_smolvm_vm, l raw.Struct_SS_smolvm_swig_strlist) int {
		return raw.Smolvm_swig_vm_env_set(h, l, m)
	})
}

// withList calls f with the handle and a native list of items.
func (vm *VM) withList(op string, items []string,
	f func(raw.Struct_SS_smolvm_vm, raw.Struct_SS_smolvm_swig_strlist) int) error {
	return vm.do(func(h raw.Struct_SS_smolvm_vm) error {
		l, err := callPtr(op, func() raw.Struct_SS_smolvm_swig_strlist { return raw.Smolvm_swig_strlist_new() })
		if err != nil {
			return err
		}
		defer raw.Smolvm_swig_strlist_free(l)
		for _, item := range items {
			if _, err := callRC(op, func() int { return raw.Smolvm_swig_strlist_add(l, item) }); err != nil {
				return err
			}
		}
		_, err = callRC(op, func() int { return f(h, l) })
		return err
	})
}
