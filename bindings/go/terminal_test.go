package smolvm_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"smolvm"
)

// screen is what a terminal showed so far, filled by a goroutine that reads
// it until it ends: Read blocks, so a marker that never shows must not
// hang the test.
type screen struct {
	chunks chan []byte
	seen   []byte
}

func watch(term *smolvm.Terminal) *screen {
	s := &screen{chunks: make(chan []byte, 64)}
	go func() {
		defer close(s.chunks)
		buf := make([]byte, 4096)
		for {
			n, err := term.Read(buf)
			if n > 0 {
				s.chunks <- append([]byte(nil), buf[:n]...)
			}
			if err != nil {
				return
			}
		}
	}()
	return s
}

// until waits for marker in what the terminal shows next; what came up to
// and including it is consumed.
func (s *screen) until(t *testing.T, marker string) string {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		if i := bytes.Index(s.seen, []byte(marker)); i >= 0 {
			got := string(s.seen[:i+len(marker)])
			s.seen = s.seen[i+len(marker):]
			return got
		}
		select {
		case c, ok := <-s.chunks:
			if !ok {
				t.Fatalf("the terminal ended before %q showed; it showed %q", marker, s.seen)
			}
			s.seen = append(s.seen, c...)
		case <-deadline:
			t.Fatalf("%q did not show within 30 s; the terminal showed %q", marker, s.seen)
		}
	}
}

func typeIn(t *testing.T, term *smolvm.Terminal, text string) {
	t.Helper()
	if _, err := io.WriteString(term, text); err != nil {
		t.Fatalf("typing %q: %v", text, err)
	}
}

// One shell on the shared VM: its size, a resize, python3 typed into it,
// and its exit code (issue 21's terminal checks).
func TestShellSizeResizePythonAndExitCode(t *testing.T) {
	term, err := shared.Shell("", smolvm.TermSize{Rows: 30, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer term.Close()
	s := watch(term)
	// Quoted apart so that the echo of the typed line is not the prompt.
	typeIn(t, term, "PS1='gu''est# '; stty size\n")
	if got := s.until(t, "guest# "); !strings.Contains(got, "30 100") {
		t.Errorf("stty size on a 30x100 terminal showed %q", got)
	}
	if err := term.Resize(40, 120); err != nil {
		t.Fatal(err)
	}
	typeIn(t, term, "stty size\n")
	s.until(t, "40 120")
	typeIn(t, term, "python3\n")
	s.until(t, ">>> ")
	typeIn(t, term, "print(6*7)\n")
	s.until(t, "42")
	typeIn(t, term, "exit()\n")
	s.until(t, "guest# ")
	typeIn(t, term, "exit 9\n")
	code, err := term.Wait(30 * time.Second)
	if err != nil || code != 9 {
		t.Errorf("Wait: code %d, err %v; want 9 (the shell's exit code)", code, err)
	}
}

func TestPtyAsTheUnprivilegedUserAndRefusals(t *testing.T) {
	term, err := shared.Pty(smolvm.Cmd{Shell: "id -un; stty size; echo $TERM", ShellMode: "raw", User: "user"},
		smolvm.TermSize{Rows: 10, Cols: 20, Term: "vt100"})
	if err != nil {
		t.Fatal(err)
	}
	defer term.Close()
	out, err := io.ReadAll(term)
	if err != nil {
		t.Fatal(err)
	}
	if want := "user\r\n10 20\r\nvt100\r\n"; string(out) != want {
		t.Errorf("the terminal showed %q, want %q", out, want)
	}
	if code, err := term.Wait(0); err != nil || code != 0 {
		t.Errorf("Wait: code %d, err %v; want 0", code, err)
	}
	if err := term.Resize(0, 5); !errors.Is(err, smolvm.ErrInvalid) || !strings.Contains(err.Error(), "rows and cols must be 1..1000") {
		t.Errorf("Resize(0, 5): %v; want ErrInvalid naming the range", err)
	}
	if _, err := shared.Pty(smolvm.Cmd{Shell: "true"}, smolvm.TermSize{Rows: 24, Cols: 1001}); !errors.Is(err, smolvm.ErrInvalid) {
		t.Errorf("Pty 24x1001: %v; want ErrInvalid", err)
	}
}
