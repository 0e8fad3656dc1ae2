// Package fs is the file tree lockdav serves: a webdav.FileSystem over an
// afero.Fs, jailed to its root, with atomic uploads (RFC 4918 §9.7 PUT) and
// durable dead properties (RFC 4918 §4, §9.2 PROPPATCH) that follow their
// resource on MOVE and COPY and vanish on DELETE.
//
// It knows nothing of locks or HTTP statuses: davserver maps its errors.
package fs

import (
	"errors"
	"fmt"
	"os"

	"github.com/lockdav/lockdav/fs/internal/propkit"
)

var (
	// ErrOutsideRoot reports a name that leads, through a symbolic link, to a
	// place outside the root. It matches os.ErrPermission too, so that x/net's
	// PROPFIND skips such entries instead of failing the whole listing.
	ErrOutsideRoot = fmt.Errorf("fs: path leads outside the root: %w", os.ErrPermission)

	// ErrTooManyProps reports a PROPPATCH setting or removing more properties, or more bytes of
	// them, than the property store can change at once (all or none, RFC 4918 §9.2): 507, as
	// §9.2.1 says for a server that cannot record them.
	ErrTooManyProps = errors.New("fs: properties too many or too large to store at once")

	// ErrTooLarge reports an upload body longer than the limit given to Upload.
	ErrTooLarge = errors.New("fs: upload exceeds the size limit")

	// ErrIsDir reports an upload whose target is a collection.
	ErrIsDir = errors.New("fs: target is a directory")

	// ErrHiddenName reports a name through an upload in progress (a segment
	// starting ".lockdav-upload-"): the server's own files, which clients may
	// neither read nor create. It matches os.ErrPermission, like
	// ErrOutsideRoot: the name is there, but not for clients.
	ErrHiddenName = fmt.Errorf("fs: name reserved for the server: %w", os.ErrPermission)

	// ErrInvalidName reports a name that cannot exist in the tree: a NUL
	// byte, a control character, a backslash, invalid UTF-8, a ".." segment,
	// a segment longer than maxSegment bytes or a path longer than maxPath.
	ErrInvalidName = propkit.ErrInvalidName
)
