package whitecross

import (
	"context"
	"slices"
	"time"
)

// LocationKind is the level of a location in a district's tree.
type LocationKind string

// Location kinds.
const (
	LocationDistrict LocationKind = "DISTRICT"
	LocationSchool   LocationKind = "SCHOOL"
	LocationCampus   LocationKind = "CAMPUS"
)

// LocationKinds lists every location kind, from the top of the tree down.
var LocationKinds = []LocationKind{LocationDistrict, LocationSchool, LocationCampus}

// Limits of the directory, enforced by the store and documented in the
// OpenAPI spec (api's tests check the spec against them).
const (
	MaxNameLength    = 200   // characters, for tenant, location, user, student and group names
	MaxGradeLength   = 16    // characters
	MaxEmailLength   = 254   // bytes, RFC 5321's practical limit
	MaxUserLocations = 100   // location_ids per user
	MaxGuardians     = 20    // guardians per student
	MaxGroupMembers  = 10000 // member_ids per group
	MaxQueryLength   = 200   // characters of a directory search
)

// Page sizes of every keyset listing: query.limit 0 means the default.
const (
	DefaultPageLimit = 50
	MaxPageLimit     = 100
)

// Valid reports whether k is a known location kind.
func (k LocationKind) Valid() bool {
	return slices.Contains(LocationKinds, k)
}

// Location is a district, school or campus. Locations form a tree; a
// location includes every location below it.
type Location struct {
	ID        string       `json:"id"`
	TenantID  string       `json:"-"`
	Name      string       `json:"name"`
	Kind      LocationKind `json:"kind"`
	ParentID  *string      `json:"parent_id"`
	CreatedAt time.Time    `json:"created_at"`
}

// LocationService manages the location tree of the caller's tenant.
type LocationService interface {
	// CreateLocation stores l, filling ID. EINVALID for a bad name or kind or
	// a parent_id that is not in the tenant (field "body.parent_id");
	// EFORBIDDEN unless the caller is ADMIN, or SCHOOL_ADMIN creating below
	// one of their own locations.
	CreateLocation(ctx context.Context, l *Location) error
	// RenameLocation changes the name of location id. ENOTFOUND for
	// another tenant's location; EFORBIDDEN unless the caller is ADMIN, or a
	// SCHOOL_ADMIN to whose scope the location belongs; EINVALID for a bad
	// name (body.name).
	RenameLocation(ctx context.Context, id, name string) (*Location, error)
	// ListLocations returns every location of the tenant, parents before children.
	ListLocations(ctx context.Context) ([]*Location, error)
	// FindLocationByID returns ENOTFOUND for another tenant's location.
	FindLocationByID(ctx context.Context, id string) (*Location, error)
}

// Student is a child at one location, linked to guardians.
type Student struct {
	ID         string         `json:"id"`
	TenantID   string         `json:"-"`
	Name       string         `json:"name"`
	LocationID string         `json:"location_id"`
	Grade      string         `json:"grade"`
	Guardians  []Guardianship `json:"guardians"`
	CreatedAt  time.Time      `json:"created_at"`
	// ExternalID is the roster's sourcedId of an imported student ("" for
	// one made by hand): the roster owns its name, grade and location.
	ExternalID string `json:"-"`
	// DeactivatedAt is when the roster stopped listing the student; only
	// administrators see deactivated students.
	DeactivatedAt *time.Time `json:"deactivated_at,omitempty"`
}

// Guardianship links a guardian user to a student. Custody false marks a
// non-custodial contact: staff cannot message them about the student and
// they cannot reach staff through that student.
type Guardianship struct {
	UserID  string `json:"user_id"`
	Custody bool   `json:"custody"`
	// Imported links come from the roster, which replaces them on every
	// import; links made by hand are never touched by an import.
	Imported bool `json:"imported"`
}

// StudentService manages students and their guardians.
type StudentService interface {
	// CreateStudent stores s with its guardianships. EINVALID for a bad
	// name, grade, a location or guardian not in the tenant, or a guardian
	// whose role is not GUARDIAN (naming the field); EFORBIDDEN unless the
	// caller administers the student's location.
	CreateStudent(ctx context.Context, s *Student) error
	// FindStudentByID returns ENOTFOUND for another tenant's student or one
	// the caller may not see (guardians see only their own children).
	FindStudentByID(ctx context.Context, id string) (*Student, error)
	// ListStudents returns the students the caller may see.
	ListStudents(ctx context.Context) ([]*Student, error)
	// SearchStudents returns one page of the students the caller may see,
	// filtered. EINVALID naming the query parameter at fault.
	SearchStudents(ctx context.Context, f StudentFilter) (*StudentPage, error)
	// UpdateStudent changes a student's name, grade or location. ENOTFOUND
	// for one the caller may not see; EFORBIDDEN unless they administer
	// it (and the new location); ECONFLICT for a roster or deactivated
	// student.
	UpdateStudent(ctx context.Context, id string, u StudentUpdate) (*Student, error)
	// SetGuardian links a guardian to a student, or changes the custody of
	// a link made by hand. Errors as UpdateStudent; ECONFLICT for a link
	// the roster made.
	SetGuardian(ctx context.Context, studentID string, g Guardianship) (*Student, error)
	// RemoveGuardian removes a link made by hand. Errors as SetGuardian;
	// ENOTFOUND when the guardian is not linked.
	RemoveGuardian(ctx context.Context, studentID, userID string) (*Student, error)
	StudentRecordService
}

// Group is a named static audience.
type Group struct {
	ID        string    `json:"id"`
	TenantID  string    `json:"-"`
	Name      string    `json:"name"`
	MemberIDs []string  `json:"member_ids"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// GroupService manages groups.
type GroupService interface {
	// CreateGroup stores g. EINVALID for a bad name or a member id not in the
	// tenant; EFORBIDDEN for a member the caller may not message (naming the
	// field) or a caller who may not create groups.
	CreateGroup(ctx context.Context, g *Group) error
	// FindGroupByID returns ENOTFOUND for a group the caller may not message.
	FindGroupByID(ctx context.Context, id string) (*Group, error)
	// ListGroups returns the groups the caller may message.
	ListGroups(ctx context.Context) ([]*Group, error)
	// UpdateGroup renames a group or replaces its members, with
	// CreateGroup's rules. ENOTFOUND for a group the caller may not
	// message; EFORBIDDEN for one they may not change.
	UpdateGroup(ctx context.Context, id string, u GroupUpdate) (*Group, error)
	// DeleteGroup deletes a group. Errors as UpdateGroup.
	DeleteGroup(ctx context.Context, id string) error
}
