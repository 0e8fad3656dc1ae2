package rfc4918

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"
)

func TestCheckPropfind(t *testing.T) {
	tests := []struct {
		name, body string
		all        bool
		err        bool
	}{
		{"empty", "", true, false},
		{"whitespace", " \r\n", true, false},
		{"allprop", `<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>`, true, false},
		{"propname", `<propfind xmlns="DAV:"><propname/></propfind>`, true, false},
		{"prop", `<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>`, false, false},
		{"prop deeper is not asked for", `<D:propfind xmlns:D="DAV:"><D:x><D:prop/></D:x></D:propfind>`, true, false},
		{"prop in another namespace", `<D:propfind xmlns:D="DAV:"><prop/></D:propfind>`, true, false},
		{"comment only", "<!-- nothing -->", false, true},
		{"empty namespace prefix", `<D:propfind xmlns:D="DAV:" xmlns:x=""><D:prop/></D:propfind>`, false, true},
		{"undeclared prefix", `<D:propfind xmlns:D="DAV:"><D:prop><x:y/></D:prop></D:propfind>`, false, true},
		{"unclosed", `<D:propfind xmlns:D="DAV:"><D:prop>`, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all, err := CheckPropfind([]byte(tt.body))
			if (err != nil) != tt.err || (err == nil && all != tt.all) {
				t.Errorf("CheckPropfind(%q) = %v, %v; want all=%v, error %v", tt.body, all, err, tt.all, tt.err)
			}
		})
	}
	if _, err := CheckPropfind([]byte("<!-- -->")); !errors.Is(err, ErrNoRoot) {
		t.Errorf("a body without a root: %v, want ErrNoRoot", err)
	}
}

// FuzzCheckPropfind: the one walk of CheckPropfind decides as the two it replaced did — CheckXML
// over the body, then encoding/xml looking for a DAV:prop child of the root.
func FuzzCheckPropfind(f *testing.F) {
	for _, s := range []string{"", `<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>`,
		`<propfind xmlns="DAV:"><allprop/></propfind>`, "<!---->", `<a><prop xmlns="DAV:"/></a><b/>`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		all, err := CheckPropfind(body)
		wantAll, wantErr := twoWalks(body)
		if (err != nil) != (wantErr != nil) || (err == nil && all != wantAll) {
			t.Fatalf("CheckPropfind(%q) = %v, %v; two walks: %v, %v", body, all, err, wantAll, wantErr)
		}
	})
}

// twoWalks is how a PROPFIND body was checked before CheckPropfind.
func twoWalks(body []byte) (bool, error) {
	if err := CheckXML(body); err != nil {
		return false, err
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return true, nil
	}
	var pf struct {
		Prop *struct{} `xml:"DAV: prop"`
	}
	if err := xml.Unmarshal(body, &pf); err != nil {
		return false, err
	}
	return pf.Prop == nil, nil
}
