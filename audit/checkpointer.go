package audit

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"whitecross"
)

// Checkpointer writes each tenant's chain head as a signed checkpoint
// (checkpoint.go) to the log and, when File is set, appends it to File.
// A head that has not moved since its last checkpoint is not written again.
type Checkpointer struct {
	Store whitecross.AuditStore
	// Tenants lists the tenant ids to checkpoint.
	Tenants func(ctx context.Context) ([]string, error)
	Key     []byte
	Log     *slog.Logger
	File    string // "" : the log only
	Now     func() time.Time

	last map[string]int64 // tenant -> seq last checkpointed
}

// Run writes checkpoints every interval until ctx ends, and once more then,
// so a clean stop leaves the newest heads behind.
func (c *Checkpointer) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			c.logged(final)
			cancel()
			return
		case <-t.C:
			c.logged(ctx)
		}
	}
}

func (c *Checkpointer) logged(ctx context.Context) {
	if _, err := c.WriteAll(ctx); err != nil && ctx.Err() == nil {
		c.Log.Warn("audit checkpoint failed", "error", err.Error())
	}
}

// WriteAll checkpoints every tenant whose head moved and returns how many
// it wrote.
func (c *Checkpointer) WriteAll(ctx context.Context) (int, error) {
	ids, err := c.Tenants(ctx)
	if err != nil {
		return 0, fmt.Errorf("list tenants: %w", err)
	}
	if c.last == nil {
		c.last = map[string]int64{}
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	var lines []string
	for _, id := range ids {
		head, err := c.Store.AuditHead(ctx, id)
		if err != nil {
			return 0, err
		}
		if head.Seq == 0 || head.Seq == c.last[id] {
			continue
		}
		cp := NewCheckpoint(c.Key, id, head.Seq, head.Hash, now())
		c.Log.Info("audit checkpoint", "tenant_id", id, "checkpoint", cp.Line())
		lines = append(lines, cp.Line())
		c.last[id] = head.Seq
	}
	if c.File != "" && len(lines) > 0 {
		if err := appendLines(c.File, lines); err != nil {
			return len(lines), err
		}
	}
	return len(lines), nil
}

// appendLines appends lines to path (created 0600), synced to disk.
func appendLines(path string, lines []string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("audit checkpoint file: %w", err)
	}
	for _, l := range lines {
		if _, err := f.WriteString(l + "\n"); err != nil {
			f.Close()
			return fmt.Errorf("audit checkpoint file: %w", err)
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("audit checkpoint file: %w", err)
	}
	return f.Close()
}
