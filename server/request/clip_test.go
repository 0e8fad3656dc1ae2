package request

import (
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClip(t *testing.T) {
	if got := Clip("short"); got != "short" {
		t.Errorf("Clip(short) = %q", got)
	}
	s := strings.Repeat("é", 200) // 400 bytes; byte 256 falls inside no rune, 255 starts one
	got := Clip("x" + s)
	if !utf8.ValidString(got) || !strings.HasSuffix(got, "… (401 bytes)") || len(got) > maxLogged+len("… (401 bytes)") {
		t.Errorf("Clip of 401 bytes = %q", got)
	}
	if !strings.HasPrefix(got, "x"+strings.Repeat("é", 127)) {
		t.Errorf("Clip does not keep the start: %q", got)
	}
}

func TestClipErr(t *testing.T) {
	if ClipErr(nil) != nil {
		t.Error("ClipErr(nil) is not nil")
	}
	if err := ClipErr(io.EOF); err != io.EOF {
		t.Errorf("ClipErr of a short error = %v, want it unchanged", err)
	}
	long := errors.Join(io.ErrUnexpectedEOF, errors.New(strings.Repeat("y", 5000)))
	err := ClipErr(long)
	if len(err.Error()) > maxLoggedError+20 || !strings.HasSuffix(err.Error(), " bytes)") {
		t.Errorf("ClipErr of %d bytes: %d bytes, %q…", len(long.Error()), len(err.Error()), err.Error()[:40])
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Error("errors.Is does not see through ClipErr")
	}
}
