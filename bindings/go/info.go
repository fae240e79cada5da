package smolvm

import (
	"time"

	"smolvm/internal/raw"
)

// Info is a snapshot of a VM's record in the store.
type Info struct {
	ID            string
	State         string // "created", "starting", "running", "paused", "stopping", "stopped", "failed"
	VCPUCount     uint32
	MemSizeMiB    uint32
	DiskMode      string
	DiskSizeMiB   uint32 // the disk's size as the guest sees it
	VMM           string // resolved plugin names
	Executor      string
	Network       string
	Accel         string // "kvm" or "tcg" once started, else ""
	KernelPath    string
	RootfsPath    string
	DiskPath      string // "" in shared mode
	IP            string // "" without network
	StateDir      string
	ConsoleLog    string
	SupervisorPID int64 // 0 when not running
	VMMPID        int64
	CreatedAt     time.Time
	StartedAt     time.Time // zero if never started
	LastError     string    // why it failed or stopped unexpectedly
	// The lifetime policy (see Options) and what is left of it: TTLLeft is
	// the running time left of this boot (frozen while paused, the whole
	// TTL while not running), -1 without a TTL; PausedBy is "idle" when
	// the idle policy paused the VM, else "".
	TTL         time.Duration
	OnTTL       string
	TTLLeft     time.Duration
	IdleTimeout time.Duration
	OnIdle      string
	PausedBy    string
	// How the guest came up at the last start: "snapshot" (restored from
	// a template of a freshly booted guest, or a snapshot) or "cold", and
	// why (e.g. "disabled by SMOLVM_TEMPLATE=0").
	Boot       string
	BootReason string
}

// Info reads the VM's record afresh.
func (vm *VM) Info() (Info, error) {
	var out Info
	err := vm.do(func(h raw.Struct_SS_smolvm_vm) error {
		p, err := callPtr("info", func() raw.Smolvm_vm_info { return raw.Smolvm_swig_vm_info(h) })
		if err != nil {
			return err
		}
		defer raw.Smolvm_swig_vm_info_free(p)
		out = Info{
			ID: p.GetId(), State: p.GetState_name(),
			VCPUCount: uint32(p.GetVcpu_count()), MemSizeMiB: uint32(p.GetMem_size_mib()),
			DiskMode: p.GetDisk_mode(), DiskSizeMiB: uint32(p.GetDisk_size_mib()), VMM: p.GetVmm(), Executor: p.GetExecutor(),
			Network: p.GetNetwork(), Accel: p.GetAccel(),
			KernelPath: p.GetKernel_path(), RootfsPath: p.GetRootfs_path(),
			DiskPath: p.GetDisk_path(), IP: p.GetIp(), StateDir: p.GetState_dir(),
			ConsoleLog: p.GetConsole_log(), SupervisorPID: p.GetSupervisor_pid(),
			VMMPID: p.GetVmm_pid(), CreatedAt: fromMillis(p.GetCreated_at_ms()),
			StartedAt: fromMillis(p.GetStarted_at_ms()), LastError: p.GetLast_error(),
			TTL: time.Duration(p.GetTtl_s()) * time.Second, OnTTL: p.GetOn_ttl(),
			IdleTimeout: time.Duration(p.GetIdle_timeout_s()) * time.Second, OnIdle: p.GetOn_idle(),
			PausedBy: p.GetPaused_by(), TTLLeft: -1,
			Boot: p.GetBoot(), BootReason: p.GetBoot_reason(),
		}
		if left := p.GetTtl_left_ms(); left >= 0 {
			out.TTLLeft = time.Duration(left) * time.Millisecond
		}
		return nil
	})
	return out, err
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}
