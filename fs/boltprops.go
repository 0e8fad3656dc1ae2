package davfs

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/net/webdav"
)

// propsBucket holds one entry per property: key path NUL namespace NUL local,
// value the JSON of storedProp. Keys sort by path first, so a resource's
// properties and those of its descendants ("path/") are contiguous ranges,
// and "/a" never captures "/ab".
var propsBucket = []byte("props")

// storedProp is a property minus its name, which the key holds. InnerXML is
// kept byte for byte (JSON base64-encodes it).
type storedProp struct {
	Lang     string `json:"lang,omitempty"`
	InnerXML []byte `json:"xml"`
}

// BoltProps is a PropStore in a bbolt file. Each call is one transaction.
type BoltProps struct {
	db  *bolt.DB
	log zerolog.Logger
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
	log.Debug().Str("path", path).Msg("props store opened")
	return &BoltProps{db: db, log: log}, nil
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
	name, err := propName(name)
	if err != nil {
		return nil, err
	}
	var out map[xml.Name]webdav.Property
	err = p.db.View(func(tx *bolt.Tx) error {
		for _, e := range self(tx.Bucket(propsBucket), name) {
			_, n := splitKey(e.k)
			var sp storedProp
			if err := json.Unmarshal(e.v, &sp); err != nil {
				return fmt.Errorf("decode property %q of %s: %w", n, name, err)
			}
			if out == nil {
				out = map[xml.Name]webdav.Property{}
			}
			out[n] = webdav.Property{XMLName: n, Lang: sp.Lang, InnerXML: sp.InnerXML}
		}
		return nil
	})
	return out, err
}

func (p *BoltProps) Patch(name string, patches []webdav.Proppatch) ([]webdav.Propstat, error) {
	name, err := propName(name)
	if err != nil {
		return nil, err
	}
	if err := checkPatches(patches); err != nil {
		return nil, err
	}
	err = p.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(propsBucket)
		for _, patch := range patches {
			for _, prop := range patch.Props {
				if err := patchOne(b, name, prop, patch.Remove); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("patch properties of %s: %w", name, err)
	}
	return applyPatches(map[xml.Name]webdav.Property{}, patches), nil
}

func patchOne(b *bolt.Bucket, name string, prop webdav.Property, remove bool) error {
	k := propKey(name, prop.XMLName)
	if remove {
		return b.Delete(k)
	}
	v, err := json.Marshal(storedProp{Lang: prop.Lang, InnerXML: prop.InnerXML})
	if err != nil {
		return err
	}
	return b.Put(k, v)
}

func (p *BoltProps) Move(oldName, newName string) error {
	oldName, err := propName(oldName)
	if err != nil {
		return err
	}
	newName, err = propName(newName)
	if err != nil {
		return err
	}
	err = p.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(propsBucket)
		moved := tree(b, oldName)
		if err := del(b, moved); err != nil {
			return err
		}
		if err := del(b, tree(b, newName)); err != nil {
			return err
		}
		for _, e := range moved {
			name, n := splitKey(e.k)
			if err := b.Put(propKey(rebase(name, oldName, newName), n), e.v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("move properties %s to %s: %w", oldName, newName, err)
	}
	return nil
}

func (p *BoltProps) Copy(oldName, newName string) error {
	oldName, err := propName(oldName)
	if err != nil {
		return err
	}
	newName, err = propName(newName)
	if err != nil {
		return err
	}
	err = p.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(propsBucket)
		src := self(b, oldName)
		if err := del(b, self(b, newName)); err != nil {
			return err
		}
		for _, e := range src {
			_, n := splitKey(e.k)
			if err := b.Put(propKey(newName, n), e.v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("copy properties %s to %s: %w", oldName, newName, err)
	}
	return nil
}

func (p *BoltProps) RemoveTree(name string) error {
	name, err := propName(name)
	if err != nil {
		return err
	}
	err = p.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(propsBucket)
		return del(b, tree(b, name))
	})
	if err != nil {
		return fmt.Errorf("remove properties of %s: %w", name, err)
	}
	return nil
}

// Close closes the bbolt file.
func (p *BoltProps) Close() error { return p.db.Close() }
