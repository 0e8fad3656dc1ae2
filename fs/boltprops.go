package fs

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/net/webdav"

	"github.com/lockdav/lockdav/fs/internal/propkit"
)

// propsBucket holds one entry per property: key path NUL namespace NUL local,
// value propkit.Encode's. Keys sort by path first, so a resource's
// properties and those of its descendants ("path/") are contiguous ranges,
// and "/a" never captures "/ab".
var propsBucket = []byte("props")

// BoltProps is a PropStore in a bbolt file. Each change is one transaction.
//
// Most resources have no dead properties, and PROPFIND asks for those of
// every member it lists, twice. held, kept in memory beside the file, names
// every path that has properties (and perhaps a few that had), so that Get
// answers the others without a transaction.
type BoltProps struct {
	// wmu serialises write transactions with their changes to held: a path
	// is added before the transaction that gives it properties commits, and
	// removed only after the one that takes its last ones has committed.
	wmu sync.Mutex
	// mu guards held.
	mu   sync.RWMutex
	held map[string]struct{}
	db   *bolt.DB
	log  zerolog.Logger
}

var _ PropStore = (*BoltProps)(nil)

// OpenProps opens (creating if needed) the bbolt file at path. A file held by
// another process makes it fail after a second instead of waiting forever.
func OpenProps(path string, log zerolog.Logger) (*BoltProps, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("open props %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(propsBucket)
		return err
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("init props %s: %w", path, err), db.Close())
	}
	held, err := loadHeld(db)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("read props %s: %w", path, err), db.Close())
	}
	log.Debug().Str("path", path).Int("paths", len(held)).Msg("props store opened")
	return &BoltProps{db: db, log: log, held: held}, nil
}

// loadHeld returns the paths that have properties in db.
func loadHeld(db *bolt.DB) (map[string]struct{}, error) {
	held := map[string]struct{}{}
	err := db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(propsBucket).ForEach(func(k, _ []byte) error {
			name, _ := splitKey(k)
			held[name] = struct{}{}
			return nil
		})
	})
	return held, err
}

// mayHold reports whether name may have properties.
func (p *BoltProps) mayHold(name string) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	_, ok := p.held[name]
	return ok
}

// hold records that name is about to get properties; p.wmu must be held.
func (p *BoltProps) hold(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.held[name] = struct{}{}
}

// update runs fn in a write transaction. fn returns the paths that may have
// lost their last properties; those left with none are dropped from held
// once the transaction has committed.
func (p *BoltProps) update(fn func(b *bolt.Bucket) (touched []string, err error)) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	var emptied []string
	err := p.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(propsBucket)
		touched, err := fn(b)
		for _, name := range touched {
			if len(self(b, name)) == 0 {
				emptied = append(emptied, name)
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, name := range emptied {
		delete(p.held, name)
	}
	return nil
}

// paths returns the distinct paths of entries (sorted by key, so a path's
// entries are adjacent).
func paths(es []entry) []string {
	var out []string
	for _, e := range es {
		if name, _ := splitKey(e.k); len(out) == 0 || out[len(out)-1] != name {
			out = append(out, name)
		}
	}
	return out
}

func propKey(name string, n xml.Name) []byte {
	return []byte(name + "\x00" + n.Space + "\x00" + n.Local)
}

// splitKey returns the path and property name of a key.
func splitKey(k []byte) (string, xml.Name) {
	parts := strings.SplitN(string(k), "\x00", 3)
	if len(parts) != 3 {
		return parts[0], xml.Name{}
	}
	return parts[0], xml.Name{Space: parts[1], Local: parts[2]}
}

// entry is one stored property, key and value, as found by a scan.
type entry struct{ k, v []byte }

// scan returns the entries whose keys start with prefix.
func scan(b *bolt.Bucket, prefix string) []entry {
	var out []entry
	c := b.Cursor()
	p := []byte(prefix)
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		out = append(out, entry{bytes.Clone(k), bytes.Clone(v)})
	}
	return out
}

// self returns the entries of name alone.
func self(b *bolt.Bucket, name string) []entry { return scan(b, name+"\x00") }

// tree returns the entries of name and of everything below it.
func tree(b *bolt.Bucket, name string) []entry {
	if name == "/" {
		return scan(b, "/")
	}
	return append(self(b, name), scan(b, strings.TrimSuffix(name, "/")+"/")...)
}

func del(b *bolt.Bucket, es []entry) error {
	for _, e := range es {
		if err := b.Delete(e.k); err != nil {
			return err
		}
	}
	return nil
}

func (p *BoltProps) Get(name string) (map[xml.Name]webdav.Property, error) {
	name, err := propkit.Name(name)
	if err != nil {
		return nil, err
	}
	if !p.mayHold(name) {
		return nil, nil
	}
	var out map[xml.Name]webdav.Property
	err = p.db.View(func(tx *bolt.Tx) (err error) {
		out, err = decodeSelf(tx.Bucket(propsBucket), name)
		return err
	})
	return out, err
}

// GetMany implements batchGetter: the members that may hold properties are read in one
// transaction, the others (nearly all, in most trees) not at all, nor is their path built.
func (p *BoltProps) GetMany(dir string, names []string) (map[string]map[xml.Name]webdav.Property, error) {
	held := p.heldMembers(dir, names)
	if len(held) == 0 {
		return nil, nil
	}
	out := make(map[string]map[xml.Name]webdav.Property, len(held))
	err := p.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(propsBucket)
		for _, n := range held {
			props, err := decodeSelf(b, propkit.MemberPath(dir, n))
			if err != nil {
				return err
			}
			if props != nil {
				out[n] = props
			}
		}
		return nil
	})
	return out, err
}

// heldMembers returns those of names whose path under dir may have properties.
func (p *BoltProps) heldMembers(dir string, names []string) []string {
	var held []string
	key := make([]byte, 0, 256)
	p.mu.RLock()
	defer p.mu.RUnlock()
	if len(p.held) == 0 {
		return nil
	}
	for _, n := range names {
		key = append(key[:0], dir...)
		if dir != "/" {
			key = append(key, '/')
		}
		key = append(key, n...)
		if _, ok := p.held[string(key)]; ok { // no allocation: the compiler looks the bytes up
			held = append(held, n)
		}
	}
	return held
}

// decodeSelf reads the properties of name alone; nil when it has none.
func decodeSelf(b *bolt.Bucket, name string) (map[xml.Name]webdav.Property, error) {
	var out map[xml.Name]webdav.Property
	for _, e := range self(b, name) {
		_, n := splitKey(e.k)
		var err error
		if out, err = propkit.Decode(out, n, e.v); err != nil {
			return nil, fmt.Errorf("properties of %s: %w", name, err)
		}
	}
	return out, nil
}

func (p *BoltProps) Patch(name string, patches []webdav.Proppatch) ([]webdav.Propstat, error) {
	name, err := propkit.PatchName(name, patches)
	if err != nil {
		return nil, err
	}
	err = p.update(func(b *bolt.Bucket) ([]string, error) {
		p.hold(name)
		for _, patch := range patches {
			for _, prop := range patch.Props {
				if err := patchOne(b, name, prop, patch.Remove); err != nil {
					return nil, err
				}
			}
		}
		return []string{name}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("patch properties of %s: %w", name, err)
	}
	return propkit.Apply(map[xml.Name]webdav.Property{}, patches), nil
}

func patchOne(b *bolt.Bucket, name string, prop webdav.Property, remove bool) error {
	k := propKey(name, prop.XMLName)
	if remove {
		return b.Delete(k)
	}
	v, err := propkit.Encode(prop)
	if err != nil {
		return err
	}
	return b.Put(k, v)
}

func (p *BoltProps) Move(oldName, newName string) error {
	oldName, newName, err := propkit.Names(oldName, newName)
	if err != nil {
		return err
	}
	err = p.update(func(b *bolt.Bucket) ([]string, error) {
		moved, replaced := tree(b, oldName), tree(b, newName)
		if err := del(b, moved); err != nil {
			return nil, err
		}
		if err := del(b, replaced); err != nil {
			return nil, err
		}
		for _, e := range moved {
			name, n := splitKey(e.k)
			to := propkit.Rebase(name, oldName, newName)
			p.hold(to)
			if err := b.Put(propKey(to, n), e.v); err != nil {
				return nil, err
			}
		}
		return append(paths(moved), paths(replaced)...), nil
	})
	if err != nil {
		return fmt.Errorf("move properties %s to %s: %w", oldName, newName, err)
	}
	return nil
}

func (p *BoltProps) Copy(oldName, newName string) error {
	oldName, newName, err := propkit.Names(oldName, newName)
	if err != nil {
		return err
	}
	err = p.update(func(b *bolt.Bucket) ([]string, error) {
		src := self(b, oldName)
		if err := del(b, self(b, newName)); err != nil {
			return nil, err
		}
		if len(src) > 0 {
			p.hold(newName)
		}
		for _, e := range src {
			_, n := splitKey(e.k)
			if err := b.Put(propKey(newName, n), e.v); err != nil {
				return nil, err
			}
		}
		return []string{newName}, nil
	})
	if err != nil {
		return fmt.Errorf("copy properties %s to %s: %w", oldName, newName, err)
	}
	return nil
}

func (p *BoltProps) RemoveTree(name string) error {
	name, err := propkit.Name(name)
	if err != nil {
		return err
	}
	err = p.update(func(b *bolt.Bucket) ([]string, error) {
		gone := tree(b, name)
		return paths(gone), del(b, gone)
	})
	if err != nil {
		return fmt.Errorf("remove properties of %s: %w", name, err)
	}
	return nil
}

// Close closes the bbolt file.
func (p *BoltProps) Close() error { return p.db.Close() }
