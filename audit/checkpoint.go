package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"whitecross"
)

// A checkpoint is a tenant's chain head (seq and hash) at a moment,
// written where an attacker holding only the database cannot rewrite it:
// the server's log and, optionally, an append-only file. Rewriting history
// in the database means recomputing every hash from the edited event on;
// the chain then verifies, but no longer holds an event a checkpoint named
// with the hash it named. Truncating the chain below a checkpoint is caught
// the same way.
//
// Each line is signed with HMAC-SHA256 under a key derived from the master
// key (vault.DeriveKey "audit checkpoints"). HMAC rather than Ed25519:
// verifying needs only the master key every instance and the CLI already
// hold, so there is no further key to store, seal or rotate, and a copy of
// the database alone (which holds no master key) can neither forge a line
// nor check one. The line is plain ASCII without quotes, so it reads the
// same inside a JSON log record: grep the logs for CheckpointMarker.

// CheckpointMarker starts every checkpoint line.
const CheckpointMarker = "whitecross-audit-checkpoint/v1"

// Checkpoint is one signed chain head.
type Checkpoint struct {
	TenantID string
	Seq      int64
	Hash     []byte
	At       time.Time
	MAC      []byte
}

// signed is the text the MAC covers.
func (c *Checkpoint) signed() string {
	return fmt.Sprintf("%s tenant=%s seq=%d hash=%s at=%s", CheckpointMarker, c.TenantID, c.Seq,
		hex.EncodeToString(c.Hash), c.At.UTC().Format(time.RFC3339))
}

func checkpointMAC(key []byte, text string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(text))
	return m.Sum(nil)
}

// NewCheckpoint signs the head (seq, hash) of tenantID at time at.
func NewCheckpoint(key []byte, tenantID string, seq int64, hash []byte, at time.Time) *Checkpoint {
	c := &Checkpoint{TenantID: tenantID, Seq: seq, Hash: hash, At: at.UTC().Truncate(time.Second)}
	c.MAC = checkpointMAC(key, c.signed())
	return c
}

// Line is the checkpoint as written to the log and the file.
func (c *Checkpoint) Line() string {
	return c.signed() + " mac=" + hex.EncodeToString(c.MAC)
}

// ParseCheckpoints reads every checkpoint line in r (lines without the
// marker, such as other log records, are skipped) and checks each one's
// MAC under key. It fails on the first line that carries the marker but
// does not parse or was not signed with key.
func ParseCheckpoints(r io.Reader, key []byte) ([]*Checkpoint, error) {
	var out []*Checkpoint
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		i := strings.Index(text, CheckpointMarker)
		if i < 0 {
			continue
		}
		c, err := parseCheckpoint(text[i:])
		if err != nil {
			return nil, fmt.Errorf("checkpoint line %d: %w", n, err)
		}
		if !hmac.Equal(c.MAC, checkpointMAC(key, c.signed())) {
			return nil, fmt.Errorf("checkpoint line %d is not signed with this master key", n)
		}
		out = append(out, c)
	}
	return out, sc.Err()
}

// parseCheckpoint parses the fields of one line from the marker on.
func parseCheckpoint(s string) (*Checkpoint, error) {
	fields := map[string]string{}
	for _, f := range strings.Fields(s)[1:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			break // the end of the line (a log record's closing quote and more)
		}
		fields[k] = strings.TrimRight(v, `"}`)
	}
	var c Checkpoint
	var err error
	c.TenantID = fields["tenant"]
	if c.Seq, err = strconv.ParseInt(fields["seq"], 10, 64); err != nil {
		return nil, fmt.Errorf("bad seq")
	}
	if c.Hash, err = hex.DecodeString(fields["hash"]); err != nil {
		return nil, fmt.Errorf("bad hash")
	}
	if c.At, err = time.Parse(time.RFC3339, fields["at"]); err != nil {
		return nil, fmt.Errorf("bad time")
	}
	if c.MAC, err = hex.DecodeString(fields["mac"]); err != nil || len(c.MAC) != sha256.Size {
		return nil, fmt.Errorf("bad mac")
	}
	return &c, nil
}

// CheckCheckpoints reports the first of tenantID's checkpoints whose head
// the chain no longer holds (the event is gone, or has another hash), ""
// when the chain holds them all. Checkpoints of other tenants are skipped;
// n is how many were checked.
func CheckCheckpoints(ctx context.Context, st whitecross.AuditStore, tenantID string, cps []*Checkpoint) (n int, broken string, err error) {
	for _, c := range cps {
		if c.TenantID != tenantID || c.Seq == 0 {
			continue
		}
		events, err := st.AuditEvents(ctx, tenantID, c.Seq-1, 1)
		if err != nil {
			return n, "", fmt.Errorf("read audit event %d: %w", c.Seq, err)
		}
		if len(events) == 0 || events[0].Seq != c.Seq {
			return n, fmt.Sprintf("event %d, checkpointed at %s, is gone: the log was truncated", c.Seq, c.At.Format(time.RFC3339)), nil
		}
		if !bytes.Equal(events[0].Hash, c.Hash) {
			return n, fmt.Sprintf("event %d does not have the hash checkpointed at %s: history was rewritten", c.Seq, c.At.Format(time.RFC3339)), nil
		}
		n++
	}
	return n, "", nil
}
