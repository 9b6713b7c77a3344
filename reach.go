package whitecross

// ReachProfile is what decides whom a user may message and who may message
// them (security.md, who may message whom): their role, whether they are
// active, their locations and the locations of the students they have
// custody of. Two users with equal profiles reach, and are reached by, the
// same people (but each other only if the rule lets users of that profile
// reach their peers), so the realtime gateway asks the database once per
// profile instead of once per user.
type ReachProfile struct {
	Role Role
	// Key is equal for two users of a tenant exactly when everything above
	// is; its form is the store's business.
	Key string
}
