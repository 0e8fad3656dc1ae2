package main

// CPU per operation: the CPU time the machine spent on a server's rounds, divided by the
// operations they did. lockdav and x/net run in the benchmark's process beside their clients,
// nginx and etcd in processes of their own, so throughput alone mixes how much work a server
// does with how the scheduler shares two cores between processes. Counting the benchmark
// process (clients, and the server where it is in-process) plus the target's own processes
// compares the work per operation, client included on every side.

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"
)

// clockTick is the unit of /proc/<pid>/stat's utime and stime: USER_HZ, 100 on Linux.
const clockTick = 10 * time.Millisecond

// selfCPU is the user and system time of this process so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// treeCPU is the user and system time so far of process pid and of its children (nginx's
// workers), read from /proc; 0 for pid 0 or where /proc cannot say.
func treeCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	total, _ := procCPU(pid)
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return total
	}
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil || child == pid {
			continue
		}
		if cpu, ppid := procCPU(child); ppid == pid {
			total += cpu
		}
	}
	return total
}

// procCPU reads utime + stime and the parent of process pid from /proc/<pid>/stat.
func procCPU(pid int) (cpu time.Duration, ppid int) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0
	}
	return parseStat(data)
}

// parseStat takes utime, stime (fields 14 and 15) and ppid (field 4) from a /proc/<pid>/stat
// line. The command name (field 2) is in parentheses and may hold spaces, so fields are
// counted from the last ')'.
func parseStat(data []byte) (cpu time.Duration, ppid int) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, 0
	}
	f := bytes.Fields(data[i+1:]) // f[0] is field 3, the state
	if len(f) < 13 {
		return 0, 0
	}
	ppid, _ = strconv.Atoi(string(f[1]))
	utime, _ := strconv.ParseInt(string(f[11]), 10, 64)
	stime, _ := strconv.ParseInt(string(f[12]), 10, 64)
	return time.Duration(utime+stime) * clockTick, ppid
}
