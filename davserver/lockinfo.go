// RFC 4918 §9.10 and §14.11: the LOCK request body (DAV:lockinfo).

package davserver

import (
	"io"

	"github.com/lockdav/lockdav/locksystem"
)

type lockInfo struct {
	scope locksystem.Scope
	owner string
}

func parseLockInfo(body io.Reader) (li lockInfo, empty bool, err error) {
	return lockInfo{}, false, errLockInfo
}
