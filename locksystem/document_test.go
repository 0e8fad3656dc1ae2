package locksystem

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestDocumentTimes: times are written in UTC with nanoseconds and read back as the same
// instants in UTC; a null expires is the zero time.
func TestDocumentTimes(t *testing.T) {
	zone := time.FixedZone("NPT", 5*3600+45*60)
	at := time.Date(2030, 1, 2, 9, 0, 0, 123456789, zone)
	l := Lock{Token: "urn:uuid:x", Path: "/a", Principal: "p", Timeout: 90 * time.Second,
		Created: at, Refreshed: at.Add(time.Nanosecond), Expires: at.Add(90*time.Second + time.Nanosecond)}
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"created":"2030-01-02T03:15:00.123456789Z"`,
		`"refreshed":"2030-01-02T03:15:00.12345679Z"`,
		`"expires":"2030-01-02T03:16:30.12345679Z"`,
		`"timeout_seconds":90`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("got %s, want it to contain %s", b, want)
		}
	}
	var got Lock
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := l
	want.Created, want.Refreshed, want.Expires = at.UTC(), l.Refreshed.UTC(), l.Expires.UTC()
	if got != want {
		t.Errorf("round trip:\ngot  %+v\nwant %+v", got, want)
	}

	doc := strings.Replace(string(b), `"expires":"2030-01-02T03:16:30.12345679Z"`, `"expires":null`, 1)
	if err := json.Unmarshal([]byte(doc), &got); err != nil || !got.Expires.IsZero() {
		t.Errorf("expires null: got %v, %v; want the zero time", got.Expires, err)
	}
	doc = strings.Replace(string(b), `"created":"2030-01-02T03:15:00.123456789Z"`, `"created":"2030-01-02T04:15:00.123456789+01:00"`, 1)
	if err := json.Unmarshal([]byte(doc), &got); err != nil || got.Created != want.Created {
		t.Errorf("created with an offset: got %v, %v; want %v", got.Created, err, want.Created)
	}
}

// TestDocumentTimeout: the timeout is whole seconds; a sub-second one (which the Policy never
// grants) is rounded up, never down; a negative or absurd one is refused both ways.
func TestDocumentTimeout(t *testing.T) {
	tests := []struct {
		timeout time.Duration
		want    string
	}{
		{Infinite, `"timeout_seconds":0`},
		{time.Second, `"timeout_seconds":1`},
		{1500 * time.Millisecond, `"timeout_seconds":2`},
		{maxTimeout, `"timeout_seconds":3153600000`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(Lock{Timeout: tt.timeout})
		if err != nil || !strings.Contains(string(b), tt.want) {
			t.Errorf("timeout %v: got %s, %v; want %s", tt.timeout, b, err, tt.want)
		}
	}
	for _, bad := range []time.Duration{-time.Second, 0, maxTimeout + time.Second} {
		if b, err := json.Marshal(Lock{Timeout: bad}); !errors.Is(err, ErrInvalid) {
			t.Errorf("timeout %v: got %s, %v; want ErrInvalid", bad, b, err)
		}
	}
}

// TestDocumentRequired: scope and depth (RFC 4918 §14.13, §10.2) must be present and known;
// a missing one is not read as exclusive or 0.
func TestDocumentRequired(t *testing.T) {
	good := `{"token":"urn:uuid:x","path":"/","scope":"shared","depth":"infinity","timeout_seconds":0}`
	var l Lock
	if err := json.Unmarshal([]byte(good), &l); err != nil || l.Scope != Shared || l.Depth != DepthInfinity {
		t.Fatalf("good: got %+v, %v", l, err)
	}
	tests := []struct {
		name, old, new, want string
	}{
		{"scope absent", `"scope":"shared",`, ``, "scope missing"},
		{"scope null", `"scope":"shared"`, `"scope":null`, "scope missing"},
		{"scope unknown", `"scope":"shared"`, `"scope":"Shared"`, "want exclusive or shared"},
		{"scope number", `"scope":"shared"`, `"scope":1`, "cannot unmarshal number into Go struct field document.scope"},
		{"depth absent", `"depth":"infinity",`, ``, "depth missing"},
		{"depth null", `"depth":"infinity"`, `"depth":null`, "depth missing"},
		{"depth unknown", `"depth":"infinity"`, `"depth":"1"`, "want 0 or infinity"},
		{"depth empty", `"depth":"infinity"`, `"depth":""`, "want 0 or infinity"},
		{"timeout negative", `"timeout_seconds":0`, `"timeout_seconds":-1`, "timeout_seconds -1"},
		{"timeout fraction", `"timeout_seconds":0`, `"timeout_seconds":0.5`, "cannot unmarshal number 0.5 into Go struct field document.timeout_seconds"},
		{"timeout string", `"timeout_seconds":0`, `"timeout_seconds":"0"`, "cannot unmarshal string into Go struct field document.timeout_seconds"},
	}
	for _, tt := range tests {
		doc := strings.Replace(good, tt.old, tt.new, 1)
		err := json.Unmarshal([]byte(doc), &l)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %s: got %v, want an error containing %q", tt.name, doc, err, tt.want)
		}
	}
}

// TestDocumentReadsLikeEncodingJSON: documents are read as encoding/json reads them, so that
// API clients see no difference: names match in any case, the last of a repeated name wins,
// unknown names are ignored, and invalid UTF-8 becomes U+FFFD.
func TestDocumentReadsLikeEncodingJSON(t *testing.T) {
	base := `{"token":"urn:uuid:x","path":"/a","scope":"shared","depth":"0","timeout_seconds":0`
	tests := []struct {
		name, doc string
		check     func(Lock) bool
	}{
		{"name case", base + `,"Principal":"alice"}`, func(l Lock) bool { return l.Principal == "alice" }},
		{"repeated name", base + `,"principal":"bob","principal":"alice"}`, func(l Lock) bool { return l.Principal == "alice" }},
		{"unknown name", base + `,"principal":"alice","colour":"blue"}`, func(l Lock) bool { return l.Principal == "alice" }},
		{"invalid UTF-8", base + ",\"owner\":\"a\xffb\"}", func(l Lock) bool { return l.Owner == "a\uFFFDb" }},
	}
	for _, tt := range tests {
		var l Lock
		if err := json.Unmarshal([]byte(tt.doc), &l); err != nil || !tt.check(l) || l.Scope != Shared {
			t.Errorf("%s: %s: got %+v, %v", tt.name, tt.doc, l, err)
		}
	}
}

func TestMarshalJSONInvalid(t *testing.T) {
	for _, l := range []Lock{{Scope: 7}, {Depth: 7}, {Timeout: maxTimeout + 1}, {Timeout: -time.Second}, {Timeout: 0},
		{Expires: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), Timeout: time.Second}} {
		if _, err := l.MarshalJSON(); err == nil {
			t.Errorf("MarshalJSON(%+v) = nil error", l)
		} else if l.Expires.IsZero() && !errors.Is(err, ErrInvalid) {
			t.Errorf("MarshalJSON(%+v) = %v, want ErrInvalid", l, err)
		}
	}
}

// BenchmarkMarshalJSON: encoding a typical lock's document, as every grant and refresh does.
func BenchmarkMarshalJSON(b *testing.B) {
	at := time.Date(2026, 12, 1, 21, 0, 0, 123456789, time.UTC)
	l := Lock{Token: "urn:uuid:7f3c1a52-4a8e-4f0e-9b7a-2d8f1c0e5a63", Path: "/lockcycle-16/w3/1234",
		Scope: Exclusive, Depth: DepthZero, Owner: `<D:href xmlns:D="DAV:">lockdav-bench</D:href>`,
		Principal: "anonymous", Timeout: time.Hour, Created: at, Refreshed: at,
		Expires: at.Add(time.Hour), Client: Client{IP: "127.0.0.1", UserAgent: "Go-http-client/1.1"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.MarshalJSON(); err != nil {
			b.Fatal(err)
		}
	}
}
