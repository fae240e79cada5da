// Boots a disposable VM, runs an agent-style command in it, shows a
// context deadline killing a runaway command, and removes the VM.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"smolvm"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run() (err error) {
	vm, err := smolvm.New(smolvm.Options{MemSizeMiB: 512})
	if err != nil {
		return err
	}
	defer vm.Close() // releases the handle; runs last
	defer func() {   // the VM outlives this process unless deleted
		if derr := vm.Delete(); err == nil {
			err = derr
		}
	}()

	start := time.Now()
	if err := vm.Start(); err != nil {
		return err
	}
	fmt.Printf("VM %s booted in %v\n", vm.ID(), time.Since(start).Round(time.Millisecond))

	ctx := context.Background()
	r, err := vm.Run(ctx, "python3 -c 'print(6*7)'")
	if err != nil {
		return err
	}
	fmt.Printf("exit %d, stdout %q\n", r.ExitCode, r.Stdout)

	// A context deadline kills the command in the guest.
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := vm.Run(short, "sleep 600"); !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("sleep 600 under a 1 s deadline: want DeadlineExceeded, got %v", err)
	}
	fmt.Println("runaway command killed at the deadline")

	// Library failures are *smolvm.Error values that match sentinels.
	_, err = smolvm.FromID("vm-does-not-exist")
	if !errors.Is(err, smolvm.ErrNotFound) {
		return fmt.Errorf("FromID of a missing VM: want ErrNotFound, got %v", err)
	}
	fmt.Println("missing VM:", err)
	return nil
}
