package whitecross

import (
	"context"
	"time"
)

// Role is what a user is in their district.
type Role string

// Roles.
const (
	RoleAdmin       Role = "ADMIN"        // district administrator: everything in the tenant
	RoleSchoolAdmin Role = "SCHOOL_ADMIN" // administers their own locations
	RoleNurse       Role = "NURSE"
	RoleStaff       Role = "STAFF"
	RoleGuardian    Role = "GUARDIAN" // parent or guardian of one or more students
)

// Roles lists every role, for validation and documentation.
var Roles = []Role{RoleAdmin, RoleSchoolAdmin, RoleNurse, RoleStaff, RoleGuardian}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool {
	for _, v := range Roles {
		if r == v {
			return true
		}
	}
	return false
}

// IsStaff reports whether r is a school or district employee role that
// messages by location (SCHOOL_ADMIN, NURSE, STAFF).
func (r Role) IsStaff() bool {
	return r == RoleSchoolAdmin || r == RoleNurse || r == RoleStaff
}

// User is one person in one tenant. PasswordHash never leaves the server.
type User struct {
	ID            string     `json:"id"`
	TenantID      string     `json:"tenant_id"`
	Email         string     `json:"email"`
	Name          string     `json:"name"`
	Role          Role       `json:"role"`
	Phone         string     `json:"phone"`
	Locale        string     `json:"locale"`
	Timezone      string     `json:"timezone"`
	LocationIDs   []string   `json:"location_ids"`
	DeactivatedAt *time.Time `json:"deactivated_at,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// Active reports whether the user may sign in and be messaged.
func (u *User) Active() bool { return u.DeactivatedAt == nil }

// ContactKind is the kind of a contact point.
type ContactKind string

// Contact point kinds.
const (
	ContactEmail ContactKind = "EMAIL"
	ContactPhone ContactKind = "PHONE"
	ContactPush  ContactKind = "PUSH"
)

// ContactPoint is one address a user can be reached at, with its
// verification and opt-out state. Email and phone points follow the user's
// email and phone fields; push points are added by browsers (later issue).
type ContactPoint struct {
	ID         string      `json:"id"`
	UserID     string      `json:"user_id"`
	Kind       ContactKind `json:"kind"`
	Address    string      `json:"address"`
	VerifiedAt *time.Time  `json:"verified_at,omitempty"`
	OptedOutAt *time.Time  `json:"opted_out_at,omitempty"`
	CreatedAt  time.Time   `json:"created_at"`
}

// UserCreate is the input to create a user. Password is the system's only
// (the operator's CLI, the demo); without one the user cannot sign in with a
// password yet.
type UserCreate struct {
	Email       string
	Name        string
	Role        Role
	Phone       string
	Locale      string
	Timezone    string
	LocationIDs []string
	Password    string
}

// UserUpdate changes the non-nil fields of a user. Email cannot change.
type UserUpdate struct {
	Name        *string
	Role        *Role
	Phone       *string
	Locale      *string
	Timezone    *string
	LocationIDs *[]string
}

// ProfileUpdate is what people change about themselves (PATCH /api/v1/me):
// the non-nil fields. Email, role and locations are the district's.
type ProfileUpdate struct {
	Name     *string
	Phone    *string
	Locale   *string
	Timezone *string
}

// UserFilter narrows a directory listing.
type UserFilter struct {
	Query      string // matches name or email, case-insensitive
	Role       Role
	LocationID string // users at this location or below it
	Limit      int    // 1..100, default 50
	Cursor     string // opaque, from UserPage.NextCursor
	// Status narrows ListAdministeredUsers (ListUsers lists active users
	// only and ignores it): "" everyone, else one of UserStatuses.
	Status UserStatus
}

// UserStatus is whether a user may sign in: ACTIVE, or DEACTIVATED.
type UserStatus string

// User statuses.
const (
	UserActive      UserStatus = "ACTIVE"
	UserDeactivated UserStatus = "DEACTIVATED"
)

// UserStatuses lists every user status, for validation and documentation.
var UserStatuses = []UserStatus{UserActive, UserDeactivated}

// UserPage is one page of a directory listing.
type UserPage struct {
	Items      []*User
	NextCursor string // "" on the last page
}

// UserService manages users. Every method is scoped to the caller's tenant
// and applies the administration and messaging rules of docs/security.md.
type UserService interface {
	// CreateUser validates and creates a user (with a hashed password when
	// the system gives one). EINVALID naming the field; ECONFLICT for an email
	// already in the tenant; EFORBIDDEN when the caller may not administer
	// that role or location, or gives a password (naming body.password).
	CreateUser(ctx context.Context, in *UserCreate) (*User, error)
	// FindUserByID returns ENOTFOUND for a user of another tenant or one the
	// caller may neither message nor administer.
	FindUserByID(ctx context.Context, id string) (*User, error)
	// UpdateUser applies upd. ENOTFOUND as FindUserByID; EINVALID; EFORBIDDEN
	// when the caller may see but not administer the user.
	UpdateUser(ctx context.Context, id string, upd *UserUpdate) (*User, error)
	// UpdateProfile applies the caller's own changes to their name, phone,
	// locale and time zone, validated as UpdateUser does and audited as
	// AuditUserUpdated (detail "self": "true"). EINVALID naming the field;
	// EUNAUTHORIZED without a signed-in caller.
	UpdateProfile(ctx context.Context, upd *ProfileUpdate) (*User, error)
	// SetPassword replaces user id's password (empty clears it) and ends
	// their other sessions. Only the system or the person themselves, once
	// AuthService.ChangePassword has checked their current password:
	// EFORBIDDEN naming body.password for anyone else; EINVALID naming
	// body.password when it fails CheckPassword.
	SetPassword(ctx context.Context, id, password string) error
	// DeactivateUser stops the user from signing in and revokes their
	// sessions; their messages stay. ENOTFOUND, EFORBIDDEN as UpdateUser.
	DeactivateUser(ctx context.Context, id string) error
	// ReactivateUser lets a deactivated user sign in again (an undone
	// mistake, staff who return). ENOTFOUND, EFORBIDDEN as UpdateUser.
	ReactivateUser(ctx context.Context, id string) (*User, error)
	// ListUsers returns the active users the caller may message.
	ListUsers(ctx context.Context, f UserFilter) (*UserPage, error)
	// ListAdministeredUsers returns the users the caller administers,
	// deactivated ones too, for the administrators' People page.
	// EFORBIDDEN for a caller who administers nobody.
	ListAdministeredUsers(ctx context.Context, f UserFilter) (*UserPage, error)
	// FilterMessageable returns the subset of ids the caller may message
	// (the "who may message whom" rule), for the messaging service.
	FilterMessageable(ctx context.Context, ids []string) (map[string]bool, error)
}
