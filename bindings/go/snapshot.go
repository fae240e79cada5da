package smolvm

import (
	"encoding/json"
	"time"

	"smolvm/internal/raw"
)

// SnapshotOptions of (*VM).Snapshot. The zero value: no name, the VM runs
// on after its snapshot.
type SnapshotOptions struct {
	// Name: [a-z0-9][a-z0-9._-]{0,62}, unique among snapshots; "": none
	// (the generated id alone names it). Every call taking a snapshot
	// accepts its id or its name.
	Name string
	// Stop stops the VM after its snapshot instead of letting it run on.
	Stop bool
}

// SnapshotInfo is a snapshot's record (what `smolvm snapshot inspect`
// shows): the machine it restores onto and its files.
type SnapshotInfo struct {
	ID         string // "snap-" + 8 hex digits
	Name       string // "" when it has none
	SourceVM   string // the VM it was taken of
	CreatedAt  time.Time
	VCPUCount  uint32 // a restore runs on exactly this machine
	MemSizeMiB uint32
	KernelPath string
	RootfsPath string
	VMM        string
	Executor   string
	Accel      string
	StateBytes uint64 // the saved memory and device state
	DiskBytes  uint64 // the disk layer
	Layers     []string
	Dir        string   // its folder
	UsedBy     []string // folders of the VMs and snapshots built on its disk
}

// snapshotJSON is the C library's JSON of one snapshot.
type snapshotJSON struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	SourceVM    string   `json:"source_vm"`
	CreatedAtMs int64    `json:"created_at_ms"`
	VCPUCount   uint32   `json:"vcpu_count"`
	MemSizeMiB  uint32   `json:"mem_size_mib"`
	KernelPath  string   `json:"kernel_path"`
	RootfsPath  string   `json:"rootfs_path"`
	VMM         string   `json:"vmm"`
	Executor    string   `json:"executor"`
	Accel       string   `json:"accel"`
	StateBytes  uint64   `json:"state_bytes"`
	DiskBytes   uint64   `json:"disk_bytes"`
	Layers      []string `json:"layers"`
	Dir         string   `json:"dir"`
	UsedBy      []string `json:"used_by"`
}

func (j snapshotJSON) info() SnapshotInfo {
	return SnapshotInfo{ID: j.ID, Name: j.Name, SourceVM: j.SourceVM,
		CreatedAt: fromMillis(j.CreatedAtMs), VCPUCount: j.VCPUCount, MemSizeMiB: j.MemSizeMiB,
		KernelPath: j.KernelPath, RootfsPath: j.RootfsPath, VMM: j.VMM, Executor: j.Executor,
		Accel: j.Accel, StateBytes: j.StateBytes, DiskBytes: j.DiskBytes, Layers: j.Layers,
		Dir: j.Dir, UsedBy: j.UsedBy}
}

// Snapshot saves the VM's memory, device state and disk (a running or
// paused VM; a running guest's file systems are synced first) and returns
// the snapshot's record. The VM runs on afterwards (a paused one stays
// paused), or is stopped with opts.Stop. ErrState naming the state for a
// VM that is neither running nor paused; ErrUnsupported for a shared disk;
// ErrExists for a name in use. A failure leaves no snapshot and the VM as
// it was. A VM restored from the snapshot of a VM with a network gets a
// network of the same plugin with its own address, MAC and TAP.
func (vm *VM) Snapshot(opts SnapshotOptions) (SnapshotInfo, error) {
	if err := checkText("snapshot", "Name", opts.Name); err != nil {
		return SnapshotInfo{}, err
	}
	var out SnapshotInfo
	err := vm.do(func(h raw.Struct_SS_smolvm_vm) error {
		o, err := callPtr("snapshot", raw.Smolvm_swig_snapshot_opts_new)
		if err != nil {
			return err
		}
		defer raw.Smolvm_swig_snapshot_opts_free(o)
		if opts.Name != "" {
			if _, err := callRC("snapshot", func() int { return raw.Smolvm_swig_snapshot_opts_set_str(o, "name", opts.Name) }); err != nil {
				return err
			}
		}
		if opts.Stop {
			if _, err := callRC("snapshot", func() int { return raw.Smolvm_swig_snapshot_opts_set_u32(o, "stop", 1) }); err != nil {
				return err
			}
		}
		b, err := callPtr("snapshot", func() raw.Struct_SS_smolvm_swig_buf { return raw.Smolvm_swig_vm_snapshot(h, o) })
		if err != nil {
			return err
		}
		id := string(raw.Smolvm_swig_buf_bytes(b))
		raw.Smolvm_swig_buf_free(b)
		out, err = inspectSnapshot("snapshot", vm.rt, id)
		return err
	})
	return out, err
}

// RestoreOptions of FromSnapshot. Zero values take the snapshot's.
type RestoreOptions struct {
	RuntimeOptions

	ID string // the new VM's id; "": generated
	// 0: the snapshot's; anything else must equal it (a saved VM runs only
	// on the machine it was saved from: ErrInvalid naming the mismatch).
	VCPUCount  uint32
	MemSizeMiB uint32
	// As Options.DeleteWithOwner.
	DeleteWithOwner bool
	// The new VM's lifetimes, as Options' (the source's are not carried
	// over: zero values give it none).
	TTL         time.Duration
	OnTTL       string
	IdleTimeout time.Duration
	OnIdle      string
	// Hooks of the handle FromSnapshot returns.
	Hooks []Hooks
}

// FromSnapshot records a new VM from a snapshot (by id or name): its own
// id, token, cgroup and disk, the disk a copy-on-write layer on the
// snapshot's. Its first Start loads the snapshot instead of booting: the
// guest runs on from the moment it was saved, its RNG reseeded and its
// clock set from the host's; later starts boot its disk. ErrNotFound if
// there is no such snapshot; a damaged one is ErrInvalid and leaves
// nothing.
func FromSnapshot(snapshot string, opts RestoreOptions) (*VM, error) {
	if err := checkText("from snapshot", "snapshot", snapshot, "ID", opts.ID, "OnTTL", opts.OnTTL,
		"OnIdle", opts.OnIdle); err != nil {
		return nil, err
	}
	o, err := callPtr("from snapshot", raw.Smolvm_swig_restore_opts_new)
	if err != nil {
		return nil, err
	}
	defer raw.Smolvm_swig_restore_opts_free(o)
	for _, f := range []struct{ name, value string }{
		{"vm_id", opts.ID}, {"on_ttl", opts.OnTTL}, {"on_idle", opts.OnIdle},
	} {
		if f.value == "" {
			continue // keep the library's default
		}
		if _, err := callRC("from snapshot", func() int { return raw.Smolvm_swig_restore_opts_set_str(o, f.name, f.value) }); err != nil {
			return nil, err
		}
	}
	withOwner := uint32(0)
	if opts.DeleteWithOwner {
		withOwner = 1
	}
	if err := setNonZero("from snapshot", []u32Field{{"vcpu_count", opts.VCPUCount}, {"mem_size_mib", opts.MemSizeMiB},
		{"delete_with_owner", withOwner}, {"ttl_s", wholeSeconds(opts.TTL)},
		{"idle_timeout_s", wholeSeconds(opts.IdleTimeout)}},
		func(name string, v uint) int { return raw.Smolvm_swig_restore_opts_set_u32(o, name, v) }); err != nil {
		return nil, err
	}
	vm, err := openVM("from snapshot", opts.RuntimeOptions, func(rt raw.Struct_SS_smolvm_runtime) raw.Struct_SS_smolvm_vm {
		return raw.Smolvm_swig_vm_create_from_snapshot(rt, snapshot, o)
	})
	if err != nil {
		return nil, err
	}
	vm.hooks = append([]Hooks(nil), opts.Hooks...)
	return vm, nil
}

// ListSnapshots is every snapshot, oldest first. rt, at most one, says
// where the state lives when it is not the default.
func ListSnapshots(rt ...RuntimeOptions) ([]SnapshotInfo, error) {
	var out []SnapshotInfo
	err := withRuntime("list snapshots", rt, func(r raw.Struct_SS_smolvm_runtime) error {
		var list []snapshotJSON
		if err := readJSON("list snapshots", func() raw.Struct_SS_smolvm_swig_buf { return raw.Smolvm_swig_snapshot_list(r) }, &list); err != nil {
			return err
		}
		out = make([]SnapshotInfo, 0, len(list))
		for _, j := range list {
			out = append(out, j.info())
		}
		return nil
	})
	return out, err
}

// GetSnapshot is one snapshot's record, by id or name (ErrNotFound if none
// has it).
func GetSnapshot(snapshot string, rt ...RuntimeOptions) (SnapshotInfo, error) {
	if err := checkText("get snapshot", "snapshot", snapshot); err != nil {
		return SnapshotInfo{}, err
	}
	var out SnapshotInfo
	err := withRuntime("get snapshot", rt, func(r raw.Struct_SS_smolvm_runtime) (err error) {
		out, err = inspectSnapshot("get snapshot", r, snapshot)
		return err
	})
	return out, err
}

// DeleteSnapshot removes a snapshot, by id or name. ErrState naming them
// while VMs restored from it (or snapshots of those) use its disk.
func DeleteSnapshot(snapshot string, rt ...RuntimeOptions) error {
	if err := checkText("delete snapshot", "snapshot", snapshot); err != nil {
		return err
	}
	return withRuntime("delete snapshot", rt, func(r raw.Struct_SS_smolvm_runtime) error {
		_, err := callRC("delete snapshot", func() int { return raw.Smolvm_swig_snapshot_delete(r, snapshot) })
		return err
	})
}

func inspectSnapshot(op string, r raw.Struct_SS_smolvm_runtime, snapshot string) (SnapshotInfo, error) {
	var j snapshotJSON
	err := readJSON(op, func() raw.Struct_SS_smolvm_swig_buf { return raw.Smolvm_swig_snapshot_inspect(r, snapshot) }, &j)
	return j.info(), err
}

// readJSON decodes the JSON of the buffer get returns into v, freeing it.
func readJSON(op string, get func() raw.Struct_SS_smolvm_swig_buf, v any) error {
	b, err := callPtr(op, get)
	if err != nil {
		return err
	}
	defer raw.Smolvm_swig_buf_free(b)
	return json.Unmarshal(raw.Smolvm_swig_buf_bytes(b), v)
}

// withRuntime runs f on a runtime opened for the call (rt: at most one).
func withRuntime(op string, rt []RuntimeOptions, f func(raw.Struct_SS_smolvm_runtime) error) error {
	var ro RuntimeOptions
	if len(rt) > 0 {
		ro = rt[0]
	}
	r, err := openRuntime(op, ro)
	if err != nil {
		return err
	}
	defer raw.Smolvm_runtime_close(r)
	return f(r)
}
