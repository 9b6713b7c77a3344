package store

import (
	"context"
	"fmt"
	"strings"

	"whitecross"
)

var _ whitecross.CredentialStore = (*Store)(nil)

// FindCredentials implements whitecross.CredentialStore: it returns the
// user of tenantID whose email matches (surrounding space and case
// ignored; stored emails are lowercase), deactivated or not, with its
// locations and password hash. ENOTFOUND otherwise.
func (s *Store) FindCredentials(ctx context.Context, tenantID, email string) (*whitecross.Credentials, error) {
	ctx = inTenant(ctx, tenantID)
	email = strings.ToLower(strings.TrimSpace(email))
	if !validUUID(tenantID) || email == "" {
		return nil, whitecross.Errorf(whitecross.ENOTFOUND, "User not found.")
	}
	q := s.db.Reader()
	var hash string
	u, err := scanUser(q.QueryRow(ctx, `SELECT `+userColumns+`, u.password_hash
		FROM users u WHERE u.tenant_id = $1 AND u.email = $2`, tenantID, email), &hash)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return nil, whitecross.Errorf(whitecross.ENOTFOUND, "User not found.")
	} else if err != nil {
		return nil, fmt.Errorf("find credentials: %w", err)
	}
	if err := s.loadLocationIDs(ctx, q, []*whitecross.User{u}); err != nil {
		return nil, err
	}
	return &whitecross.Credentials{User: u, PasswordHash: hash}, nil
}
