// RFC 4918 §10: the WebDAV request headers Depth, Destination, Lock-Token, Overwrite and Timeout.

package davserver

import (
	"errors"
	"time"
)

// Errors of the header and body parsers. Each maps to 400 Bad Request, except errLockType
// (see its comment) and errForeignDestination (502 Bad Gateway, RFC 4918 §9.8.5/§9.9.4).
var (
	// errIfSyntax: the If header does not follow the grammar of RFC 4918 §10.4.
	errIfSyntax = errors.New("davserver: malformed If header")
	// errBadDepth: a Depth header other than 0, 1 or infinity (§10.2).
	errBadDepth = errors.New("davserver: malformed Depth header")
	// errBadTimeout: a Timeout header with no acceptable entry (§10.7).
	errBadTimeout = errors.New("davserver: malformed Timeout header")
	// errBadLockToken: a missing or garbled Lock-Token header (§10.5).
	errBadLockToken = errors.New("davserver: malformed Lock-Token header")
	// errForeignDestination: a Destination on another server (§10.3).
	errForeignDestination = errors.New("davserver: destination on another server")
	// errBadOverwrite: an Overwrite header other than T or F (§10.6).
	errBadOverwrite = errors.New("davserver: malformed Overwrite header")
	// errLockInfo: a LOCK body that is not a valid DAV:lockinfo (§14.11).
	errLockInfo = errors.New("davserver: malformed lockinfo body")
	// errLockType: a lockinfo asking for a lock type other than DAV:write.
	errLockType = errors.New("davserver: unsupported lock type")
)

func parseDepth(s string) (int, error) { return 0, errBadDepth }

func parseTimeout(s string) (time.Duration, error) { return 0, errBadTimeout }

func parseLockToken(s string) (string, error) { return "", errBadLockToken }

func parseDestination(dest, host string) (string, error) { return "", errForeignDestination }

func parseOverwrite(s string) (bool, error) { return true, nil }
