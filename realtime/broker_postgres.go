package realtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PostgresBroker shares messages through PostgreSQL LISTEN/NOTIFY, so
// instances need nothing but their database. It has connections of its
// own, apart from the store's pool: a burst of notifications never waits
// for (or holds) a connection that requests and jobs need, and the store's
// pool stays the store's. Notifications are sent with pg_notify after the
// event's transaction committed; each instance listens on one more
// connection of its own, outside its pool.
type PostgresBroker struct {
	pool    *pgxpool.Pool
	listen  *pgx.ConnConfig
	channel string
}

// postgresBrokerConns is how many connections publish at once: a
// pg_notify takes well under a millisecond.
const postgresBrokerConns = 2

// NewPostgresBroker connects a broker to the database at databaseURL. The
// channel is whitecross_realtime, suffixed with the schema when it is not
// public, so deployments (and tests) sharing a database in separate
// schemas do not hear each other. Close releases its connections.
func NewPostgresBroker(ctx context.Context, databaseURL string) (*PostgresBroker, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		// pgx's message may repeat the URL, password included.
		return nil, errors.New("postgres broker: DATABASE_URL is not a valid PostgreSQL URL")
	}
	cfg.MaxConns = postgresBrokerConns
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres broker: %w", err)
	}
	var schema string
	if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres broker: %w", err)
	}
	channel := "whitecross_realtime"
	if schema != "" && schema != "public" {
		channel += "_" + schema
	}
	if len(channel) > 63 { // PostgreSQL's identifier limit
		channel = channel[:63]
	}
	return &PostgresBroker{pool: pool, listen: pool.Config().ConnConfig.Copy(), channel: channel}, nil
}

// Publish implements Broker. A payload must stay under PostgreSQL's 8,000
// bytes; the gateway chunks its messages to fit.
func (b *PostgresBroker) Publish(ctx context.Context, payload []byte) error {
	if _, err := b.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, b.channel, string(payload)); err != nil {
		return fmt.Errorf("pg_notify: %w", err)
	}
	return nil
}

// PublishBatch sends payloads as notifications of one statement, in order
// (a fan-out's chunks of users in one round trip).
func (b *PostgresBroker) PublishBatch(ctx context.Context, payloads [][]byte) error {
	if len(payloads) == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString("SELECT ")
	args := make([]any, 0, len(payloads)+1)
	args = append(args, b.channel)
	for i, p := range payloads {
		if i > 0 {
			q.WriteString(", ")
		}
		args = append(args, string(p))
		fmt.Fprintf(&q, "pg_notify($1, $%d)", len(args))
	}
	if _, err := b.pool.Exec(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("pg_notify: %w", err)
	}
	return nil
}

// Subscribe implements Broker: LISTEN on a dedicated connection, opened
// again (after a growing pause, up to 5 s) whenever it fails.
func (b *PostgresBroker) Subscribe(ctx context.Context, deliver func([]byte), subscribed func()) error {
	pause := newBackoff()
	for ctx.Err() == nil {
		if err := b.listenOnce(ctx, deliver, subscribed, pause); err != nil && ctx.Err() == nil {
			if !pause.wait(ctx) {
				break
			}
		}
	}
	return nil
}

func (b *PostgresBroker) listenOnce(ctx context.Context, deliver func([]byte), subscribed func(), pause *backoff) error {
	conn, err := pgx.ConnectConfig(ctx, b.listen)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{b.channel}.Sanitize()); err != nil {
		return err
	}
	pause.reset()
	subscribed()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		deliver([]byte(n.Payload))
	}
}

// Close implements Broker: it closes the broker's connections.
func (b *PostgresBroker) Close() error {
	b.pool.Close()
	return nil
}

// backoff is a growing pause between reconnection attempts.
type backoff struct{ next time.Duration }

func newBackoff() *backoff { return &backoff{next: 100 * time.Millisecond} }

func (p *backoff) reset() { p.next = 100 * time.Millisecond }

// wait pauses; false when ctx ended first.
func (p *backoff) wait(ctx context.Context) bool {
	t := time.NewTimer(p.next)
	defer t.Stop()
	p.next = min(2*p.next, 5*time.Second)
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
