package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestHashPassword(t *testing.T) {
	tests := []struct {
		name, stdin, want string // want: the password the hash must match
	}{
		{"one line", "s3cret\n", "s3cret"},
		{"no newline", "s3cret", "s3cret"},
		{"crlf", "s3cret\r\n", "s3cret"},
		{"only the first line", "first\nsecond\n", "first"},
		{"spaces kept", " pass word \n", " pass word "},
		{"72 bytes", strings.Repeat("x", 72) + "\n", strings.Repeat("x", 72)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := hashPasswordCmd()
			var out, errOut bytes.Buffer
			cmd.SetIn(strings.NewReader(tt.stdin))
			cmd.SetOut(&out)
			cmd.SetErr(&errOut)
			cmd.SetArgs(nil)
			if err := cmd.Execute(); err != nil {
				t.Fatalf("hash-password: %v", err)
			}
			hash := strings.TrimSuffix(out.String(), "\n")
			if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(tt.want)); err != nil {
				t.Errorf("hash %q does not match %q: %v", hash, tt.want, err)
			}
			if strings.Contains(out.String()+errOut.String(), tt.want) {
				t.Errorf("output %q / %q contains the password", out.String(), errOut.String())
			}
		})
	}
}

func TestHashPasswordRefuses(t *testing.T) {
	tests := []struct{ name, stdin, want string }{
		{"empty input", "", "empty password"},
		{"empty line", "\nsecond\n", "empty password"},
		{"too long for bcrypt", strings.Repeat("x", 73) + "\n", "at most 72"},
		{"huge line", strings.Repeat("x", 5000), "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := hashPasswordCmd()
			var out bytes.Buffer
			cmd.SetIn(strings.NewReader(tt.stdin))
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			cmd.SilenceUsage = true
			err := cmd.Execute()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("hash-password error = %v, want one containing %q", err, tt.want)
			}
			if strings.HasPrefix(out.String(), "$2") {
				t.Errorf("printed a hash %q despite the error", out.String())
			}
		})
	}
}

// TestHashPasswordBinary runs the built command with a pipe as stdin, the way scripts use it.
func TestHashPasswordBinary(t *testing.T) {
	cmd := exec.Command(build(t), "hash-password")
	cmd.Stdin = strings.NewReader("correct horse\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("lockdav hash-password: %v", err)
	}
	hash := strings.TrimSpace(string(out))
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte("correct horse")); err != nil {
		t.Errorf("hash %q does not match: %v", hash, err)
	}
}
