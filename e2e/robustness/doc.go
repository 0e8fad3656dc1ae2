// Package robustness runs several real lockdav replicas over one root and a real etcd cluster
// under a concurrent lock workload while a nemesis kills, restarts and pauses processes, and
// checks the recorded history with a linearizability checker against a model of the lock table
// (docs/ARCHITECTURE.md "Several replicas"). It holds tests only.
package robustness
