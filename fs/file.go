package fs

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"mime"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/afero"
	"golang.org/x/net/webdav"
)

// file is what OpenFile returns: the afero file, with its dead properties,
// its ETag, and a listing that hides uploads in progress.
type file struct {
	afero.File
	fs    *FS
	name  string    // clean slash path, the PropStore key
	batch *dirBatch //nolint:unused // ReadDirStat's buffers, read on Linux only
}

var (
	_ webdav.File            = (*file)(nil)
	_ webdav.DeadPropsHolder = (*file)(nil)
	_ webdav.ETager          = (*file)(nil)
	_ webdav.ETager          = fileInfo{}
	_ webdav.ContentTyper    = fileInfo{}
)

// Content is what to send the file's content from: the *os.File itself when
// the base is the OS, which net/http hands to sendfile(2) (a wrapper would
// have it copied through a buffer), else the file.
func (f *file) Content() io.ReadSeeker {
	if osf, ok := f.File.(*os.File); ok {
		return osf
	}
	return f
}

func (f *file) DeadProps() (map[xml.Name]webdav.Property, error) {
	return f.fs.props.Get(f.name)
}

func (f *file) Patch(patches []webdav.Proppatch) ([]webdav.Propstat, error) {
	return f.fs.props.Patch(f.name, patches)
}

func (f *file) ETag(ctx context.Context) (string, error) {
	fi, err := f.File.Stat()
	if err != nil {
		return "", err
	}
	return ETag(fi), nil
}

func (f *file) Stat() (os.FileInfo, error) {
	fi, err := f.File.Stat()
	if err != nil {
		return nil, err
	}
	return fileInfo{fi}, nil
}

// Readdir lists the directory like os.File.Readdir, without hidden entries;
// with count <= 0 the list is sorted by name.
func (f *file) Readdir(count int) ([]os.FileInfo, error) {
	if count <= 0 {
		all, err := f.File.Readdir(-1)
		out := f.visible(all)
		slices.SortFunc(out, func(a, b os.FileInfo) int { return strings.Compare(a.Name(), b.Name()) })
		return out, err
	}
	var out []os.FileInfo
	for len(out) < count {
		batch, err := f.File.Readdir(count - len(out))
		out = append(out, f.visible(batch)...)
		if err != nil {
			if errors.Is(err, io.EOF) && len(out) > 0 {
				return out, nil
			}
			return out, err
		}
		if len(batch) == 0 {
			break
		}
	}
	return out, nil
}

// Readdirnames is Readdir for names, so that no listing shows hidden entries.
func (f *file) Readdirnames(count int) ([]string, error) {
	infos, err := f.Readdir(count)
	names := make([]string, len(infos))
	for i, fi := range infos {
		names[i] = fi.Name()
	}
	return names, err
}

// visible keeps the entries a listing may show: neither hidden nor named so that no request
// can reach them. Such a name (invalid UTF-8, a control character, a backslash, one that
// makes the path too long) can only have been made behind the server's back; listed, it
// would be refused by every later step of the walk, and PROPFIND cannot take back the part
// of its 207 Multi-Status (RFC 4918 §13) already sent, nor put invalid UTF-8 or most control
// characters into an XML 1.0 document at all. So it is left out, with a warning.
func (f *file) visible(infos []os.FileInfo) []os.FileInfo {
	out := make([]os.FileInfo, 0, len(infos))
	for _, fi := range infos {
		switch err := checkMember(f.name, fi.Name()); {
		case isHidden(fi.Name()):
		case errors.Is(err, ErrInvalidName):
			f.fs.log.Warn().Err(err).Str("dir", f.name).Msg("listing skips a member no request can name")
		default:
			out = append(out, fileInfo{fi})
		}
	}
	return out
}

// fileInfo adds the ETag and the content type, which x/net looks for on the
// os.FileInfo.
type fileInfo struct{ os.FileInfo }

func (fi fileInfo) ETag(ctx context.Context) (string, error) { return ETag(fi.FileInfo), nil }

// ContentType answers DAV:getcontenttype from the name's extension, as x/net
// would, but without the open that x/net's findContentType makes before it
// looks at the extension: one open per member of a PROPFIND listing. Without
// a known extension it returns webdav.ErrNotImplemented, and x/net sniffs the
// content.
func (fi fileInfo) ContentType(ctx context.Context) (string, error) {
	if t := mime.TypeByExtension(path.Ext(fi.Name())); t != "" {
		return t, nil
	}
	return "", webdav.ErrNotImplemented
}

// ETag returns a quoted strong ETag for fi (RFC 9110 §8.8.3) made of its
// size and modification time in nanoseconds. Upload makes sure the time
// moves forward on every overwrite, so equal ETags mean equal content.
func ETag(fi os.FileInfo) string {
	return string(AppendETag(make([]byte, 0, 32), fi))
}

// AppendETag appends ETag(fi) to b, for a listing that writes one per member.
func AppendETag(b []byte, fi os.FileInfo) []byte {
	if fi == nil {
		return append(b, `""`...)
	}
	b = append(b, '"')
	b = appendHex(b, fi.ModTime().UnixNano())
	b = append(b, '-')
	b = appendHex(b, fi.Size())
	return append(b, '"')
}

// appendHex appends n as fmt's %x does, a minus sign before the digits of a negative number.
func appendHex(b []byte, n int64) []byte {
	if n < 0 {
		return strconv.AppendUint(append(b, '-'), uint64(-n), 16) //nolint:gosec // -n ≥ 1 here; MinInt64 wraps to its own magnitude
	}
	return strconv.AppendInt(b, n, 16)
}
