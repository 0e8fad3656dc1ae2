package locksystem

import (
	"strings"
	"testing"
	"time"
	"unsafe"
)

// exactDocs are documents as MarshalJSON writes them, for the tests and the fuzz seeds.
func exactDocs(t testing.TB) [][]byte {
	t.Helper()
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	locks := []Lock{
		{Token: "urn:uuid:00000000-0000-4000-8000-000000000001", Path: "/d0/f1",
			Owner: `<D:href>mailto:someone@example.com</D:href>`, Principal: "alice", Timeout: time.Hour,
			Created: at, Refreshed: at, Expires: at.Add(time.Hour),
			Client: Client{IP: "192.0.2.10", UserAgent: "Microsoft-WebDAV-MiniRedir/10.0.19045"}},
		{Token: "urn:uuid:1", Path: "/", Scope: Shared, Depth: DepthInfinity, Principal: "p",
			Timeout: Infinite, Created: at.Add(123456789), Refreshed: at.Add(time.Minute + 1), ReleaseOnUpdate: true, LockNull: true},
		{Token: "t", Path: "/a b/ünï cödé/\u2603", Owner: `<D:owner xmlns:D="DAV:">a\b	"c"</D:owner>`,
			Principal: "bob", Timeout: maxTimeout, Created: time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.UTC),
			Refreshed: time.Date(9999, 12, 31, 0, 0, 0, 100, time.UTC), Expires: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
			Client: Client{IP: "::1", UserAgent: "curl/8.5.0\r\n"}},
		{Path: "/", Principal: "p", Timeout: Infinite}, // zero times, empty token: still the exact shape
	}
	var docs [][]byte
	for _, l := range locks {
		b, err := l.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, b)
	}
	return docs
}

// TestDecodeExact: every document MarshalJSON writes is read by the exact reader, to the lock
// the general decoder reads from it.
func TestDecodeExact(t *testing.T) {
	for _, doc := range exactDocs(t) {
		var fast, general Lock
		r := exactReader{b: doc, d: NewDecoder()}
		if !r.lock(&fast) {
			t.Errorf("exact reader refused %s", doc)
			continue
		}
		if err := unmarshalGeneral(doc, &general); err != nil || fast != general {
			t.Errorf("%s:\nexact   %+v\ngeneral %+v, %v", doc, fast, general, err)
		}
	}
}

// TestDecodeOtherShapes: what the exact reader does not take, Decode reads as the general
// decoder does, errors included.
func TestDecodeOtherShapes(t *testing.T) {
	doc := string(exactDocs(t)[0])
	tests := []struct{ name, old, new string }{
		{"space", `,"path"`, ` , "path"`},
		{"order", `"token":"urn:uuid:00000000-0000-4000-8000-000000000001","path":"/d0/f1"`,
			`"path":"/d0/f1","token":"urn:uuid:00000000-0000-4000-8000-000000000001"`},
		{"name case", `"principal"`, `"Principal"`},
		{"unicode escape", `"alice"`, `"al\u0069ce"`},
		{"control character", `"alice"`, "\"al\x01ice\""},
		{"invalid UTF-8", `"alice"`, "\"al\xffice\""},
		{"offset", `"created":"2030-01-02T03:04:05Z"`, `"created":"2030-01-02T04:04:05+01:00"`},
		{"ten fraction digits", `"created":"2030-01-02T03:04:05Z"`, `"created":"2030-01-02T03:04:05.1234567891Z"`},
		{"day out of range", `"created":"2030-01-02T03:04:05Z"`, `"created":"2030-02-30T03:04:05Z"`},
		{"hour out of range", `"created":"2030-01-02T03:04:05Z"`, `"created":"2030-01-02T24:04:05Z"`},
		{"leading zero", `"timeout_seconds":3600`, `"timeout_seconds":03600`},
		{"fraction", `"timeout_seconds":3600`, `"timeout_seconds":3600.0`},
		{"exponent", `"timeout_seconds":3600`, `"timeout_seconds":36e2`},
		{"negative", `"timeout_seconds":3600`, `"timeout_seconds":-3600`},
		{"too long", `"timeout_seconds":3600`, `"timeout_seconds":3153600001`},
		{"older document without client", `,"client":{"ip":"192.0.2.10","user_agent":"Microsoft-WebDAV-MiniRedir/10.0.19045"}`, ``},
		{"unknown name", `"lock_null":false}`, `"lock_null":false,"colour":"blue"}`},
		{"repeated name", `"lock_null":false}`, `"lock_null":false,"principal":"bob"}`},
		{"trailing", `"lock_null":false}`, `"lock_null":false} `},
		{"truncated", `"lock_null":false}`, `"lock_null":fa`},
		{"scope unknown", `"exclusive"`, `"Exclusive"`},
	}
	for _, tt := range tests {
		b := []byte(strings.Replace(doc, tt.old, tt.new, 1))
		if string(b) == doc {
			t.Fatalf("%s: replacement did not apply", tt.name)
		}
		var got, want Lock
		if (&exactReader{b: b, d: NewDecoder()}).lock(&got) {
			t.Errorf("%s: exact reader took %s", tt.name, b)
		}
		gotErr := NewDecoder().Decode(b, &got)
		wantErr := unmarshalGeneral(b, &want)
		if got != want || errString(gotErr) != errString(wantErr) {
			t.Errorf("%s: %s:\nDecode  %+v, %v\ngeneral %+v, %v", tt.name, b, got, gotErr, want, wantErr)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestDecoderShares: a Decoder gives equal principals, owners and client strings one copy.
func TestDecoderShares(t *testing.T) {
	doc := exactDocs(t)[0]
	d := NewDecoder()
	var a, b Lock
	if err := d.Decode(doc, &a); err != nil {
		t.Fatal(err)
	}
	if err := d.Decode(doc, &b); err != nil {
		t.Fatal(err)
	}
	for _, s := range [][2]string{{a.Owner, b.Owner}, {a.Principal, b.Principal},
		{a.Client.IP, b.Client.IP}, {a.Client.UserAgent, b.Client.UserAgent}} {
		if s[0] != s[1] || s[0] == "" {
			t.Fatalf("got %q and %q", s[0], s[1])
		}
		if unsafe.StringData(s[0]) != unsafe.StringData(s[1]) {
			t.Errorf("%q decoded twice into two copies", s[0])
		}
	}
}

// FuzzDecodeExact: on any input, a document the exact reader takes is one the general decoder
// reads to the same lock, and Decode reads what the general decoder reads.
func FuzzDecodeExact(f *testing.F) {
	for _, doc := range exactDocs(f) {
		f.Add(doc)
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		var fast, general, decoded Lock
		took := (&exactReader{b: doc, d: NewDecoder()}).lock(&fast)
		generalErr := unmarshalGeneral(doc, &general)
		if took && (generalErr != nil || fast != general) {
			t.Fatalf("%q:\nexact   %+v\ngeneral %+v, %v", doc, fast, general, generalErr)
		}
		decodeErr := NewDecoder().Decode(doc, &decoded)
		if errString(decodeErr) != errString(generalErr) || decodeErr == nil && decoded != general {
			t.Fatalf("%q:\nDecode  %+v, %v\ngeneral %+v, %v", doc, decoded, decodeErr, general, generalErr)
		}
	})
}
