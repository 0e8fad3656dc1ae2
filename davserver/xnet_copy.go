package davserver

// Adapts to x/net: COPY (RFC 4918 §9.8) is x/net's, but x/net's copy of a collection stops at
// the first member it cannot open and answers 500, the destination half made. §9.8.3 wants the
// rest copied and a 207 Multi-Status naming each member that failed (§9.8.8 shows one). The
// members x/net cannot open are symlinks that lead out of the root (403) or to nothing (404):
// for a COPY, the FileSystem x/net sees leaves them out of each listing, and the answer names
// them.

import (
	"context"
	"encoding/xml"
	"io/fs"
	"net/http"
	"os"
	"path"

	"github.com/lockdav/lockdav/davserver/rfc4918"
	"github.com/lockdav/lockdav/server/request"
	"golang.org/x/net/webdav"
)

type copyKey struct{}

// copyState is what one COPY request left out. x/net copies in one goroutine: no mutex.
type copyState struct {
	failed []rfc4918.Response
}

// serveCopy delegates a COPY. When members were left out of it, it answers 207 naming them in
// place of x/net's 201 or 204: everything else was copied.
func (h *Handler) serveCopy(w http.ResponseWriter, r *http.Request, src string) error {
	// x/net answers 500 for a source it cannot open other than a missing one: a symlink out of
	// the root is 403 here, as for every other method.
	if _, err := h.fs.Stat(r.Context(), src); err != nil {
		return err
	}
	st := &copyState{}
	cw := &copyWriter{ResponseWriter: w, st: st}
	h.dav.ServeHTTP(cw, r.WithContext(context.WithValue(r.Context(), copyKey{}, st)))
	if cw.err != nil {
		request.Log(r).Debug().Err(cw.err).Msg("write multistatus")
	}
	return nil
}

// copyWriter turns x/net's success into the 207 when members were left out.
type copyWriter struct {
	http.ResponseWriter
	st    *copyState
	multi bool  // the 207 is written: x/net's own body goes nowhere
	err   error // from writing the 207
}

func (cw *copyWriter) WriteHeader(code int) {
	if code >= 200 && code < 300 && len(cw.st.failed) > 0 {
		cw.multi = true
		cw.err = writeMultiStatus(cw.ResponseWriter, cw.st.failed)
		return
	}
	cw.ResponseWriter.WriteHeader(code)
}

func (cw *copyWriter) Write(b []byte) (int, error) {
	if cw.multi {
		return len(b), nil
	}
	return cw.ResponseWriter.Write(b)
}

// copyFS is the FileSystem x/net sees, in URL paths: during a COPY, the files it opens for
// reading list only the members that can be copied.
type copyFS struct {
	webdav.FileSystem
}

func (f copyFS) OpenFile(ctx context.Context, name string, flag int, perm os.FileMode) (webdav.File, error) {
	file, err := f.FileSystem.OpenFile(ctx, name, flag, perm)
	st, ok := ctx.Value(copyKey{}).(*copyState)
	if err != nil || !ok || flag != os.O_RDONLY {
		return file, err
	}
	return &copySource{File: file, ctx: ctx, fs: f.FileSystem, name: name, st: st}, nil
}

// copySource is a COPY's source file or collection.
type copySource struct {
	webdav.File
	ctx  context.Context
	fs   webdav.FileSystem
	name string // URL path
	st   *copyState
}

// Readdir leaves out, and records, the symlinks that lead nowhere this server may read: x/net
// would fail the whole COPY on opening one. Other members are listed as they are.
func (s *copySource) Readdir(n int) ([]fs.FileInfo, error) {
	fis, err := s.File.Readdir(n)
	kept := fis[:0]
	for _, fi := range fis {
		if fi.Mode()&fs.ModeSymlink != 0 {
			p := path.Join(s.name, fi.Name())
			if _, serr := s.fs.Stat(s.ctx, p); serr != nil {
				s.st.failed = append(s.st.failed, msResponse(rfc4918.Href(p), statusOf(serr).status, ""))
				continue
			}
		}
		kept = append(kept, fi)
	}
	return kept, err
}

// DeadProps forwards the source's dead properties, which x/net copies (§9.8.2).
func (s *copySource) DeadProps() (map[xml.Name]webdav.Property, error) {
	if dph, ok := s.File.(webdav.DeadPropsHolder); ok {
		return dph.DeadProps()
	}
	return nil, nil
}

// Patch implements webdav.DeadPropsHolder; a COPY never patches its source.
func (s *copySource) Patch(p []webdav.Proppatch) ([]webdav.Propstat, error) {
	if dph, ok := s.File.(webdav.DeadPropsHolder); ok {
		return dph.Patch(p)
	}
	return nil, webdav.ErrNotImplemented
}
