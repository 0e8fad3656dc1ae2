// Package config is lockdav's configuration: a YAML file whose every key has a default here, in
// Default, and is repeated with its explanation in config.example.yaml.
//
// Load reads a file over the defaults and rejects unknown keys; Validate checks the values.
// They are separate so that command-line flags can override a loaded file before validation.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the whole configuration. Its zero value is not usable: start from Default or Load.
type Config struct {
	// Addr is the host:port to listen on.
	Addr string `yaml:"addr"`
	// Root is the directory served over WebDAV; created (0700) if missing.
	Root string `yaml:"root"`
	// StateDir holds the lock and dead-property databases; created (0700) if missing.
	// It must not be the root or lie inside it.
	StateDir string `yaml:"state_dir"`
	Log      Log    `yaml:"log"`
	TLS      TLS    `yaml:"tls"`
	Limits   Limits `yaml:"limits"`
	Locks    Locks  `yaml:"locks"`
	Auth     Auth   `yaml:"auth"`
}

// Log configures the server's log, written to stderr.
type Log struct {
	// Level is the least severe level logged: debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is auto (console on a terminal, json otherwise), console (human-readable) or json
	// (one object per line).
	Format string `yaml:"format"`
	// FlushInterval is how long info and debug lines (the access log among them) may wait to be
	// written together; warnings and errors are written at once. 0 writes every line at once.
	FlushInterval Duration `yaml:"flush_interval"`
}

// TLS turns on HTTPS (and HTTP/2) when both files are set.
type TLS struct {
	// Cert is a PEM certificate chain file.
	Cert string `yaml:"cert"`
	// Key is the PEM private key file for Cert.
	Key string `yaml:"key"`
}

// Limits bounds what one request or connection may cost.
type Limits struct {
	// MaxXMLBody is the largest XML request body (PROPFIND, PROPPATCH, LOCK) accepted.
	MaxXMLBody Size `yaml:"max_xml_body"`
	// MaxUpload is the largest PUT body accepted; 0 means unlimited.
	MaxUpload Size `yaml:"max_upload"`
	// ReadHeaderTimeout is how long a client may take to send its request headers.
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	// IdleTimeout is how long an idle keep-alive connection stays open.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// ShutdownTimeout bounds how long a shutdown waits for in-flight requests.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	// BodyTimeout is how long a request body may take to arrive, extended by a second for every
	// BodyMinRate bytes received; a slower body gets 408. 0 means no limit.
	BodyTimeout Duration `yaml:"body_timeout"`
	// BodyMinRate is the rate, in bytes per second, that extends BodyTimeout.
	BodyMinRate Size `yaml:"body_min_rate"`
	// MaxEventStreamsPerPrincipal is how many event streams (GET /.lockdav/events) one
	// principal may have open at once; one more gets 429.
	MaxEventStreamsPerPrincipal int `yaml:"max_event_streams_per_principal"`
}

// Locks is the lock policy (RFC 4918 §10.7 Timeout) and quota.
type Locks struct {
	// MinTimeout is the shortest timeout granted; shorter requests are raised to it.
	MinTimeout Duration `yaml:"min_timeout"`
	// MaxTimeout is the longest timeout granted; longer requests are lowered to it.
	MaxTimeout Duration `yaml:"max_timeout"`
	// DefaultTimeout is granted when a LOCK request names no timeout.
	DefaultTimeout Duration `yaml:"default_timeout"`
	// AllowInfinite grants "Timeout: Infinite" as a lock that never expires; otherwise such a
	// request gets MaxTimeout.
	AllowInfinite bool `yaml:"allow_infinite"`
	// MaxPerPrincipal is how many locks one principal may hold at once.
	MaxPerPrincipal int `yaml:"max_per_principal"`
	// EventHistory is how many of the latest lock events the server keeps, so that an event
	// stream that reconnects with Last-Event-ID misses none of them.
	EventHistory int `yaml:"event_history"`
	// MaxWait is the longest "wait" a lock request may ask for; a longer one gets 400.
	MaxWait Duration `yaml:"max_wait"`
	// MaxWaitersPerPrincipal is how many lock requests of one principal may wait at once; one
	// more gets 429.
	MaxWaitersPerPrincipal int `yaml:"max_waiters_per_principal"`
	// Store is where the lock table lives: "bolt" (a file in state_dir, one process) or "etcd"
	// (shared by several replicas, with the dead properties).
	Store string `yaml:"store"`
	// Etcd is the etcd cluster of store: etcd.
	Etcd Etcd `yaml:"etcd"`
}

// Etcd says how to reach the etcd cluster that replicas share (locks.store: etcd).
type Etcd struct {
	// Endpoints are the cluster members' client URLs, e.g. http://10.0.0.1:2379.
	Endpoints []string `yaml:"endpoints"`
	// Prefix starts every key lockdav writes, so that several lockdav clusters, or other
	// programs, can share one etcd.
	Prefix string `yaml:"prefix"`
	// DialTimeout bounds connecting to a member.
	DialTimeout Duration `yaml:"dial_timeout"`
	// RequestTimeout bounds each round trip; a request that needs etcd and gets no answer in
	// time is answered 503 with Retry-After.
	RequestTimeout Duration `yaml:"request_timeout"`
	// CA, Cert and Key are PEM files: the CA that signed the members' certificates, and this
	// replica's client certificate and key (both or neither). Empty CA: plain http endpoints.
	CA   string `yaml:"ca"`
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
	// Username and Password, when etcd has authentication on.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
}

// Auth says who may use the server. See Config.AnonymousAccess for what an unset Anonymous means.
type Auth struct {
	// Anonymous is what requests without credentials may do: none, read or write. "" (unset)
	// means none when Users is not empty; with no users it means write on a loopback Addr,
	// and is refused on any other address.
	Anonymous string `yaml:"anonymous"`
	// Users may log in with HTTP Basic authentication.
	Users []User `yaml:"users"`
}

// User is one account.
type User struct {
	// Name is the login name: unique, not "anonymous", no colon or control character.
	Name string `yaml:"name"`
	// PasswordHash is the bcrypt hash of the password, as printed by "lockdav hash-password".
	PasswordHash string `yaml:"password_hash"`
	// Access is read (OPTIONS, GET, HEAD, PROPFIND and the lock API's GETs) or write (everything).
	Access string `yaml:"access"`
	// Admin may release anyone's lock through the lock API and lists every lock there.
	Admin bool `yaml:"admin"`
	// Root confines the user to a subtree: URL /x is the served tree's Root/x. "" means "/".
	Root string `yaml:"root"`
}

// Default returns the configuration of a server started without a file. It is the one place
// defaults are defined.
func Default() Config {
	return Config{
		Addr:     "127.0.0.1:8080",
		Root:     "./data",
		StateDir: "./state",
		Log:      Log{Level: "info", Format: "auto", FlushInterval: Duration(100 * time.Millisecond)},
		Limits: Limits{
			MaxXMLBody:        1 << 20,
			MaxUpload:         0,
			ReadHeaderTimeout: Duration(10 * time.Second),
			IdleTimeout:       Duration(120 * time.Second),
			ShutdownTimeout:   Duration(10 * time.Second),
			BodyTimeout:       Duration(30 * time.Second),
			BodyMinRate:       500,

			MaxEventStreamsPerPrincipal: 8,
		},
		Locks: Locks{
			MinTimeout:      Duration(time.Second),
			MaxTimeout:      Duration(24 * time.Hour),
			DefaultTimeout:  Duration(10 * time.Minute),
			AllowInfinite:   false,
			MaxPerPrincipal: 10000,

			EventHistory:           4096,
			MaxWait:                Duration(5 * time.Minute),
			MaxWaitersPerPrincipal: 16,

			Store: "bolt",
			Etcd: Etcd{
				Endpoints:      []string{"http://127.0.0.1:2379"},
				Prefix:         "/lockdav/",
				DialTimeout:    Duration(5 * time.Second),
				RequestTimeout: Duration(5 * time.Second),
			},
		},
	}
}

// Load reads the YAML file at path over Default. Keys missing from the file keep their
// defaults; an unknown key is an error naming the key and its line. Load does not validate.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	cfg, err := parse(data)
	if err != nil {
		return Config{}, fmt.Errorf("config: %s: %w", path, err)
	}
	return cfg, nil
}

// parse decodes one YAML document over Default.
func parse(data []byte) (Config, error) {
	cfg := Default()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(&cfg)
	if errors.Is(err, io.EOF) {
		return cfg, nil // an empty file: all defaults
	}
	if err != nil {
		return Config{}, err
	}
	if len(cfg.Auth.Users) == 0 {
		cfg.Auth.Users = nil // "users: []" is the default, not a different value
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return Config{}, errors.New("more than one YAML document")
	}
	return cfg, nil
}
