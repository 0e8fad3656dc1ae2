// Package etcdprops is an fs.PropStore on etcd: dead properties (RFC 4918 §4, PROPPATCH §9.2)
// that several lockdav replicas share, so that a PROPPATCH on one is seen by every other. It
// keeps no property in memory: every call reads or writes etcd.
package etcdprops

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/net/webdav"
	"google.golang.org/grpc/codes"

	"github.com/lockdav/lockdav/fs"
	"github.com/lockdav/lockdav/fs/internal/propkit"
	"github.com/lockdav/lockdav/locksystem"
)

const (
	// maxTxnOps is the most operations etcd takes in one transaction, and the most comparisons
	// (its --max-txn-ops, 128 by default).
	maxTxnOps = 128
	// maxTxnBytes is what one transaction of a Move or Copy carries at most, well below etcd's
	// --max-request-bytes (1.5 MiB by default) to leave room for the encoding's overhead. A
	// single property larger than this goes alone.
	maxTxnBytes = 1 << 20
	// opBytes is what one operation costs in a request beyond its key and value, roughly.
	opBytes = 16
	// maxAttempts is how many times a Move or Copy reads again after losing a race with
	// another writer before it gives up.
	maxAttempts = 16
	// DefaultTimeout is the timeout of each etcd call when New is given none.
	DefaultTimeout = 5 * time.Second
)

// ErrTooManyProps reports a PROPPATCH naming more distinct properties than one etcd
// transaction can write (maxTxnOps): it is all-or-none, so it is refused whole.
var ErrTooManyProps = fs.ErrTooManyProps

// Store is a PropStore on etcd. Each property is one key: prefix, "props", the resource's path
// with a slash after it ("/a/b/"; "/" for the root), NUL, namespace, NUL, local name; its value
// is propkit.Encode's (the JSON BoltProps stores). Every key so lies under prefix + "props/".
// The slash after the path makes the properties of a resource and of all its descendants one
// range (prefix "props/a/"), and those of the resource alone another ("props/a/" NUL): "/a"
// never captures "/ab" ("props/ab/"). Clean paths hold no NUL, "//" or trailing slash, so keys
// are unambiguous. Two Stores must not be given prefixes one of which extends the other's
// keys (as "x/" and "x/props/a/" would).
type Store struct {
	kv      clientv3.KV
	keys    string // prefix + "props": a path follows
	timeout time.Duration
}

var _ fs.PropStore = (*Store)(nil)

// New returns a Store on cli whose keys start with prefix + "props/"; each etcd call is given
// timeout (DefaultTimeout when it is not positive). The caller owns cli and closes it.
func New(cli *clientv3.Client, prefix string, timeout time.Duration) *Store {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Store{kv: cli.KV, keys: prefix + "props", timeout: timeout}
}

// Close does nothing: the client belongs to the caller.
func (s *Store) Close() error { return nil }

// tree is the prefix of the keys of name and of everything below it.
func (s *Store) tree(name string) string { return s.keys + strings.TrimSuffix(name, "/") + "/" }

// self is the prefix of the keys of name alone.
func (s *Store) self(name string) string { return s.tree(name) + "\x00" }

func (s *Store) key(name string, n xml.Name) string { return s.self(name) + n.Space + "\x00" + n.Local }

// split returns the path and property name of a key of this Store.
func (s *Store) split(key []byte) (string, xml.Name) {
	parts := strings.SplitN(strings.TrimPrefix(string(key), s.keys), "\x00", 3)
	name := parts[0]
	if name != "/" {
		name = strings.TrimSuffix(name, "/")
	}
	if len(parts) != 3 {
		return name, xml.Name{}
	}
	return name, xml.Name{Space: parts[1], Local: parts[2]}
}

// fail wraps an error from etcd: ErrUnavailable unless etcd refused the request itself (too
// many operations, too large), which trying again would not change: then fs.ErrTooManyProps
// (507 for a PROPPATCH, RFC 4918 §9.2.1).
func fail(err error) error {
	var refused rpctypes.EtcdError
	if errors.As(err, &refused) && refused.Code() == codes.InvalidArgument {
		return fmt.Errorf("%w: %w", fs.ErrTooManyProps, err)
	}
	return fmt.Errorf("%w: %w", locksystem.ErrUnavailable, err)
}

// txn runs one transaction: ops if every comparison holds.
func (s *Store) txn(cmps []clientv3.Cmp, ops []clientv3.Op) (*clientv3.TxnResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	r, err := s.kv.Txn(ctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return nil, fail(err)
	}
	return r, nil
}

// decode returns the properties in kvs, the keys of name alone; nil when there are none.
func (s *Store) decode(name string, kvs []*mvccpb.KeyValue) (map[xml.Name]webdav.Property, error) {
	var out map[xml.Name]webdav.Property
	for _, kv := range kvs {
		_, n := s.split(kv.Key)
		var err error
		if out, err = propkit.Decode(out, n, kv.Value); err != nil {
			return nil, fmt.Errorf("properties of %s: %w", name, err)
		}
	}
	return out, nil
}

func (s *Store) Get(name string) (map[xml.Name]webdav.Property, error) {
	name, err := propkit.Name(name)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	r, err := s.kv.Get(ctx, s.self(name), clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("properties of %s: %w", name, fail(err))
	}
	return s.decode(name, r.Kvs)
}

// GetMany reads the properties of the members of dir named in names, keyed by name, those with
// none left out: one request (a read-only transaction, one snapshot) per maxTxnOps members.
// Each member's own properties are one range; a single range over all the members would read
// their descendants' too, which lie between them in key order.
func (s *Store) GetMany(dir string, names []string) (map[string]map[xml.Name]webdav.Property, error) {
	dir, err := propkit.Name(dir)
	if err != nil {
		return nil, err
	}
	var out map[string]map[xml.Name]webdav.Property
	for chunk := range slices.Chunk(names, maxTxnOps) {
		paths := make([]string, len(chunk))
		ops := make([]clientv3.Op, len(chunk))
		for i, n := range chunk {
			if paths[i], err = propkit.Name(propkit.MemberPath(dir, n)); err != nil {
				return nil, err
			}
			ops[i] = clientv3.OpGet(s.self(paths[i]), clientv3.WithPrefix())
		}
		r, err := s.txn(nil, ops)
		if err != nil {
			return nil, fmt.Errorf("properties of the members of %s: %w", dir, err)
		}
		for i, resp := range r.Responses {
			props, err := s.decode(paths[i], resp.GetResponseRange().GetKvs())
			if err != nil {
				return nil, err
			}
			if props != nil {
				if out == nil {
					out = map[string]map[xml.Name]webdav.Property{}
				}
				out[chunk[i]] = props
			}
		}
	}
	return out, nil
}

// Patch writes the properties patches name, in one transaction: what a property becomes
// depends on the patches alone (the last instruction naming it wins), so it needs no read and
// loses no race. At most maxTxnOps distinct properties; more are refused with ErrTooManyProps.
func (s *Store) Patch(name string, patches []webdav.Proppatch) ([]webdav.Propstat, error) {
	name, err := propkit.PatchName(name, patches)
	if err != nil {
		return nil, err
	}
	var ops []clientv3.Op
	at := map[xml.Name]int{} // index in ops of the last instruction for a property
	for _, patch := range patches {
		for _, p := range patch.Props {
			op := clientv3.OpDelete(s.key(name, p.XMLName))
			if !patch.Remove {
				v, err := propkit.Encode(p)
				if err != nil {
					return nil, err
				}
				op = clientv3.OpPut(s.key(name, p.XMLName), string(v))
			}
			if i, ok := at[p.XMLName]; ok {
				ops[i] = op
				continue
			}
			at[p.XMLName] = len(ops)
			ops = append(ops, op)
		}
	}
	if len(ops) > maxTxnOps {
		return nil, fmt.Errorf("patch properties of %s: %w: %d, at most %d", name, ErrTooManyProps, len(ops), maxTxnOps)
	}
	if len(ops) > 0 {
		if _, err := s.txn(nil, ops); err != nil {
			return nil, fmt.Errorf("patch properties of %s: %w", name, err)
		}
	}
	return propkit.Apply(map[xml.Name]webdav.Property{}, patches), nil
}

func (s *Store) RemoveTree(name string) error {
	name, err := propkit.Name(name)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	if _, err := s.kv.Delete(ctx, s.tree(name), clientv3.WithPrefix()); err != nil {
		return fmt.Errorf("remove properties of %s: %w", name, fail(err))
	}
	return nil
}

// Move moves the properties of oldName and everything below it to newName, replacing
// whatever newName and its descendants held.
//
// It reads both trees in one snapshot, then writes in one transaction when the move fits
// (maxTxnOps operations and comparisons, maxTxnBytes); a larger one takes several, in this
// order: the copies at newName's tree, then the deletion of what newName's tree held and no
// copy overwrote, then oldName's tree in one DeleteRange. A crash or an outage in the middle
// therefore loses nothing of oldName's: it leaves oldName's tree whole, some or all of it
// already copied under newName, beside some of what newName's tree held; the same Move done
// again finishes the job.
//
// Each write is guarded: no key in either tree may have been written since the read (or this
// Move's previous transaction), and each property copied must be as read. A lost race (another
// replica changed a tree) reads again and starts over, which the order above allows.
//
// Trees that overlap (a move into one's own subtree or onto one's ancestor, which fs.Rename
// never asks for) cannot keep oldName's tree whole until the end: copies may overwrite
// properties still to be moved. Their copies are written deepest first when moving down,
// shallowest first when moving up, so each property is copied before its key is overwritten;
// a crash in the middle leaves every property in place, copied, or both, but a second Move
// would not put things right, and a race lost after the first transaction fails the Move
// rather than start over.
func (s *Store) Move(oldName, newName string) error {
	return s.transfer("move", oldName, newName, s.planMove)
}

// Copy replaces the properties of newName (alone) with those of oldName: in one transaction
// when they fit, else the copies first and then the deletion of newName's other properties. A
// crash in the middle leaves oldName untouched and newName with some of each; a lost race
// reads again and starts over, as Move's does.
func (s *Store) Copy(oldName, newName string) error {
	return s.transfer("copy", oldName, newName, s.planCopy)
}

// transfer does a Move or Copy (op) with the plans planner makes from a read.
func (s *Store) transfer(op, oldName, newName string, planner func(oldName, newName string) (*plan, error)) error {
	oldName, newName, err := propkit.Names(oldName, newName)
	if err != nil {
		return err
	}
	if oldName == newName {
		return nil
	}
	if err := s.apply(func() (*plan, error) { return planner(oldName, newName) }); err != nil {
		return fmt.Errorf("%s properties %s to %s: %w", op, oldName, newName, err)
	}
	return nil
}

// entry is one stored property as a read found it.
type entry struct {
	key string
	val []byte
	mod int64 // its ModRevision
}

// put writes at key the value of the property from.
type put struct {
	key  string
	from entry
}

// plan is the writes of a Move or Copy, worked out from one read.
type plan struct {
	rev   int64    // the read's revision
	guard []string // prefixes in which no other writer may write until the last transaction
	puts  []put    // in the order they may be written
	dels  []string // keys deleted after every put
	drop  string   // a prefix deleted last, in one operation; "" for none
	// restartable: after a race lost with some transactions committed, a new read and plan
	// still do the right thing.
	restartable bool
}

// read reads the keys under each prefix in one snapshot, and returns them and its revision.
func (s *Store) read(prefixes ...string) ([][]entry, int64, error) {
	ops := make([]clientv3.Op, len(prefixes))
	for i, p := range prefixes {
		ops[i] = clientv3.OpGet(p, clientv3.WithPrefix())
	}
	r, err := s.txn(nil, ops)
	if err != nil {
		return nil, 0, err
	}
	out := make([][]entry, len(prefixes))
	for i, resp := range r.Responses {
		for _, kv := range resp.GetResponseRange().GetKvs() {
			out[i] = append(out[i], entry{key: string(kv.Key), val: kv.Value, mod: kv.ModRevision})
		}
	}
	return out, r.Header.Revision, nil
}

func (s *Store) planMove(oldName, newName string) (*plan, error) {
	trees, rev, err := s.read(s.tree(oldName), s.tree(newName))
	if err != nil {
		return nil, err
	}
	moved, replaced := trees[0], trees[1]
	p := &plan{rev: rev, guard: []string{s.tree(oldName), s.tree(newName)}, restartable: true}
	for _, e := range moved {
		name, n := s.split([]byte(e.key))
		p.puts = append(p.puts, put{key: s.key(propkit.Rebase(name, oldName, newName), n), from: e})
	}
	gone := replaced
	switch {
	case propkit.InTree(newName, oldName): // moving down: deepest copies first
		p.restartable, gone = false, moved
		slices.SortStableFunc(p.puts, func(a, b put) int { return depth(b.key) - depth(a.key) })
	case propkit.InTree(oldName, newName): // moving up: shallowest copies first
		p.restartable = false
		slices.SortStableFunc(p.puts, func(a, b put) int { return depth(a.key) - depth(b.key) })
	default:
		p.drop = s.tree(oldName)
	}
	p.dels = unwritten(gone, p.puts)
	return p, nil
}

// depth is how deep the path of a key lies.
func depth(key string) int {
	name, _, _ := strings.Cut(key, "\x00")
	return strings.Count(name, "/")
}

func (s *Store) planCopy(oldName, newName string) (*plan, error) {
	selves, rev, err := s.read(s.self(oldName), s.self(newName))
	if err != nil {
		return nil, err
	}
	p := &plan{rev: rev, guard: []string{s.self(oldName), s.self(newName)}, restartable: true}
	for _, e := range selves[0] {
		_, n := s.split([]byte(e.key))
		p.puts = append(p.puts, put{key: s.key(newName, n), from: e})
	}
	p.dels = unwritten(selves[1], p.puts)
	return p, nil
}

// unwritten returns the keys of es that no put writes.
func unwritten(es []entry, puts []put) []string {
	written := make(map[string]bool, len(puts))
	for _, p := range puts {
		written[p.key] = true
	}
	var out []string
	for _, e := range es {
		if !written[e.key] {
			out = append(out, e.key)
		}
	}
	return out
}

// batch is one transaction of a plan: its own comparisons (the plan's guard comes on top)
// and operations.
type batch struct {
	cmps []clientv3.Cmp
	ops  []clientv3.Op
}

// batches cuts the plan into transactions etcd takes, in order.
func (p *plan) batches() []batch {
	var out []batch
	var cur batch
	base := 0
	for _, g := range p.guard {
		base += 2*len(g) + opBytes
	}
	size := base
	add := func(op clientv3.Op, cmp *clientv3.Cmp, n int) {
		cmps := len(p.guard) + len(cur.cmps)
		if cmp != nil {
			cmps++
		}
		if len(cur.ops) > 0 && (len(cur.ops) >= maxTxnOps || cmps > maxTxnOps || size+n > maxTxnBytes) {
			out, cur, size = append(out, cur), batch{}, base
		}
		cur.ops = append(cur.ops, op)
		if cmp != nil {
			cur.cmps = append(cur.cmps, *cmp)
		}
		size += n
	}
	for _, pt := range p.puts {
		cmp := clientv3.Compare(clientv3.ModRevision(pt.from.key), "=", pt.from.mod)
		add(clientv3.OpPut(pt.key, string(pt.from.val)), &cmp, len(pt.key)+len(pt.from.val)+len(pt.from.key)+2*opBytes)
	}
	for _, k := range p.dels {
		add(clientv3.OpDelete(k), nil, len(k)+opBytes)
	}
	if p.drop != "" {
		add(clientv3.OpDelete(p.drop, clientv3.WithPrefix()), nil, 2*len(p.drop)+opBytes)
	}
	if len(cur.ops) > 0 {
		out = append(out, cur)
	}
	return out
}

// apply carries out the plans plan returns: it writes one, transaction by transaction, and
// when a transaction finds that another writer has been at the trees since, makes a new plan
// from a new read and starts over (see Move).
func (s *Store) apply(plan func() (*plan, error)) error {
	for range maxAttempts {
		p, err := plan()
		if err != nil {
			return err
		}
		batches := p.batches()
		rev, done := p.rev, 0
		for _, b := range batches {
			cmps := make([]clientv3.Cmp, 0, len(p.guard)+len(b.cmps))
			for _, g := range p.guard {
				cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(g), "<", rev+1).WithPrefix())
			}
			r, err := s.txn(append(cmps, b.cmps...), b.ops)
			if err != nil {
				return err
			}
			if !r.Succeeded {
				break
			}
			rev, done = r.Header.Revision, done+1
		}
		if done == len(batches) {
			return nil
		}
		if done > 0 && !p.restartable {
			return fmt.Errorf("another writer changed the trees after %d of %d transactions; "+
				"every property is in its old place, its new one or both", done, len(batches))
		}
	}
	return fmt.Errorf("%w: lost the race to other writers %d times", locksystem.ErrUnavailable, maxAttempts)
}
