package fs_test

import (
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/lockdav/lockdav/fs"
	"github.com/lockdav/lockdav/fs/proptest"
)

// The property stores of this package pass the conformance suite every PropStore runs.
func TestPropStores(t *testing.T) {
	t.Run("mem", func(t *testing.T) {
		proptest.Run(t, func(t *testing.T) fs.PropStore { return fs.NewMemProps() })
	})
	t.Run("bolt", func(t *testing.T) {
		proptest.Run(t, func(t *testing.T) fs.PropStore {
			p, err := fs.OpenProps(filepath.Join(t.TempDir(), "props.db"), zerolog.New(zerolog.NewTestWriter(t)))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Close() })
			return p
		})
	})
}
