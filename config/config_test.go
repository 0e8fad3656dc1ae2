package config

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// TestExampleIsDefault keeps config.example.yaml from drifting: its values are the defaults.
func TestExampleIsDefault(t *testing.T) {
	got, err := Load(filepath.Join("..", "config.example.yaml"))
	if err != nil {
		t.Fatalf("Load(config.example.yaml): %v", err)
	}
	if want := Default(); !reflect.DeepEqual(got, want) {
		t.Errorf("config.example.yaml = %+v, want Default() = %+v", got, want)
	}
}

// TestExampleHasEveryKey: every key of Config is written out in config.example.yaml, and no
// other (Load already refuses unknown ones).
func TestExampleHasEveryKey(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var example map[string]any
	if err := yaml.Unmarshal(data, &example); err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(Default())
	if err != nil {
		t.Fatal(err)
	}
	var defaults map[string]any
	if err := yaml.Unmarshal(out, &defaults); err != nil {
		t.Fatal(err)
	}
	if got, want := keys("", example), keys("", defaults); !reflect.DeepEqual(got, want) {
		t.Errorf("config.example.yaml keys = %v, want %v", got, want)
	}
}

// keys lists the dotted paths of every leaf in m, sorted.
func keys(prefix string, m map[string]any) []string {
	var out []string
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			out = append(out, keys(prefix+k+".", sub)...)
			continue
		}
		out = append(out, prefix+k)
	}
	sort.Strings(out)
	return out
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lockdav.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadOverridesDefaults(t *testing.T) {
	path := writeFile(t, `
addr: 0.0.0.0:9000
log:
  format: json
limits:
  max_upload: 10MB
  idle_timeout: 90s
locks:
  allow_infinite: true
`)
	got, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := Default()
	want.Addr = "0.0.0.0:9000"
	want.Log.Format = "json"
	want.Limits.MaxUpload = 10_000_000
	want.Limits.IdleTimeout = Duration(90 * time.Second)
	want.Locks.AllowInfinite = true
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load = %+v, want %+v", got, want)
	}
}

func TestLoadEmptyFileIsDefault(t *testing.T) {
	for _, text := range []string{"", "# only a comment\n"} {
		got, err := Load(writeFile(t, text))
		if err != nil {
			t.Fatalf("Load(%q): %v", text, err)
		}
		if want := Default(); !reflect.DeepEqual(got, want) {
			t.Errorf("Load(%q) = %+v, want %+v", text, got, want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		wants []string // substrings of the error
	}{
		{"unknown top-level key", "addr: x:1\nbogus: 1\n", []string{"line 2", "bogus"}},
		{"unknown nested key", "log:\n  level: info\n  colour: true\n", []string{"line 3", "colour"}},
		{"unknown user key", "auth:\n  users:\n    - name: a\n      password: x\n", []string{"line 4", "password"}},
		{"bad duration", "limits:\n  idle_timeout: 90\n", []string{"line 2", `"90"`, "duration"}},
		{"bad size", "limits:\n  max_xml_body: 1 megabyte\n", []string{"line 2", "1 megabyte"}},
		{"size as mapping", "limits:\n  max_upload: {a: 1}\n", []string{"line 2", "size"}},
		{"wrong type", "locks:\n  max_per_principal: many\n", []string{"line 2", "many"}},
		{"not yaml", "addr: [\n", []string{"yaml"}},
		{"two documents", "addr: a:1\n---\naddr: b:2\n", []string{"more than one"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.text)
			_, err := Load(path)
			if err == nil {
				t.Fatalf("Load(%q) = nil error, want one containing %q", tt.text, tt.wants)
			}
			for _, w := range append(tt.wants, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load(%q) error = %q, want it to contain %q", tt.text, err, w)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(path)
	if err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("Load(missing) error = %v, want a not-exist error", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    Size
		wantErr bool
	}{
		{"0", 0, false},
		{"1048576", 1048576, false},
		{"1MiB", 1 << 20, false},
		{"512KiB", 512 << 10, false},
		{"10MB", 10_000_000, false},
		{"2 GiB", 2 << 30, false},
		{"7B", 7, false},
		{"1TiB", 1 << 40, false},
		{"3KB", 3000, false},
		{"", 0, true},
		{"MiB", 0, true},
		{"-1", 0, true},
		{"1.5MiB", 0, true},
		{"1mib", 0, true},
		{"1XB", 0, true},
		{"99999999999999999999", 0, true},
		{"9000000TiB", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseSize(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseSize(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "1MiB", "512KiB", "10MB", "1.5GB", "-3", "9223372036854775807", "9000000TiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseSize(s)
		if err != nil {
			return
		}
		if got < 0 {
			t.Errorf("ParseSize(%q) = %d, want non-negative", s, got)
		}
	})
}

// TestExampleUserBlock: the commented example user in config.example.yaml, uncommented, is a
// valid configuration with every User key.
func TestExampleUserBlock(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var block []string
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "  # users:"):
			in = true
		case in && !strings.HasPrefix(line, "  #   "):
			in = false
		}
		if in {
			block = append(block, "  "+strings.TrimPrefix(line, "  # "))
		}
	}
	if len(block) == 0 {
		t.Fatal("no commented example starting with \"  # users:\" in config.example.yaml")
	}
	text := "auth:\n" + strings.Join(block, "\n") + "\n"
	c, err := Load(writeFile(t, text))
	if err != nil {
		t.Fatalf("Load(example user block):\n%s\nerror: %v", text, err)
	}
	if len(c.Auth.Users) != 1 {
		t.Fatalf("example block has %d users, want 1", len(c.Auth.Users))
	}
	dir := t.TempDir()
	c.Root, c.StateDir = filepath.Join(dir, "data"), filepath.Join(dir, "state")
	if err := c.Validate(); err != nil {
		t.Errorf("example user block does not validate: %v", err)
	}
	for _, key := range []string{"name", "password_hash", "access", "admin", "root"} {
		if !strings.Contains(text, " "+key+": ") {
			t.Errorf("example user has no %q", key)
		}
	}
}
