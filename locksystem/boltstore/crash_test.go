package boltstore

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lockdav/lockdav/locksystem"
)

// The crash child is this test binary re-executed with these set (the os/exec tests' pattern).
const (
	crashDirEnv   = "BOLTSTORE_CRASH_DIR"
	crashRoundEnv = "BOLTSTORE_CRASH_ROUND"
)

const (
	crashWriters  = 8
	crashRounds   = 3
	crashPerRound = 1_000_000 // lock numbers of round r are r*crashPerRound + i
	crashMaxOps   = 200_000   // the child ends by itself if nobody kills it
)

// crashLock is the document the child writes for lock number n.
func crashLock(n int) locksystem.Lock {
	created := time.Date(2025, 6, 1, 12, 0, 0, n, time.UTC)
	return locksystem.Lock{
		Token: fmt.Sprintf("urn:uuid:00000000-0000-4000-8000-%012d", n),
		Path:  fmt.Sprintf("/crash/%d", n), Scope: locksystem.Scope(n % 2), Depth: locksystem.Depth(n / 2 % 2),
		Owner: strings.Repeat("o", n%300), Principal: "p" + strconv.Itoa(n%9), Timeout: time.Minute,
		Created: created, Refreshed: created, Expires: created.Add(time.Minute),
	}
}

// deletedByChild says whether the child deletes lock n after putting it.
func deletedByChild(n int) bool { return n%3 == 0 }

// TestCrashKill SIGKILLs a process that is committing lock documents after a random number of
// acknowledgements, then checks that every acknowledged change survived and every stored
// document decodes. Three rounds run on the same file.
func TestCrashKill(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(dir, os.Getenv(crashRoundEnv))
		os.Exit(0)
	}
	dir := t.TempDir()
	acked := map[int]string{} // lock number -> "put" or "del", the last acknowledged change
	for round := 0; round < crashRounds; round++ {
		want := 20 + rand.IntN(280)
		got := runCrashChild(t, dir, round, want, acked)
		t.Logf("round %d: killed after %d acknowledgements", round, got)
		checkCrashStore(t, filepath.Join(dir, "locks.db"), acked)
	}
}

// runCrashChild starts the child, reads its acknowledgements into acked until it has seen
// want of them, and SIGKILLs it.
func runCrashChild(t *testing.T, dir string, round, want int, acked map[int]string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashKill$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRoundEnv+"="+strconv.Itoa(round))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	seen := 0
	sc := bufio.NewScanner(out)
	for seen < want && sc.Scan() {
		kind, num, ok := strings.Cut(sc.Text(), " ")
		n, err := strconv.Atoi(num)
		if !ok || err != nil || (kind != "put" && kind != "del") {
			t.Fatalf("child wrote %q, want \"put N\" or \"del N\"", sc.Text())
		}
		acked[n] = kind
		seen++
	}
	if seen < want {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child stopped after %d of %d acknowledgements (read error %v); stderr:\n%s", seen, want, sc.Err(), stderr.String())
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatalf("kill child: %v", err)
	}
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("child wait = %v, want it killed; stderr:\n%s", err, stderr.String())
	}
	return seen
}

// checkCrashStore opens the store as a restarted server would and checks it against acked.
func checkCrashStore(t *testing.T, path string, acked map[int]string) {
	t.Helper()
	s := mustOpen(t, path, Options{OpenTimeout: 5 * time.Second})
	if err := s.db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("bbolt consistency check: %v", err)
		}
		return tx.Bucket(locksBucket).ForEach(func(k, v []byte) error {
			if _, err := decode(locksystem.NewDecoder(), k, v); err != nil {
				t.Errorf("stored document %s does not decode: %v", k, err)
			}
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	locks, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]locksystem.Lock{}
	for _, l := range locks {
		stored[l.Token] = l
	}
	for n, kind := range acked {
		_, ok := stored[crashLock(n).Token]
		switch {
		case kind == "del" && ok:
			t.Errorf("lock %d: deleted (acknowledged) but stored", n)
		case kind == "put" && !ok && !deletedByChild(n):
			t.Errorf("lock %d: put acknowledged but missing", n)
		}
	}
	for tok, l := range stored {
		n, err := strconv.Atoi(strings.TrimLeft(strings.TrimPrefix(tok, "urn:uuid:00000000-0000-4000-8000-"), "0"))
		if err != nil || l != crashLock(n) {
			t.Errorf("stored lock %s = %+v, want what the child wrote", tok, l)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// crashChild commits locks from crashWriters goroutines and prints each acknowledged change
// on stdout ("put N", "del N") until it is killed.
func crashChild(dir, round string) {
	r, err := strconv.Atoi(round)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad round:", err)
		os.Exit(2)
	}
	s, err := Open(filepath.Join(dir, "locks.db"), Options{OpenTimeout: 5 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var wg sync.WaitGroup
	for g := 0; g < crashWriters; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < crashMaxOps; i += crashWriters {
				crashCycle(s, r*crashPerRound+i)
			}
		}()
	}
	wg.Wait()
	_ = s.Close()
}

func crashCycle(s *Store, n int) {
	l := crashLock(n)
	ack := func(kind string, err error) {
		if err != nil {
			fmt.Fprintln(os.Stderr, kind, n, err)
			os.Exit(2)
		}
		// One write per line: the pipe keeps concurrent lines whole.
		if _, err := fmt.Fprintf(os.Stdout, "%s %d\n", kind, n); err != nil {
			os.Exit(2)
		}
	}
	ack("put", s.Submit(locksystem.Change{Put: &l})())
	if deletedByChild(n) {
		ack("del", s.SubmitRelease(locksystem.Change{Delete: l.Token})()) // answered before its sync
	}
}
