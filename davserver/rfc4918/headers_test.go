package rfc4918

import (
	"errors"
	"testing"
	"time"

	"github.com/lockdav/lockdav/locksystem"
)

func TestParseDepth(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"0", 0, false},
		{"1", 1, false},
		{"infinity", -1, false},
		{"Infinity", -1, false},
		{"INFINITY", -1, false},
		{" 1 ", 1, false},
		{"", 0, true}, // callers handle an absent header themselves
		{"2", 0, true},
		{"-1", 0, true},
		{"00", 0, true},
		{"infinite", 0, true},
		{"0,1", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseDepth(tt.in)
		if tt.wantErr {
			if !errors.Is(err, errBadDepth) {
				t.Errorf("ParseDepth(%q) = %d, %v; want errBadDepth", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseDepth(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestParseTimeout(t *testing.T) {
	const maxDuration = time.Duration(maxTimeoutSeconds) * time.Second
	tests := []struct {
		name    string
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"absent: not given", "", 0, false},
		{"§10.7 Windows, Office", "Second-3600", time.Hour, false},
		{"Finder", "Second-600", 10 * time.Minute, false},
		{"Windows: Infinite first", "Infinite, Second-4100000000", locksystem.Infinite, false},
		{"§9.10.7 example", "Infinite, Second-4100000000", locksystem.Infinite, false},
		{"first acceptable wins", "Second-60, Infinite", time.Minute, false},
		{"huge N is not an overflow", "Second-4100000000", 4100000000 * time.Second, false},
		{"beyond time.Duration: clamped", "Second-9223372037", maxDuration, false},
		{"beyond int64: clamped", "Second-99999999999999999999999", maxDuration, false},
		{"case-insensitive (RFC 5234 §2.3)", "second-5", 5 * time.Second, false},
		{"INFINITE", "INFINITE", locksystem.Infinite, false},
		{"whitespace around entries", "  Second-5 ,Infinite ", 5 * time.Second, false},
		{"unknown entries skipped", "Extend-5, Second-7", 7 * time.Second, false},
		{"garbled entries skipped", "Second-x, Second--1, Second-+3, Second-, Second-9", 9 * time.Second, false},
		{"Second-0 skipped", "Second-0, Second-30", 30 * time.Second, false},
		{"leading zeros", "Second-007", 7 * time.Second, false},
		{"garbage", "forever", 0, true},
		{"only unknown", "Extend-5, Weeks-2", 0, true},
		{"negative", "Second--5", 0, true},
		{"Second-0 alone", "Second-0", 0, true},
		{"empty entries", " , ,", 0, true},
		{"space inside", "Second- 5", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTimeout(tt.in)
			if tt.wantErr {
				if !errors.Is(err, errBadTimeout) {
					t.Errorf("ParseTimeout(%q) = %v, %v; want errBadTimeout", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseTimeout(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseLockToken(t *testing.T) {
	const tok = "urn:uuid:e71d4fae-5dec-22d6-fea5-00a0c91e6be4"
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr bool
	}{
		{"§10.5 Coded-URL", "<" + tok + ">", tok, false},
		{"Windows: no angle brackets", tok, tok, false},
		{"surrounding spaces", "  <" + tok + ">  ", tok, false},
		{"opaquelocktoken", "<opaquelocktoken:abc>", "opaquelocktoken:abc", false},
		{"empty", "", "", true},
		{"spaces", "   ", "", true},
		{"empty brackets", "<>", "", true},
		{"only open bracket", "<" + tok, "", true},
		{"only close bracket", tok + ">", "", true},
		{"doubled brackets", "<<" + tok + ">>", "", true},
		{"no scheme", "<e71d4fae-5dec>", "", true},
		{"space inside", "<urn:uuid:a b>", "", true},
		{"two tokens", "<urn:a> <urn:b>", "", true},
		{"quoted", `"` + tok + `"`, "", true},
		{"control character", "<urn:uuid:a\x01>", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLockToken(tt.in)
			if tt.wantErr {
				if !errors.Is(err, errBadLockToken) {
					t.Errorf("ParseLockToken(%q) = %q, %v; want errBadLockToken", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseLockToken(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseDestination(t *testing.T) {
	tests := []struct {
		name    string
		dest    string
		scheme  string
		host    string
		want    string
		wantErr error
	}{
		{"§9.8.8 absolute URL, same host", "http://www.example.com/othercontainer/", "http", "www.example.com", "/othercontainer", nil},
		{"absolute path", "/a/b.txt", "http", "h", "/a/b.txt", nil},
		{"escaped", "http://h/a%20b/%C3%A9.txt", "http", "h", "/a b/é.txt", nil},
		{"host case and default port", "http://H:80/x", "http", "h", "/x", nil},
		{"https default port", "https://h/x", "https", "h:443", "/x", nil},
		{"explicit port", "http://h:8080/x", "http", "h:8080", "/x", nil},
		{"dot segments cleaned", "http://h/a/../../../etc/passwd", "http", "h", "/etc/passwd", nil},
		{"encoded dot segments cleaned", "/a/%2e%2e/%2E%2E/b", "http", "h", "/b", nil},
		{"trailing slash dropped", "/a/b/", "http", "h", "/a/b", nil},
		{"query ignored", "/a?x=1", "http", "h", "/a", nil},
		{"other host", "http://other/x", "http", "h", "", ErrForeignDestination},
		{"other port", "http://h:8081/x", "http", "h:8080", "", ErrForeignDestination},
		{"other scheme", "ftp://h/x", "http", "h", "", ErrForeignDestination},
		{"empty", "", "http", "h", "", errBadDestination},
		{"relative", "a/b", "http", "h", "", errBadDestination},
		{"network-path reference", "//h/a", "http", "h", "", errBadDestination},
		{"bad escape", "/a%zz", "http", "h", "", errBadDestination},
		{"NUL", "/a%00", "http", "h", "", errBadDestination},
		{"newline", "/a%0Ab", "http", "h", "", errBadDestination},
		{"URL without path", "http://h", "http", "h", "", errBadDestination},
		{"opaque", "mailto:x@h", "http", "h", "", ErrForeignDestination},
		{"https on a plain server", "https://h/x", "http", "h", "", ErrForeignDestination},
		{"http on a TLS server", "http://h:443/x", "https", "h:443", "", ErrForeignDestination},
		{"scheme case", "HTTPS://h/x", "https", "h", "/x", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDestination(tt.dest, tt.scheme, tt.host)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("ParseDestination(%q, %q, %q) = %q, %v; want %v", tt.dest, tt.scheme, tt.host, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseDestination(%q, %q, %q) = %q, %v; want %q", tt.dest, tt.scheme, tt.host, got, err, tt.want)
			}
		})
	}
}

func TestParseOverwrite(t *testing.T) {
	tests := []struct {
		in      string
		want    bool
		wantErr bool
	}{
		{"", true, false}, // §10.6: absent means T
		{"T", true, false},
		{"F", false, false},
		{"t", true, false},
		{"f", false, false},
		{" F ", false, false},
		{"true", false, true},
		{"0", false, true},
		{"TF", false, true},
	}
	for _, tt := range tests {
		got, err := parseOverwrite(tt.in)
		if tt.wantErr {
			if !errors.Is(err, errBadOverwrite) {
				t.Errorf("parseOverwrite(%q) = %v, %v; want errBadOverwrite", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseOverwrite(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}
