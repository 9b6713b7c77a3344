package store

// mfaSetupOnly is the SQL that decides, with every session check, whether
// the session may only set up two-step sign-in: the district's
// mfa_required_roles names the user's role and the user has no confirmed
// TOTP. It is decided on each request rather than at sign-in, so a
// district that starts requiring it, or a user who turns it off, is held
// to it at once, and a session becomes a full one as soon as its user
// confirms TOTP. The query joins users u, sessions s and tenants t.
func (db *DB) mfaSetupOnly() string {
	enrolled := `EXISTS (SELECT 1 FROM mfa_totp m WHERE m.tenant_id = s.tenant_id AND m.user_id = u.id AND m.confirmed_at IS NOT NULL)`
	if db.Dialect == SQLite {
		return `(EXISTS (SELECT 1 FROM json_each(t.settings, '$.mfa_required_roles') r WHERE r.value = u.role) AND NOT ` + enrolled + `)`
	}
	return `(COALESCE(CAST(t.settings AS jsonb) -> 'mfa_required_roles' @> jsonb_build_array(u.role), false) AND NOT ` + enrolled + `)`
}
