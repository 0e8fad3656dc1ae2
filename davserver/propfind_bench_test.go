package davserver

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// discard is a ResponseWriter that throws the body away, as the benchmark's client does.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkPropfind is a Depth 1 listing of 2,000 one-byte members over the OS, allprop and
// the properties Finder and Explorer ask for: the server's side of make bench's propfind.
func BenchmarkPropfind(b *testing.B) {
	ts, root := newOSTestServer(&testing.T{})
	dir := filepath.Join(root, "d")
	if err := os.Mkdir(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	for i := range 2000 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("m%06d.txt", i)), []byte("m"), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	bodies := map[string]string{"allprop": `<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>`,
		"named": `<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:getcontentlength/>` +
			`<D:getlastmodified/><D:creationdate/><D:getetag/><D:lockdiscovery/></D:prop></D:propfind>`}
	for _, name := range []string{"allprop", "named"} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				r, _ := http.NewRequest("PROPFIND", "/d/", io.NopCloser(strings.NewReader(bodies[name])))
				r.Header.Set("Depth", "1")
				ts.h.ServeHTTP(&discard{h: http.Header{}}, r)
			}
		})
	}
}
