package main

// `lockdav locks`: the lock documents of a running server, through its JSON API under
// /.lockdav/locks (see docs/API.md).

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/lockdav/lockdav/davserver/rfc4918"
	"github.com/lockdav/lockdav/locksystem"
)

// Defaults of the client flags.
const (
	defaultServer  = "http://127.0.0.1:8080"
	defaultTimeout = 10 * time.Second
	locksAPI       = "/.lockdav/locks"
)

// Environment variables read when the matching flag is not given.
const (
	envServer   = "LOCKDAV_SERVER"
	envUser     = "LOCKDAV_USER"
	envPassword = "LOCKDAV_PASSWORD"
)

// Errors of the locks commands.
var (
	// errUnreachable: no HTTP answer came from the server (refused, timed out, bad TLS).
	errUnreachable = errors.New("cannot reach lockdav")
	// errNotJSON: the server answered, but not with the JSON the API sends.
	errNotJSON = errors.New("answer is not lockdav JSON")
	// errBadArg: a flag or argument is invalid; nothing was sent.
	errBadArg = errors.New("invalid argument")
)

// statusError is a non-success answer of the API, with its JSON error body.
type statusError struct {
	Status    int
	Err       string            // the body's "error"
	Detail    string            // the body's "detail"
	Conflicts []locksystem.Lock // a 423's "conflicts": who holds the locks in the way
}

func (e *statusError) Error() string {
	msg := fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
	if e.Err != "" && !strings.EqualFold(e.Err, http.StatusText(e.Status)) {
		msg += ": " + e.Err
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	switch e.Status {
	case http.StatusUnauthorized:
		msg += " (give --user and --password, or set " + envUser + " and " + envPassword + ")"
	case http.StatusForbidden:
		msg += " (only the lock's principal or an admin may do this)"
	}
	for _, l := range e.Conflicts {
		msg += fmt.Sprintf("\n  held by %s on %s (%s, depth %s), expires in %s", printable(l.Principal),
			printable(l.Path), l.Scope, l.Depth, expiresIn(l, time.Now()))
	}
	return msg
}

// clientFlags are the flags every locks subcommand shares.
type clientFlags struct {
	server, user, password string
	timeout                time.Duration
}

// apiClient talks to one server's JSON lock API.
type apiClient struct {
	base           *url.URL
	user, password string
	http           *http.Client
}

// locksCmd is `lockdav locks` with the real clock.
func locksCmd() *cobra.Command { return newLocksCmd(time.Now) }

// newLocksCmd builds `lockdav locks`; now is read to say how long until a lock expires.
func newLocksCmd(now func() time.Time) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "locks",
		Short: "List, show, acquire and release the locks of a running lockdav server",
		Long: "List, show, acquire and release the lock documents of a running lockdav server through its\n" +
			"JSON API (" + locksAPI + "). Credentials are sent with HTTP Basic authentication, and\n" +
			"only when a user or password is given.\n\n" +
			"Environment: " + envServer + " (default for --server), " + envUser + " and " + envPassword + "\n" +
			"(defaults for --user and --password).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.server, "server", "", "lockdav base URL (default $"+envServer+", else "+defaultServer+")")
	pf.StringVar(&f.user, "user", "", "user name for HTTP Basic authentication (default $"+envUser+")")
	pf.StringVar(&f.password, "password", "", "password for HTTP Basic authentication (default $"+envPassword+")")
	pf.DurationVar(&f.timeout, "timeout", defaultTimeout, "give up on the server after this long")
	cmd.AddCommand(locksLsCmd(&f, now), locksShowCmd(&f, now), locksAcquireCmd(&f), locksReleaseCmd(&f))
	return cmd
}

// newClient resolves the shared flags (flag, then environment, then default) into a client.
// request sends one API request with the command's server and credentials, and returns the
// answer's body.
func (f *clientFlags) request(cmd *cobra.Command, method, path string, q url.Values) ([]byte, error) {
	c, err := f.newClient(cmd)
	if err != nil {
		return nil, err
	}
	return c.do(method, path, q)
}

func (f *clientFlags) newClient(cmd *cobra.Command) (*apiClient, error) {
	fl := cmd.Flags()
	server := pick(fl.Changed("server"), f.server, envServer, defaultServer)
	user := pick(fl.Changed("user"), f.user, envUser, "")
	password := pick(fl.Changed("password"), f.password, envPassword, "")
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w: --server %q: want an http:// or https:// URL such as %s", errBadArg, server, defaultServer)
	}
	if f.timeout <= 0 {
		return nil, fmt.Errorf("%w: --timeout %s: want a positive duration such as 10s", errBadArg, f.timeout)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return &apiClient{base: u, user: user, password: password, http: &http.Client{Timeout: f.timeout}}, nil
}

// pick is the flag's value when it was given, else the environment variable's when set, else def.
func pick(changed bool, flag, env, def string) string {
	if changed {
		return flag
	}
	if v, ok := os.LookupEnv(env); ok && v != "" {
		return v
	}
	return def
}

// do sends a request to the API path (below the base URL) and returns the body of a 2xx answer.
// A 2xx answer with a body must be JSON.
func (c *apiClient) do(method, path string, query url.Values) ([]byte, error) {
	return c.doBody(method, path, query, nil)
}

// doBody is do with a JSON request body, nil for none.
func (c *apiClient) doBody(method, path string, query url.Values, body io.Reader) ([]byte, error) {
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	req, err := http.NewRequest(method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadArg, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.user != "" || c.password != "" {
		req.SetBasicAuth(c.user, c.password)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w at %s: %v", errUnreachable, c.base, unwrapURLError(err))
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%w at %s: reading the answer: %v", errUnreachable, c.base, unwrapURLError(err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, answerError(c.base, resp, answer)
	}
	if len(answer) > 0 && !json.Valid(answer) {
		return nil, notJSON(c.base, resp, answer)
	}
	return answer, nil
}

// unwrapURLError drops the "Get \"url\":" prefix net/http puts on transport errors: the
// message names the server already.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return errors.New("no answer within --timeout")
		}
		return ue.Err
	}
	return err
}

// answerError turns a non-2xx answer into an error carrying the server's error and detail.
func answerError(base *url.URL, resp *http.Response, body []byte) error {
	var b struct {
		Error     *string           `json:"error"`
		Detail    string            `json:"detail"`
		Conflicts []locksystem.Lock `json:"conflicts"`
	}
	if json.Unmarshal(body, &b) != nil || b.Error == nil {
		return fmt.Errorf("%s answered %d %s: %w", base, resp.StatusCode, http.StatusText(resp.StatusCode), notJSON(base, resp, body))
	}
	return &statusError{Status: resp.StatusCode, Err: *b.Error, Detail: b.Detail, Conflicts: b.Conflicts}
}

// notJSON describes an answer that is not the API's JSON, quoting its start.
func notJSON(base *url.URL, resp *http.Response, body []byte) error {
	snippet := strings.Join(strings.Fields(string(body)), " ")
	if r := []rune(snippet); len(r) > 80 {
		snippet = string(r[:80]) + "…"
	}
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		ct = "none"
	}
	return fmt.Errorf("%w (Content-Type %s, body %q): is %s a lockdav server?", errNotJSON, ct, snippet, base)
}

// tokenPath is the API path of one lock. A token may be given as the Lock-Token header shows
// it, in angle brackets.
func tokenPath(arg string) (string, error) {
	tok := strings.TrimSpace(arg)
	tok = strings.TrimSuffix(strings.TrimPrefix(tok, "<"), ">")
	if tok == "" || strings.ContainsAny(tok, "/?# \t") {
		return "", fmt.Errorf("%w: lock token %q: want a token such as urn:uuid:8c1f…", errBadArg, arg)
	}
	return locksAPI + "/" + url.PathEscape(tok), nil
}

// oneToken is the Args check of show and release.
func oneToken(_ *cobra.Command, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: want exactly one lock token, got %d arguments", errBadArg, len(args))
	}
	return nil
}

// lsFlags are the filters of `locks ls`, named as the API's query parameters.
type lsFlags struct {
	path, depth, owner, principal, scope string
	covering, json                       bool
}

func locksLsCmd(f *clientFlags, now func() time.Time) *cobra.Command {
	var ls lsFlags
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List locks under a path, with filters",
		Long: "List the live locks under --path as a table: path, scope, depth, principal, owner\n" +
			"(its text, without XML tags, shortened), time until expiry (\"never\" for infinite\n" +
			"locks) and token. Sorted by path, then by creation time.",
		Example: "  lockdav locks ls\n" +
			"  lockdav locks ls --path /projects --depth 1 --principal alice\n" +
			"  lockdav locks ls --path /projects/plan.odt --covering --json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q, err := ls.query()
			if err != nil {
				return err
			}
			body, err := f.request(cmd, http.MethodGet, locksAPI, q)
			if err != nil {
				return err
			}
			if ls.json {
				return writeRaw(cmd.OutOrStdout(), body)
			}
			return printTable(cmd.OutOrStdout(), body, now())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&ls.path, "path", "/", "list locks at or below this path")
	fl.StringVar(&ls.depth, "depth", "infinity", "0: locks rooted at --path; 1: also on its direct members; infinity: anywhere below")
	fl.BoolVar(&ls.covering, "covering", false, "also list locks on ancestors that cover --path")
	fl.StringVar(&ls.owner, "owner", "", "only locks whose owner contains this text")
	fl.StringVar(&ls.principal, "principal", "", "only locks taken by this principal")
	fl.StringVar(&ls.scope, "scope", "", "only exclusive or shared locks")
	fl.BoolVar(&ls.json, "json", false, "print the server's JSON answer")
	return cmd
}

// query checks the filters and turns them into the API's query parameters.
func (ls lsFlags) query() (url.Values, error) {
	if !strings.HasPrefix(ls.path, "/") {
		return nil, fmt.Errorf("%w: --path %q: want an absolute path such as /projects", errBadArg, ls.path)
	}
	switch ls.depth {
	case "0", "1", "infinity":
	default:
		return nil, fmt.Errorf("%w: --depth %q: want 0, 1 or infinity", errBadArg, ls.depth)
	}
	switch ls.scope {
	case "", "exclusive", "shared":
	default:
		return nil, fmt.Errorf("%w: --scope %q: want exclusive or shared", errBadArg, ls.scope)
	}
	q := url.Values{"path": {ls.path}, "depth": {ls.depth}}
	for k, v := range map[string]string{"owner": ls.owner, "principal": ls.principal, "scope": ls.scope} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if ls.covering {
		q.Set("covering", "true")
	}
	return q, nil
}

func locksShowCmd(f *clientFlags, now func() time.Time) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "show TOKEN",
		Short:   "Show every field of one lock",
		Long:    "Show every field of the lock with this token, one per line. TOKEN may be given\nbare (urn:uuid:…) or in angle brackets as in a Lock-Token header.",
		Example: "  lockdav locks show urn:uuid:0d6c5a0e-1b4f-4c7e-9a53-2f0a8e4b1c9d",
		Args:    oneToken,
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := tokenPath(args[0])
			if err != nil {
				return err
			}
			body, err := f.request(cmd, http.MethodGet, path, nil)
			if err != nil {
				return err
			}
			if asJSON {
				return writeRaw(cmd.OutOrStdout(), body)
			}
			return printDoc(cmd.OutOrStdout(), body, now())
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the server's JSON answer")
	return cmd
}

func locksReleaseCmd(f *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "release TOKEN",
		Short: "Release a lock",
		Long: "Release the lock with this token. The server allows it to the lock's principal and\n" +
			"to admins (an admin releasing someone else's lock is logged as forced).",
		Example: "  lockdav locks release urn:uuid:0d6c5a0e-1b4f-4c7e-9a53-2f0a8e4b1c9d",
		Args:    oneToken,
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := tokenPath(args[0])
			if err != nil {
				return err
			}
			if _, err := f.request(cmd, http.MethodDelete, path, nil); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "released %s\n", strings.Trim(strings.TrimSpace(args[0]), "<>"))
			return err
		},
	}
}

// writeRaw prints the server's JSON as it came, ending in a newline.
func writeRaw(w io.Writer, body []byte) error {
	if _, err := w.Write(body); err != nil {
		return err
	}
	if len(body) == 0 || body[len(body)-1] != '\n' {
		_, err := io.WriteString(w, "\n")
		return err
	}
	return nil
}

// printTable prints the answer of GET /.lockdav/locks as a table.
func printTable(w io.Writer, body []byte, now time.Time) error {
	var list struct {
		Locks []locksystem.Lock `json:"locks"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return fmt.Errorf("%w: lock list: %v", errNotJSON, err)
	}
	if len(list.Locks) == 0 {
		_, err := fmt.Fprintln(w, "no locks")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PATH\tSCOPE\tDEPTH\tPRINCIPAL\tOWNER\tEXPIRES IN\tTOKEN")
	for _, l := range list.Locks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", printable(l.Path), l.Scope, l.Depth,
			printable(l.Principal), printable(orDash(shorten(rfc4918.OwnerText(l.Owner), maxOwnerCell))),
			expiresIn(l, now), printable(l.Token))
	}
	return tw.Flush()
}

// printDoc prints one lock document, a field per line, labelled with the JSON names.
func printDoc(w io.Writer, body []byte, now time.Time) error {
	var l locksystem.Lock
	if err := json.Unmarshal(body, &l); err != nil {
		return fmt.Errorf("%w: lock document: %v", errNotJSON, err)
	}
	timeout := fmt.Sprintf("%d (%s)", int64(l.Timeout/time.Second), l.Timeout)
	expires := "never"
	if l.Timeout == locksystem.Infinite {
		timeout = "0 (infinite)"
	}
	if !l.Expires.IsZero() {
		expires = l.Expires.Format(time.RFC3339) + " (in " + expiresIn(l, now) + ")"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range [][2]string{
		{"token", l.Token}, {"path", l.Path}, {"scope", l.Scope.String()}, {"depth", l.Depth.String()},
		{"owner", l.Owner}, {"principal", l.Principal}, {"timeout_seconds", timeout},
		{"created", l.Created.Format(time.RFC3339)}, {"refreshed", l.Refreshed.Format(time.RFC3339)},
		{"expires", expires}, {"client.ip", l.Client.IP}, {"client.user_agent", l.Client.UserAgent},
		{"release_on_update", strconv.FormatBool(l.ReleaseOnUpdate)}, {"lock_null", strconv.FormatBool(l.LockNull)},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", f[0], printable(f[1]))
	}
	return tw.Flush()
}

// maxOwnerCell is how many characters of an owner the table shows.
const maxOwnerCell = 32

// expiresIn says how long until l expires: "never", "expired", or a duration in seconds.
func expiresIn(l locksystem.Lock, now time.Time) string {
	if l.Expires.IsZero() {
		return "never"
	}
	d := l.Expires.Sub(now).Round(time.Second)
	if d <= 0 {
		return "expired"
	}
	return d.String()
}

// shorten cuts s to n characters, marking the cut with "…".
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printable escapes the characters of s a terminal would act on (escape sequences, newlines,
// tabs that would break the columns): owners and paths come from clients.
func printable(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsPrint(r) {
			b.WriteRune(r)
			continue
		}
		q := strconv.QuoteRune(r)
		b.WriteString(q[1 : len(q)-1])
	}
	return b.String()
}
