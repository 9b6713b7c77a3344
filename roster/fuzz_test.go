package roster_test

import (
	"io"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf8"

	"whitecross/roster"
)

// mapSource is a OneRoster set held in memory, so the fuzzer reads files
// without touching the disk.
type mapSource struct{ fstest.MapFS }

func (m mapSource) Open(name string) (io.ReadCloser, error) { return m.MapFS.Open(name) }
func (mapSource) Close() error                              { return nil }

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// FuzzUsersCSV: whatever rows a SIS export holds, reading users.csv and
// orgs.csv never panics, every row is either handed on or reported with
// its line, and what is handed on is fit to store: a sourcedId, text that
// is valid UTF-8 without NUL (PostgreSQL refuses both), a lower-cased
// email and an E.164 phone.
func FuzzUsersCSV(f *testing.F) {
	f.Add(sampleSet["users.csv"][len(usersHeader):], sampleSet["orgs.csv"][3+len(orgsHeader):])
	f.Add("u-1,,,true,s-1,parent,,,\"A\"\"b\",C,,,X@Y.Z,+1 (555) 201-3344,,,,\n", "s-1,,,S\xff,school,,\n")
	f.Add("u-2,tobedeleted\n\"open,,,\n", ",,,,district,,\n")
	f.Add("u-3,,,true,\"s-1,,s-2\",student,,,\x00,B,,,,,,\"p-1,\",0012,\n", "")
	f.Fuzz(func(t *testing.T, users, orgs string) {
		src := mapSource{fstest.MapFS{
			"users.csv": {Data: []byte(usersHeader + users)},
			"orgs.csv":  {Data: []byte(orgsHeader + orgs)},
		}}
		set, err := roster.Read(src)
		if err != nil {
			t.Fatalf("Read: %v (headers are fixed, so it must open)", err)
		}
		bad := func(e roster.RowError) {
			if e.Line < 2 || e.Message == "" {
				t.Fatalf("row error without line or message: %+v", e)
			}
		}
		if err := set.EachOrg(func(o roster.Org) error {
			storable(t, o.SourcedID, o.Name, o.ParentSourcedID)
			return nil
		}, bad); err != nil {
			t.Fatalf("EachOrg: %v", err)
		}
		if err := set.EachUser(func(u roster.User) error {
			if u.Deleted {
				storable(t, u.SourcedID) // only the id is read
				return nil
			}
			storable(t, u.SourcedID, u.Name, u.Email, u.Grade)
			storable(t, u.Orgs...)
			storable(t, u.Agents...)
			if u.Phone != "" && !e164.MatchString(u.Phone) {
				t.Fatalf("phone %q is not E.164", u.Phone)
			}
			if u.Email != strings.ToLower(u.Email) {
				t.Fatalf("email %q is not lower-cased", u.Email)
			}
			return nil
		}, bad); err != nil {
			t.Fatalf("EachUser: %v", err)
		}
	})
}

// storable fails t unless the first value (an id) is set and every value
// is text PostgreSQL accepts.
func storable(t *testing.T, values ...string) {
	t.Helper()
	for i, v := range values {
		if !utf8.ValidString(v) || strings.ContainsRune(v, 0) || (i == 0 && v == "") {
			t.Fatalf("value %d %q cannot be stored", i, v)
		}
	}
}

// FuzzE164: every number E164 accepts is E.164, and reading it again
// gives it back unchanged.
func FuzzE164(f *testing.F) {
	for _, seed := range []string{"(555) 201-3344", "+52 55 1234 5678", "1-555-201-3344", "12", "+0123456",
		"555.201.3344 x12", "+1 555+201+3344", "１２３４５６７８９０", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, ok := roster.E164(raw)
		if !ok {
			return
		}
		if !e164.MatchString(p) {
			t.Fatalf("E164(%q) = %q, not E.164", raw, p)
		}
		if again, ok := roster.E164(p); !ok || again != p {
			t.Fatalf("E164(%q) = %q, %v; want it unchanged", p, again, ok)
		}
	})
}

// TestRowsNotUTF8AreReported: a row in another encoding (Latin-1 here) is
// skipped with its line, the rows around it are read.
func TestRowsNotUTF8AreReported(t *testing.T) {
	t.Parallel()
	set, err := roster.Read(mapSource{fstest.MapFS{"orgs.csv": {Data: []byte(orgsHeader)}, "users.csv": {Data: []byte(usersHeader +
		"s-1,,,true,o-1,student,,,Jos\xe9,Ruiz,,,,,,,3,\n" +
		"s-2,,,true,o-1,student,,,Ana,Ruiz,,,,,,,3,\n")}}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	var bad []roster.RowError
	err = set.EachUser(func(u roster.User) error { ids = append(ids, u.SourcedID); return nil },
		func(e roster.RowError) { bad = append(bad, e) })
	if err != nil || len(ids) != 1 || ids[0] != "s-2" ||
		len(bad) != 1 || bad[0] != (roster.RowError{File: "users.csv", Line: 2, Message: "not UTF-8 text (save the file as UTF-8)"}) {
		t.Fatalf("read %v, bad %+v, err %v", ids, bad, err)
	}
}
