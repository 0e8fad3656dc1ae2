package locksystem

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// referenceMarshal is the lock document as encoding/json writes it, HTML escaping off.
func referenceMarshal(l Lock) ([]byte, error) {
	if l.Timeout < 0 || l.Timeout > maxTimeout {
		return nil, ErrInvalid
	}
	// The document type that lock documents are read into, written by encoding/json.
	d := document{
		Token: l.Token, Path: l.Path, Scope: &l.Scope, Depth: &l.Depth, Owner: l.Owner,
		Principal: l.Principal, TimeoutSeconds: int64(l.Timeout / time.Second),
		Created: l.Created.UTC(), Refreshed: l.Refreshed.UTC(), Client: l.Client,
		ReleaseOnUpdate: l.ReleaseOnUpdate, LockNull: l.LockNull,
	}
	if l.Timeout%time.Second != 0 {
		d.TimeoutSeconds++
	}
	if !l.Expires.IsZero() {
		e := l.Expires.UTC()
		d.Expires = &e
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&d); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// sameAsReference fails unless MarshalJSON and referenceMarshal agree on l: the same bytes, or
// both an error.
func sameAsReference(t *testing.T, l Lock) {
	t.Helper()
	got, err := l.MarshalJSON()
	want, wantErr := referenceMarshal(l)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("MarshalJSON error %v, encoding/json error %v", err, wantErr)
	}
	if err == nil && !bytes.Equal(got, want) {
		t.Fatalf("MarshalJSON\n got %s\nwant %s", got, want)
	}
}

var docTime = time.Date(2026, 12, 1, 21, 0, 0, 123456789, time.FixedZone("x", 3600))

func TestMarshalJSONAsEncodingJSON(t *testing.T) {
	base := Lock{Token: "urn:uuid:0f0e", Path: "/a/b", Scope: Shared, Depth: DepthInfinity,
		Owner: `<D:href xmlns:D="DAV:">mailto:a&b</D:href>`, Principal: "alice",
		Timeout: 1500 * time.Millisecond, Created: docTime, Refreshed: docTime.Add(time.Second),
		Expires: docTime.Add(time.Hour), Client: Client{IP: "::1", UserAgent: "cadaver/0.24"},
		ReleaseOnUpdate: true, LockNull: true}
	tests := []struct {
		name string
		edit func(*Lock)
	}{
		{"full", func(*Lock) {}},
		{"never expires", func(l *Lock) { l.Timeout, l.Expires = 0, time.Time{} }},
		{"zero times", func(l *Lock) { l.Created, l.Refreshed = time.Time{}, time.Time{} }},
		{"escapes", func(l *Lock) { l.Owner = "q\" b\\ \b\f\n\r\t \x00\x1f \u2028\u2029 é 😀 <>&" }},
		{"invalid UTF-8", func(l *Lock) { l.Path = "/\xff\xfe/\xc3" }},
		{"exclusive depth 0", func(l *Lock) { l.Scope, l.Depth = Exclusive, DepthZero }},
		{"bad scope", func(l *Lock) { l.Scope = 9 }},
		{"bad depth", func(l *Lock) { l.Depth = 9 }},
		{"negative timeout", func(l *Lock) { l.Timeout = -1 }},
		{"year 10000", func(l *Lock) { l.Expires = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := base
			tt.edit(&l)
			sameAsReference(t, l)
		})
	}
}

func TestMarshalJSONInvalid(t *testing.T) {
	for _, l := range []Lock{{Scope: 7}, {Depth: 7}, {Timeout: maxTimeout + 1}} {
		if _, err := l.MarshalJSON(); !errors.Is(err, ErrInvalid) {
			t.Errorf("MarshalJSON(%+v) = %v, want ErrInvalid", l, err)
		}
	}
}

func FuzzMarshalJSON(f *testing.F) {
	f.Add("urn:uuid:1", "/a", "<D:href>x</D:href>", "alice", "127.0.0.1", "ua", int64(3600), int64(1764622800), uint8(1), uint8(1))
	f.Add("t", "/\u2028\xff", "\"\\\x01", "", "", "", int64(0), int64(-62135596800), uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, token, path, owner, principal, ip, ua string, timeout, unix int64, scope, depth uint8) {
		at := time.Unix(unix, unix%1e9)
		l := Lock{Token: token, Path: path, Owner: owner, Principal: principal, Client: Client{ip, ua},
			Scope: Scope(scope % 3), Depth: Depth(depth % 3), Timeout: time.Duration(timeout),
			Created: at, Refreshed: at, ReleaseOnUpdate: unix%2 == 0, LockNull: timeout%2 == 0}
		if timeout%3 != 0 {
			l.Expires = at.Add(time.Duration(timeout))
		}
		sameAsReference(t, l)
	})
}

// BenchmarkMarshalJSON: the document encoder against encoding/json on a typical lock.
func BenchmarkMarshalJSON(b *testing.B) {
	l := Lock{Token: "urn:uuid:7f3c1a52-4a8e-4f0e-9b7a-2d8f1c0e5a63", Path: "/lockcycle-16/w3/1234",
		Scope: Exclusive, Depth: DepthZero, Owner: `<D:href xmlns:D="DAV:">lockdav-bench</D:href>`,
		Principal: "anonymous", Timeout: time.Hour, Created: docTime, Refreshed: docTime,
		Expires: docTime.Add(time.Hour), Client: Client{IP: "127.0.0.1", UserAgent: "Go-http-client/1.1"}}
	b.Run("lockdav", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := l.MarshalJSON(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := referenceMarshal(l); err != nil {
				b.Fatal(err)
			}
		}
	})
}
