package store

import (
	"context"
	"fmt"

	"whitecross"
)

var _ whitecross.LocationService = (*Store)(nil)

// CreateLocation implements whitecross.LocationService. ADMIN (and the
// system) may create a location anywhere, including a root; a SCHOOL_ADMIN
// only below a location in their scope. EFORBIDDEN otherwise (naming
// body.parent_id for a parent outside the scope); EINVALID for a bad name,
// kind, or a parent_id not in the tenant.
func (s *Store) CreateLocation(ctx context.Context, l *whitecross.Location) error {
	a, err := caller(ctx)
	if err != nil {
		return err
	}
	r := reach{a}
	if !r.all() && a.Role != whitecross.RoleSchoolAdmin {
		return whitecross.Errorf(whitecross.EFORBIDDEN, "You may not create locations.")
	}
	if l.Name, err = validName("body.name", l.Name); err != nil {
		return err
	}
	if !l.Kind.Valid() {
		return whitecross.FieldErrorf(whitecross.EINVALID, "body.kind", string(l.Kind), "Kind must be one of DISTRICT, SCHOOL, CAMPUS.")
	}
	return s.db.InTx(ctx, func(tx *Tx) error {
		if l.ParentID == nil {
			if !r.all() {
				return whitecross.FieldErrorf(whitecross.EFORBIDDEN, "body.parent_id", nil, "Only a district administrator may create a top-level location.")
			}
		} else {
			parent, ok := parseID(*l.ParentID)
			if !ok {
				return whitecross.FieldErrorf(whitecross.EINVALID, "body.parent_id", *l.ParentID, "Parent location not found.")
			}
			if _, err := s.findLocation(ctx, tx, a.TenantID, parent); err != nil {
				if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
					return whitecross.FieldErrorf(whitecross.EINVALID, "body.parent_id", *l.ParentID, "Parent location not found.")
				}
				return err
			}
			sc, err := s.scopeOf(ctx, tx, a)
			if err != nil {
				return err
			}
			if !sc.has(parent) {
				return whitecross.FieldErrorf(whitecross.EFORBIDDEN, "body.parent_id", *l.ParentID, "You do not administer the parent location.")
			}
			l.ParentID = &parent
		}
		l.ID = newID()
		l.TenantID = a.TenantID
		l.CreatedAt = s.db.now()
		var parent any
		if l.ParentID != nil {
			parent = *l.ParentID
		}
		if _, err := tx.Exec(ctx, `INSERT INTO locations (id, tenant_id, name, kind, parent_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			l.ID, l.TenantID, l.Name, string(l.Kind), parent, l.CreatedAt); err != nil {
			return fmt.Errorf("insert location: %w", err)
		}
		return s.auditTx(ctx, tx, whitecross.AuditLocationCreated, "location", l.ID, map[string]string{"kind": string(l.Kind)})
	})
}

// RenameLocation implements whitecross.LocationService. ADMIN (and the
// system) may rename any location; a SCHOOL_ADMIN one in their scope (their
// own locations and those below them), else EFORBIDDEN: every user of the
// tenant may read the location, so it is not hidden. ENOTFOUND for another
// tenant's location or a malformed id; EINVALID naming body.name. A
// rename that changes nothing is not audited.
func (s *Store) RenameLocation(ctx context.Context, id, name string) (*whitecross.Location, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	r := reach{a}
	if !r.all() && a.Role != whitecross.RoleSchoolAdmin {
		return nil, whitecross.Errorf(whitecross.EFORBIDDEN, "You may not rename locations.")
	}
	id, ok := parseID(id)
	if !ok {
		return nil, whitecross.Errorf(whitecross.ENOTFOUND, "Location not found.")
	}
	if name, err = validName("body.name", name); err != nil {
		return nil, err
	}
	var l *whitecross.Location
	err = s.db.InTx(ctx, func(tx *Tx) error {
		if l, err = s.findLocation(ctx, tx, a.TenantID, id); err != nil {
			return err
		}
		sc, err := s.scopeOf(ctx, tx, a)
		if err != nil {
			return err
		}
		if !sc.has(l.ID) {
			return whitecross.Errorf(whitecross.EFORBIDDEN, "You do not administer this location.")
		}
		if l.Name == name {
			return nil
		}
		l.Name = name
		if _, err := tx.Exec(ctx, `UPDATE locations SET name = $3 WHERE tenant_id = $1 AND id = $2`, a.TenantID, l.ID, l.Name); err != nil {
			return fmt.Errorf("rename location: %w", err)
		}
		return s.auditTx(ctx, tx, whitecross.AuditLocationRenamed, "location", l.ID, map[string]string{"kind": string(l.Kind)})
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// ListLocations implements whitecross.LocationService: every location of
// the caller's tenant, parents before children (by depth, then name).
func (s *Store) ListLocations(ctx context.Context) ([]*whitecross.Location, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Reader().Query(ctx, `WITH RECURSIVE tree(id, depth) AS (
		SELECT id, 0 FROM locations WHERE tenant_id = $1 AND parent_id IS NULL
		UNION ALL SELECT l.id, t.depth + 1 FROM locations l JOIN tree t ON l.parent_id = t.id WHERE l.tenant_id = $1)
		SELECT l.id, l.tenant_id, l.name, l.kind, l.parent_id, l.created_at
		FROM tree t JOIN locations l ON l.id = t.id ORDER BY t.depth, LOWER(l.name), l.id`, a.TenantID)
	if err != nil {
		return nil, fmt.Errorf("list locations: %w", err)
	}
	out, err := collect(rows, scanLocation)
	if err != nil {
		return nil, fmt.Errorf("list locations: %w", err)
	}
	return append([]*whitecross.Location{}, out...), nil
}

// FindLocationByID implements whitecross.LocationService. Any user of the
// tenant may read any of its locations; ENOTFOUND for another tenant's.
func (s *Store) FindLocationByID(ctx context.Context, id string) (*whitecross.Location, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, ok := parseID(id)
	if !ok {
		return nil, whitecross.Errorf(whitecross.ENOTFOUND, "Location not found.")
	}
	return s.findLocation(ctx, s.db.Reader(), a.TenantID, id)
}

func (s *Store) findLocation(ctx context.Context, q Querier, tenantID, id string) (*whitecross.Location, error) {
	l, err := scanLocation(q.QueryRow(ctx, `SELECT id, tenant_id, name, kind, parent_id, created_at FROM locations WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return nil, whitecross.Errorf(whitecross.ENOTFOUND, "Location not found.")
	} else if err != nil {
		return nil, fmt.Errorf("find location: %w", err)
	}
	return l, nil
}

func scanLocation(r Row) (*whitecross.Location, error) {
	var l whitecross.Location
	var kind string
	if err := r.Scan(&l.ID, &l.TenantID, &l.Name, &kind, &l.ParentID, &l.CreatedAt); err != nil {
		return nil, err
	}
	l.Kind = whitecross.LocationKind(kind)
	l.CreatedAt = l.CreatedAt.UTC()
	return &l, nil
}
