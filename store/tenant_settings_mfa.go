package store

import (
	"strconv"

	"whitecross"
)

// validMFARoles checks mfa_required_roles: known roles, each at most once.
// EINVALID naming the entry, e.g. body.settings.mfa_required_roles[1].
func validMFARoles(field string, roles []whitecross.Role) error {
	seen := make(map[whitecross.Role]bool, len(roles))
	for i, r := range roles {
		name := field + "[" + strconv.Itoa(i) + "]"
		if !r.Valid() {
			return whitecross.FieldErrorf(whitecross.EINVALID, name, r, "Not a role: use ADMIN, SCHOOL_ADMIN, NURSE, STAFF or GUARDIAN.")
		}
		if seen[r] {
			return whitecross.FieldErrorf(whitecross.EINVALID, name, r, "%s is named twice.", r)
		}
		seen[r] = true
	}
	return nil
}
