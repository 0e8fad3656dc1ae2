package boltstore

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lockdav/lockdav/locksystem"
)

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestDocumentShape: the stored document is the lock document of the JSON API, times in UTC
// with nanoseconds, and nothing else.
func TestDocumentShape(t *testing.T) {
	zone := time.FixedZone("X", -5*3600)
	l := locksystem.Lock{
		Token: "urn:uuid:1", Path: "/docs/a.odt", Scope: locksystem.Shared, Depth: locksystem.DepthInfinity,
		Owner: "<D:href>me</D:href>", Principal: "alice", Timeout: 600 * time.Second,
		Created:   time.Date(2025, 1, 2, 3, 4, 5, 600, zone),
		Refreshed: time.Date(2025, 1, 2, 3, 4, 5, 600, zone),
		Expires:   time.Date(2025, 1, 2, 3, 14, 5, 600, zone),
		Client:    locksystem.Client{IP: "127.0.0.1", UserAgent: "ua"}, LockNull: true,
	}
	b, err := encode(&l)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"token":"urn:uuid:1","path":"/docs/a.odt","scope":"shared","depth":"infinity",` +
		`"owner":"<D:href>me</D:href>","principal":"alice","timeout_seconds":600,` +
		`"created":"2025-01-02T08:04:05.0000006Z","refreshed":"2025-01-02T08:04:05.0000006Z",` +
		`"expires":"2025-01-02T08:14:05.0000006Z","client":{"ip":"127.0.0.1","user_agent":"ua"},` +
		`"release_on_update":false,"lock_null":true}`
	if string(b) != want {
		t.Errorf("encode:\ngot  %s\nwant %s", b, want)
	}

	l.Timeout, l.Expires = locksystem.Infinite, time.Time{}
	b, err = encode(&l)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["expires"] != nil || m["timeout_seconds"] != float64(0) {
		t.Errorf("infinite lock: expires = %v, timeout_seconds = %v; want null, 0", m["expires"], m["timeout_seconds"])
	}
}

// TestSameAsAPI: what the store writes is byte for byte what json.Marshal shows the API.
func TestSameAsAPI(t *testing.T) {
	l := locksystem.Lock{Token: "urn:uuid:1", Path: "/a b/ü", Scope: locksystem.Exclusive,
		Principal: "bob", Timeout: time.Hour, Created: time.Unix(1700000000, 123456789),
		Refreshed: time.Unix(1700000100, 1), Expires: time.Unix(1700003700, 1), ReleaseOnUpdate: true}
	got, err := encode(&l)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("encode:\ngot  %s\nwant %s", got, want)
	}
}

// TestRoundTrip: every field comes back, times exactly (to the nanosecond, in UTC), and a
// lock that never expires comes back with the zero Expires.
func TestRoundTrip(t *testing.T) {
	zone := time.FixedZone("X", 5*3600+30*60)
	at := time.Date(2025, 12, 31, 23, 59, 59, 999999999, zone)
	tests := []struct {
		name string
		l    locksystem.Lock
	}{
		{"timed", locksystem.Lock{Token: "urn:uuid:1", Path: "/d/f", Scope: locksystem.Shared,
			Depth: locksystem.DepthInfinity, Owner: `<D:href>x&amp;y</D:href>`, Principal: "alice",
			Timeout: 600 * time.Second, Created: at, Refreshed: at.Add(time.Nanosecond),
			Expires: at.Add(600*time.Second + time.Nanosecond),
			Client:  locksystem.Client{IP: "::1", UserAgent: "ua"}, ReleaseOnUpdate: true, LockNull: true}},
		{"infinite", locksystem.Lock{Token: "urn:uuid:1", Path: "/", Principal: locksystem.Anonymous, Timeout: locksystem.Infinite,
			Created: time.Unix(0, 1), Refreshed: time.Unix(0, 1)}},
		{"zero times", locksystem.Lock{Token: "urn:uuid:1", Path: "/z", Timeout: time.Second}},
	}
	for _, tt := range tests {
		b, err := encode(&tt.l)
		if err != nil {
			t.Fatalf("%s: encode: %v", tt.name, err)
		}
		got, err := decode(locksystem.NewDecoder(), []byte(tt.l.Token), b)
		if err != nil {
			t.Fatalf("%s: decode %s: %v", tt.name, b, err)
		}
		want := tt.l
		want.Created, want.Refreshed = want.Created.UTC(), want.Refreshed.UTC()
		if !want.Expires.IsZero() {
			want.Expires = want.Expires.UTC()
		}
		if got != want {
			t.Errorf("%s: round trip:\ngot  %+v\nwant %+v", tt.name, got, want)
		}
		if got.Created.Location() != time.UTC || got.Created.Nanosecond() != want.Created.Nanosecond() {
			t.Errorf("%s: created = %v, want %v in UTC", tt.name, got.Created, want.Created)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	ok := locksystem.Lock{Token: "urn:uuid:1", Path: "/", Timeout: locksystem.Infinite}
	tests := []struct {
		name string
		edit func(l *locksystem.Lock)
		want string
	}{
		{"empty token", func(l *locksystem.Lock) { l.Token = "" }, "empty token"},
		{"negative timeout", func(l *locksystem.Lock) { l.Timeout = -time.Second }, "timeout -1s"},
		{"unknown scope", func(l *locksystem.Lock) { l.Scope = 9 }, "scope 9"},
		{"unknown depth", func(l *locksystem.Lock) { l.Depth = 9 }, "depth 9"},
		{"year out of range", func(l *locksystem.Lock) { l.Created = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "year"},
	}
	for _, tt := range tests {
		l := ok
		tt.edit(&l)
		_, err := encode(&l)
		if !errors.Is(err, ErrBadChange) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: encode error = %v, want ErrBadChange containing %q", tt.name, err, tt.want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	good := `{"token":"urn:uuid:1","path":"/a","scope":"exclusive","depth":"0","owner":"",` +
		`"principal":"p","timeout_seconds":60,"created":"2025-01-02T03:04:05Z","refreshed":"2025-01-02T03:04:05Z",` +
		`"expires":null,"client":{"ip":"","user_agent":""},"release_on_update":false,"lock_null":false}`
	if _, err := decode(locksystem.NewDecoder(), []byte("urn:uuid:1"), []byte(good)); err != nil {
		t.Fatalf("decode(good) = %v", err)
	}
	tests := []struct {
		name, old, new, want string
	}{
		{"token", `"token":"urn:uuid:1"`, `"token":"urn:uuid:2"`, "stored under key"},
		{"path", `"path":"/a"`, `"path":"a"`, "not absolute"},
		{"scope", `"scope":"exclusive"`, `"scope":"Exclusive"`, "want exclusive or shared"},
		{"scope number", `"scope":"exclusive"`, `"scope":0`, "cannot unmarshal number into Go struct field document.scope"},
		{"scope null", `"scope":"exclusive"`, `"scope":null`, "scope missing"},
		{"scope absent", `"scope":"exclusive",`, ``, "scope missing"},
		{"depth", `"depth":"0"`, `"depth":"1"`, "want 0 or infinity"},
		{"depth absent", `"depth":"0",`, ``, "depth missing"},
		{"timeout", `"timeout_seconds":60`, `"timeout_seconds":-60`, "timeout_seconds -60"},
		{"fractional timeout", `"timeout_seconds":60`, `"timeout_seconds":1.5`, "cannot unmarshal number 1.5 into Go struct field document.timeout_seconds"},
		{"huge timeout", `"timeout_seconds":60`, `"timeout_seconds":99999999999999`, "timeout_seconds 99999999999999"},
		{"not an object", good, `[1]`, "cannot unmarshal array into Go value"},
		{"created", `"created":"2025-01-02T03:04:05Z"`, `"created":"yesterday"`, "cannot parse"},
		{"truncated", `"lock_null":false}`, `"lock_null":fa`, "in literal false"},
	}
	for _, tt := range tests {
		doc := strings.Replace(good, tt.old, tt.new, 1)
		_, err := decode(locksystem.NewDecoder(), []byte("urn:uuid:1"), []byte(doc))
		if !errors.Is(err, ErrBadDocument) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: decode error = %v, want ErrBadDocument containing %q", tt.name, err, tt.want)
		}
	}
}

// FuzzDecode: no document, however broken, panics, and what decodes encodes back to a
// document that decodes to the same lock (times compared as instants).
func FuzzDecode(f *testing.F) {
	l := locksystem.Lock{Token: "urn:uuid:1", Path: "/a", Timeout: 2 * time.Second,
		Created: time.Unix(1, 2).UTC(), Expires: time.Unix(3, 4).UTC()}
	b, err := encode(&l)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"token":"urn:uuid:1","path":"/","scope":"shared","depth":"infinity","timeout_seconds":1,"expires":"2025-01-02T03:04:05.000000001+01:00"}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		got, err := decode(locksystem.NewDecoder(), []byte("urn:uuid:1"), doc)
		if err != nil {
			return
		}
		again, err := encode(&got)
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", got, err)
		}
		back, err := decode(locksystem.NewDecoder(), []byte("urn:uuid:1"), again)
		if err != nil || !sameLock(back, got) {
			t.Fatalf("round trip: got %+v, %v; want %+v", back, err, got)
		}
	})
}

// sameLock compares locks field by field, times with Equal.
func sameLock(a, b locksystem.Lock) bool {
	times := a.Created.Equal(b.Created) && a.Refreshed.Equal(b.Refreshed) && a.Expires.Equal(b.Expires)
	a.Created, a.Refreshed, a.Expires = b.Created, b.Refreshed, b.Expires
	return times && a == b
}
