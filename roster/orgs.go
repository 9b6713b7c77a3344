package roster

import (
	"unicode/utf8"

	"whitecross"
)

const orgsFile = "orgs.csv"

// orgColumns are the columns of orgs.csv we need.
var orgColumns = []string{"sourcedId", "name", "type", "parentSourcedId"}

// Org is a row of orgs.csv that becomes a location. Only districts and
// schools do: other org types (state, local, department…) are read past,
// and a school whose parent is not imported hangs from the district.
type Org struct {
	Line            int
	SourcedID       string
	Name            string
	Kind            whitecross.LocationKind
	ParentSourcedID string
	// Deleted is a delta row with status "tobedeleted".
	Deleted bool
}

// orgKinds maps OneRoster org types to location kinds.
var orgKinds = map[string]whitecross.LocationKind{
	"district": whitecross.LocationDistrict,
	"school":   whitecross.LocationSchool,
}

// EachOrg streams the district and school rows of orgs.csv to fn; bad rows
// go to bad. An error from fn stops the read and is returned.
func (s *Set) EachOrg(fn func(Org) error, bad func(RowError)) error {
	if s.Manifest.Orgs == Absent {
		return nil
	}
	return s.each(orgsFile, orgColumns, func(t *table, line int) error {
		kind, ok := orgKinds[t.get("type")]
		if !ok {
			return nil
		}
		o := Org{Line: line, SourcedID: t.get("sourcedId"), Name: t.get("name"), Kind: kind,
			ParentSourcedID: t.get("parentSourcedId"), Deleted: deleted(t)}
		switch {
		case o.SourcedID == "":
			return t.rowError(line, "sourcedId is empty")
		case o.Name == "" && !o.Deleted:
			return t.rowError(line, "name is empty")
		case utf8.RuneCountInString(o.Name) > whitecross.MaxNameLength:
			return t.rowError(line, "name is longer than %d characters", whitecross.MaxNameLength)
		}
		return fn(o)
	}, bad)
}

// deleted tells a delta row marked for deletion.
func deleted(t *table) bool { return t.get("status") == "tobedeleted" }
