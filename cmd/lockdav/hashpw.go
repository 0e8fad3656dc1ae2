package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/lockdav/lockdav/auth"
)

// maxPasswordLine bounds what is read from a pipe; bcrypt uses at most 72 bytes anyway.
const maxPasswordLine = 1024

func hashPasswordCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "hash-password",
		Short: "Read a password from stdin and print its bcrypt hash for auth.users[].password_hash",
		Long: "Read a password from stdin and print its bcrypt hash, for the password_hash of a user\n" +
			"in the config file. On a terminal the password is asked for twice and not echoed;\n" +
			"from a pipe the first line is read:\n\n" +
			"    printf '%s\\n' \"$PASSWORD\" | lockdav hash-password",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pw, err := readPassword(cmd.InOrStdin(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			hash, err := auth.Hash(pw)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), hash)
			return err
		},
	}
}

// readPassword reads a password from a terminal without echo (asking twice), or the first line
// of anything else.
func readPassword(in io.Reader, prompt io.Writer) ([]byte, error) {
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return readTerminal(int(f.Fd()), prompt)
	}
	return readLine(in)
}

func readTerminal(fd int, prompt io.Writer) ([]byte, error) {
	ask := func(label string) ([]byte, error) {
		fmt.Fprint(prompt, label)
		pw, err := term.ReadPassword(fd)
		fmt.Fprintln(prompt)
		return pw, err
	}
	pw, err := ask("Password: ")
	if err != nil {
		return nil, fmt.Errorf("reading password: %w", err)
	}
	again, err := ask("Again: ")
	if err != nil {
		return nil, fmt.Errorf("reading password: %w", err)
	}
	if !bytes.Equal(pw, again) {
		return nil, errors.New("the passwords differ")
	}
	return checkPassword(pw)
}

// readLine returns the first line of in, without its line ending.
func readLine(in io.Reader) ([]byte, error) {
	line, err := bufio.NewReader(io.LimitReader(in, maxPasswordLine+1)).ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading password: %w", err)
	}
	if len(line) > maxPasswordLine {
		return nil, fmt.Errorf("password line longer than %d bytes", maxPasswordLine)
	}
	line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
	return checkPassword(line)
}

// checkPassword refuses what bcrypt cannot hash faithfully: nothing, or more than 72 bytes
// (bcrypt ignores the rest, so two long passwords with the same start would both match).
func checkPassword(pw []byte) ([]byte, error) {
	switch {
	case len(pw) == 0:
		return nil, errors.New("empty password: give one on the first line of stdin")
	case len(pw) > 72:
		return nil, fmt.Errorf("password is %d bytes: bcrypt uses at most 72", len(pw))
	}
	return pw, nil
}
