// Command lockdav-bench drives lockdav and a bare x/net/webdav reference side by side on
// loopback and prints throughput and latency per workload (make bench).
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "lockdav-bench: not implemented yet")
	os.Exit(2)
}
