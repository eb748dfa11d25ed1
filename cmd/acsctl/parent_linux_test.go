package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// exitBound is how long a simulator may take to notice that its parent
// is gone: it polls every 200 ms; the rest is slack for a busy machine.
const exitBound = 10 * time.Second

// The simulator exits when the process that started it is killed, both
// under a shell and under `go run` (the README's way to start it).
func TestSimulatorExitsWithItsParent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildACSCtl(t)
	t.Run("shell", func(t *testing.T) {
		// sh starts the simulator in the background, prints its PID and
		// waits: the simulator's parent is sh.
		parent := exec.Command("sh", "-c", `"$0" simulate brivo --addr 127.0.0.1:0 & echo "pid $!"; wait`, bin)
		checkExitsWithParent(t, parent, pidLine)
	})
	t.Run("go run", func(t *testing.T) {
		gorun := exec.Command("go", "run", ".", "simulate", "brivo", "--addr", "127.0.0.1:0")
		checkExitsWithParent(t, gorun, func([]string) int { return childOf(gorun.Process.Pid) })
	})
	// --outlive-parent keeps it running.
	t.Run("outlive-parent", func(t *testing.T) {
		parent := exec.Command("sh", "-c", `"$0" simulate brivo --outlive-parent & echo "pid $!"; wait`, bin)
		sim, url := startUnder(t, parent, pidLine)
		_ = parent.Process.Kill()
		_ = parent.Wait()
		time.Sleep(3 * parentPollInterval)
		if gone(sim) {
			t.Fatal("the simulator exited with its parent despite --outlive-parent")
		}
		if _, err := http.Get(url); err != nil {
			t.Errorf("the simulator no longer answers: %v", err)
		}
	})
}

// pidLine returns the PID of a "pid N" line (0 when there is none).
func pidLine(lines []string) int {
	for _, l := range lines {
		if pid, ok := strings.CutPrefix(l, "pid "); ok {
			n, _ := strconv.Atoi(pid)
			return n
		}
	}
	return 0
}

// checkExitsWithParent starts parent, finds the simulator's PID with
// simPID from the lines printed so far, kills the parent with SIGKILL and
// requires the simulator to exit within exitBound.
func checkExitsWithParent(t *testing.T, parent *exec.Cmd, simPID func(lines []string) int) {
	t.Helper()
	sim, url := startUnder(t, parent, simPID)
	if err := parent.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = parent.Wait()
	killed := time.Now()
	for !gone(sim) {
		if time.Since(killed) > exitBound {
			t.Fatalf("the simulator (pid %d) still runs %s after its parent was killed", sim, exitBound)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the simulator exited %s after its parent was killed", time.Since(killed).Round(10*time.Millisecond))
	if _, err := http.Get(url); err == nil {
		t.Error("the simulator's port still answers")
	}
}

// startUnder starts parent, reads its output until the simulator's first
// line (its URL) and the simulator's PID are known, and registers the
// clean-up of both processes. It returns the PID and the URL.
func startUnder(t *testing.T, parent *exec.Cmd, simPID func(lines []string) int) (int, string) {
	t.Helper()
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	parent.Stderr = os.Stderr
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	var sim int
	t.Cleanup(func() {
		if sim > 0 && !gone(sim) {
			_ = syscall.Kill(sim, syscall.SIGKILL)
		}
		_ = parent.Process.Kill()
		_ = parent.Wait()
	})
	lines := make(chan string)
	go func() {
		defer close(lines)
		r := bufio.NewReader(out)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				_, _ = io.Copy(io.Discard, r)
				return
			}
			lines <- strings.TrimSpace(l)
		}
	}()
	var seen []string
	url := ""
	deadline := time.After(2 * time.Minute) // go run may compile first
	for url == "" || sim == 0 {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the parent's output ended after %q", seen)
			}
			seen = append(seen, l)
			var info map[string]string
			if json.Unmarshal([]byte(l), &info) == nil {
				url = info["url"]
			}
		case <-deadline:
			t.Fatalf("no simulator line and PID in %q", seen)
		}
		if url != "" && sim == 0 {
			sim = simPID(seen)
		}
	}
	return sim, url
}

// gone reports whether process pid has exited: it no longer exists, or it
// is a zombie its new parent has not reaped yet.
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name in parentheses.
	s := string(stat)
	return strings.HasPrefix(strings.TrimSpace(s[strings.LastIndexByte(s, ')')+1:]), "Z")
}

// childOf returns the PID of a child of process pid (0 when it has none).
func childOf(pid int) int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			n, _ := strconv.Atoi(strings.Split(f, "/")[2])
			return n
		}
	}
	return 0
}
