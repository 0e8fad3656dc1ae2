package rfc4918

import (
	"bytes"
	"encoding/xml"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"golang.org/x/net/webdav"
)

func TestParsePropfind(t *testing.T) {
	getetag := xml.Name{Space: nsDAV, Local: "getetag"}
	tests := []struct {
		name, body string
		want       Propfind
		err        error // nil: none; errAny: some error
	}{
		{"empty", "", Propfind{Kind: AllProp}, nil},
		{"whitespace", " \r\n", Propfind{}, ErrNoRoot},
		{"allprop", `<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>`, Propfind{Kind: AllProp}, nil},
		{"allprop include", `<D:propfind xmlns:D="DAV:"><D:allprop/><D:include><D:getetag/></D:include></D:propfind>`,
			Propfind{Kind: AllProp, Names: []xml.Name{getetag}}, nil},
		{"propname", `<propfind xmlns="DAV:"><propname/></propfind>`, Propfind{Kind: PropName}, nil},
		{"prop", `<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/> <x xmlns="urn:x"/></D:prop></D:propfind>`,
			Propfind{Kind: Prop, Names: []xml.Name{getetag, {Space: "urn:x", Local: "x"}}}, nil},
		{"two props", `<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop><D:prop><D:getetag/></D:prop></D:propfind>`,
			Propfind{Kind: Prop, Names: []xml.Name{getetag, getetag}}, nil},
		{"unknown child ignored", `<D:propfind xmlns:D="DAV:"><D:x><D:prop/></D:x><D:allprop/></D:propfind>`, Propfind{Kind: AllProp}, nil},
		{"prop in another namespace", `<D:propfind xmlns:D="DAV:"><prop/></D:propfind>`, Propfind{}, ErrPropfind},
		{"other root", `<D:lockinfo xmlns:D="DAV:"><D:allprop/></D:lockinfo>`, Propfind{}, ErrPropfind},
		{"empty prop", `<D:propfind xmlns:D="DAV:"><D:prop/></D:propfind>`, Propfind{}, ErrPropfind},
		{"prop with content", `<D:propfind xmlns:D="DAV:"><D:prop><D:getetag>x</D:getetag></D:prop></D:propfind>`, Propfind{}, ErrPropfind},
		{"allprop and prop", `<D:propfind xmlns:D="DAV:"><D:allprop/><D:prop><D:getetag/></D:prop></D:propfind>`, Propfind{}, ErrPropfind},
		{"include alone", `<D:propfind xmlns:D="DAV:"><D:include><D:getetag/></D:include></D:propfind>`, Propfind{}, ErrPropfind},
		{"comment only", "<!-- nothing -->", Propfind{}, ErrNoRoot},
		{"empty namespace prefix", `<D:propfind xmlns:D="DAV:" xmlns:x=""><D:allprop/></D:propfind>`, Propfind{}, errAny},
		{"undeclared prefix", `<D:propfind xmlns:D="DAV:"><D:prop><x:y/></D:prop></D:propfind>`, Propfind{}, errAny},
		{"unclosed", `<D:propfind xmlns:D="DAV:"><D:allprop/>`, Propfind{}, errAny},
		{"malformed after the root", `<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind><a>`, Propfind{}, errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePropfind([]byte(tt.body))
			switch {
			case tt.err == nil && err != nil, tt.err != nil && err == nil,
				tt.err != nil && tt.err != errAny && !errors.Is(err, tt.err):
				t.Errorf("ParsePropfind(%q) error %v, want %v", tt.body, err, tt.err)
			case err == nil && (got.Kind != tt.want.Kind || !slices.Equal(got.Names, tt.want.Names)):
				t.Errorf("ParsePropfind(%q) = %+v, want %+v", tt.body, got, tt.want)
			}
		})
	}
}

var errAny = errors.New("any error")

// FuzzParsePropfind: ParsePropfind takes what was taken when x/net parsed PROPFIND bodies after
// CheckXML, and refuses what was refused (x/net answering 400).
func FuzzParsePropfind(f *testing.F) {
	for _, s := range []string{"", `<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>`,
		`<propfind xmlns="DAV:"><allprop/><include><a/></include></propfind>`, "<!---->",
		`<a><prop xmlns="DAV:"/></a><b/>`, `<propfind xmlns="DAV:"><prop><a> </a></prop></propfind>`} {
		f.Add([]byte(s))
	}
	dav := &webdav.Handler{FileSystem: webdav.NewMemFS(), LockSystem: webdav.NewMemLS()}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, err := ParsePropfind(body)
		oldErr := CheckXML(body)
		if oldErr == nil {
			w := httptest.NewRecorder()
			r := httptest.NewRequest("PROPFIND", "/", bytes.NewReader(body))
			r.Header.Set("Depth", "0")
			dav.ServeHTTP(w, r)
			if w.Code != http.StatusMultiStatus {
				oldErr = errors.New(w.Body.String())
			}
		}
		if (err != nil) != (oldErr != nil) {
			t.Fatalf("ParsePropfind(%q) = %v; CheckXML then x/net: %v", body, err, oldErr)
		}
	})
}
