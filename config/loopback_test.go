package config

import "testing"

// TestReliesOnLoopback: only a server with no users and auth.anonymous unset relies on loopback;
// an explicit auth.anonymous, even "write", or any user is the operator's choice.
func TestReliesOnLoopback(t *testing.T) {
	c := Default()
	c.Addr = "127.0.0.1:8080"
	if !c.ReliesOnLoopback() {
		t.Error("no users, anonymous unset: ReliesOnLoopback() = false")
	}
	c.Auth.Anonymous = AccessWrite
	if c.ReliesOnLoopback() {
		t.Error("anonymous write set explicitly: ReliesOnLoopback() = true")
	}
	c.Auth.Anonymous = ""
	c.Auth.Users = []User{{Name: "alice"}}
	if c.ReliesOnLoopback() {
		t.Error("with a user: ReliesOnLoopback() = true")
	}
}
