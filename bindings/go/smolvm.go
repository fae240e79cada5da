// Package smolvm boots disposable Linux microVMs and runs commands in them.
//
//	vm, err := smolvm.New(smolvm.Options{MemSizeMiB: 1024})
//	if err != nil { ... }
//	defer vm.Close()         // releases the handle; the VM keeps running
//	defer vm.Delete()        // removes the VM (runs before Close)
//	if err := vm.Start(); err != nil { ... }
//	r, err := vm.Run(ctx, "uname -a")
//
// A VM outlives the process that made it; any process can attach to it
// again with FromID. Every failure is returned as an error (*Error for the
// library's own, matching ErrInvalid, ErrNotFound, ... with errors.Is); no
// method panics.
//
// A *VM may be used from many goroutines; its calls are serialized. To run
// commands in one VM concurrently, attach more handles with FromID.
package smolvm

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"smolvm/internal/raw"
)

// RuntimeOptions say where SmolVM keeps its state. Empty fields take the
// library's defaults ($SMOLVM_STATE_DIR, $SMOLVM_CACHE_DIR, ...).
type RuntimeOptions struct {
	StateDir   string // store and per-VM folders
	CacheDir   string // guest images
	PluginPath string // extra plugin folders, ':'-separated
	Store      string // store plugin; "" is "sqlite"
}

// Options describe a new VM. Zero values take the library's defaults; the
// library validates everything and its message names the field.
type Options struct {
	RuntimeOptions

	ID          string        // [a-z0-9][a-z0-9-]{0,62}; "": generated
	VCPUCount   uint32        // 1..32; 0: 2
	MemSizeMiB  uint32        // 128..16384; 0: 512
	DiskMode    string        // "isolated" (default) or "shared"
	DiskSizeMiB uint32        // isolated disk; 0: the image's size, else at least that
	Image       string        // a named image (`smolvm image ls`); "": the default one
	KernelPath  string        // "": the image's
	RootfsPath  string        // "": the image's
	BootArgs    string        // appended to the kernel command line
	VMM         string        // "qemu", "firecracker", "auto"
	Executor    string        // "agent", "ssh", "auto"
	Network     string        // "none", "nftables", "iptables", "auto"
	Accel       string        // "auto", "kvm", "tcg"
	BootTimeout time.Duration // how long Start waits for the guest; 0: 120 s
	// Boot: "auto" ("" too: the first start restores the image's template
	// where the VM fits one; Info says which boot it got and why) or "cold"
	// (always boot the kernel).
	Boot string
	// DeleteWithOwner makes the VM ephemeral: the process that starts it
	// owns it, and when that process ends without Detach (exit, any signal,
	// SIGKILL included) the VM's supervisor deletes it.
	DeleteWithOwner bool
	// Hooks of the handle New returns (see Hooks; AddHooks adds more).
	Hooks []Hooks
	// Lifetimes, enforced by the VM's supervisor with or without a client
	// (whole seconds, rounded up; 0: none). TTL is the running time one boot
	// may have, paused time not counted; then OnTTL: "delete" (default) or
	// "stop". IdleTimeout is the time with no command or copy under way;
	// then OnIdle: "pause" (default; the next command resumes the VM),
	// "stop", "delete" or "hibernate" (saved into its folder and stopped;
	// the next Start or command restores it as it stood).
	TTL         time.Duration
	OnTTL       string
	IdleTimeout time.Duration
	OnIdle      string
}

// VM is a handle on one VM. Close releases it; the VM itself is stopped
// only by Stop and removed only by Delete.
type VM struct {
	mu sync.Mutex
	rt raw.Struct_SS_smolvm_runtime
	h  raw.Struct_SS_smolvm_vm
	id string

	hooksMu sync.Mutex
	hooks   []Hooks
}

// New records a new VM (state "created") with its own disk. Start boots it.
func New(opts Options) (*VM, error) {
	if err := checkText("new", "ID", opts.ID, "DiskMode", opts.DiskMode, "KernelPath", opts.KernelPath,
		"RootfsPath", opts.RootfsPath, "BootArgs", opts.BootArgs, "VMM", opts.VMM,
		"Executor", opts.Executor, "Network", opts.Network, "Accel", opts.Accel,
		"OnTTL", opts.OnTTL, "OnIdle", opts.OnIdle, "Image", opts.Image); err != nil {
		return nil, err
	}
	o, err := callPtr("new", raw.Smolvm_swig_vm_opts_new)
	if err != nil {
		return nil, err
	}
	defer raw.Smolvm_swig_vm_opts_free(o)
	for _, f := range []struct{ name, value string }{
		{"vm_id", opts.ID}, {"disk_mode", opts.DiskMode}, {"kernel_path", opts.KernelPath},
		{"rootfs_path", opts.RootfsPath}, {"boot_args", opts.BootArgs}, {"vmm", opts.VMM},
		{"executor", opts.Executor}, {"network", opts.Network}, {"accel", opts.Accel},
		{"on_ttl", opts.OnTTL}, {"on_idle", opts.OnIdle}, {"image", opts.Image},
		{"boot", opts.Boot},
	} {
		if f.value == "" {
			continue // keep the library's default
		}
		if _, err := callRC("new", func() int { return raw.Smolvm_swig_vm_opts_set_str(o, f.name, f.value) }); err != nil {
			return nil, err
		}
	}
	bootS := wholeSeconds(opts.BootTimeout)
	withOwner := uint32(0)
	if opts.DeleteWithOwner {
		withOwner = 1
	}
	if err := setNonZero("new", []u32Field{{"vcpu_count", opts.VCPUCount}, {"mem_size_mib", opts.MemSizeMiB},
		{"boot_timeout_s", bootS}, {"disk_size_mib", opts.DiskSizeMiB}, {"delete_with_owner", withOwner},
		{"ttl_s", wholeSeconds(opts.TTL)}, {"idle_timeout_s", wholeSeconds(opts.IdleTimeout)}},
		func(name string, v uint) int { return raw.Smolvm_swig_vm_opts_set_u32(o, name, v) }); err != nil {
		return nil, err
	}
	vm, err := openVM("new", opts.RuntimeOptions, func(rt raw.Struct_SS_smolvm_runtime) raw.Struct_SS_smolvm_vm {
		return raw.Smolvm_swig_vm_create(rt, o)
	})
	if err != nil {
		return nil, err
	}
	vm.hooks = append([]Hooks(nil), opts.Hooks...)
	return vm, nil
}

// wholeSeconds is d in whole seconds, rounded up.
func wholeSeconds(d time.Duration) uint32 { return uint32((d + time.Second - 1) / time.Second) }

// u32Field is one integer option of a native option builder.
type u32Field struct {
	name  string
	value uint32
}

// setNonZero sets each field that is not 0 (0 keeps the library's default).
func setNonZero(op string, fields []u32Field, set func(name string, v uint) int) error {
	for _, f := range fields {
		if f.value == 0 {
			continue
		}
		if _, err := callRC(op, func() int { return set(f.name, uint(f.value)) }); err != nil {
			return err
		}
	}
	return nil
}

// openVM is a handle on the VM create returns, on a runtime opened for it
// (closed again when create fails).
func openVM(op string, ro RuntimeOptions, create func(raw.Struct_SS_smolvm_runtime) raw.Struct_SS_smolvm_vm) (*VM, error) {
	r, err := openRuntime(op, ro)
	if err != nil {
		return nil, err
	}
	h, err := callPtr(op, func() raw.Struct_SS_smolvm_vm { return create(r) })
	if err != nil {
		raw.Smolvm_runtime_close(r)
		return nil, err
	}
	return wrap(r, h), nil
}

// FromID attaches to an existing VM by id, from any process. rt, at most
// one, says where the state lives when it is not the default.
func FromID(id string, rt ...RuntimeOptions) (*VM, error) {
	var ro RuntimeOptions
	if len(rt) > 0 {
		ro = rt[0]
	}
	if err := checkText("from id", "id", id); err != nil {
		return nil, err
	}
	return openVM("from id", ro, func(r raw.Struct_SS_smolvm_runtime) raw.Struct_SS_smolvm_vm {
		return raw.Smolvm_swig_vm_open(r, id)
	})
}

// FromProfile records a new VM from a YAML profile (see examples/profiles):
// its resources, backends, env, setup commands (run once after the first
// start) and port forwards. SMOLVM_PROFILE_* environment variables override
// its fields. id "" keeps the profile's id, or generates one. A bad profile
// is an ErrInvalid naming the file, line, column and key path.
func FromProfile(path, id string, rt ...RuntimeOptions) (*VM, error) {
	var ro RuntimeOptions
	if len(rt) > 0 {
		ro = rt[0]
	}
	if err := checkText("from profile", "path", path, "id", id); err != nil {
		return nil, err
	}
	return openVM("from profile", ro, func(r raw.Struct_SS_smolvm_runtime) raw.Struct_SS_smolvm_vm {
		return raw.Smolvm_swig_vm_create_from_profile(r, path, id)
	})
}

func openRuntime(op string, o RuntimeOptions) (raw.Struct_SS_smolvm_runtime, error) {
	return callPtr(op, func() raw.Struct_SS_smolvm_runtime {
		return raw.Smolvm_swig_runtime_open(o.StateDir, o.CacheDir, o.PluginPath, o.Store)
	})
}

func wrap(rt raw.Struct_SS_smolvm_runtime, h raw.Struct_SS_smolvm_vm) *VM {
	vm := &VM{rt: rt, h: h, id: raw.Smolvm_vm_id(h)}
	// A forgotten Close leaks only memory and a store connection, never
	// the VM; the finalizer reclaims them.
	runtime.SetFinalizer(vm, (*VM).Close)
	return vm
}

// ID is the VM's id; valid after Close too.
func (vm *VM) ID() string { return vm.id }

// do runs f with the handle, serialized; ErrClosed after Close.
func (vm *VM) do(f func(h raw.Struct_SS_smolvm_vm) error) error {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if vm.h == nil {
		return ErrClosed
	}
	return f(vm.h)
}

// Start boots the VM and returns once its guest agent answers. On failure
// the VM is left "failed" with the reason (see Info().LastError).
func (vm *VM) Start() error {
	return vm.do(func(h raw.Struct_SS_smolvm_vm) error {
		_, err := callRC("start", func() int { return raw.Smolvm_swig_vm_start(h) })
		return err
	})
}

// StartWithin is Start that waits at most bootTimeout for the guest (this
// start only; the VM's BootTimeoutS is unchanged). 0: the VM's own.
func (vm *VM) StartWithin(bootTimeout time.Duration) error {
	if bootTimeout < 0 || bootTimeout > time.Duration(1<<32-1)*time.Millisecond {
		return &Error{Op: "start", Status: StatusInvalid,
			Message: fmt.Sprintf("bootTimeout=%v: must be 0..%v", bootTimeout, time.Duration(1<<32-1)*time.Millisecond)}
	}
	ms := uint(bootTimeout / time.Millisecond)
	if bootTimeout > 0 && ms == 0 {
		ms = 1
	}
	return vm.do(func(h raw.Struct_SS_smolvm_vm) error {
		_, err := callRC("start", func() int { return raw.Smolvm_swig_vm_start_within(h, ms) })
		return err
	})
}

// Stop asks the guest to shut down, waits up to timeout (0: 10 s), then
// forces it off. Stopping a stopped VM does nothing.
func (vm *VM) Stop(timeout time.Duration) error {
	return vm.do(func(h raw.Struct_SS_smolvm_vm) error {
		ms := uint(timeout / time.Millisecond)
		_, err := callRC("stop", func() int { return raw.Smolvm_swig_vm_stop(h, ms) })
		return err
	})
}

// Pause stops the guest's vCPUs: its clock and processes stand still, its
// memory, disk and network stay (state "paused"). Commands and file
// transfers fail with ErrState until Resume; Stop and Delete work. A VM
// that is not running (a paused one included) gives ErrState naming its
// state.
func (vm *VM) Pause() error {
	return vm.do(func(h raw.Struct_SS_smolvm_vm) error {
		_, err := callRC("pause", func() int { return raw.Smolvm_swig_vm_pause(h) })
		return err
	})
}

// Resume lets a paused VM run again where it stood; ErrState naming the
// state for a VM that is not paused.
func (vm *VM) Resume() error {
	return vm.do(func(h raw.Struct_SS_smolvm_vm) error {
		_, err := callRC("resume", func() int { return raw.Smolvm_swig_vm_resume(h) })
		return err
	})
}

// Delete stops the VM if needed and removes every trace of it. The handle
// still needs Close.
func (vm *VM) Delete() error {
	return vm.do(func(h raw.Struct_SS_smolvm_vm) error {
		_, err := callRC("delete", func() int { return raw.Smolvm_swig_vm_delete(h) })
		return err
	})
}

// Detach ends an ephemeral VM's bond to this process (see
// Options.DeleteWithOwner): it becomes an ordinary VM that outlives the
// process. A no-op for a VM that is not ephemeral.
func (vm *VM) Detach() error {
	return vm.do(func(h raw.Struct_SS_smolvm_vm) error {
		_, err := callRC("detach", func() int { return raw.Smolvm_swig_vm_detach(h) })
		return err
	})
}

// Close releases the native handle (the VM keeps running). Calling it
// again does nothing.
func (vm *VM) Close() error {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if vm.h == nil {
		return nil
	}
	raw.Smolvm_vm_free(vm.h)
	raw.Smolvm_runtime_close(vm.rt) // after its VM, as the C ABI requires
	vm.h, vm.rt = nil, nil
	runtime.SetFinalizer(vm, nil)
	return nil
}
