package realtime

import (
	"context"
	"fmt"
	"net/url"

	"github.com/redis/go-redis/v9"
)

// RedisBroker shares messages through Redis pub/sub.
type RedisBroker struct {
	client  *redis.Client
	channel string
}

// DefaultRedisChannel is the pub/sub channel unless the URL names another.
const DefaultRedisChannel = "whitecross:realtime"

// NewRedisBroker connects to the Redis server of rawURL (redis:// or
// rediss://, as go-redis parses it) and checks that it answers. A
// "channel" query parameter names the pub/sub channel.
func NewRedisBroker(ctx context.Context, rawURL string) (*RedisBroker, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis broker: bad URL")
	}
	q := u.Query()
	channel := q.Get("channel")
	if channel == "" {
		channel = DefaultRedisChannel
	}
	q.Del("channel")
	u.RawQuery = q.Encode()
	opts, err := redis.ParseURL(u.String())
	if err != nil {
		return nil, fmt.Errorf("redis broker: %w", err)
	}
	client := redis.NewClient(opts)
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("redis broker: %w", err)
	}
	return &RedisBroker{client: client, channel: channel}, nil
}

// Publish implements Broker.
func (b *RedisBroker) Publish(ctx context.Context, payload []byte) error {
	if err := b.client.Publish(ctx, b.channel, payload).Err(); err != nil {
		return fmt.Errorf("redis publish: %w", err)
	}
	return nil
}

// PublishBatch publishes payloads in one pipeline, in order (a fan-out's
// chunks of users in one round trip).
func (b *RedisBroker) PublishBatch(ctx context.Context, payloads [][]byte) error {
	_, err := b.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, payload := range payloads {
			p.Publish(ctx, b.channel, payload)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis publish: %w", err)
	}
	return nil
}

// Subscribe implements Broker. go-redis reconnects and subscribes again by
// itself; each confirmation of the subscription calls subscribed.
func (b *RedisBroker) Subscribe(ctx context.Context, deliver func([]byte), subscribed func()) error {
	ps := b.client.Subscribe(ctx, b.channel)
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer stop()
	defer ps.Close()
	pause := newBackoff()
	for {
		msg, err := ps.Receive(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if !pause.wait(ctx) {
				return nil
			}
			continue
		}
		pause.reset()
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				subscribed()
			}
		case *redis.Message:
			deliver([]byte(m.Payload))
		}
	}
}

// Close implements Broker.
func (b *RedisBroker) Close() error { return b.client.Close() }
