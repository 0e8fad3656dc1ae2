package fs

// Dead properties are covered by RFC 4918 Section 4 (the property model)
// and Section 9.2 (PROPPATCH: "either all or none" of the instructions).

import (
	"encoding/xml"
	"maps"
	"sync"

	"golang.org/x/net/webdav"

	"github.com/lockdav/lockdav/fs/internal/propkit"
)

// PropStore holds durable dead properties keyed by cleaned slash path.
type PropStore interface {
	// Get returns a copy of the properties of name; nil when it has none.
	Get(name string) (map[xml.Name]webdav.Property, error)
	// Patch applies patches to name atomically, with the semantics of
	// webdav.DeadPropsHolder.Patch.
	Patch(name string, patches []webdav.Proppatch) ([]webdav.Propstat, error)
	// Move moves the properties of name and everything below it, replacing
	// whatever newName and its descendants held.
	Move(oldName, newName string) error
	// Copy replaces the properties of newName (alone) with those of oldName.
	Copy(oldName, newName string) error
	// RemoveTree removes the properties of name and everything below it.
	RemoveTree(name string) error
	Close() error
}

// batchGetter is a PropStore that reads the properties of many members of a directory in one
// go, as a listing wants them (one transaction per chunk of members instead of one per member).
type batchGetter interface {
	// GetMany returns the properties of each member of dir named in names that has some,
	// keyed by name.
	GetMany(dir string, names []string) (map[string]map[xml.Name]webdav.Property, error)
}

// DeadProps returns the dead properties of name (RFC 4918 §4), nil when it has none.
func (f *FS) DeadProps(name string) (map[xml.Name]webdav.Property, error) {
	n, err := cleanName(name)
	if err != nil {
		return nil, err
	}
	return f.props.Get(n)
}

// DeadPropsOf returns the dead properties of each member of dir (a clean path) named in names
// (as a directory read returned them) that has some, keyed by name.
func (f *FS) DeadPropsOf(dir string, names []string) (map[string]map[xml.Name]webdav.Property, error) {
	if bg, ok := f.props.(batchGetter); ok {
		return bg.GetMany(dir, names)
	}
	var out map[string]map[xml.Name]webdav.Property
	for _, n := range names {
		p, err := f.props.Get(propkit.MemberPath(dir, n))
		if err != nil {
			return nil, err
		}
		if p != nil {
			if out == nil {
				out = map[string]map[xml.Name]webdav.Property{}
			}
			out[n] = p
		}
	}
	return out, nil
}

// memProps is a PropStore in memory, for tests and for trees that need no
// durability.
type memProps struct {
	mu    sync.Mutex // guards props
	props map[string]map[xml.Name]webdav.Property
}

// NewMemProps returns an empty in-memory PropStore.
func NewMemProps() PropStore {
	return &memProps{props: map[string]map[xml.Name]webdav.Property{}}
}

func (m *memProps) Get(name string) (map[xml.Name]webdav.Property, error) {
	name, err := propkit.Name(name)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.props[name]
	if len(p) == 0 {
		return nil, nil
	}
	out := make(map[xml.Name]webdav.Property, len(p))
	for k, v := range p {
		out[k] = propkit.Clone(v)
	}
	return out, nil
}

func (m *memProps) Patch(name string, patches []webdav.Proppatch) ([]webdav.Propstat, error) {
	name, err := propkit.PatchName(name, patches)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p := maps.Clone(m.props[name])
	if p == nil {
		p = map[xml.Name]webdav.Property{}
	}
	stats := propkit.Apply(p, patches)
	m.set(name, p)
	return stats, nil
}

// set stores p under name, dropping empty maps; m.mu must be held.
func (m *memProps) set(name string, p map[xml.Name]webdav.Property) {
	if len(p) == 0 {
		delete(m.props, name)
		return
	}
	m.props[name] = p
}

func (m *memProps) Move(oldName, newName string) error {
	oldName, newName, err := propkit.Names(oldName, newName)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	moved := map[string]map[xml.Name]webdav.Property{}
	for k, v := range m.props {
		if propkit.InTree(k, oldName) {
			moved[propkit.Rebase(k, oldName, newName)] = v
			delete(m.props, k)
		}
	}
	m.removeTree(newName)
	for k, v := range moved {
		m.props[k] = v
	}
	return nil
}

func (m *memProps) Copy(oldName, newName string) error {
	oldName, newName, err := propkit.Names(oldName, newName)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.set(newName, maps.Clone(m.props[oldName]))
	return nil
}

func (m *memProps) RemoveTree(name string) error {
	name, err := propkit.Name(name)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.removeTree(name)
	return nil
}

// removeTree deletes name and its descendants; m.mu must be held.
func (m *memProps) removeTree(name string) {
	for k := range m.props {
		if propkit.InTree(k, name) {
			delete(m.props, k)
		}
	}
}

func (m *memProps) Close() error { return nil }
