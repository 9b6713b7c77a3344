package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"whitecross"
)

// UpdateProfile implements whitecross.UserService: the caller changes their
// own name, phone, locale and time zone, with exactly the validation of
// UpdateUser (applyUserUpdate: E.164 phone, a language tag, an IANA zone,
// an empty locale or zone meaning the district's default), in one
// transaction with a user.updated event naming the fields that changed and
// "self": "true". No administration rule applies: everyone may keep their
// own contact details right, guardians included. Nothing else holds a
// copy of these fields to refresh: names, phones and zones are read from
// users on every send, listing and live frame (the realtime gateway keeps
// only ids and roles per connection).
func (s *Store) UpdateProfile(ctx context.Context, upd *whitecross.ProfileUpdate) (*whitecross.User, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if a.System || a.UserID == "" {
		return nil, whitecross.Errorf(whitecross.EUNAUTHORIZED, "Sign in to change your profile.")
	}
	var u *whitecross.User
	err = s.db.InTx(ctx, func(tx *Tx) error {
		old, _, err := s.findUserFor(ctx, tx, a, a.UserID)
		if err != nil {
			return err
		}
		next := *old
		changed, err := s.applyUserUpdate(ctx, tx, a, old, &next, &whitecross.UserUpdate{
			Name: upd.Name, Phone: upd.Phone, Locale: upd.Locale, Timezone: upd.Timezone,
		})
		if err != nil {
			return err
		}
		u = &next
		if len(changed) == 0 {
			return nil
		}
		u.UpdatedAt = s.db.now()
		if _, err := tx.Exec(ctx, `UPDATE users SET name = $3, phone = $4, locale = $5, timezone = $6, updated_at = $7
			WHERE tenant_id = $1 AND id = $2`, a.TenantID, u.ID, u.Name, u.Phone, u.Locale, u.Timezone, u.UpdatedAt); err != nil {
			return fmt.Errorf("update profile: %w", err)
		}
		if slices.Contains(changed, "phone") {
			if err := s.syncContactPoint(ctx, tx, u, whitecross.ContactPhone, u.Phone); err != nil {
				return err
			}
		}
		slices.Sort(changed)
		return s.auditTx(ctx, tx, whitecross.AuditUserUpdated, "user", u.ID,
			map[string]string{"fields": strings.Join(changed, ","), "self": "true"})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}
