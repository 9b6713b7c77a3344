package roster

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"whitecross"
)

const usersFile = "users.csv"

// userColumns are the columns of users.csv we need (OneRoster 1.1 names;
// sms, phone, grades and agentSourcedIds may be empty).
var userColumns = []string{"sourcedId", "enabledUser", "orgSourcedIds", "role", "givenName", "familyName",
	"email", "sms", "phone", "agentSourcedIds", "grades"}

// User is a row of users.csv: a student, or a person who becomes a user.
type User struct {
	Line      int
	SourcedID string
	// Student is true for role "student"; Role is then empty.
	Student bool
	Role    whitecross.Role
	// Custody is what a guardian's links to students carry: parents and
	// guardians have it, relatives (grandparents, emergency contacts) do
	// not, so staff cannot send them a student's health information.
	Custody bool
	Name    string
	Email   string // lower-cased; "" when none
	Phone   string // E.164 (sms, else phone); "" when none
	// Grade is the student's grade in whitecross's form ("K", "3", "PK").
	Grade string
	// Orgs are the org sourcedIds: a student's school, a staff member's
	// locations. Agents are a student's guardians or a guardian's students.
	Orgs, Agents []string
	// Enabled is false for enabledUser=false: the person is deactivated.
	Enabled bool
	// Deleted is a delta row with status "tobedeleted".
	Deleted bool
}

// userRoles maps OneRoster roles to whitecross roles; "student" is a
// student, not a user.
var userRoles = map[string]whitecross.Role{
	"parent":        whitecross.RoleGuardian,
	"guardian":      whitecross.RoleGuardian,
	"relative":      whitecross.RoleGuardian,
	"teacher":       whitecross.RoleStaff,
	"aide":          whitecross.RoleStaff,
	"proctor":       whitecross.RoleStaff,
	"administrator": whitecross.RoleSchoolAdmin,
}

// EachUser streams the rows of users.csv to fn; bad rows go to bad. An
// error from fn stops the read and is returned.
func (s *Set) EachUser(fn func(User) error, bad func(RowError)) error {
	if s.Manifest.Users == Absent {
		return nil
	}
	return s.each(usersFile, userColumns, func(t *table, line int) error {
		u, err := readUser(t, line)
		if err != nil {
			return err
		}
		return fn(u)
	}, bad)
}

// readUser maps and checks one row.
func readUser(t *table, line int) (User, error) {
	u := User{Line: line, SourcedID: t.get("sourcedId"), Orgs: t.list("orgSourcedIds"), Agents: t.list("agentSourcedIds"),
		Name: personName(t.get("givenName"), t.get("familyName")), Deleted: deleted(t)}
	if u.SourcedID == "" {
		return u, t.rowError(line, "sourcedId is empty")
	}
	if u.Deleted {
		return u, nil // only the sourcedId matters
	}
	var err error
	if u.Enabled, err = enabled(t.get("enabledUser")); err != nil {
		return u, t.rowError(line, "%v", err)
	}
	role := strings.ToLower(t.get("role"))
	if u.Role, u.Student = userRoles[role], role == "student"; u.Role == "" && !u.Student {
		return u, t.rowError(line, "role %q is not one we import (student, parent, guardian, relative, teacher, aide, proctor, administrator)", t.get("role"))
	}
	u.Custody = role == "parent" || role == "guardian"
	if msg := u.checkName(); msg != "" {
		return u, t.rowError(line, "%s", msg)
	}
	if u.Student {
		return u, u.readStudent(t, line)
	}
	return u, u.readContacts(t, line)
}

// checkName says what is wrong with the name, or "".
func (u *User) checkName() string {
	switch {
	case u.Name == "":
		return "givenName and familyName are both empty"
	case utf8.RuneCountInString(u.Name) > whitecross.MaxNameLength:
		return fmt.Sprintf("the name is longer than %d characters", whitecross.MaxNameLength)
	}
	return ""
}

// readStudent takes a student's grade and requires a school.
func (u *User) readStudent(t *table, line int) error {
	if len(u.Orgs) == 0 {
		return t.rowError(line, "a student needs orgSourcedIds (their school)")
	}
	grades := t.list("grades")
	if len(grades) > 0 {
		u.Grade = Grade(grades[0])
	}
	if utf8.RuneCountInString(u.Grade) > whitecross.MaxGradeLength {
		return t.rowError(line, "grade %q is longer than %d characters", u.Grade, whitecross.MaxGradeLength)
	}
	return nil
}

// readContacts takes a person's email and phone (sms first: it is the
// number that can be texted).
func (u *User) readContacts(t *table, line int) error {
	if e := strings.ToLower(t.get("email")); e != "" {
		if !plausibleEmail(e) {
			return t.rowError(line, "email %q is not an address like name@example.org", t.get("email"))
		}
		u.Email = e
	}
	for _, column := range []string{"sms", "phone"} {
		raw := t.get(column)
		if raw == "" {
			continue
		}
		p, ok := E164(raw)
		if !ok {
			return t.rowError(line, "%s %q is not a phone number (write it like +15551234567 or (555) 123-4567)", column, raw)
		}
		u.Phone = p
		break
	}
	if u.Email == "" && u.Phone == "" && u.Role == whitecross.RoleGuardian {
		return t.rowError(line, "a guardian needs an email or a phone number, or they cannot be reached")
	}
	return nil
}

// enabled reads enabledUser; empty means enabled (many exports leave it
// out for active people).
func enabled(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "", "true", "1", "yes":
		return true, nil
	case "false", "0", "no":
		return false, nil
	}
	return false, fmt.Errorf("enabledUser must be true or false, not %q", v)
}

// personName joins the given and family names.
func personName(given, family string) string {
	return strings.TrimSpace(given + " " + family)
}

// plausibleEmail is the store's rule in short: one @ with text on both
// sides and no spaces; the store checks again when it writes.
func plausibleEmail(e string) bool {
	local, domain, ok := strings.Cut(e, "@")
	return ok && local != "" && domain != "" && !strings.ContainsAny(domain, "@ ") && !strings.Contains(local, " ") &&
		len(e) <= whitecross.MaxEmailLength && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// Grade maps a OneRoster grade ("KG", "03", "PK") to whitecross's form
// ("K", "3", "PK"): the form staff type when they choose an audience.
func Grade(g string) string {
	g = strings.ToUpper(strings.TrimSpace(g))
	if g == "KG" {
		return "K"
	}
	if trimmed := strings.TrimLeft(g, "0"); trimmed != "" && trimmed != g && isDigits(trimmed) {
		return trimmed
	}
	return g
}

// E164 turns a phone number as a SIS writes it into E.164: "+" and digits
// kept as they are; 10 digits, or 11 starting with 1, are North American
// numbers (the country of the districts we serve; a number elsewhere must
// be written with its "+").
func E164(raw string) (string, bool) {
	plus := strings.HasPrefix(strings.TrimSpace(raw), "+")
	digits := strings.Map(func(r rune) rune {
		switch {
		case r >= '0' && r <= '9':
			return r
		case strings.ContainsRune(" ()-.+/", r):
			return -1
		}
		return 'x'
	}, raw)
	switch {
	case strings.ContainsRune(digits, 'x') || digits == "":
		return "", false
	case plus && len(digits) >= 7 && len(digits) <= 15 && digits[0] != '0':
		return "+" + digits, true
	case !plus && len(digits) == 10 && digits[0] >= '2':
		return "+1" + digits, true
	case !plus && len(digits) == 11 && digits[0] == '1' && digits[1] >= '2':
		return "+" + digits, true
	}
	return "", false
}

func isDigits(s string) bool {
	return s != "" && !slices.ContainsFunc([]rune(s), func(r rune) bool { return r < '0' || r > '9' })
}
