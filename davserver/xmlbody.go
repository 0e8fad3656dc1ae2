// RFC 4918 §14 and §16: the XML bodies the lock handlers write.

package davserver

import (
	"io"
	"net/http"
	"time"

	"github.com/lockdav/lockdav/locksystem"
)

func lockDiscoveryXML(locks []locksystem.Lock, now time.Time) string { return "" }

func writeLockResponse(w io.Writer, l locksystem.Lock, now time.Time) error { return nil }

func supportedLockXML() string { return "" }

func errorBody(condition string, hrefs ...string) []byte { return nil }

type msResponse struct {
	href      string
	status    int
	condition string
}

func writeMultiStatus(w http.ResponseWriter, rs []msResponse) error { return nil }

func href(path string) string { return path }
