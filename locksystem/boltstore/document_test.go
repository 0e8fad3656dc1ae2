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

// TestDocumentShape: the stored document has the lock-document fields of the JSON API.
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
	want := `{"version":1,"token":"urn:uuid:1","path":"/docs/a.odt","scope":"shared","depth":"infinity",` +
		`"owner":"\u003cD:href\u003eme\u003c/D:href\u003e","principal":"alice","timeout_seconds":600,` +
		`"created":"2025-01-02T08:04:05.0000006Z","refreshed":"2025-01-02T08:04:05.0000006Z",` +
		`"expires":"2025-01-02T08:14:05.0000006Z","client":{"ip":"127.0.0.1","user_agent":"ua"},` +
		`"release_on_update":false,"lock_null":true}`
	if string(b) != want {
		t.Errorf("encode:\ngot  %s\nwant %s", b, want)
	}

	l.Timeout, l.Expires = 0, time.Time{}
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

func TestSecondsRoundTrip(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0"},
		{time.Second, "1"},
		{600 * time.Second, "600"},
		{1500 * time.Millisecond, "1.5"},
		{time.Nanosecond, "0.000000001"},
		{24*time.Hour + 7, "86400.000000007"},
		{1<<63 - 1, "9223372036.854775807"},
	}
	for _, tt := range tests {
		b, err := json.Marshal(seconds(tt.d))
		if err != nil || string(b) != tt.want {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tt.d, b, err, tt.want)
			continue
		}
		var got seconds
		if err := json.Unmarshal(b, &got); err != nil || time.Duration(got) != tt.d {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", b, time.Duration(got), err, tt.d)
		}
	}
}

func TestSecondsUnmarshalErrors(t *testing.T) {
	for _, in := range []string{`-1`, `"600"`, `null`, `1e3`, `true`, `99999999999999`, `{}`} {
		var got seconds
		if err := json.Unmarshal([]byte(in), &got); err == nil {
			t.Errorf("Unmarshal(%s) = %v, nil; want an error", in, time.Duration(got))
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	ok := locksystem.Lock{Token: "urn:uuid:1", Path: "/"}
	tests := []struct {
		name string
		edit func(l *locksystem.Lock)
		want string
	}{
		{"empty token", func(l *locksystem.Lock) { l.Token = "" }, "empty token"},
		{"negative timeout", func(l *locksystem.Lock) { l.Timeout = -time.Second }, "negative timeout"},
		{"unknown scope", func(l *locksystem.Lock) { l.Scope = 9 }, "unknown scope"},
		{"unknown depth", func(l *locksystem.Lock) { l.Depth = 9 }, "unknown depth"},
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
	good := `{"version":1,"token":"urn:uuid:1","path":"/a","scope":"exclusive","depth":"0","owner":"",` +
		`"principal":"p","timeout_seconds":60,"created":"2025-01-02T03:04:05Z","refreshed":"2025-01-02T03:04:05Z",` +
		`"expires":null,"client":{"ip":"","user_agent":""},"release_on_update":false,"lock_null":false}`
	if _, err := decode([]byte("urn:uuid:1"), []byte(good)); err != nil {
		t.Fatalf("decode(good) = %v", err)
	}
	tests := []struct {
		name, old, new, want string
	}{
		{"version", `"version":1`, `"version":0`, "version 0"},
		{"token", `"token":"urn:uuid:1"`, `"token":"urn:uuid:2"`, "stored under key"},
		{"path", `"path":"/a"`, `"path":"a"`, "not absolute"},
		{"scope", `"scope":"exclusive"`, `"scope":"Exclusive"`, "unknown scope"},
		{"depth", `"depth":"0"`, `"depth":"1"`, "unknown depth"},
		{"timeout", `"timeout_seconds":60`, `"timeout_seconds":-60`, "timeout_seconds"},
		{"created", `"created":"2025-01-02T03:04:05Z"`, `"created":"yesterday"`, "cannot parse"},
		{"truncated", `"lock_null":false}`, `"lock_null":fa`, "in literal false"},
	}
	for _, tt := range tests {
		doc := strings.Replace(good, tt.old, tt.new, 1)
		_, err := decode([]byte("urn:uuid:1"), []byte(doc))
		if !errors.Is(err, ErrBadDocument) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: decode error = %v, want ErrBadDocument containing %q", tt.name, err, tt.want)
		}
	}
}

// FuzzDecode: no document, however broken, panics, and what decodes encodes back to a
// document that decodes to the same lock.
func FuzzDecode(f *testing.F) {
	l := locksystem.Lock{Token: "urn:uuid:1", Path: "/a", Timeout: 1500 * time.Millisecond,
		Created: time.Unix(1, 2).UTC(), Expires: time.Unix(3, 4).UTC()}
	b, err := encode(&l)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"version":1,"token":"urn:uuid:1","path":"/","timeout_seconds":1.000000001}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		got, err := decode([]byte("urn:uuid:1"), doc)
		if err != nil {
			return
		}
		again, err := encode(&got)
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", got, err)
		}
		back, err := decode([]byte("urn:uuid:1"), again)
		if err != nil || back != got {
			t.Fatalf("round trip: got %+v, %v; want %+v", back, err, got)
		}
	})
}
