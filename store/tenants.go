package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"whitecross"
)

var _ whitecross.TenantService = (*Store)(nil)

const tenantColumns = `id, slug, name, timezone, settings, created_at`

// CreateTenant implements whitecross.TenantService. It is a system
// operation and needs no caller. The slug must match ^[a-z0-9][a-z0-9-]{1,62}$,
// the name be 1..200 characters and the timezone an IANA zone (default
// America/Chicago). EINVALID naming the field; ECONFLICT when the slug is
// taken. The tenant.created event opens the new tenant's audit chain.
func (s *Store) CreateTenant(ctx context.Context, t *whitecross.Tenant) error {
	t.Slug = strings.TrimSpace(t.Slug)
	if !slugPattern.MatchString(t.Slug) {
		return whitecross.FieldErrorf(whitecross.EINVALID, "body.slug", t.Slug,
			"Slug must be 2 to 63 lower-case letters, digits or hyphens, starting with a letter or digit.")
	}
	name, err := validName("body.name", t.Name)
	if err != nil {
		return err
	}
	t.Name = name
	t.Timezone = strings.TrimSpace(t.Timezone)
	if t.Timezone == "" {
		t.Timezone = defaultTimezone
	}
	if err := validTimezone("body.timezone", t.Timezone); err != nil {
		return err
	}
	if err := validTenantSettings(&t.Settings); err != nil {
		return err
	}
	settings, err := json.Marshal(t.Settings)
	if err != nil {
		return fmt.Errorf("encode tenant settings: %w", err)
	}
	t.ID = newID()
	t.CreatedAt = s.db.now()
	var clientIP string
	if a := whitecross.ActorFromContext(ctx); a != nil {
		clientIP = a.ClientIP
	}
	// The new tenant is no caller's yet: its first rows (the audit event)
	// are written across the row-level-security wall.
	ctx = AllTenants(ctx)
	return s.db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO tenants (`+tenantColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
			t.ID, t.Slug, t.Name, t.Timezone, string(settings), t.CreatedAt); err != nil {
			if whitecross.ErrorCode(err) == whitecross.ECONFLICT {
				return whitecross.Errorf(whitecross.ECONFLICT, "A tenant with this slug already exists.")
			}
			return fmt.Errorf("insert tenant: %w", err)
		}
		return s.appendAuditTx(ctx, tx, &whitecross.AuditEvent{
			TenantID: t.ID, At: t.CreatedAt, ClientIP: clientIP,
			Action: whitecross.AuditTenantCreated, TargetType: "tenant", TargetID: t.ID,
			Detail: map[string]string{"slug": t.Slug},
		})
	})
}

// FindTenantBySlug implements whitecross.TenantService (case-insensitive);
// ENOTFOUND when no tenant has that slug.
func (s *Store) FindTenantBySlug(ctx context.Context, slug string) (*whitecross.Tenant, error) {
	slug = strings.ToLower(strings.TrimSpace(slug))
	if !slugPattern.MatchString(slug) {
		return nil, whitecross.Errorf(whitecross.ENOTFOUND, "Tenant not found.")
	}
	return s.findTenant(ctx, s.db.Reader(), `slug = $1`, slug)
}

// FindTenantByID implements whitecross.TenantService; ENOTFOUND when no
// tenant has that id.
func (s *Store) FindTenantByID(ctx context.Context, id string) (*whitecross.Tenant, error) {
	if !validUUID(id) {
		return nil, whitecross.Errorf(whitecross.ENOTFOUND, "Tenant not found.")
	}
	return s.findTenant(ctx, s.db.Reader(), `id = $1`, id)
}

func (s *Store) findTenant(ctx context.Context, q Querier, where string, arg any) (*whitecross.Tenant, error) {
	t, err := scanTenant(q.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE `+where, arg))
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return nil, whitecross.Errorf(whitecross.ENOTFOUND, "Tenant not found.")
	} else if err != nil {
		return nil, fmt.Errorf("find tenant: %w", err)
	}
	return t, nil
}

// ListTenants implements whitecross.TenantService: every tenant, oldest first.
func (s *Store) ListTenants(ctx context.Context) ([]*whitecross.Tenant, error) {
	out, err := queryAll(ctx, s.db.Reader(), scanTenant, `SELECT `+tenantColumns+` FROM tenants ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	return out, nil
}

func scanTenant(r Row) (*whitecross.Tenant, error) {
	var t whitecross.Tenant
	var settings string
	if err := r.Scan(&t.ID, &t.Slug, &t.Name, &t.Timezone, &settings, &t.CreatedAt); err != nil {
		return nil, err
	}
	t.CreatedAt = t.CreatedAt.UTC()
	if err := json.Unmarshal([]byte(settings), &t.Settings); err != nil {
		return nil, fmt.Errorf("decode tenant settings: %w", err)
	}
	return &t, nil
}
