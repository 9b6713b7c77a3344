package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"whitecross"
)

// ReachProfiles returns the reach profile (whitecross.ReachProfile) of each
// of userIDs in tenantID that exists, keyed by the canonical id: what the
// realtime gateway groups users by for presence, so that whom a user may
// see online is asked once per profile, not once per user. One query per
// idBatch ids. Unknown, malformed and other tenants' ids are left out.
func (s *Store) ReachProfiles(ctx context.Context, tenantID string, userIDs []string) (map[string]whitecross.ReachProfile, error) {
	ctx = inTenant(ctx, tenantID)
	tenantID, ok := parseID(tenantID)
	if !ok {
		return map[string]whitecross.ReachProfile{}, nil
	}
	parts := map[string]*profileParts{}
	for _, batch := range batches(parseIDs(userIDs)) {
		if err := s.readProfileParts(ctx, tenantID, batch, parts); err != nil {
			return nil, fmt.Errorf("reach profiles: %w", err)
		}
	}
	out := make(map[string]whitecross.ReachProfile, len(parts))
	for id, p := range parts {
		if p.role != "" {
			out[id] = p.profile()
		}
	}
	return out, nil
}

// profileParts collects one user's rows of the profile query.
type profileParts struct {
	role      string
	active    bool
	locations []string // the user's own
	custody   []string // of the students they have custody of
}

// profile is the user's profile, its key independent of row order.
func (p *profileParts) profile() whitecross.ReachProfile {
	slices.Sort(p.locations)
	slices.Sort(p.custody)
	key := fmt.Sprintf("%s|%t|%s|%s", p.role, p.active, strings.Join(slices.Compact(p.locations), ","),
		strings.Join(slices.Compact(p.custody), ","))
	return whitecross.ReachProfile{Role: whitecross.Role(p.role), Key: key}
}

// readProfileParts reads, in one query, the users' roles and locations
// (kind 'u', one row per location or one with no location) and the
// locations of the students they have custody of (kind 'c').
func (s *Store) readProfileParts(ctx context.Context, tenantID string, ids []string, parts map[string]*profileParts) error {
	ctx = inTenant(ctx, tenantID)
	in := placeholders(2, len(ids))
	rows, err := s.db.Reader().Query(ctx, `SELECT 'u', u.id, u.role, u.deactivated_at IS NULL, ul.location_id
		FROM users u LEFT JOIN user_locations ul ON ul.user_id = u.id
		WHERE u.tenant_id = $1 AND u.id IN (`+in+`)
		UNION ALL
		SELECT 'c', g.user_id, '', 1 = 1, cs.location_id FROM guardianships g JOIN students cs ON cs.id = g.student_id
		WHERE g.tenant_id = $1 AND g.custody AND cs.deactivated_at IS NULL AND g.user_id IN (`+in+`)`, append([]any{tenantID}, anySlice(ids)...)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var kind, id, role string
		var active bool
		var location *string
		if err := rows.Scan(&kind, &id, &role, &active, &location); err != nil {
			return err
		}
		id = strings.ToLower(id)
		p := parts[id]
		if p == nil {
			p = &profileParts{}
			parts[id] = p
		}
		switch {
		case kind == "u":
			p.role, p.active = role, active
			if location != nil {
				p.locations = append(p.locations, strings.ToLower(*location))
			}
		case location != nil:
			p.custody = append(p.custody, strings.ToLower(*location))
		}
	}
	return rows.Err()
}
