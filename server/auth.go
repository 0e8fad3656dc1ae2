package server

import (
	"context"
	"errors"
	"fmt"
	iofs "io/fs"
	"path"
	"strings"

	"github.com/lockdav/lockdav/auth"
	"github.com/lockdav/lockdav/config"
	"github.com/lockdav/lockdav/fs"
)

// newAuth builds the Authenticator of cfg.Auth. It refuses, saying why, a server with no users
// and auth.anonymous unset on an address other than loopback (config.ErrAnonymousUnset).
func newAuth(cfg config.Config) (*auth.Authenticator, error) {
	level, err := cfg.AnonymousAccess()
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	anon, err := auth.ParseAccess(level)
	if err != nil {
		return nil, fmt.Errorf("server: auth.anonymous: %w", err)
	}
	users := make([]auth.User, 0, len(cfg.Auth.Users))
	for _, u := range cfg.Auth.Users {
		access, err := auth.ParseAccess(u.Access)
		if err != nil {
			return nil, fmt.Errorf("server: auth.users %s: %w", u.Name, err)
		}
		users = append(users, auth.User{Name: u.Name, Hash: u.PasswordHash, Access: access, Admin: u.Admin, Root: u.Root})
	}
	a, err := auth.New(auth.Options{Users: users, Anonymous: anon})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return a, nil
}

// makeUserRoots creates each user's root collection in the served tree, so a confined user
// starts with an empty tree rather than 404s. It goes through the jailed file system: a symlink
// in the way cannot make it create directories outside the root.
func makeUserRoots(fsys *fs.FS, users []config.User) error {
	ctx := context.Background()
	for _, u := range users {
		dir := ""
		for _, seg := range strings.Split(strings.Trim(u.Root, "/"), "/") {
			if seg == "" {
				continue
			}
			dir = path.Join("/", dir, seg)
			err := fsys.Mkdir(ctx, dir, 0o700)
			if err != nil && !errors.Is(err, iofs.ErrExist) {
				return fmt.Errorf("server: auth.users %s: root %s: %w", u.Name, u.Root, err)
			}
		}
	}
	return nil
}
