package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCPUOf(t *testing.T) {
	// A name with spaces and a parenthesis, as a process may have.
	stat := "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 100 1000 10\n"
	path := filepath.Join(t.TempDir(), "stat")
	if err := os.WriteFile(path, []byte(stat), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := cpuOf(path); err != nil || got != 3*time.Second {
		t.Errorf("cpuOf = %v, %v; want 3s (250 + 50 ticks)", got, err)
	}
	if err := os.WriteFile(path, []byte("1234 (x) S 1"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := cpuOf(path); err == nil {
		t.Error("a short stat line gave no error")
	}
}

// The load tool counts its own CPU: spin for a while and see it grow.
func TestTakeCPUSeesSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system")
	}
	before := takeCPU(nil)
	for start := time.Now(); time.Since(start) < 300*time.Millisecond; {
	}
	after := takeCPU(nil)
	if after["dargah-load"] <= before["dargah-load"] {
		t.Errorf("own CPU went from %v to %v after spinning", before["dargah-load"], after["dargah-load"])
	}
}
