package locksystem

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The lock core knows no HTTP (docs/ARCHITECTURE.md "Packages"): neither it nor any package
// under it links net/http or x/net's webdav. The x/net adapters live in davserver, the etcd
// lock store, whose client's gRPC links net/http, in server/etcdstore.
func TestNoHTTPDependency(t *testing.T) {
	gobin, err := exec.LookPath("go") // go test puts its own GOROOT/bin first on PATH
	if err != nil {
		t.Fatalf("no go command to list dependencies with: %v", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", "./...").Output() //nolint:gosec // the go command of this toolchain
	if err != nil {
		t.Fatalf("go list -deps ./...: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/lockdav/lockdav/locksystem/boltstore") {
		t.Fatalf("go list -deps ./... does not list boltstore; ran in the wrong directory?\n%s", out)
	}
	for _, banned := range []string{"net/http", "golang.org/x/net/webdav"} {
		if slices.Contains(deps, banned) {
			t.Errorf("a package under locksystem/ depends on %s", banned)
		}
	}
}
