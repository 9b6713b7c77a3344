package realtime_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross/realtime"
)

// batchPublisher is what the PostgreSQL and Redis brokers offer for a
// fan-out's chunks of users: one round trip for several messages.
type batchPublisher interface {
	PublishBatch(ctx context.Context, payloads [][]byte) error
}

// TestBrokersPublishBatchesInOrder: a batch reaches a subscriber whole and
// in order, on PostgreSQL (one statement of notifications) and on Redis
// (one pipeline).
func TestBrokersPublishBatchesInOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		_, _, u := postgresPair(t)
		pub, err := realtime.OpenBroker(ctx, "postgres", u)
		require.NoError(t, err)
		sub, err := realtime.OpenBroker(ctx, "postgres", u)
		require.NoError(t, err)
		exerciseBatch(t, pub, sub)
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		u, err := url.Parse(redisURL(t))
		require.NoError(t, err)
		var suffix [6]byte
		_, _ = rand.Read(suffix[:])
		q := u.Query()
		q.Set("channel", "whitecross-test-"+hex.EncodeToString(suffix[:]))
		u.RawQuery = q.Encode()
		pub, err := realtime.OpenBroker(ctx, u.String(), "")
		require.NoError(t, err)
		sub, err := realtime.OpenBroker(ctx, u.String(), "")
		require.NoError(t, err)
		exerciseBatch(t, pub, sub)
	})
}

func exerciseBatch(t *testing.T, pub, sub realtime.Broker) {
	t.Helper()
	t.Cleanup(func() { _ = pub.Close(); _ = sub.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	got := make(chan string, 16)
	subscribed := make(chan struct{}, 1)
	go func() {
		_ = sub.Subscribe(ctx, func(p []byte) { got <- string(p) }, func() { subscribed <- struct{}{} })
	}()
	select {
	case <-subscribed:
	case <-time.After(waitFor):
		t.Fatal("not subscribed")
	}
	var payloads [][]byte
	for i := range 5 {
		payloads = append(payloads, fmt.Appendf(nil, `{"n":%d}`, i))
	}
	require.NoError(t, pub.(batchPublisher).PublishBatch(ctx, payloads))
	for i := range 5 {
		select {
		case p := <-got:
			require.Equal(t, string(payloads[i]), p)
		case <-time.After(waitFor):
			t.Fatalf("payload %d did not arrive", i)
		}
	}
}
