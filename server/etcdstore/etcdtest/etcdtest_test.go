package etcdtest

import (
	"context"
	"testing"
	"time"
)

// A three-member cluster keeps serving writes with one member killed, and the member comes
// back on its data directory.
func TestClusterSurvivesAKilledMember(t *testing.T) {
	c := Start(t, 3)
	cli := c.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, "k", "1"); err != nil {
		t.Fatal(err)
	}
	c.Kill(0)
	// If the killed member led, the put waits for an election, and a proposal made meanwhile
	// may time out in etcd: retry within the test's deadline.
	for {
		_, err := cli.Put(ctx, "k", "2")
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("put with one member down: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.Restart(0)
	c.WaitReady(20 * time.Second)
	r, err := cli.Get(ctx, "k")
	if err != nil || len(r.Kvs) != 1 || string(r.Kvs[0].Value) != "2" {
		t.Fatalf("get k = %v, %v; want 2", r, err)
	}
}
