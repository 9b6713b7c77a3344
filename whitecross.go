// Package whitecross holds the domain of the White Cross messaging platform:
// tenants (school districts), locations, users, students, groups, audit
// events, the coded errors every layer speaks, and the service interfaces
// that the store, auth and api packages implement or consume.
//
// It imports only the standard library; every other package imports it.
package whitecross

import (
	"context"
	"time"
)

// Version is the build version, set with -ldflags "-X whitecross.Version=...".
var Version = "dev"

// Clock returns the current time. Everything that reads the clock takes one so
// tests never sleep.
type Clock func() time.Time

// Actor is the authenticated caller of a request. The store scopes every
// query by Actor.TenantID, so a record of another tenant is never found.
type Actor struct {
	UserID    string
	TenantID  string
	Role      Role
	SessionID string
	// ClientIP is the caller's address, recorded in audit events.
	ClientIP string
	// System marks internal callers (CLI, seeding, login lookups) that act on
	// a tenant without being one of its users. It bypasses role checks but
	// never tenant scoping.
	System bool
	// MFASetupOnly marks a session whose user's district requires two-step
	// sign-in of their role and who has not set it up: it may only set it
	// up (the API middleware and the realtime gateway refuse the rest).
	MFASetupOnly bool
}

type actorKey struct{}

// NewContextWithActor returns a context that carries the caller.
func NewContextWithActor(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFromContext returns the caller carried by ctx, or nil.
func ActorFromContext(ctx context.Context) *Actor {
	a, _ := ctx.Value(actorKey{}).(*Actor)
	return a
}

// SystemContext returns a context whose caller is the system acting inside
// one tenant, for the CLI, seeding and the login flow.
func SystemContext(ctx context.Context, tenantID string) context.Context {
	return NewContextWithActor(ctx, &Actor{TenantID: tenantID, System: true})
}

// RequireActor returns the caller carried by ctx or an EUNAUTHORIZED error.
func RequireActor(ctx context.Context) (*Actor, error) {
	a := ActorFromContext(ctx)
	if a == nil || a.TenantID == "" {
		return nil, Errorf(EUNAUTHORIZED, "authentication required")
	}
	return a, nil
}

// PasswordHasher hashes and checks passwords (argon2id in package auth).
// Hashing is deliberately expensive in memory and time, so the server bounds
// how many run at once (auth.BoundedHasher): a call may wait for a turn and
// then fail with EUNAVAILABLE and RetryAfterSeconds when none comes in time.
type PasswordHasher interface {
	// HashPassword returns an encoded hash that carries its own parameters.
	HashPassword(ctx context.Context, password string) (string, error)
	// VerifyPassword reports whether password matches hash, in constant
	// time. A malformed hash does not match; the error is only for a hash
	// that could not be checked (EUNAVAILABLE when the server is busy).
	VerifyPassword(ctx context.Context, hash, password string) (bool, error)
}

// Sealer encrypts small secrets at rest (package vault: AES-256-GCM under
// the master key). The associated data binds a ciphertext to its record so
// it cannot be moved to another row.
type Sealer interface {
	Seal(plaintext, associatedData []byte) ([]byte, error)
	// Open returns an error when the ciphertext or associated data was altered.
	Open(sealed, associatedData []byte) ([]byte, error)
}
