// Package storetest is the conformance suite every locksystem.Store implementation runs.
package storetest

import (
	"testing"

	"github.com/lockdav/lockdav/locksystem"
)

// Run runs the suite; open opens (or reopens) a store kept in dir.
func Run(t *testing.T, open func(t *testing.T, dir string) locksystem.Store) {
	t.Helper()
}
