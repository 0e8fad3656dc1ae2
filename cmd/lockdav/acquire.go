package main

// `lockdav locks acquire PATH`: take a lock through POST /.lockdav/locks, optionally waiting for
// the locks in the way to go (--wait), and print its token for the commands that follow (a PUT
// with If: (<token>), `lockdav locks release`).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lockdav/lockdav/locksystem"
)

// acquireFlags are the lock `locks acquire` asks for, named as the API's fields.
type acquireFlags struct {
	scope, depth, lockTimeout, owner string
	releaseOnUpdate, json            bool
	wait                             time.Duration
}

func locksAcquireCmd(f *clientFlags) *cobra.Command {
	var a acquireFlags
	cmd := &cobra.Command{
		Use:   "acquire PATH",
		Short: "Take a lock, optionally waiting for it, and print its token",
		Long: "Take a lock on PATH and print its token. A lock in the way makes it fail with the\n" +
			"holders named, unless --wait is given: then the server holds the request until the\n" +
			"lock can be granted (first come, first served among waiters) or the wait runs out.\n" +
			"The server bounds --wait by locks.max_wait. --timeout is raised by --wait, so that\n" +
			"the client does not give up before the server does.",
		Example: "  lockdav locks acquire /docs/plan.odt\n" +
			"  lockdav locks acquire /docs --scope shared --depth 0 --lock-timeout 1h --owner 'nightly sync'\n" +
			"  TOKEN=$(lockdav locks acquire /counter --depth 0 --wait 30s)",
		Args: exactlyOnePath,
		RunE: func(cmd *cobra.Command, args []string) error {
			body, err := a.body(args[0])
			if err != nil {
				return err
			}
			c, err := f.newClient(cmd)
			if err != nil {
				return err
			}
			c.http.Timeout += a.wait
			answer, err := c.send(http.MethodPost, locksAPI, body)
			if err != nil {
				return err
			}
			if a.json {
				return writeRaw(cmd.OutOrStdout(), answer)
			}
			return printToken(cmd, answer)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&a.scope, "scope", "exclusive", "exclusive or shared")
	fl.StringVar(&a.depth, "depth", "infinity", "0 (the resource alone) or infinity (and everything below)")
	fl.StringVar(&a.lockTimeout, "lock-timeout", "", `how long the lock lasts unless refreshed, such as 10m, or "infinite" (default: the server's locks.default_timeout)`)
	fl.StringVar(&a.owner, "owner", "", "who holds the lock, as text shown to others")
	fl.BoolVar(&a.releaseOnUpdate, "release-on-update", false, "release the lock after its holder's first write")
	fl.DurationVar(&a.wait, "wait", 0, "wait this long for locks in the way to go (0: fail at once)")
	fl.BoolVar(&a.json, "json", false, "print the server's JSON answer, the lock document")
	return cmd
}

func exactlyOnePath(_ *cobra.Command, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: want exactly one path, got %d arguments", errBadArg, len(args))
	}
	return nil
}

// body checks the flags and returns the JSON body of POST /.lockdav/locks.
func (a acquireFlags) body(path string) ([]byte, error) {
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("%w: path %q: want an absolute path such as /docs/plan.odt", errBadArg, path)
	}
	if a.scope != "exclusive" && a.scope != "shared" {
		return nil, fmt.Errorf("%w: --scope %q: want exclusive or shared", errBadArg, a.scope)
	}
	if a.depth != "0" && a.depth != "infinity" {
		return nil, fmt.Errorf("%w: --depth %q: want 0 or infinity", errBadArg, a.depth)
	}
	if a.wait < 0 {
		return nil, fmt.Errorf("%w: --wait %s: want 0 or a positive duration such as 30s", errBadArg, a.wait)
	}
	b := map[string]any{"path": path, "scope": a.scope, "depth": a.depth, "owner": a.owner,
		"release_on_update": a.releaseOnUpdate}
	switch t, err := time.ParseDuration(a.lockTimeout); {
	case a.lockTimeout == "":
	case a.lockTimeout == "infinite":
		b["timeout_seconds"] = 0
	case err != nil || t < time.Second:
		return nil, fmt.Errorf(`%w: --lock-timeout %q: want a duration of a second or more, or "infinite"`, errBadArg, a.lockTimeout)
	default:
		b["timeout_seconds"] = int64((t + time.Second - 1) / time.Second)
	}
	if a.wait > 0 {
		b["wait"] = a.wait.String()
	}
	return json.Marshal(b)
}

// send POSTs a JSON body to the API path and returns the answer's body, as do does for reads.
func (c *apiClient) send(method, path string, body []byte) ([]byte, error) {
	return c.doBody(method, path, nil, bytes.NewReader(body))
}

// printToken prints the token of the lock document answer.
func printToken(cmd *cobra.Command, answer []byte) error {
	var l locksystem.Lock
	if err := json.Unmarshal(answer, &l); err != nil {
		return fmt.Errorf("%w: lock document: %v", errNotJSON, err)
	}
	_, err := fmt.Fprintln(cmd.OutOrStdout(), printable(l.Token))
	return err
}
