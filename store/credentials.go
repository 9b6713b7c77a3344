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
	email = strings.ToLower(strings.TrimSpace(email))
	if !validUUID(tenantID) || email == "" {
		return nil, whitecross.Errorf(whitecross.ENOTFOUND, "User not found.")
	}
	q := s.db.Reader()
	var hash string
	u, err := scanUserRow(q.QueryRow(ctx, `SELECT `+userRowColumns+`, u.password_hash
		FROM users u WHERE u.tenant_id = $1 AND u.email = $2`, tenantID, email), &hash)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return nil, whitecross.Errorf(whitecross.ENOTFOUND, "User not found.")
	} else if err != nil {
		return nil, fmt.Errorf("find credentials: %w", err)
	}
	if u.LocationIDs, err = userLocationIDs(ctx, q, u.TenantID, u.ID); err != nil {
		return nil, err
	}
	return &whitecross.Credentials{User: u, PasswordHash: hash}, nil
}

// userRowColumns are the users columns read by scanUserRow; the table is
// aliased u. Shared user-scanning helper: it never reads password_hash, so
// a caller that needs it asks for it explicitly as an extra column.
const userRowColumns = `u.id, u.tenant_id, u.email, u.name, u.role, u.phone, u.locale, u.timezone, u.deactivated_at, u.created_at, u.updated_at`

// scanUserRow scans userRowColumns followed by any extra destinations.
// LocationIDs is left empty (non-nil); load it with userLocationIDs.
func scanUserRow(row Row, extra ...any) (*whitecross.User, error) {
	var u whitecross.User
	var role string
	dest := append([]any{&u.ID, &u.TenantID, &u.Email, &u.Name, &role, &u.Phone, &u.Locale, &u.Timezone,
		&u.DeactivatedAt, &u.CreatedAt, &u.UpdatedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	u.Role = whitecross.Role(role)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	if u.DeactivatedAt != nil {
		t := u.DeactivatedAt.UTC()
		u.DeactivatedAt = &t
	}
	u.LocationIDs = []string{}
	return &u, nil
}

// userLocationIDs returns the ids of the locations a user belongs to, in
// id order (never nil).
func userLocationIDs(ctx context.Context, q Querier, tenantID, userID string) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT location_id FROM user_locations WHERE tenant_id = $1 AND user_id = $2 ORDER BY location_id`, tenantID, userID)
	if err != nil {
		return nil, fmt.Errorf("list user locations: %w", err)
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("scan user location: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list user locations: %w", err)
	}
	return ids, nil
}
