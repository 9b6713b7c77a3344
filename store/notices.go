package store

import (
	"context"
	"encoding/json"
	"fmt"

	"whitecross"
)

// NoticeJob asks the queue to send one sealed notice (a sign-in code, a
// reset link). The notice, address included, is sealed with the tenant's
// data key: the job table never holds the secret or the contact in clear.
type NoticeJob struct {
	TenantID string
	NoticeID string // a fresh UUID, part of the sealed value's associated data
	KeyID    string // the tenant data key that sealed it
	Sealed   []byte
}

// NoticeQueue inserts notice jobs inside a store transaction, so that a
// code exists exactly when its notice is queued. Implemented by package
// delivery.
type NoticeQueue interface {
	EnqueueNotice(ctx context.Context, tx *Tx, job NoticeJob) error
}

// SetNoticeQueue sets the queue that sign-in codes and reset links are
// sent through. Without one they are stored but never sent.
func (s *Store) SetNoticeQueue(q NoticeQueue) { s.notices = q }

func noticeAD(tenantID, noticeID string) []byte {
	return []byte(tenantID + "|notice|" + noticeID)
}

// queueNotice seals n with the tenant's current data key (creating the
// first inside tx) and queues it. It does the same work for a notice to
// nobody (To ""), which the worker drops, so an unknown contact takes as
// long as a known one.
func (s *Store) queueNotice(ctx context.Context, tx *Tx, tenantID string, n *whitecross.Notice) error {
	if s.sealer == nil {
		return errNoContentSealer
	}
	plain, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("encode notice: %w", err)
	}
	keyID, key, err := s.currentDataKey(ctx, tx, tenantID)
	if err != nil {
		return err
	}
	job := NoticeJob{TenantID: tenantID, NoticeID: newID(), KeyID: keyID}
	if job.Sealed, err = key.Seal(plain, noticeAD(tenantID, job.NoticeID)); err != nil {
		return fmt.Errorf("seal notice: %w", err)
	}
	if s.notices == nil {
		return nil
	}
	if err := s.notices.EnqueueNotice(ctx, tx, job); err != nil {
		return fmt.Errorf("enqueue notice: %w", err)
	}
	return nil
}

// OpenNotice opens the notice of a job queued by this store's tenant keys.
// It fails when the job was altered or moved to another tenant or notice.
func (s *Store) OpenNotice(ctx context.Context, job NoticeJob) (*whitecross.Notice, error) {
	ctx = inTenant(ctx, job.TenantID)
	if s.sealer == nil {
		return nil, errNoContentSealer
	}
	key := s.cachedKey(job.TenantID, job.KeyID)
	if key == nil {
		var wrapped []byte
		err := s.db.Reader().QueryRow(ctx, `SELECT wrapped_key FROM tenant_keys WHERE id = $1 AND tenant_id = $2`,
			job.KeyID, job.TenantID).Scan(&wrapped)
		if err != nil {
			return nil, fmt.Errorf("find tenant data key %s: %w", job.KeyID, err)
		}
		if key, err = s.unwrapKey(job.TenantID, job.KeyID, wrapped); err != nil {
			return nil, err
		}
	}
	plain, err := key.Open(job.Sealed, noticeAD(job.TenantID, job.NoticeID))
	if err != nil {
		return nil, fmt.Errorf("open notice %s: %w", job.NoticeID, err)
	}
	var n whitecross.Notice
	if err := json.Unmarshal(plain, &n); err != nil {
		return nil, fmt.Errorf("decode notice %s: %w", job.NoticeID, err)
	}
	return &n, nil
}
