package main

import (
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	line := []byte("4242 (nginx: worker (x) ) S 4241 4241 4241 0 -1 4194624 1 0 0 0 150 25 0 0 20 0 1 0 1 1 1\n")
	cpu, ppid := parseStat(line)
	if cpu != 175*clockTick || ppid != 4241 {
		t.Fatalf("parseStat = %v, ppid %d; want %v, 4241", cpu, ppid, 175*clockTick)
	}
	if cpu, ppid := parseStat([]byte("garbage")); cpu != 0 || ppid != 0 {
		t.Fatalf("parseStat(garbage) = %v, %d", cpu, ppid)
	}
}

// TestSelfCPUGrows checks that the clock the benchmark reads moves with work done: spinning
// must show as CPU time well within a few seconds, however loaded the machine.
func TestSelfCPUGrows(t *testing.T) {
	before := selfCPU()
	for start := time.Now(); selfCPU()-before < 20*time.Millisecond; {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("5 s of spinning counted %v of CPU", selfCPU()-before)
		}
	}
}
