package whitecross

// Audit actions of editing students, their guardians and groups.
const (
	AuditStudentUpdated  = "student.updated"
	AuditGuardianSet     = "student.guardian.set"
	AuditGuardianRemoved = "student.guardian.removed"
	AuditGroupUpdated    = "group.updated"
	AuditGroupDeleted    = "group.deleted"
)

// StudentFilter selects one page of students (StudentService.SearchStudents).
type StudentFilter struct {
	Query      string // a substring of the name, case-insensitive
	LocationID string // students at this location or below it
	Grade      string // exactly this grade ("K", "3")
	// IncludeDeactivated lists deactivated students too (administrators
	// only: they are shown as such on the admin pages, never hidden).
	IncludeDeactivated bool
	Limit              int    // 1..100, default 50
	Cursor             string // opaque, from StudentPage.NextCursor
}

// StudentPage is one page of students, ordered by name.
type StudentPage struct {
	Items      []*Student
	NextCursor string // "" on the last page
}

// StudentUpdate holds the fields of a student to change; nil leaves one as
// it is.
type StudentUpdate struct {
	Name       *string
	Grade      *string
	LocationID *string
}

// GroupUpdate holds the fields of a group to change; nil leaves one as it
// is. MemberIDs replaces the whole membership.
type GroupUpdate struct {
	Name      *string
	MemberIDs []string
}
