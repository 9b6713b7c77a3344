package store

import "context"

// SealContentForBench exposes sealContent to the inbox benchmark (package
// store_test), so that rows it seeds with raw SQL hold real sealed content.
// The tenant must already have a data key (send one real message first):
// it seals through the read pool.
func (s *Store) SealContentForBench(ctx context.Context, tenantID, messageID, subject, body string) (subj, bod, att []byte, keyID string, err error) {
	sc, err := s.sealContent(ctx, s.db.Reader(), tenantID, messageID, subject, body, nil)
	if err != nil {
		return nil, nil, nil, "", err
	}
	return sc.Subject, sc.Body, sc.Attachments, sc.KeyID, nil
}
