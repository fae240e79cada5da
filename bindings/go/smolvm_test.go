package smolvm_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"smolvm"
)

// One real VM, booted once and shared by every test: boots are the slow
// part (about 1.5 s under TCG).
var shared *smolvm.VM

func TestMain(m *testing.M) {
	if os.Getenv("SMOLVM_GO_TEST_OWNER") != "" {
		ownEphemeralVM() // the child of TestEphemeralVMGoesWithItsKilledOwner
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		fmt.Println("SKIP: qemu-system-x86_64 is not on PATH; the Go binding tests boot a real VM")
		os.Exit(0)
	}
	start := time.Now()
	vm, err := smolvm.New(smolvm.Options{MemSizeMiB: 256, VCPUCount: 1})
	if err != nil {
		fmt.Println("FAIL: create the shared VM:", err)
		os.Exit(1)
	}
	if err := vm.Start(); err != nil {
		fmt.Println("FAIL: start the shared VM:", err)
		_ = vm.Delete()
		os.Exit(1)
	}
	fmt.Printf("shared VM %s booted in %v\n", vm.ID(), time.Since(start).Round(time.Millisecond))
	shared = vm
	code := m.Run()
	if err := vm.Delete(); err != nil {
		fmt.Println("FAIL: delete the shared VM:", err)
		code = 1
	}
	_ = vm.Close()
	// After Delete the id is gone for every process.
	if _, err := smolvm.FromID(vm.ID()); !errors.Is(err, smolvm.ErrNotFound) {
		fmt.Println("FAIL: FromID after Delete: want ErrNotFound, got", err)
		code = 1
	}
	os.Exit(code)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestRunOutputAndExitCode(t *testing.T) {
	r, err := shared.Run(ctx(t), "echo hello; echo oops >&2; exit 3")
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Stdout) != "hello\n" || string(r.Stderr) != "oops\n" {
		t.Errorf("stdout %q stderr %q; want \"hello\\n\" and \"oops\\n\"", r.Stdout, r.Stderr)
	}
	if r.ExitCode != 3 || r.Success() {
		t.Errorf("exit code %d (success %v); want 3 (false)", r.ExitCode, r.Success())
	}
	if r.Duration <= 0 {
		t.Errorf("duration %v; want > 0", r.Duration)
	}
}

func TestExecArgsEnvDirStdin(t *testing.T) {
	r, err := shared.Exec(ctx(t), smolvm.Cmd{
		Args:  []string{"/bin/sh", "-c", `cat; echo "$GREETING"; pwd`},
		Env:   []string{"GREETING=hi there"},
		Dir:   "/tmp",
		Stdin: []byte("from stdin\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "from stdin\nhi there\n/tmp\n"; string(r.Stdout) != want || r.ExitCode != 0 {
		t.Errorf("stdout %q exit %d; want %q exit 0", r.Stdout, r.ExitCode, want)
	}
}

func TestTwoHandlesRunSideBySide(t *testing.T) {
	other, err := smolvm.FromID(shared.ID())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	// Each prints its start and end on the guest clock (ns); the spans
	// overlap only if the two commands really ran at the same time.
	const cmd = "date +%s%N; sleep 1; date +%s%N"
	type span struct {
		from, to int64
		err      error
	}
	spanOf := func(vm *smolvm.VM) (s span) {
		r, err := vm.Run(ctx(t), cmd)
		if err != nil {
			return span{err: err}
		}
		_, s.err = fmt.Sscan(string(r.Stdout), &s.from, &s.to)
		return s
	}
	done := make(chan span, 1)
	go func() { done <- spanOf(other) }()
	a, b := spanOf(shared), <-done
	if a.err != nil || b.err != nil {
		t.Fatal(a.err, b.err)
	}
	if !(a.from < b.to && b.from < a.to) {
		t.Errorf("spans %v and %v do not overlap: the commands ran one after the other", a, b)
	}
}

func TestLoginShellByDefaultRawOnRequest(t *testing.T) {
	r, err := shared.Run(ctx(t), "echo $((2**40)); [[ a == a ]] && echo yes")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(r.Stdout); got != "1099511627776\nyes\n" {
		t.Errorf("login shell printed %q (stderr %q)", got, r.Stderr)
	}
	probe := `if [ -n "$BASH_VERSION" ]; then echo bash; else echo posix; fi`
	for mode, want := range map[string]string{"": "bash\n", "login": "bash\n", "raw": "posix\n"} {
		r, err := shared.Exec(ctx(t), smolvm.Cmd{Shell: probe, ShellMode: mode})
		if err != nil {
			t.Fatal(err)
		}
		if string(r.Stdout) != want {
			t.Errorf("ShellMode %q: got %q, want %q", mode, r.Stdout, want)
		}
	}
	if _, err := shared.Exec(ctx(t), smolvm.Cmd{Shell: "true", ShellMode: "zsh"}); err == nil ||
		!strings.Contains(err.Error(), "shell='zsh'") {
		t.Errorf("ShellMode zsh: err %v, want one naming shell='zsh'", err)
	}
}

func TestGuestTimeoutIsAResult(t *testing.T) {
	r, err := shared.Exec(ctx(t), smolvm.Cmd{Shell: "sleep 20", Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !r.TimedOut || r.Success() {
		t.Errorf("timed out %v exit %d signal %d; want a timed-out result", r.TimedOut, r.ExitCode, r.Signal)
	}
}

func TestContextDeadlineKillsCommand(t *testing.T) {
	// Long enough for the login shell to start and print under TCG on a
	// busy host (0.2-0.6 s), short beside the sleep.
	c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	begin := time.Now()
	// 3177 marks the process; the check below must not match itself,
	// hence the pattern 317[7].
	r, err := shared.Run(c, "echo started; sleep 3177")
	took := time.Since(begin)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v; want one wrapping context.DeadlineExceeded", err)
	}
	if took > 5*time.Second {
		t.Errorf("Run returned %v after the deadline; want promptly", took)
	}
	if r == nil || !strings.Contains(string(r.Stdout), "started") {
		t.Errorf("partial result %+v; want the output so far", r)
	}
	left, err := shared.Run(ctx(t), `grep -l 317[7] /proc/[0-9]*/cmdline 2>/dev/null; true`)
	if err != nil {
		t.Fatal(err)
	}
	if len(left.Stdout) != 0 {
		t.Errorf("the cancelled command still runs: %s", left.Stdout)
	}
	// An already cancelled context does not start anything.
	done, cancelNow := context.WithCancel(context.Background())
	cancelNow()
	if _, err := shared.Run(done, "true"); !errors.Is(err, context.Canceled) {
		t.Errorf("Run with a cancelled context: %v; want context.Canceled", err)
	}
}

func TestFilesRoundTrip(t *testing.T) {
	data := []byte{0, 1, 2, 'x', 0xff, '\n'}
	if err := shared.WriteFile("/tmp/go-test/blob", data, 0600); err != nil {
		t.Fatal(err)
	}
	got, err := shared.ReadFile("/tmp/go-test/blob")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("read %v; want %v", got, data)
	}
	if _, err := shared.ReadFile("/no/such/file"); err == nil {
		t.Error("reading a missing guest file succeeded")
	}
}

func TestTransferBounds(t *testing.T) {
	if _, err := shared.Run(context.Background(), "mkdir -p /tmp/go-test && head -c 100000 /dev/zero > /tmp/go-test/100k"); err != nil {
		t.Fatal(err)
	}
	_, err := shared.ReadFileWith("/tmp/go-test/100k", smolvm.TransferOptions{MaxBytes: 50000})
	if err == nil || !strings.Contains(err.Error(), "max_bytes=50000") {
		t.Errorf("read past MaxBytes: %v; want max_bytes=50000", err)
	}
	dir := t.TempDir()
	if err := shared.GetFile("/tmp/go-test/100k", filepath.Join(dir, "f"), smolvm.TransferOptions{MaxBytes: 50000}); err == nil || !strings.Contains(err.Error(), "max_bytes=50000") {
		t.Errorf("get past MaxBytes: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a failed get left %v", entries)
	}
	if err := shared.GetFile("/tmp/go-test/100k", dir, smolvm.TransferOptions{Timeout: 60 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(dir, "100k")); err != nil || st.Size() != 100000 {
		t.Errorf("get into a folder: %v", err)
	}
	if err := shared.PutFile(filepath.Join(dir, "100k"), "/tmp/go-test/back", smolvm.TransferOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := shared.PutFile(filepath.Join(dir, "100k"), "/tmp/go-test/back", smolvm.TransferOptions{Timeout: -time.Second}); err == nil || !strings.Contains(err.Error(), "Timeout=") {
		t.Errorf("a negative Timeout: %v", err)
	}
}

func TestInfo(t *testing.T) {
	info, err := shared.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != shared.ID() || info.State != "running" || info.VCPUCount != 1 || info.MemSizeMiB != 256 {
		t.Errorf("info %+v; want id %s, running, 1 vCPU, 256 MiB", info, shared.ID())
	}
	if info.DiskSizeMiB < 64 { // no size asked: the image's
		t.Errorf("disk %d MiB; want the image's size", info.DiskSizeMiB)
	}
	if info.Accel != "kvm" && info.Accel != "tcg" {
		t.Errorf("accel %q; want kvm or tcg", info.Accel)
	}
	if info.StartedAt.IsZero() || info.SupervisorPID == 0 {
		t.Errorf("started at %v supervisor pid %d; want both set", info.StartedAt, info.SupervisorPID)
	}
}

func TestFromIDReattachAndClose(t *testing.T) {
	vm, err := smolvm.FromID(shared.ID())
	if err != nil {
		t.Fatal(err)
	}
	r, err := vm.Run(ctx(t), "echo again")
	if err != nil || string(r.Stdout) != "again\n" {
		t.Fatalf("run through the second handle: %v %+v", err, r)
	}
	if err := vm.Close(); err != nil {
		t.Fatal(err)
	}
	if err := vm.Close(); err != nil {
		t.Errorf("second Close: %v; want nil", err)
	}
	if _, err := vm.Run(ctx(t), "true"); !errors.Is(err, smolvm.ErrClosed) {
		t.Errorf("Run after Close: %v; want ErrClosed", err)
	}
	// Closing a handle leaves the VM running for the others.
	if _, err := shared.Run(ctx(t), "true"); err != nil {
		t.Errorf("the shared handle after closing another: %v", err)
	}
}

func TestPauseAndResume(t *testing.T) {
	if err := shared.WriteFile("/tmp/before-pause", []byte("kept"), 0); err != nil {
		t.Fatal(err)
	}
	if err := shared.Pause(); err != nil {
		t.Fatal(err)
	}
	info, err := shared.Info()
	if err != nil || info.State != "paused" {
		t.Errorf("Info after Pause: state %q (%v); want paused", info.State, err)
	}
	if _, err := shared.Run(ctx(t), "true"); !errors.Is(err, smolvm.ErrState) ||
		!strings.Contains(err.Error(), "is paused: resume it first") {
		t.Errorf("Run while paused: %v; want ErrState saying to resume it first", err)
	}
	if err := shared.Pause(); !errors.Is(err, smolvm.ErrState) ||
		!strings.Contains(err.Error(), "is paused: only a running VM can be paused") {
		t.Errorf("Pause of a paused VM: %v; want ErrState naming the state", err)
	}
	if err := shared.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := shared.Resume(); !errors.Is(err, smolvm.ErrState) ||
		!strings.Contains(err.Error(), "is running: only a paused VM can be resumed") {
		t.Errorf("Resume of a running VM: %v; want ErrState naming the state", err)
	}
	got, err := shared.ReadFile("/tmp/before-pause")
	if err != nil || string(got) != "kept" {
		t.Errorf("ReadFile after Resume: %q (%v); want kept", got, err)
	}
}

func TestHooksVetoAndObserve(t *testing.T) {
	vm, err := smolvm.FromID(shared.ID()) // a handle of its own: shared keeps no hooks
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	var seen []string
	refused := errors.New("no deletes in this sandbox")
	vm.AddHooks(smolvm.Hooks{
		PreRun: func(_ context.Context, r *smolvm.RunInfo) error {
			seen = append(seen, "pre "+r.Cmd.Shell)
			if strings.Contains(r.Cmd.Shell, "rm ") {
				return refused
			}
			return nil
		},
		PostRun: func(_ context.Context, r *smolvm.RunInfo) {
			seen = append(seen, fmt.Sprintf("post %d %s", r.Result.ExitCode, bytes.TrimSpace(r.Result.Stdout)))
		},
		RunError: func(_ context.Context, r *smolvm.RunInfo) {
			seen = append(seen, "error "+r.VMID)
		},
	})
	_, err = vm.Run(ctx(t), "touch /tmp/hook-vetoed; rm -f /tmp/hook-vetoed-too")
	var blocked *smolvm.BlockedError
	if !errors.Is(err, smolvm.ErrBlocked) || !errors.Is(err, refused) || !errors.As(err, &blocked) ||
		blocked.VMID != vm.ID() {
		t.Errorf("vetoed Run: %v; want a *BlockedError wrapping the hook's error", err)
	}
	if r, err := vm.Run(ctx(t), "test -e /tmp/hook-vetoed && echo ran; echo hi; exit 3"); err != nil || r.ExitCode != 3 {
		t.Errorf("Run after the veto: %+v, %v", r, err)
	}
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := vm.Run(done, "true"); !errors.Is(err, context.Canceled) {
		t.Errorf("Run with a cancelled ctx: %v; want context.Canceled", err)
	}
	want := []string{
		"pre touch /tmp/hook-vetoed; rm -f /tmp/hook-vetoed-too",
		"pre test -e /tmp/hook-vetoed && echo ran; echo hi; exit 3", "post 3 hi",
		"pre true", "error " + vm.ID(),
	}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("hooks saw %q; want %q", seen, want)
	}
}

func TestOptionsHooksOfANewVM(t *testing.T) {
	var errs []error
	vm, err := smolvm.New(smolvm.Options{Hooks: []smolvm.Hooks{{
		RunError: func(_ context.Context, r *smolvm.RunInfo) { errs = append(errs, r.Err) },
	}}})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	defer vm.Delete()
	// Not started: the command fails, and the hook of Options sees it.
	if _, err := vm.Run(ctx(t), "true"); !errors.Is(err, smolvm.ErrState) {
		t.Errorf("Run of a created VM: %v; want ErrState", err)
	}
	if len(errs) != 1 || !errors.Is(errs[0], smolvm.ErrState) {
		t.Errorf("RunError saw %v; want one ErrState", errs)
	}
}

func TestLifetimePolicyIsKept(t *testing.T) {
	vm, err := smolvm.New(smolvm.Options{TTL: 90 * time.Minute, IdleTimeout: 1500 * time.Millisecond, OnIdle: "stop"})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Delete()
	info, err := vm.Info()
	if err != nil {
		t.Fatal(err)
	}
	// Seconds, rounded up; not running: the whole ttl is left.
	if info.TTL != 90*time.Minute || info.OnTTL != "delete" || info.TTLLeft != 90*time.Minute ||
		info.IdleTimeout != 2*time.Second || info.OnIdle != "stop" || info.PausedBy != "" {
		t.Errorf("lifetime %+v", info)
	}
	if _, err := smolvm.New(smolvm.Options{OnTTL: "pause"}); err == nil ||
		!strings.Contains(err.Error(), "on_ttl='pause': must be one of delete|stop") {
		t.Errorf("New with OnTTL pause: %v; want the library's refusal", err)
	}
}

func TestErrors(t *testing.T) {
	_, err := smolvm.New(smolvm.Options{MemSizeMiB: 64})
	var e *smolvm.Error
	if !errors.Is(err, smolvm.ErrInvalid) || !errors.As(err, &e) {
		t.Fatalf("New with 64 MiB: %v; want an *Error matching ErrInvalid", err)
	}
	if e.Status != smolvm.StatusInvalid || !strings.Contains(e.Message, "mem_size_mib") ||
		!strings.Contains(err.Error(), "EINVAL") {
		t.Errorf("error %q (status %v); want EINVAL naming mem_size_mib", err, e.Status)
	}
	if errors.Is(err, smolvm.ErrNotFound) {
		t.Errorf("%v matches ErrNotFound too", err)
	}
	if _, err := smolvm.New(smolvm.Options{DiskSizeMiB: 100}); err == nil ||
		!strings.Contains(err.Error(), "disk_size_mib=100: must be at least the image's size") {
		t.Errorf("New with a 100 MiB disk: %v; want the image-size error", err)
	}
	if _, err := smolvm.New(smolvm.Options{Boot: "warm"}); !errors.Is(err, smolvm.ErrInvalid) ||
		!strings.Contains(err.Error(), "boot='warm': must be one of auto|cold") {
		t.Errorf("New with Boot warm: %v; want the library's refusal", err)
	}
	if _, err := smolvm.New(smolvm.Options{Image: "go-no-such-image"}); !errors.Is(err, smolvm.ErrNotFound) ||
		!strings.Contains(err.Error(), "image='go-no-such-image': no such image") {
		t.Errorf("New with a missing image: %v; want ErrNotFound naming it", err)
	}

	_, err = smolvm.FromID("vm-no-such-vm")
	if !errors.Is(err, smolvm.ErrNotFound) || !strings.Contains(err.Error(), "vm-no-such-vm") {
		t.Errorf("FromID of a missing id: %v; want ErrNotFound naming the id", err)
	}
}

func TestFromProfile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(good, []byte("apiVersion: smolvm/v1\nkind: VMProfile\nname: go-profile\n"+
		"resources: { vcpu_count: 1, mem_size_mib: 384 }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	vm, err := smolvm.FromProfile(good, "")
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	info, err := vm.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.MemSizeMiB != 384 || info.VCPUCount != 1 {
		t.Errorf("profile resources not applied: %+v", info)
	}
	if err := vm.Delete(); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: smolvm/v1\nkind: VMProfile\nname: b\n"+
		"resources: { mem_size_mib: 64 }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = smolvm.FromProfile(bad, "")
	if !errors.Is(err, smolvm.ErrInvalid) || !strings.Contains(err.Error(), "bad.yaml:4:") ||
		!strings.Contains(err.Error(), "mem_size_mib=64") {
		t.Errorf("bad profile: want ErrInvalid naming bad.yaml:4 and the field, got %v", err)
	}
}

// Text with a NUL byte would be cut short in C: refused before the call,
// naming the field. Byte data may hold NUL. A request too big for one frame
// is refused too, and the VM handle stays usable.
func TestRefusesNulTextAndOversizedRequests(t *testing.T) {
	c := ctx(t)
	for _, tc := range []struct {
		cmd   smolvm.Cmd
		field string
	}{
		{smolvm.Cmd{Shell: "echo a\x00; touch /tmp/nul-ran"}, "Shell"},
		{smolvm.Cmd{Args: []string{"echo", "a\x00b"}}, "Args[1]"},
		{smolvm.Cmd{Shell: "true", Env: []string{"A=x\x00y"}}, "Env[0]"},
		{smolvm.Cmd{Shell: "true", Dir: "/tmp\x00x"}, "Dir"},
	} {
		_, err := shared.Exec(c, tc.cmd)
		if !errors.Is(err, smolvm.ErrInvalid) || !strings.Contains(err.Error(), tc.field+": must not contain NUL") {
			t.Errorf("Exec(%q): %v; want ErrInvalid naming %s", tc.cmd, err, tc.field)
		}
	}
	if err := shared.WriteFile("/tmp/a\x00b", []byte("x"), 0); !errors.Is(err, smolvm.ErrInvalid) ||
		!strings.Contains(err.Error(), "guestPath") {
		t.Errorf("WriteFile with a NUL in the path: %v; want ErrInvalid naming guestPath", err)
	}
	if r, err := shared.Run(c, "test -e /tmp/nul-ran || echo clean"); err != nil || strings.TrimSpace(string(r.Stdout)) != "clean" {
		t.Errorf("the refused command ran anyway (or the VM is unusable): %v %+v", err, r)
	}
	if err := shared.WriteFile("/tmp/nul-data", []byte("a\x00b"), 0); err != nil {
		t.Errorf("data with a NUL byte: %v", err)
	} else if got, err := shared.ReadFile("/tmp/nul-data"); err != nil || string(got) != "a\x00b" {
		t.Errorf("read back %q, %v", got, err)
	}
	_, err := shared.Run(c, "echo "+strings.Repeat("x", 2<<20))
	if !errors.Is(err, smolvm.ErrInvalid) || !strings.Contains(err.Error(), "command: 2097157 bytes") ||
		!strings.Contains(err.Error(), "131072") {
		t.Errorf("a 2 MiB command: %v; want ErrInvalid naming command, its size and the limit", err)
	}
	if r, err := shared.Run(c, "echo still usable"); err != nil || strings.TrimSpace(string(r.Stdout)) != "still usable" {
		t.Errorf("after the refusal: %v %+v", err, r)
	}
}

// ownEphemeralVM starts an ephemeral VM, prints its id and waits to be killed.
func ownEphemeralVM() {
	vm, err := smolvm.New(smolvm.Options{MemSizeMiB: 256, VCPUCount: 1, DeleteWithOwner: true})
	if err == nil {
		err = vm.Start()
	}
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	fmt.Println(vm.ID())
	time.Sleep(time.Hour)
}

func TestEphemeralVMGoesWithItsKilledOwner(t *testing.T) {
	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(), "SMOLVM_GO_TEST_OWNER=1")
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 64)
	n, _ := out.Read(line)
	id := strings.TrimSpace(string(line[:n]))
	vm, err := smolvm.FromID(id)
	if err != nil {
		_ = child.Process.Kill()
		t.Fatalf("the child's VM %q: %v", id, err)
	}
	_ = vm.Close()
	_ = child.Process.Kill() // SIGKILL: no deferred call, no finalizer runs
	_ = child.Wait()
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := smolvm.FromID(id)
		if errors.Is(err, smolvm.ErrNotFound) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("VM %s still exists 15 s after its owner was killed (%v)", id, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDetachOfAVMThatIsNotEphemeralIsANoOp(t *testing.T) {
	if err := shared.Detach(); err != nil {
		t.Fatal(err)
	}
	if _, err := shared.Run(ctx(t), "true"); err != nil {
		t.Fatal(err)
	}
}

func TestEnvIsKeptWithTheVMAndSeenByEveryCommand(t *testing.T) {
	if err := shared.SetEnv(map[string]string{"GREETING": "hello world", "MODE": "dev"}); err != nil {
		t.Fatal(err)
	}
	// Another handle, as another process would have, sees it too.
	other, err := smolvm.FromID(shared.ID())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	r, err := other.Exec(ctx(t), smolvm.Cmd{Args: []string{"printenv", "GREETING"}})
	if err != nil || string(r.Stdout) != "hello world\n" {
		t.Fatalf("printenv GREETING: %q, %v", r.Stdout, err)
	}
	err = shared.SetEnv(map[string]string{"OK": "1", "2BAD": "x"})
	if !errors.Is(err, smolvm.ErrInvalid) || !strings.Contains(err.Error(), "env name '2BAD'") {
		t.Fatalf("a bad name: %v", err)
	}
	if err := shared.UnsetEnv("MODE", "NEVER_SET"); err != nil {
		t.Fatal(err)
	}
	env, err := other.Env()
	if err != nil || len(env) != 1 || env["GREETING"] != "hello world" {
		t.Fatalf("Env() = %v, %v", env, err)
	}
	if err := shared.ReplaceEnv(map[string]string{}); err != nil {
		t.Fatal(err)
	}
	if env, _ := shared.Env(); len(env) != 0 {
		t.Fatalf("after ReplaceEnv({}): %v", env)
	}
}

func TestUploadAndDownloadResolveTheFileName(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(src, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := shared.UploadFile(src, "/tmp/go-up/deep/")
	if err != nil || got != "/tmp/go-up/deep/notes.txt" {
		t.Fatalf("UploadFile = %q, %v", got, err)
	}
	got, err = shared.DownloadFile("/tmp/go-up/deep/notes.txt", filepath.Join(dir, "new", "sub")+"/")
	if err != nil || got != filepath.Join(dir, "new", "sub", "notes.txt") {
		t.Fatalf("DownloadFile = %q, %v", got, err)
	}
	if b, _ := os.ReadFile(got); string(b) != "hello" {
		t.Fatalf("downloaded %q", b)
	}
}

func TestStartWithinABootTimeoutOfItsOwn(t *testing.T) {
	vm, err := smolvm.New(smolvm.Options{MemSizeMiB: 256, VCPUCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	defer vm.Delete()
	err = vm.StartWithin(time.Millisecond)
	if !errors.Is(err, smolvm.ErrTimeout) || !strings.Contains(err.Error(), "within 1 ms") {
		t.Fatalf("StartWithin(1ms) = %v", err)
	}
	if err := vm.StartWithin(-time.Second); !errors.Is(err, smolvm.ErrInvalid) {
		t.Fatalf("a negative timeout: %v", err)
	}
}

func TestSnapshotAndRestore(t *testing.T) {
	if err := shared.WriteFile("/root/before-snapshot", []byte("kept"), 0); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("go-%d", time.Now().UnixNano())
	snap, err := shared.Snapshot(smolvm.SnapshotOptions{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = smolvm.DeleteSnapshot(snap.ID) })
	if !strings.HasPrefix(snap.ID, "snap-") || snap.Name != name || snap.SourceVM != shared.ID() ||
		snap.MemSizeMiB != 256 || snap.VCPUCount != 1 || snap.VMM != "qemu" || snap.StateBytes == 0 ||
		time.Since(snap.CreatedAt) > time.Minute || len(snap.UsedBy) != 0 {
		t.Errorf("Snapshot: %+v; want snap-…, named %s, of %s (256 MiB, 1 vCPU, qemu), state saved", snap, name, shared.ID())
	}
	// The source runs on.
	if info, err := shared.Info(); err != nil || info.State != "running" {
		t.Errorf("source after Snapshot: %q (%v); want running", info.State, err)
	}
	if err := shared.WriteFile("/root/after-snapshot", []byte("later"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := shared.Snapshot(smolvm.SnapshotOptions{Name: name}); !errors.Is(err, smolvm.ErrExists) {
		t.Errorf("Snapshot with a name in use: %v; want ErrExists", err)
	}
	if _, err := smolvm.FromSnapshot(name, smolvm.RestoreOptions{MemSizeMiB: 512}); !errors.Is(err, smolvm.ErrInvalid) ||
		!strings.Contains(err.Error(), "mem_size_mib=512") {
		t.Errorf("FromSnapshot with other memory: %v; want ErrInvalid naming mem_size_mib=512", err)
	}
	if _, err := smolvm.FromSnapshot("no-such-snapshot", smolvm.RestoreOptions{}); !errors.Is(err, smolvm.ErrNotFound) {
		t.Errorf("FromSnapshot of a missing snapshot: %v; want ErrNotFound", err)
	}

	if _, err := smolvm.FromSnapshot(name, smolvm.RestoreOptions{OnIdle: "sleep"}); !errors.Is(err, smolvm.ErrInvalid) ||
		!strings.Contains(err.Error(), "on_idle='sleep'") {
		t.Errorf("FromSnapshot with a bad OnIdle: %v; want ErrInvalid naming on_idle='sleep'", err)
	}

	vm, err := smolvm.FromSnapshot(name, smolvm.RestoreOptions{TTL: time.Hour, OnTTL: "stop", IdleTimeout: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	defer vm.Delete()
	// Its own lifetimes (the source's are not carried over).
	if info, err := vm.Info(); err != nil || info.TTL != time.Hour || info.OnTTL != "stop" ||
		info.IdleTimeout != 5*time.Minute || info.OnIdle != "pause" {
		t.Errorf("restored VM's lifetimes: %+v (%v); want 1h stop, 5m pause", info, err)
	}
	if err := vm.Start(); err != nil {
		t.Fatal(err)
	}
	if got, err := vm.ReadFile("/root/before-snapshot"); err != nil || string(got) != "kept" {
		t.Errorf("restored VM reads the file written before the snapshot: %q (%v); want kept", got, err)
	}
	if r, err := vm.Run(ctx(t), "test -e /root/after-snapshot"); err != nil || r.ExitCode == 0 {
		t.Errorf("restored VM sees the source's later write (%v); want it absent", err)
	}
	if err := smolvm.DeleteSnapshot(name); !errors.Is(err, smolvm.ErrState) || !strings.Contains(err.Error(), vm.ID()) {
		t.Errorf("DeleteSnapshot while a restored VM uses it: %v; want ErrState naming %s", err, vm.ID())
	}
	list, err := smolvm.ListSnapshots()
	if err != nil || len(list) == 0 || list[len(list)-1].ID != snap.ID || len(list[len(list)-1].UsedBy) != 1 {
		t.Errorf("ListSnapshots: %+v (%v); want %s last, used by the restored VM", list, err, snap.ID)
	}
	if err := vm.Delete(); err != nil {
		t.Fatal(err)
	}
	if err := smolvm.DeleteSnapshot(name); err != nil {
		t.Fatal(err)
	}
	if _, err := smolvm.GetSnapshot(snap.ID); !errors.Is(err, smolvm.ErrNotFound) {
		t.Errorf("GetSnapshot after DeleteSnapshot: %v; want ErrNotFound", err)
	}
}
