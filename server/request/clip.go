package request

import (
	"strconv"
	"strings"
)

// Strings a client supplies — header values, paths, methods, user names — go into the log
// shortened, whoever logs them: a request may carry a megabyte of headers (net/http's
// MaxHeaderBytes), and a log line holding one of them whole, or ten lines holding it, is a cheap
// way to fill the operator's disk or choke their collector. Lock events shorten owners the same
// way (locksystem).

// maxLogged is how much of a client-supplied string a log line shows: enough to tell what it
// was, and a path as deep as any real one.
const maxLogged = 256

// maxLoggedError is how much of an error message a log line shows. Errors carry client strings
// too (a path, a header value quoted by its parser) but also the reason that matters after them
// ("permission denied"), so they keep more.
const maxLoggedError = 1024

// Clip is s shortened for the log: s itself when it has at most 256 bytes, otherwise its first
// 256 bytes (as valid UTF-8: a rune cut in two is dropped) followed by "… (N bytes)", N being
// the length of s. Every client-supplied string a log line shows goes through it.
func Clip(s string) string { return clip(s, maxLogged) }

// ClipErr is err with its message shortened as Clip does, to 1 KiB; errors.Is and errors.As see
// err through it. It is err itself (nil included) when the message is short enough.
func ClipErr(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if len(msg) <= maxLoggedError {
		return err
	}
	return &clippedError{msg: clip(msg, maxLoggedError), err: err}
}

type clippedError struct {
	msg string
	err error
}

func (e *clippedError) Error() string { return e.msg }
func (e *clippedError) Unwrap() error { return e.err }

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "… (" + strconv.Itoa(len(s)) + " bytes)"
}
