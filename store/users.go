package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"whitecross"
)

var _ whitecross.UserService = (*Store)(nil)

const userColumns = `u.id, u.tenant_id, u.email, u.name, u.role, u.phone, u.locale, u.timezone, u.deactivated_at, u.created_at, u.updated_at`

// CreateUser implements whitecross.UserService. ADMIN (and the system) may
// create any user; a SCHOOL_ADMIN only SCHOOL_ADMIN, NURSE, STAFF and
// GUARDIAN users whose location_ids all lie in their scope. EFORBIDDEN
// otherwise (naming body.role or body.location_ids[i] when one field is the
// reason); EINVALID naming the field; ECONFLICT for an email already in the
// tenant. Only the system (the operator's CLI, the demo) may give the new
// user a password: an administrator who chose one could sign in as that
// person (EFORBIDDEN naming body.password).
func (s *Store) CreateUser(ctx context.Context, in *whitecross.UserCreate) (*whitecross.User, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if !a.System && a.Role != whitecross.RoleAdmin && a.Role != whitecross.RoleSchoolAdmin {
		return nil, whitecross.Errorf(whitecross.EFORBIDDEN, "You may not create users.")
	}
	u := &whitecross.User{TenantID: a.TenantID, Email: normalizeEmail(in.Email), Role: in.Role,
		Phone: strings.TrimSpace(in.Phone), Locale: strings.TrimSpace(in.Locale), Timezone: strings.TrimSpace(in.Timezone)}
	if err := validEmail(u.Email); err != nil {
		return nil, err
	}
	if u.Name, err = validName("body.name", in.Name); err != nil {
		return nil, err
	}
	if err := validRole("body.role", u.Role); err != nil {
		return nil, err
	}
	if a.Role == whitecross.RoleSchoolAdmin && !a.System && u.Role == whitecross.RoleAdmin {
		return nil, whitecross.FieldErrorf(whitecross.EFORBIDDEN, "body.role", string(u.Role), "You may not create ADMIN users.")
	}
	if err := validPhone(u.Phone); err != nil {
		return nil, err
	}
	if u.Locale != "" {
		if err := validLocale("body.locale", u.Locale); err != nil {
			return nil, err
		}
	}
	if u.Timezone != "" {
		if err := validTimezone("body.timezone", u.Timezone); err != nil {
			return nil, err
		}
	}
	var hash string
	if in.Password != "" {
		if !a.System {
			return nil, errOthersPassword
		}
		if hash, err = s.hashPassword(ctx, "body.password", in.Password, u); err != nil {
			return nil, err
		}
	}
	err = s.db.InTx(ctx, func(tx *Tx) error {
		if u.Timezone == "" || u.Locale == "" {
			t, err := s.findTenant(ctx, tx, `id = $1`, a.TenantID)
			if err != nil {
				return err
			}
			u.Timezone = cmp.Or(u.Timezone, t.Timezone)
			u.Locale = cmp.Or(u.Locale, t.Settings.DefaultLocale, defaultLocale)
		}
		if u.LocationIDs, err = s.checkUserLocations(ctx, tx, a, u.Role, nil, in.LocationIDs); err != nil {
			return err
		}
		slices.Sort(u.LocationIDs)
		u.ID = newID()
		u.CreatedAt = s.db.now()
		u.UpdatedAt = u.CreatedAt
		if _, err := tx.Exec(ctx, `INSERT INTO users (id, tenant_id, email, name, role, phone, locale, timezone, password_hash, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			u.ID, u.TenantID, u.Email, u.Name, string(u.Role), u.Phone, u.Locale, u.Timezone, hash, u.CreatedAt, u.UpdatedAt); err != nil {
			if whitecross.ErrorCode(err) == whitecross.ECONFLICT {
				return whitecross.FieldErrorf(whitecross.ECONFLICT, "body.email", nil, "A user with this email already exists.")
			}
			return fmt.Errorf("insert user: %w", err)
		}
		if err := s.setUserLocations(ctx, tx, u, false); err != nil {
			return err
		}
		if err := s.syncContactPoint(ctx, tx, u, whitecross.ContactEmail, u.Email); err != nil {
			return err
		}
		if err := s.syncContactPoint(ctx, tx, u, whitecross.ContactPhone, u.Phone); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, whitecross.AuditUserCreated, "user", u.ID, map[string]string{"role": string(u.Role)})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// FindUserByID implements whitecross.UserService: the user if it is the
// caller, or one the caller may message or administer; ENOTFOUND otherwise
// (also for another tenant's user or a malformed id).
func (s *Store) FindUserByID(ctx context.Context, id string) (*whitecross.User, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	u, _, err := s.findUserFor(ctx, s.db.Reader(), a, id)
	return u, err
}

// findUserFor returns a user the caller may see and whether the caller
// administers them. ENOTFOUND when the caller may not see them.
func (s *Store) findUserFor(ctx context.Context, q Querier, a *whitecross.Actor, id string) (*whitecross.User, bool, error) {
	id, ok := parseID(id)
	if !ok {
		return nil, false, whitecross.Errorf(whitecross.ENOTFOUND, "User not found.")
	}
	r := reach{a}
	var admin int
	u, err := scanUser(q.QueryRow(ctx, reachWith+`SELECT `+userColumns+`, CASE WHEN `+r.administers("u")+` THEN 1 ELSE 0 END
		FROM users u WHERE u.tenant_id = $1 AND u.id = $3 AND `+r.visibleUser("u"), append(r.args(), id)...), &admin)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return nil, false, whitecross.Errorf(whitecross.ENOTFOUND, "User not found.")
	} else if err != nil {
		return nil, false, fmt.Errorf("find user: %w", err)
	}
	if err := s.loadLocationIDs(ctx, q, []*whitecross.User{u}); err != nil {
		return nil, false, err
	}
	return u, admin == 1, nil
}

// findUserToAdminister is findUserFor that also refuses, with EFORBIDDEN, a
// user the caller may see but not administer.
func (s *Store) findUserToAdminister(ctx context.Context, q Querier, a *whitecross.Actor, id string) (*whitecross.User, error) {
	u, admin, err := s.findUserFor(ctx, q, a, id)
	if err != nil {
		return nil, err
	}
	if !admin {
		return nil, whitecross.Errorf(whitecross.EFORBIDDEN, "You may not administer this user.")
	}
	return u, nil
}

// UpdateUser implements whitecross.UserService: it applies the non-nil
// fields of upd with the validation of CreateUser. A SCHOOL_ADMIN may not
// grant ADMIN, turn a guardian into staff or back, add or remove a location
// outside their scope, nor place a non-custodial contact of a student near
// that student (placeNearNonCustodial); an ADMIN may, and the audit event
// records the override. Passwords are SetPassword's. ENOTFOUND as
// FindUserByID; EFORBIDDEN when the caller may see but not administer the
// user; EINVALID naming the field.
func (s *Store) UpdateUser(ctx context.Context, id string, upd *whitecross.UserUpdate) (*whitecross.User, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var u *whitecross.User
	err = s.db.InTx(ctx, func(tx *Tx) error {
		old, err := s.findUserToAdminister(ctx, tx, a, id)
		if err != nil {
			return err
		}
		next := *old
		changed, err := s.applyUserUpdate(ctx, tx, a, old, &next, upd)
		if err != nil {
			return err
		}
		u = &next
		if len(changed) == 0 {
			return nil
		}
		overrides, err := s.placeNearNonCustodial(ctx, tx, a, old, u)
		if err != nil {
			return err
		}
		detail := map[string]string{}
		if len(overrides) > 0 {
			detail["overrides_non_custodial"] = strings.Join(overrides, ",")
		}
		u.UpdatedAt = s.db.now()
		if _, err := tx.Exec(ctx, `UPDATE users SET name = $3, role = $4, phone = $5, locale = $6, timezone = $7, updated_at = $8
			WHERE tenant_id = $1 AND id = $2`, a.TenantID, u.ID, u.Name, string(u.Role), u.Phone, u.Locale, u.Timezone, u.UpdatedAt); err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		if slices.Contains(changed, "location_ids") {
			if err := s.setUserLocations(ctx, tx, u, true); err != nil {
				return err
			}
		}
		if slices.Contains(changed, "phone") {
			if err := s.syncContactPoint(ctx, tx, u, whitecross.ContactPhone, u.Phone); err != nil {
				return err
			}
		}
		slices.Sort(changed)
		detail["fields"] = strings.Join(changed, ",")
		return s.auditTx(ctx, tx, whitecross.AuditUserUpdated, "user", u.ID, detail)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// applyUserUpdate validates upd into next and returns the names of the
// fields that changed.
func (s *Store) applyUserUpdate(ctx context.Context, tx *Tx, a *whitecross.Actor, old, next *whitecross.User, upd *whitecross.UserUpdate) ([]string, error) {
	var changed []string
	var err error
	if upd.Name != nil {
		if next.Name, err = validName("body.name", *upd.Name); err != nil {
			return nil, err
		}
	}
	if upd.Role != nil {
		next.Role = *upd.Role
		if err := validRole("body.role", next.Role); err != nil {
			return nil, err
		}
		if !a.System && a.Role == whitecross.RoleSchoolAdmin && next.Role == whitecross.RoleAdmin {
			return nil, whitecross.FieldErrorf(whitecross.EFORBIDDEN, "body.role", string(next.Role), "You may not grant the ADMIN role.")
		}
		// A guardian made staff reaches families (possibly the one a court
		// keeps them from); staff made a guardian loses the record of why.
		// Either is the district's decision.
		if !a.System && a.Role != whitecross.RoleAdmin && (old.Role == whitecross.RoleGuardian) != (next.Role == whitecross.RoleGuardian) {
			return nil, whitecross.FieldErrorf(whitecross.EFORBIDDEN, "body.role", string(next.Role),
				"Only a district ADMIN may turn a guardian into staff or staff into a guardian.")
		}
	}
	if upd.Phone != nil {
		next.Phone = strings.TrimSpace(*upd.Phone)
		if err := validPhone(next.Phone); err != nil {
			return nil, err
		}
	}
	if upd.Locale != nil {
		if next.Locale = strings.TrimSpace(*upd.Locale); next.Locale == "" {
			next.Locale = defaultLocale
		}
		if err := validLocale("body.locale", next.Locale); err != nil {
			return nil, err
		}
	}
	if upd.Timezone != nil {
		if next.Timezone = strings.TrimSpace(*upd.Timezone); next.Timezone == "" {
			t, err := s.findTenant(ctx, tx, `id = $1`, a.TenantID)
			if err != nil {
				return nil, err
			}
			next.Timezone = t.Timezone
		}
		if err := validTimezone("body.timezone", next.Timezone); err != nil {
			return nil, err
		}
	}
	if upd.LocationIDs != nil || next.Role != old.Role {
		in := old.LocationIDs
		if upd.LocationIDs != nil {
			in = *upd.LocationIDs
		}
		if next.LocationIDs, err = s.checkUserLocations(ctx, tx, a, next.Role, old.LocationIDs, in); err != nil {
			return nil, err
		}
		slices.Sort(next.LocationIDs)
	}
	for _, f := range []struct {
		name string
		diff bool
	}{
		{"name", next.Name != old.Name},
		{"role", next.Role != old.Role},
		{"phone", next.Phone != old.Phone},
		{"locale", next.Locale != old.Locale},
		{"timezone", next.Timezone != old.Timezone},
		{"location_ids", !slices.Equal(next.LocationIDs, old.LocationIDs)},
	} {
		if f.diff {
			changed = append(changed, f.name)
		}
	}
	return changed, nil
}

// DeactivateUser implements whitecross.UserService: it sets deactivated_at
// and revokes every session of the user, in one transaction with the audit
// event. Deactivating a deactivated user changes nothing. ENOTFOUND and
// EFORBIDDEN as UpdateUser; ECONFLICT for the caller's own account.
func (s *Store) DeactivateUser(ctx context.Context, id string) error {
	a, err := caller(ctx)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *Tx) error {
		u, err := s.findUserToAdminister(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if u.ID == strings.ToLower(a.UserID) {
			return whitecross.Errorf(whitecross.ECONFLICT, "You cannot deactivate your own account.")
		}
		now := s.db.now()
		if _, err := endSessionsTx(ctx, tx, u.ID, "", now); err != nil {
			return err
		}
		if !u.Active() {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET deactivated_at = $3, updated_at = $3 WHERE tenant_id = $1 AND id = $2`,
			a.TenantID, u.ID, now); err != nil {
			return fmt.Errorf("deactivate user: %w", err)
		}
		return s.auditTx(ctx, tx, whitecross.AuditUserDeactivated, "user", u.ID, nil)
	})
}

// ReactivateUser implements whitecross.UserService: it clears
// deactivated_at, in one transaction with the audit event, so the user may
// sign in again (with the password they had, or a code) and be messaged as
// before. Reactivating an active user changes nothing and is not audited.
// ENOTFOUND and EFORBIDDEN as UpdateUser.
func (s *Store) ReactivateUser(ctx context.Context, id string) (*whitecross.User, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var u *whitecross.User
	err = s.db.InTx(ctx, func(tx *Tx) error {
		if u, err = s.findUserToAdminister(ctx, tx, a, id); err != nil || u.Active() {
			return err
		}
		u.DeactivatedAt = nil
		u.UpdatedAt = s.db.now()
		if _, err := tx.Exec(ctx, `UPDATE users SET deactivated_at = NULL, updated_at = $3 WHERE tenant_id = $1 AND id = $2`,
			a.TenantID, u.ID, u.UpdatedAt); err != nil {
			return fmt.Errorf("reactivate user: %w", err)
		}
		return s.auditTx(ctx, tx, whitecross.AuditUserReactivated, "user", u.ID, nil)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// setUserLocations stores u.LocationIDs, replacing the old ones when replace.
func (s *Store) setUserLocations(ctx context.Context, tx *Tx, u *whitecross.User, replace bool) error {
	if replace {
		if _, err := tx.Exec(ctx, `DELETE FROM user_locations WHERE user_id = $1`, u.ID); err != nil {
			return fmt.Errorf("replace user locations: %w", err)
		}
	}
	for _, loc := range u.LocationIDs {
		if _, err := tx.Exec(ctx, `INSERT INTO user_locations (tenant_id, user_id, location_id) VALUES ($1, $2, $3)`,
			u.TenantID, u.ID, loc); err != nil {
			return fmt.Errorf("insert user location: %w", err)
		}
	}
	return nil
}

// syncContactPoint makes address the user's only contact point of kind
// (none when address is empty), keeping the point's verification and
// opt-out state when the address is unchanged.
func (s *Store) syncContactPoint(ctx context.Context, tx *Tx, u *whitecross.User, kind whitecross.ContactKind, address string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM contact_points WHERE user_id = $1 AND kind = $2 AND address <> $3`,
		u.ID, string(kind), address); err != nil {
		return fmt.Errorf("replace contact point: %w", err)
	}
	if address == "" {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO contact_points (id, tenant_id, user_id, kind, address, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id, kind, address) DO NOTHING`,
		newID(), u.TenantID, u.ID, string(kind), address, s.db.now()); err != nil {
		return fmt.Errorf("insert contact point: %w", err)
	}
	return nil
}

// scanUser scans userColumns, then extra destinations.
func scanUser(r Row, extra ...any) (*whitecross.User, error) {
	var u whitecross.User
	var role string
	dest := append([]any{&u.ID, &u.TenantID, &u.Email, &u.Name, &role, &u.Phone, &u.Locale, &u.Timezone,
		&u.DeactivatedAt, &u.CreatedAt, &u.UpdatedAt}, extra...)
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	u.Role = whitecross.Role(role)
	u.CreatedAt = u.CreatedAt.UTC()
	u.UpdatedAt = u.UpdatedAt.UTC()
	if u.DeactivatedAt != nil {
		t := u.DeactivatedAt.UTC()
		u.DeactivatedAt = &t
	}
	u.LocationIDs = []string{}
	return &u, nil
}

// loadLocationIDs fills LocationIDs of users (ordered by id).
func (s *Store) loadLocationIDs(ctx context.Context, q Querier, users []*whitecross.User) error {
	byID := make(map[string]*whitecross.User, len(users))
	ids := make([]string, 0, len(users))
	for _, u := range users {
		byID[u.ID] = u
		ids = append(ids, u.ID)
	}
	for _, batch := range batches(ids) {
		rows, err := q.Query(ctx, `SELECT user_id, location_id FROM user_locations WHERE user_id IN (`+
			placeholders(1, len(batch))+`) ORDER BY user_id, location_id`, anySlice(batch)...)
		if err != nil {
			return fmt.Errorf("load user locations: %w", err)
		}
		for rows.Next() {
			var uid, lid string
			if err := rows.Scan(&uid, &lid); err != nil {
				rows.Close()
				return fmt.Errorf("load user locations: %w", err)
			}
			if u := byID[uid]; u != nil {
				u.LocationIDs = append(u.LocationIDs, lid)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("load user locations: %w", err)
		}
	}
	return nil
}
