package etcdprops

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/afero"
	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/net/webdav"

	"github.com/lockdav/lockdav/fs"
	"github.com/lockdav/lockdav/fs/proptest"
	"github.com/lockdav/lockdav/locksystem"
	"github.com/lockdav/lockdav/server/etcdstore/etcdtest"
)

const timeout = 5 * time.Second

var (
	nsX    = xml.Name{Space: "urn:x", Local: "x"}
	nsY    = xml.Name{Space: "urn:x", Local: "y"}
	nsLate = xml.Name{Space: "urn:x", Local: "late"}
)

func prop(n xml.Name, v string) webdav.Property {
	return webdav.Property{XMLName: n, InnerXML: []byte(v)}
}

func set(ps ...webdav.Property) []webdav.Proppatch { return []webdav.Proppatch{{Props: ps}} }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// value is the value of n at name as s sees it, "" when it has none.
func value(t *testing.T, s *Store, name string, n xml.Name) string {
	t.Helper()
	p, err := s.Get(name)
	must(t, err)
	return string(p[n].InnerXML)
}

// countingKV counts the requests a Store makes, checks each carries a deadline no later than
// the Store's timeout, and can run a hook just before the first guarded write commits (to lose
// a race on purpose).
type countingKV struct {
	clientv3.KV
	t       *testing.T
	timeout time.Duration

	mu          sync.Mutex // guards the fields below
	gets, txns  int
	writes      int // deletes, and transactions with a put or delete
	beforeWrite func()
}

// deadline checks that a request's ctx has a deadline within the Store's timeout.
func (k *countingKV) deadline(ctx context.Context) {
	if d, ok := ctx.Deadline(); !ok || time.Until(d) > k.timeout {
		k.t.Errorf("etcd request with deadline %v (set %v), want one within %v", time.Until(d), ok, k.timeout)
	}
}

// count checks a request's deadline and adds one to *n.
func (k *countingKV) count(ctx context.Context, n *int) {
	k.deadline(ctx)
	k.mu.Lock()
	defer k.mu.Unlock()
	*n++
}

func (k *countingKV) Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	k.count(ctx, &k.gets)
	return k.KV.Get(ctx, key, opts...)
}

func (k *countingKV) Delete(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.DeleteResponse, error) {
	k.count(ctx, &k.writes)
	return k.KV.Delete(ctx, key, opts...)
}

func (k *countingKV) Txn(ctx context.Context) clientv3.Txn {
	k.deadline(ctx) // counted when committed
	return &countingTxn{Txn: k.KV.Txn(ctx), kv: k}
}

func (k *countingKV) counts() (gets, txns, writes int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.gets, k.txns, k.writes
}

type countingTxn struct {
	clientv3.Txn
	kv             *countingKV
	guarded, write bool
}

func (t *countingTxn) If(cs ...clientv3.Cmp) clientv3.Txn {
	t.guarded = t.guarded || len(cs) > 0
	t.Txn = t.Txn.If(cs...)
	return t
}

func (t *countingTxn) Then(ops ...clientv3.Op) clientv3.Txn {
	for _, op := range ops {
		t.write = t.write || op.IsPut() || op.IsDelete()
	}
	t.Txn = t.Txn.Then(ops...)
	return t
}

func (t *countingTxn) Commit() (*clientv3.TxnResponse, error) {
	k := t.kv
	k.mu.Lock()
	k.txns++
	if t.write {
		k.writes++
	}
	hook := k.beforeWrite
	if t.guarded && t.write {
		k.beforeWrite = nil
	} else {
		hook = nil
	}
	k.mu.Unlock()
	if hook != nil {
		hook()
	}
	return t.Txn.Commit()
}

// counted returns a Store on cli under prefix whose requests kv counts.
func counted(t *testing.T, cli *clientv3.Client, prefix string) (*Store, *countingKV) {
	s := New(cli, prefix, timeout)
	kv := &countingKV{KV: s.kv, t: t, timeout: timeout}
	s.kv = kv
	return s, kv
}

// The etcd store passes the conformance suite of every PropStore, each subtest on its own
// prefix of one etcd, every request with its deadline.
func TestConformance(t *testing.T) {
	cli := etcdtest.Start(t, 1).Client()
	var n atomic.Int64
	proptest.Run(t, func(t *testing.T) fs.PropStore {
		s, _ := counted(t, cli, fmt.Sprintf("conformance/%d/", n.Add(1)))
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

// Two replicas (two clients, one Store each, one prefix) see each other's changes at once: no
// cache stands between a Store and etcd. A Store under another prefix sees none of them, and
// RemoveTree("/") takes nothing outside its own keys.
func TestReplicasShareProperties(t *testing.T) {
	c := etcdtest.Start(t, 1)
	a, b := New(c.Client(), "dav/", timeout), New(c.Client(), "dav/", timeout)
	other := New(c.Client(), "other/", timeout)
	cli := c.Client()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, err := cli.Put(ctx, "dav/locks/x", "lock")
	must(t, err)

	must(t, b.RemoveTree("/")) // b reads nothing first: nothing to be stale
	_, err = other.Patch("/r", set(prop(nsX, "other")))
	must(t, err)
	_, err = a.Patch("/r", set(prop(nsX, "1")))
	must(t, err)
	if got := value(t, b, "/r", nsX); got != "1" {
		t.Fatalf("b after a's Patch: %q, want 1", got)
	}
	_, err = b.Patch("/r", set(prop(nsX, "2"), prop(nsY, "y")))
	must(t, err)
	if got := value(t, a, "/r", nsX); got != "2" {
		t.Fatalf("a after b's Patch: %q, want 2", got)
	}
	many, err := a.GetMany("/", []string{"r", "s"})
	must(t, err)
	if len(many) != 1 || string(many["r"][nsY].InnerXML) != "y" {
		t.Fatalf("a.GetMany after b's Patch: %v, want r with y", many)
	}

	must(t, b.Move("/r", "/d/s"))
	if got, old := value(t, a, "/d/s", nsX), value(t, a, "/r", nsX); got != "2" || old != "" {
		t.Fatalf("a after b's Move: /d/s=%q /r=%q, want 2 and nothing", got, old)
	}
	must(t, a.Copy("/d/s", "/t"))
	if got := value(t, b, "/t", nsY); got != "y" {
		t.Fatalf("b after a's Copy: %q, want y", got)
	}
	must(t, a.RemoveTree("/d"))
	if got := value(t, b, "/d/s", nsX); got != "" {
		t.Fatalf("b after a's RemoveTree: %q, want nothing", got)
	}
	must(t, b.RemoveTree("/"))
	if got := value(t, a, "/t", nsY); got != "" {
		t.Fatalf("a after b's RemoveTree(/): %q, want nothing", got)
	}
	if got := value(t, other, "/r", nsX); got != "other" {
		t.Errorf("the store under another prefix: %q, want its own value", got)
	}
	r, err := cli.Get(ctx, "dav/locks/x")
	if err != nil || len(r.Kvs) != 1 {
		t.Errorf("RemoveTree(/) took a key outside props/: %v, %v", r, err)
	}
}

// Two replicas patching different properties of one resource at once lose none: a Patch
// writes the properties it names and no others.
func TestConcurrentPatchesKeepAll(t *testing.T) {
	c := etcdtest.Start(t, 1)
	stores := []*Store{New(c.Client(), "", timeout), New(c.Client(), "", timeout)}
	const each = 20
	var wg sync.WaitGroup
	errs := make(chan error, len(stores)*each)
	for i, s := range stores {
		wg.Go(func() {
			for j := range each {
				n := xml.Name{Space: "urn:c", Local: fmt.Sprintf("s%d-%d", i, j)}
				_, err := s.Patch("/r", set(prop(n, "v")))
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	got, err := stores[0].Get("/r")
	must(t, err)
	if len(got) != len(stores)*each {
		t.Fatalf("%d properties after concurrent Patches, want %d", len(got), len(stores)*each)
	}
}

// A Move or Copy that loses a race with another replica (a change in either tree between its
// read and its write) reads again, so that it acts on what is there when it commits: a property
// set meanwhile is moved or copied, one removed meanwhile stays removed, and one set meanwhile
// at the destination is replaced. Each race alone, so that each guard is seen to hold.
func TestMoveCopyRetryOnLostRace(t *testing.T) {
	cli := etcdtest.Start(t, 1).Client()
	ops := map[string]func(s *Store) error{
		"move": func(s *Store) error { return s.Move("/src", "/dst") },
		"copy": func(s *Store) error { return s.Copy("/src", "/dst") },
	}
	races := []struct {
		name  string
		other func(t *testing.T, s *Store) // what the other replica does meanwhile
		want  map[xml.Name]webdav.Property // at /dst in the end
	}{
		{"source changed", func(t *testing.T, s *Store) {
			_, err := s.Patch("/src", set(prop(nsX, "x2")))
			must(t, err)
		}, map[xml.Name]webdav.Property{nsX: prop(nsX, "x2"), nsY: prop(nsY, "y")}},
		{"source property removed", func(t *testing.T, s *Store) {
			_, err := s.Patch("/src", []webdav.Proppatch{{Remove: true, Props: []webdav.Property{prop(nsY, "")}}})
			must(t, err)
		}, map[xml.Name]webdav.Property{nsX: prop(nsX, "x")}},
		{"destination property set", func(t *testing.T, s *Store) {
			_, err := s.Patch("/dst", set(prop(nsLate, "late")))
			must(t, err)
		}, map[xml.Name]webdav.Property{nsX: prop(nsX, "x"), nsY: prop(nsY, "y")}},
	}
	for opName, op := range ops {
		for i, race := range races {
			t.Run(opName+"/"+race.name, func(t *testing.T) {
				prefix := fmt.Sprintf("%s%d/", opName, i)
				s, kv := counted(t, cli, prefix)
				other := New(cli, prefix, timeout)
				_, err := s.Patch("/src", set(prop(nsX, "x"), prop(nsY, "y")))
				must(t, err)
				_, err = s.Patch("/dst", set(prop(nsX, "old")))
				must(t, err)
				kv.beforeWrite = func() { race.other(t, other) }
				_, txns0, _ := kv.counts()
				must(t, op(s))
				_, txns, _ := kv.counts()
				if txns-txns0 != 4 {
					t.Errorf("%d transactions, want 4: read, write (lost), read, write", txns-txns0)
				}
				got, err := s.Get("/dst")
				must(t, err)
				if !reflect.DeepEqual(got, race.want) {
					t.Errorf("/dst after the %s: %v, want %v", opName, got, race.want)
				}
			})
		}
	}
}

// Moving more properties than etcd takes in one transaction (128 operations by default, which
// the test cluster keeps) takes several, and moves every one.
func TestMoveManyProperties(t *testing.T) {
	cli := etcdtest.Start(t, 1).Client()
	s, kv := counted(t, cli, "")
	const n = 300
	want := map[string]map[xml.Name]webdav.Property{}
	for i := 0; i < n; i += 100 {
		var patches []webdav.Proppatch
		name := fmt.Sprintf("/src/%d", i/100)
		want[name] = map[xml.Name]webdav.Property{}
		for j := i; j < i+100; j++ {
			p := prop(xml.Name{Space: "urn:m", Local: fmt.Sprintf("p%d", j)}, fmt.Sprint(j))
			patches = append(patches, webdav.Proppatch{Props: []webdav.Property{p}})
			want[name][p.XMLName] = p
		}
		_, err := s.Patch(name, patches)
		must(t, err)
	}
	_, _, w0 := kv.counts()
	must(t, s.Move("/src", "/dst"))
	if _, _, w := kv.counts(); w-w0 < 3 {
		t.Errorf("Move of %d properties in %d write transactions, want at least 3", n, w-w0)
	}
	for name, props := range want {
		moved := "/dst" + name[len("/src"):]
		if got, err := s.Get(moved); err != nil || !reflect.DeepEqual(got, props) {
			t.Errorf("%s: %d properties (%v), want the %d of %s", moved, len(got), err, len(props), name)
		}
		if got, err := s.Get(name); err != nil || got != nil {
			t.Errorf("%s: %d properties left (%v), want none", name, len(got), err)
		}
	}
}

// A PROPPATCH is all-or-none in one etcd transaction, so one that names more properties than a
// transaction takes is refused whole, before etcd sees it, and not as an outage; nor is one that
// etcd refuses as too large.
func TestPatchTooLarge(t *testing.T) {
	cli := etcdtest.Start(t, 1).Client()
	s := New(cli, "", timeout)
	var ps []webdav.Property
	for i := range maxTxnOps + 1 {
		ps = append(ps, prop(xml.Name{Space: "urn:m", Local: fmt.Sprintf("p%d", i)}, "v"))
	}
	_, err := s.Patch("/r", set(ps...))
	if !errors.Is(err, ErrTooManyProps) || errors.Is(err, locksystem.ErrUnavailable) {
		t.Fatalf("Patch of %d properties: %v, want ErrTooManyProps", len(ps), err)
	}
	if got := value(t, s, "/r", ps[0].XMLName); got != "" {
		t.Fatalf("refused Patch wrote %q", got)
	}
	_, err = s.Patch("/r", set(ps[:maxTxnOps]...))
	must(t, err)
	// The same property named twice is one operation.
	_, err = s.Patch("/r", append(set(ps[:maxTxnOps]...), set(ps[0])...))
	must(t, err)
	// 1.25 MB is some 1.7 MB in JSON's base64: over etcd's 1.5 MiB, under the client's 2 MiB.
	huge := prop(nsX, strings.Repeat("h", 1250<<10))
	_, err = s.Patch("/huge", set(huge))
	if err == nil || errors.Is(err, locksystem.ErrUnavailable) {
		t.Fatalf("Patch of a %d-byte value: %v, want etcd's refusal, not ErrUnavailable", len(huge.InnerXML), err)
	}
}

// GetMany reads a chunk of members in one request (a PROPFIND listing), up to maxTxnOps
// members a request, never one per member; Get is one request.
func TestGetManyOneRequest(t *testing.T) {
	cli := etcdtest.Start(t, 1).Client()
	s, kv := counted(t, cli, "")
	f := fs.New(afero.NewMemMapFs(), s, zerolog.Nop())
	_, err := s.Patch("/d/m3", set(prop(nsX, "3")))
	must(t, err)
	for _, tt := range []struct{ members, requests int }{{0, 0}, {10, 1}, {maxTxnOps, 1}, {maxTxnOps + 1, 2}, {256, 2}} {
		var names []string
		for i := range tt.members {
			names = append(names, fmt.Sprintf("m%d", i))
		}
		g0, t0, _ := kv.counts()
		got, err := f.DeadPropsOf("/d", names)
		must(t, err)
		g, tx, _ := kv.counts()
		if n := g - g0 + tx - t0; n != tt.requests {
			t.Errorf("DeadPropsOf of %d members: %d requests, want %d", tt.members, n, tt.requests)
		}
		if want := tt.members > 3; (got["m3"] != nil) != want || len(got) > 1 {
			t.Errorf("DeadPropsOf of %d members: %v", tt.members, got)
		}
	}
	g0, t0, _ := kv.counts()
	value(t, s, "/d/m3", nsX)
	if g, tx, _ := kv.counts(); g-g0+tx-t0 != 1 {
		t.Errorf("Get: %d requests, want 1", g-g0+tx-t0)
	}
}

// With etcd gone every call fails with ErrUnavailable within the timeout, never hangs; Close
// leaves the client to its owner.
func TestUnavailable(t *testing.T) {
	c := etcdtest.Start(t, 1)
	cli := c.Client()
	const short = 300 * time.Millisecond
	s := New(cli, "", short)
	_, err := s.Patch("/a", set(prop(nsX, "v")))
	must(t, err)
	must(t, s.Close())
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if _, err := cli.Get(ctx, "k"); err != nil {
		t.Fatalf("client after Close: %v", err)
	}
	c.Kill(0)
	calls := map[string]func() error{
		"Get":        func() error { _, err := s.Get("/a"); return err },
		"GetMany":    func() error { _, err := s.GetMany("/", []string{"a"}); return err },
		"Patch":      func() error { _, err := s.Patch("/a", set(prop(nsX, "w"))); return err },
		"Move":       func() error { return s.Move("/a", "/b") },
		"Copy":       func() error { return s.Copy("/a", "/b") },
		"RemoveTree": func() error { return s.RemoveTree("/a") },
	}
	for name, call := range calls {
		start := time.Now()
		err := call()
		if took := time.Since(start); took > short+time.Second {
			t.Errorf("%s took %v with etcd down, want about %v", name, took, short)
		}
		if !errors.Is(err, locksystem.ErrUnavailable) {
			t.Errorf("%s with etcd down: %v, want ErrUnavailable", name, err)
		}
	}
}
