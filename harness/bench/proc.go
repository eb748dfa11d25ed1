package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// statsPath is the control endpoint of a simulator served by ServeChild.
const statsPath = "/_acsbench/stats"

// Stats are a simulator's counters.
type Stats struct {
	Requests  int64 `json:"requests"`
	OverLimit int64 `json:"over_limit"`
}

// childHello is the first line a child writes on its standard output.
type childHello struct {
	URL string `json:"url"`
}

// ServeChild runs in a child process: it serves provider's simulator on a
// loopback port, writes {"url":…} as one line to out, and serves until
// stop is closed or ctx ends. Besides the vendor API it answers
// GET /_acsbench/stats with the simulator's Stats.
func ServeChild(ctx context.Context, provider string, o SimOptions, out io.Writer, stop <-chan struct{}) error {
	s, err := NewSim(provider, o)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+statsPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(Stats{Requests: s.Requests(), OverLimit: s.OverLimit()})
	})
	mux.Handle("/", s)
	stats := &Sim{Provider: provider, handler: mux}
	if err := stats.Start("127.0.0.1:0"); err != nil {
		return err
	}
	defer stats.Close()
	if err := json.NewEncoder(out).Encode(childHello{URL: stats.URL}); err != nil {
		return err
	}
	select {
	case <-stop:
	case <-ctx.Done():
	}
	return nil
}

// ChildArgs returns the environment that makes a program calling
// MaybeServeChild serve a simulator instead of running.
func ChildArgs(provider string, o SimOptions) []string {
	return []string{
		"ACSBENCH_SIM=" + provider,
		"ACSBENCH_SIM_LATENCY=" + o.Latency.String(),
		fmt.Sprintf("ACSBENCH_SIM_RATE=%d", o.RateLimit),
		fmt.Sprintf("ACSBENCH_SIM_LEVELS=%d", o.ExtraLevels),
	}
}

// MaybeServeChild serves a simulator and exits when the environment holds
// ChildArgs; otherwise it returns at once. Programs and TestMain call it
// first thing, so that StartChild can run them as the simulator process.
// The child stops when its standard input closes (its parent ended).
func MaybeServeChild() {
	provider := os.Getenv("ACSBENCH_SIM")
	if provider == "" {
		return
	}
	var o SimOptions
	var err error
	if v := os.Getenv("ACSBENCH_SIM_LATENCY"); v != "" {
		if o.Latency, err = time.ParseDuration(v); err != nil {
			fatal(err)
		}
	}
	if _, err := fmt.Sscan(os.Getenv("ACSBENCH_SIM_RATE"), &o.RateLimit); err != nil {
		fatal(err)
	}
	if _, err := fmt.Sscan(os.Getenv("ACSBENCH_SIM_LEVELS"), &o.ExtraLevels); err != nil {
		fatal(err)
	}
	stop := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stop)
	}()
	if err := ServeChild(context.Background(), provider, o, os.Stdout, stop); err != nil {
		fatal(err)
	}
	os.Exit(0)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "acsbench simulator:", err)
	os.Exit(1)
}

// Child is a simulator running in a child process, so that what the
// parent measures (CPU time, heap, allocations) is the client's alone.
type Child struct {
	// URL is the simulator's origin.
	URL   string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	hc    *http.Client
}

// StartChild runs exe (a program calling MaybeServeChild first, such as a
// test binary or cmd/acsbench) as provider's simulator and waits for its
// URL.
func StartChild(exe, provider string, o SimOptions) (*Child, error) {
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), ChildArgs(provider, o)...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &Child{cmd: cmd, stdin: stdin, hc: &http.Client{Timeout: 10 * time.Second}}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("bench: simulator process: %w", err)
	}
	var hello childHello
	if err := json.Unmarshal([]byte(line), &hello); err != nil || !strings.HasPrefix(hello.URL, "http://") {
		c.Close()
		return nil, fmt.Errorf("bench: simulator process said %q", line)
	}
	c.URL = hello.URL
	return c, nil
}

// Stats asks the child for its counters.
func (c *Child) Stats(ctx context.Context) (Stats, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL+statsPath, nil)
	if err != nil {
		return Stats{}, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return Stats{}, err
	}
	defer resp.Body.Close()
	var s Stats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return Stats{}, err
	}
	return s, nil
}

// Close ends the child (closing its standard input) and waits for it.
func (c *Child) Close() error {
	_ = c.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
		return errors.New("bench: simulator process did not stop; killed")
	}
}
