package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"whitecross"
	"whitecross/vault"
)

// Message content is protected by envelope encryption. Every tenant has data
// keys in tenant_keys: 32 random bytes each, stored wrapped (sealed) by the
// master key (s.sealer) with associated data "tenant-key:<tenant>:<key id>",
// so a wrapped key cannot be moved to another tenant or row. The unretired
// key of the highest version seals new content, looked up on every write,
// so a rotation (datakeys.go) takes effect on every instance at once; any
// key of the tenant opens, found by the key id stored next to the content. Subject, body and the
// JSON-encoded attachments are each sealed with AES-256-GCM under the data
// key with associated data "<tenant>|<message id>|<field>", so a ciphertext
// does not open when copied to another message or another field.

// errNoContentSealer is returned when message content is sealed or opened on
// a Store built without a Sealer: content is never stored in the clear.
var errNoContentSealer = errors.New("message content: the store has no sealer (master key) configured")

// sealedContent is a message's sealed subject, body and attachments and the
// id of the tenant data key that sealed them.
type sealedContent struct {
	Subject, Body, Attachments []byte
	KeyID                      string
}

// Content fields, part of each field's associated data.
const (
	fieldSubject     = "subject"
	fieldBody        = "body"
	fieldAttachments = "attachments"
)

func tenantKeyAD(tenantID, keyID string) []byte {
	return []byte("tenant-key:" + tenantID + ":" + keyID)
}

func contentAD(tenantID, messageID, field string) []byte {
	return []byte(tenantID + "|" + messageID + "|" + field)
}

// dataKeyCache holds unwrapped tenant data keys by key id, so that reading
// a page of messages does not query and unwrap a key per message. Entries
// are kept for the life of the Store: a tenant has a handful of keys and key
// ids are never reused, so an entry cannot go stale (a key created in a
// transaction that rolled back is simply never looked up again). It lives in
// the Store, so a Store built with another master key never opens content
// with a key that a different Store unwrapped.
type dataKeyCache struct {
	mu sync.Mutex
	m  map[string]cachedDataKey // by key id
}

// cachedDataKey is a ready AES-256-GCM cipher, so reading a page of
// messages does not rebuild one per field.
type cachedDataKey struct {
	tenantID string
	cipher   *vault.Vault
}

func (s *Store) cachedKey(tenantID, keyID string) *vault.Vault {
	s.dataKeys.mu.Lock()
	defer s.dataKeys.mu.Unlock()
	e, ok := s.dataKeys.m[keyID]
	if !ok || e.tenantID != tenantID {
		return nil
	}
	return e.cipher
}

// cacheKey caches the cipher of a data key and returns it.
func (s *Store) cacheKey(tenantID, keyID string, key []byte) (*vault.Vault, error) {
	c, err := vault.New(key)
	if err != nil {
		return nil, fmt.Errorf("tenant data key %s: %w", keyID, err)
	}
	s.dataKeys.mu.Lock()
	defer s.dataKeys.mu.Unlock()
	if s.dataKeys.m == nil {
		s.dataKeys.m = map[string]cachedDataKey{}
	}
	s.dataKeys.m[keyID] = cachedDataKey{tenantID: tenantID, cipher: c}
	return c, nil
}

// unwrapKey opens a wrapped data key, or returns it from the cache.
func (s *Store) unwrapKey(tenantID, keyID string, wrapped []byte) (*vault.Vault, error) {
	if c := s.cachedKey(tenantID, keyID); c != nil {
		return c, nil
	}
	key, err := s.sealer.Open(wrapped, tenantKeyAD(tenantID, keyID))
	if err != nil {
		return nil, fmt.Errorf("cannot open tenant data key %s: wrong master key? (%w)", keyID, err)
	}
	return s.cacheKey(tenantID, keyID, key)
}

// currentDataKey returns the tenant's sealing key (its newest unretired
// one), creating the tenant's first key inside q when it has none.
//
// Two first sends of a tenant at once must not both create a key (it would
// do no harm, but the newest one wins and the other is wasted). So a sender
// that finds no key first locks the tenant's row with a no-op UPDATE (a row
// lock on PostgreSQL; SQLite transactions already hold the one write lock),
// then looks again: the second sender waits for the first to commit and then
// finds its key (a READ COMMITTED statement sees rows committed before it).
func (s *Store) currentDataKey(ctx context.Context, q Querier, tenantID string) (keyID string, key *vault.Vault, err error) {
	const newest = `SELECT id, wrapped_key FROM tenant_keys WHERE tenant_id = $1 AND retired_at IS NULL
		ORDER BY version DESC LIMIT 1`
	var wrapped []byte
	err = q.QueryRow(ctx, newest, tenantID).Scan(&keyID, &wrapped)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		n, lerr := q.Exec(ctx, `UPDATE tenants SET created_at = created_at WHERE id = $1`, tenantID)
		if lerr != nil {
			return "", nil, fmt.Errorf("lock tenant for data key: %w", lerr)
		}
		if n == 0 {
			return "", nil, fmt.Errorf("create tenant data key: no tenant %s", tenantID)
		}
		err = q.QueryRow(ctx, newest, tenantID).Scan(&keyID, &wrapped)
		if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
			return s.createDataKey(ctx, q, tenantID)
		}
	}
	if err != nil {
		return "", nil, fmt.Errorf("find tenant data key: %w", err)
	}
	key, err = s.unwrapKey(tenantID, keyID, wrapped)
	return keyID, key, err
}

// createDataKey stores a new random data key for the tenant, wrapped by the
// master key, as the tenant's next version, and returns it. The caller
// holds the tenant's row lock, so two keys never get one version (the
// unique index tenant_keys_version would refuse the second anyway).
func (s *Store) createDataKey(ctx context.Context, q Querier, tenantID string) (string, *vault.Vault, error) {
	keyID := newID()
	key := vault.NewDataKey()
	wrapped, err := s.sealer.Seal(key, tenantKeyAD(tenantID, keyID))
	if err != nil {
		return "", nil, fmt.Errorf("wrap tenant data key: %w", err)
	}
	if _, err := q.Exec(ctx, `INSERT INTO tenant_keys (id, tenant_id, wrapped_key, created_at, version)
		SELECT $1, $2, $3, $4, COALESCE(MAX(version), 0) + 1 FROM tenant_keys WHERE tenant_id = $2`,
		keyID, tenantID, wrapped, s.db.now()); err != nil {
		return "", nil, fmt.Errorf("store tenant data key: %w", err)
	}
	// Cached now so that content sealed in this transaction opens before it
	// commits (openContent reads keys outside the transaction).
	c, err := s.cacheKey(tenantID, keyID, key)
	return keyID, c, err
}

// sealContent seals a message's subject, body and attachments (JSON, "[]"
// when none) under the tenant's current data key, creating the tenant's
// first key inside q when needed. It fails when the store has no sealer.
func (s *Store) sealContent(ctx context.Context, q Querier, tenantID, messageID string, subject, body string, att []whitecross.Attachment) (*sealedContent, error) {
	if s.sealer == nil {
		return nil, errNoContentSealer
	}
	keyID, key, err := s.currentDataKey(ctx, q, tenantID)
	if err != nil {
		return nil, err
	}
	if att == nil {
		att = []whitecross.Attachment{}
	}
	attJSON, err := json.Marshal(att)
	if err != nil {
		return nil, fmt.Errorf("encode attachments: %w", err)
	}
	sc := &sealedContent{KeyID: keyID}
	for _, f := range []struct {
		name  string
		plain []byte
		out   *[]byte
	}{
		{fieldSubject, []byte(subject), &sc.Subject},
		{fieldBody, []byte(body), &sc.Body},
		{fieldAttachments, attJSON, &sc.Attachments},
	} {
		if *f.out, err = key.Seal(f.plain, contentAD(tenantID, messageID, f.name)); err != nil {
			return nil, fmt.Errorf("seal message %s: %w", f.name, err)
		}
	}
	return sc, nil
}

// openContent opens content sealed by sealContent for the same tenant and
// message: the subject, and the body and attachments when withBody (else ""
// and [], left sealed). The data key is read outside any transaction (or from the cache,
// which always holds keys created by this Store). It fails when the store
// has no sealer, the key is not the tenant's, or a value was altered or
// belongs to another message or field.
func (s *Store) openContent(ctx context.Context, tenantID, messageID string, sc *sealedContent, withBody bool) (subject, body string, att []whitecross.Attachment, err error) {
	ctx = inTenant(ctx, tenantID)
	if s.sealer == nil {
		return "", "", nil, errNoContentSealer
	}
	key := s.cachedKey(tenantID, sc.KeyID)
	if key == nil {
		var wrapped []byte
		err := s.db.Reader().QueryRow(ctx, `SELECT wrapped_key FROM tenant_keys WHERE id = $1 AND tenant_id = $2`,
			sc.KeyID, tenantID).Scan(&wrapped)
		if err != nil {
			return "", "", nil, fmt.Errorf("find tenant data key %s: %w", sc.KeyID, err)
		}
		if key, err = s.unwrapKey(tenantID, sc.KeyID, wrapped); err != nil {
			return "", "", nil, err
		}
	}
	open := func(field string, sealed []byte) ([]byte, error) {
		plain, err := key.Open(sealed, contentAD(tenantID, messageID, field))
		if err != nil {
			return nil, fmt.Errorf("open message %s %s: %w", messageID, field, err)
		}
		return plain, nil
	}
	sub, err := open(fieldSubject, sc.Subject)
	if err != nil {
		return "", "", nil, err
	}
	if !withBody {
		return string(sub), "", []whitecross.Attachment{}, nil
	}
	bod, err := open(fieldBody, sc.Body)
	if err != nil {
		return "", "", nil, err
	}
	attJSON, err := open(fieldAttachments, sc.Attachments)
	if err != nil {
		return "", "", nil, err
	}
	if err := json.Unmarshal(attJSON, &att); err != nil {
		return "", "", nil, fmt.Errorf("decode message %s attachments: %w", messageID, err)
	}
	if att == nil {
		att = []whitecross.Attachment{}
	}
	return string(sub), string(bod), att, nil
}

// warmContentKeys caches every data key of the tenant, read through q.
// openContent reads a key it has not cached through the connection pool;
// code that opens existing messages inside a transaction calls this first,
// so that it never needs a second connection while holding one (a full
// PostgreSQL pool would otherwise wait on itself).
func (s *Store) warmContentKeys(ctx context.Context, q Querier, tenantID string) error {
	if s.sealer == nil {
		return errNoContentSealer
	}
	rows, err := q.Query(ctx, `SELECT id, wrapped_key FROM tenant_keys WHERE tenant_id = $1`, tenantID)
	if err != nil {
		return fmt.Errorf("load tenant data keys: %w", err)
	}
	defer rows.Close()
	type wrappedKey struct {
		id      string
		wrapped []byte
	}
	var keys []wrappedKey
	for rows.Next() {
		var k wrappedKey
		if err := rows.Scan(&k.id, &k.wrapped); err != nil {
			return fmt.Errorf("load tenant data keys: %w", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load tenant data keys: %w", err)
	}
	rows.Close()
	for _, k := range keys {
		if _, err := s.unwrapKey(tenantID, k.id, k.wrapped); err != nil {
			return err
		}
	}
	return nil
}
