package whitecross

import (
	"context"
	"time"
)

// Audit actions of key rotation (an operator's CLI, no actor): detail
// "version" (the new one), "versions" (those retired, comma-separated) or
// "master_key_id" (the master key now wrapping the district's data keys).
const (
	AuditDataKeyRotated    = "tenant.data_key.rotated"
	AuditDataKeysRetired   = "tenant.data_key.retired"
	AuditDataKeysRewrapped = "tenant.data_key.rewrapped"
)

// DataKey is one version of a district's data key, the key that seals its
// message content and other secrets at rest (stored wrapped by the master
// key). Versions count up from 1; the highest unretired one seals new
// writes, and every version keeps opening what it sealed. A retired key is
// one no row uses any more: it is kept, wrapped, for backups made before.
type DataKey struct {
	Version   int
	CreatedAt time.Time
	RetiredAt *time.Time
	// MasterKeyID is the id of the master key that wraps it (safe to show).
	MasterKeyID string
}

// DataKeyRows is how many rows of one table a key version sealed.
type DataKeyRows struct {
	Table   string
	Version int
	Rows    int64
}

// DataKeyStatus is a district's data keys and how far the re-encryption
// after the last rotation has come.
type DataKeyStatus struct {
	Current DataKey   // Version 0 when the district has sealed nothing yet
	Keys    []DataKey // oldest first
	Rows    []DataKeyRows
}

// RowsLeft is the number of rows still sealed by an older key.
func (s *DataKeyStatus) RowsLeft() int64 {
	var n int64
	for _, r := range s.Rows {
		if r.Version != s.Current.Version {
			n += r.Rows
		}
	}
	return n
}

// ReencryptedPercent is the share of rows sealed by the current key, in
// whole percent rounded down (100 only when none is left; 100 with no
// rows at all).
func (s *DataKeyStatus) ReencryptedPercent() int {
	var total int64
	for _, r := range s.Rows {
		total += r.Rows
	}
	if total == 0 {
		return 100
	}
	return int((total - s.RowsLeft()) * 100 / total)
}

// DataKeyService reports the caller's district's data keys.
type DataKeyService interface {
	// DataKeyStatus returns the caller's district's keys and rows per key
	// (ADMIN only, else EFORBIDDEN).
	DataKeyStatus(ctx context.Context) (*DataKeyStatus, error)
}
