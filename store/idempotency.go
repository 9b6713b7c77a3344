package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"whitecross"
)

// Idempotency keys make a retried POST /messages (or reply) return the
// message the first request created instead of sending it twice. A key is
// scoped to the tenant and the user; it stores a fingerprint of the request
// (RequestHash, computed by the API from the body) and the message it
// created. The key row is written in the transaction that stores the
// message, right after the message row (its foreign key), so a key never
// names a message that does not exist, and the key's primary key decides
// which of two concurrent requests wins: the loser's INSERT ... ON CONFLICT
// DO NOTHING waits for the winner to commit (PostgreSQL) or runs after it
// (SQLite has one writer), inserts nothing, and the loser then rolls back
// and answers with the winner's message.

// errKeyTaken is returned inside a send transaction when a concurrent
// request claimed the same idempotency key first; the send rolls back and
// replays in a new transaction.
var errKeyTaken = errors.New("idempotency key taken by a concurrent request")

// headerIdempotencyKey names the key in field errors.
const headerIdempotencyKey = "header.Idempotency-Key"

// validIdempotencyKey checks an optional key: at most MaxIdempotencyKey
// bytes of printable characters.
func validIdempotencyKey(key string) error {
	if key == "" {
		return nil
	}
	if len(key) > whitecross.MaxIdempotencyKey || !utf8.ValidString(key) ||
		strings.IndexFunc(key, unicode.IsControl) >= 0 {
		return whitecross.FieldErrorf(whitecross.EINVALID, headerIdempotencyKey, nil,
			"Idempotency-Key must be at most %d printable characters.", whitecross.MaxIdempotencyKey)
	}
	return nil
}

// replayedMessageID returns the id of the message an earlier request with
// the same key created, or "" when the key is new. ECONFLICT when the key
// was used with a different request.
func replayedMessageID(ctx context.Context, q Querier, a *whitecross.Actor, key string, hash []byte) (string, error) {
	if key == "" {
		return "", nil
	}
	var stored []byte
	var id string
	err := q.QueryRow(ctx, `SELECT request_hash, message_id FROM idempotency_keys WHERE tenant_id = $1 AND user_id = $2 AND key = $3`,
		a.TenantID, callerID(a), key).Scan(&stored, &id)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("find idempotency key: %w", err)
	}
	if !bytes.Equal(stored, hash) {
		return "", whitecross.FieldErrorf(whitecross.ECONFLICT, headerIdempotencyKey, nil, "Idempotency-Key was used with a different request.")
	}
	return id, nil
}

// claimIdempotencyKey records key for messageID inside tx. errKeyTaken when
// a concurrent request holds it.
func (s *Store) claimIdempotencyKey(ctx context.Context, tx *Tx, a *whitecross.Actor, key string, hash []byte, messageID string) error {
	if key == "" {
		return nil
	}
	if hash == nil {
		hash = []byte{}
	}
	n, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (tenant_id, user_id, key, request_hash, message_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, user_id, key) DO NOTHING`,
		a.TenantID, callerID(a), key, hash, messageID, s.db.now())
	if err != nil {
		return fmt.Errorf("store idempotency key: %w", err)
	}
	if n == 0 {
		return errKeyTaken
	}
	return nil
}

// sendIdempotent runs create in a transaction and returns the message it
// made as the caller sees it, honouring the idempotency key: a replay
// returns the original message without writing anything. create must call
// claimIdempotencyKey after inserting the message row. When a concurrent
// request with the same key wins, this one rolls back and returns the
// winner's message (or ECONFLICT for a different request); it never fails
// with an internal error because of the race.
func (s *Store) sendIdempotent(ctx context.Context, a *whitecross.Actor, key string, hash []byte,
	create func(tx *Tx) (messageID string, err error)) (*whitecross.Message, error) {
	if hash == nil {
		hash = []byte{}
	}
	for attempt := 0; ; attempt++ {
		var out *whitecross.Message
		err := s.db.InTx(ctx, func(tx *Tx) error {
			id, err := replayedMessageID(ctx, tx, a, key, hash)
			if err != nil {
				return err
			}
			if id == "" {
				if id, err = create(tx); err != nil {
					return err
				}
			} else if err := s.warmContentKeys(ctx, tx, a.TenantID); err != nil {
				return err
			}
			out, err = s.loadMessage(ctx, tx, a, id, fullContent)
			return err
		})
		if errors.Is(err, errKeyTaken) {
			if attempt == 0 {
				continue // the winner has committed: replay it
			}
			return nil, whitecross.FieldErrorf(whitecross.ECONFLICT, headerIdempotencyKey, nil,
				"A request with this Idempotency-Key is in progress; retry it.")
		}
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}
