// Package propkit is what every PropStore shares (package fs's own and fs/etcdprops), so that
// they refuse the same names, answer a PROPPATCH alike (RFC 4918 §9.2) and store a property's
// value in the same form: name checks, the result of a patch, path arithmetic on trees, and the
// stored encoding of a value.
package propkit

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"

	"golang.org/x/net/webdav"
)

// ErrInvalidName is fs.ErrInvalidName, defined here so that stores outside package fs wrap the
// same sentinel.
var ErrInvalidName = errors.New("fs: invalid name")

// Invalid is the error for name, refused for the reason why.
func Invalid(name, why string) error {
	return fmt.Errorf("%w %q: %s", ErrInvalidName, Truncate(name), why)
}

// Truncate keeps error messages (and logs) short for hostile names.
func Truncate(s string) string {
	const keep = 64
	if len(s) <= keep {
		return s
	}
	return s[:keep] + "..."
}

// Name cleans a PropStore key. NUL separates the fields of stored keys, so it may appear in
// no part of one.
func Name(name string) (string, error) {
	if strings.Contains(name, "\x00") {
		return "", Invalid(name, "NUL byte")
	}
	return path.Clean("/" + name), nil
}

// Names checks the two names of a Move or Copy.
func Names(oldName, newName string) (string, string, error) {
	o, err := Name(oldName)
	if err != nil {
		return "", "", err
	}
	n, err := Name(newName)
	return o, n, err
}

// PatchName checks the arguments of a Patch: it returns name cleaned, or refuses it or a
// property name a key cannot hold.
func PatchName(name string, patches []webdav.Proppatch) (string, error) {
	name, err := Name(name)
	if err != nil {
		return "", err
	}
	return name, checkPatches(patches)
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

// Apply applies patches to props in order (a later instruction wins, so remove-then-set sets)
// and returns what x/net's memFile.Patch returns: one Propstat, status 200, naming every
// property.
func Apply(props map[xml.Name]webdav.Property, patches []webdav.Proppatch) []webdav.Propstat {
	pstat := webdav.Propstat{Status: http.StatusOK}
	for _, patch := range patches {
		for _, p := range patch.Props {
			pstat.Props = append(pstat.Props, webdav.Property{XMLName: p.XMLName})
			if patch.Remove {
				delete(props, p.XMLName)
				continue
			}
			props[p.XMLName] = Clone(p)
		}
	}
	return []webdav.Propstat{pstat}
}

// Clone returns p with its own copy of InnerXML.
func Clone(p webdav.Property) webdav.Property {
	p.InnerXML = append([]byte(nil), p.InnerXML...)
	return p
}

// InTree reports whether key is root or lies below it.
func InTree(key, root string) bool {
	return key == root || strings.HasPrefix(key, strings.TrimSuffix(root, "/")+"/")
}

// Rebase renames key, which lies in the tree of oldRoot, into newRoot's.
func Rebase(key, oldRoot, newRoot string) string {
	if key == oldRoot {
		return newRoot
	}
	return path.Join(newRoot, strings.TrimPrefix(key, strings.TrimSuffix(oldRoot, "/")+"/"))
}

// MemberPath is the path of the member name of the clean directory dir.
func MemberPath(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

// stored is a property minus its name, which the key holds. InnerXML is kept byte for byte
// (JSON base64-encodes it).
type stored struct {
	Lang     string `json:"lang,omitempty"`
	InnerXML []byte `json:"xml"`
}

// Encode is the stored form of p's value: JSON of its language and inner XML.
func Encode(p webdav.Property) ([]byte, error) {
	return json.Marshal(stored{Lang: p.Lang, InnerXML: p.InnerXML})
}

// Decode adds to props (made when nil) the property n whose stored value (Encode's) is v.
func Decode(props map[xml.Name]webdav.Property, n xml.Name, v []byte) (map[xml.Name]webdav.Property, error) {
	var s stored
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, fmt.Errorf("decode property %q: %w", n, err)
	}
	if props == nil {
		props = map[xml.Name]webdav.Property{}
	}
	props[n] = webdav.Property{XMLName: n, Lang: s.Lang, InnerXML: s.InnerXML}
	return props, nil
}
