package davserver_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"golang.org/x/net/webdav"

	"github.com/lockdav/lockdav/davserver"
	"github.com/lockdav/lockdav/locksystem"
)

// A System, through davserver.LockSystem, replaces webdav.NewMemLS in a plain x/net
// webdav.Handler.
func ExampleLockSystem() {
	locks, err := locksystem.New(time.Now(), locksystem.Options{})
	if err != nil {
		panic(err)
	}
	defer locks.Close()
	srv := httptest.NewServer(&webdav.Handler{FileSystem: webdav.NewMemFS(), LockSystem: davserver.LockSystem(locks)})
	defer srv.Close()

	do := func(method, path string, header map[string]string, body string) *http.Response {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(method, resp.Status)
		return resp
	}
	lock := do("LOCK", "/doc.txt", map[string]string{"Timeout": "Second-600"},
		`<?xml version="1.0" encoding="utf-8"?>
<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>
<D:locktype><D:write/></D:locktype><D:owner>alice</D:owner></D:lockinfo>`)
	token := lock.Header.Get("Lock-Token") // "<urn:uuid:…>"
	fmt.Println("locks held:", locks.Len())

	do("PUT", "/doc.txt", nil, "without the token")
	do("PUT", "/doc.txt", map[string]string{"If": "(" + token + ")"}, "with the token")
	do("UNLOCK", "/doc.txt", map[string]string{"Lock-Token": token}, "")
	fmt.Println("locks held:", locks.Len())

	// Output:
	// LOCK 201 Created
	// locks held: 1
	// PUT 423 Locked
	// PUT 201 Created
	// UNLOCK 204 No Content
	// locks held: 0
}
