package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSurge(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), options{attendees: 12, rate: 500, desks: 4, progress: true}, &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"checked in           12 of 12 (failed 0, credential pending 0)",
		"12/12", // the progress bar's last frame
		"requests used        ",
		"rate limit used      ",
		"over-limit answers   ",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	// At least five Brivo requests per check-in reached the simulator.
	var used int
	if _, err := fmt.Sscanf(s[strings.Index(s, "requests used"):], "requests used %d", &used); err != nil || used < 5*12 {
		t.Errorf("requests used %d (%v), want at least 60", used, err)
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Error("a regular file is reported as a terminal")
	}
}
