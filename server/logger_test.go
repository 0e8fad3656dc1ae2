package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockdav/lockdav/config"
)

func TestNewLogger(t *testing.T) {
	tests := []struct {
		cfg      config.Log
		wantErr  bool
		wantJSON bool
	}{
		{config.Log{Level: "debug", Format: "json"}, false, true},
		{config.Log{Level: "error", Format: "console"}, false, false},
		{config.Log{Level: "info", Format: "auto"}, false, true}, // not a terminal
		{config.Log{Level: "loud", Format: "json"}, true, false},
		{config.Log{Level: "", Format: "json"}, true, false},
		{config.Log{Level: "info", Format: "xml"}, true, false},
	}
	for _, tt := range tests {
		var buf strings.Builder
		log, err := NewLogger(tt.cfg, &buf)
		if (err != nil) != tt.wantErr {
			t.Errorf("NewLogger(%+v) error = %v, want error %v", tt.cfg, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		log.Error().Msg("shown")
		log.Debug().Msg("detail")
		got := buf.String()
		if !strings.Contains(got, "shown") || (tt.cfg.Level != "debug") == strings.Contains(got, "detail") {
			t.Errorf("NewLogger(%+v) wrote %q, want the error line, and the debug line only at debug level", tt.cfg, got)
		}
		if isJSON := strings.HasPrefix(got, "{"); isJSON != tt.wantJSON {
			t.Errorf("NewLogger(%+v) wrote %q, want JSON %v", tt.cfg, got, tt.wantJSON)
		}
	}
}

func TestConsoleLogHasNoColourInFiles(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	log, err := NewLogger(config.Log{Level: "info", Format: "console"}, f)
	if err != nil {
		t.Fatal(err)
	}
	log.Info().Str("k", "v").Msg("plain")
	got, _ := os.ReadFile(f.Name())
	if strings.Contains(string(got), "\x1b[") || !strings.Contains(string(got), "plain") {
		t.Errorf("console log in a file = %q, want the message without escape sequences", got)
	}
}
