package fs

// Dead properties are covered by RFC 4918 Section 4 (the property model)
// and Section 9.2 (PROPPATCH: "either all or none" of the instructions).

import (
	"encoding/xml"
	"fmt"
	"maps"
	"net/http"
	"path"
	"strings"
	"sync"

	"golang.org/x/net/webdav"
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
		p, err := f.props.Get(memberPath(dir, n))
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

// memberPath is the path of the member name of the clean directory dir.
func memberPath(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

// propName cleans a PropStore key. NUL separates the fields of BoltProps keys,
// so it may appear in no part of one.
func propName(name string) (string, error) {
	if strings.Contains(name, "\x00") {
		return "", invalid(name, "NUL byte")
	}
	return path.Clean("/" + name), nil
}

// propNames checks the two names of a Move or Copy.
func propNames(oldName, newName string) (string, string, error) {
	o, err := propName(oldName)
	if err != nil {
		return "", "", err
	}
	n, err := propName(newName)
	return o, n, err
}

// checkPatches refuses property names a key cannot hold.
func checkPatches(patches []webdav.Proppatch) error {
	for _, p := range patches {
		for _, prop := range p.Props {
			n := prop.XMLName
			if n.Local == "" || strings.Contains(n.Local+n.Space, "\x00") {
				return fmt.Errorf("%w: property name %q %q", ErrInvalidName, n.Space, n.Local)
			}
		}
	}
	return nil
}

// applyPatches applies patches to props in order (a later instruction wins,
// so remove-then-set sets) and returns what x/net's memFile.Patch returns:
// one Propstat, status 200, naming every property.
func applyPatches(props map[xml.Name]webdav.Property, patches []webdav.Proppatch) []webdav.Propstat {
	pstat := webdav.Propstat{Status: http.StatusOK}
	for _, patch := range patches {
		for _, p := range patch.Props {
			pstat.Props = append(pstat.Props, webdav.Property{XMLName: p.XMLName})
			if patch.Remove {
				delete(props, p.XMLName)
				continue
			}
			props[p.XMLName] = cloneProp(p)
		}
	}
	return []webdav.Propstat{pstat}
}

func cloneProp(p webdav.Property) webdav.Property {
	p.InnerXML = append([]byte(nil), p.InnerXML...)
	return p
}

// inTree reports whether key is root or lies below it.
func inTree(key, root string) bool {
	return key == root || strings.HasPrefix(key, strings.TrimSuffix(root, "/")+"/")
}

// rebase renames key, which lies in the tree of oldRoot, into newRoot's.
func rebase(key, oldRoot, newRoot string) string {
	if key == oldRoot {
		return newRoot
	}
	return path.Join(newRoot, strings.TrimPrefix(key, strings.TrimSuffix(oldRoot, "/")+"/"))
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
	name, err := propName(name)
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
		out[k] = cloneProp(v)
	}
	return out, nil
}

func (m *memProps) Patch(name string, patches []webdav.Proppatch) ([]webdav.Propstat, error) {
	name, err := propName(name)
	if err != nil {
		return nil, err
	}
	if err := checkPatches(patches); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p := maps.Clone(m.props[name])
	if p == nil {
		p = map[xml.Name]webdav.Property{}
	}
	stats := applyPatches(p, patches)
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
	oldName, newName, err := propNames(oldName, newName)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	moved := map[string]map[xml.Name]webdav.Property{}
	for k, v := range m.props {
		if inTree(k, oldName) {
			moved[rebase(k, oldName, newName)] = v
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
	oldName, newName, err := propNames(oldName, newName)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.set(newName, maps.Clone(m.props[oldName]))
	return nil
}

func (m *memProps) RemoveTree(name string) error {
	name, err := propName(name)
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
		if inTree(k, name) {
			delete(m.props, k)
		}
	}
}

func (m *memProps) Close() error { return nil }
