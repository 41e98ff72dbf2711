package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Where a run's CPU went, by process name, from /proc (Linux): Dargah,
// PostgreSQL and Redis usually share the machine with the load tool, and
// the CPU each spends per message says which one limits the run.

// userHZ is the unit of utime and stime in /proc/<pid>/stat: USER_HZ, 100
// on every Linux architecture Dargah runs on.
const userHZ = 100

// cpuSnapshot is the CPU time used so far by every process whose name
// (comm) is in names, summed per name, plus this process as "dargah-load".
type cpuSnapshot map[string]time.Duration

func takeCPU(names []string) cpuSnapshot {
	snap := cpuSnapshot{}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
		snap[n] = 0
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range dirs {
		comm, err := os.ReadFile(filepath.Join(dir, "comm"))
		if err != nil || !want[strings.TrimSpace(string(comm))] {
			continue
		}
		if t, err := cpuOf(filepath.Join(dir, "stat")); err == nil {
			snap[strings.TrimSpace(string(comm))] += t
		}
	}
	if t, err := cpuOf("/proc/self/stat"); err == nil {
		snap["dargah-load"] = t
	}
	return snap
}

// cpuOf reads utime+stime from a /proc/<pid>/stat file.
func cpuOf(path string) (time.Duration, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	// The name (field 2) may hold spaces and parentheses: fields count
	// from the last ")".
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0, fmt.Errorf("%s: no process name", path)
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("%s: %d fields after the name", path, len(f))
	}
	var ticks int64
	for _, s := range f[11:13] { // utime, stime: fields 14 and 15
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// printCPU writes what each name used between before and after, in all
// and per decided message.
func printCPU(w io.Writer, names []string, before, after cpuSnapshot, decided int64) {
	var parts []string
	for _, n := range append(names, "dargah-load") {
		d := after[n] - before[n]
		per := "-"
		if decided > 0 {
			per = fmt.Sprintf("%.3f ms/msg", float64(d)/float64(time.Millisecond)/float64(decided))
		}
		parts = append(parts, fmt.Sprintf("%s %.2fs (%s)", n, d.Seconds(), per))
	}
	fmt.Fprintf(w, "cpu: %s\n", strings.Join(parts, ", "))
}
