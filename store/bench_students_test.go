package store_test

import (
	"fmt"
	"testing"

	"whitecross"
	"whitecross/store"
	"whitecross/store/storetest"
)

// BenchmarkSearchStudents measures one page of 50 of SearchStudents (GET
// /api/v1/students) in a district of 40,000 students: the first page for
// the district admin, a page deep in the list (after a cursor), a name
// search that matches nobody (the whole district is read) and a school
// admin's first page at their school.
func BenchmarkSearchStudents(b *testing.B) {
	const n = 40_000
	for _, d := range storetest.Dialects {
		b.Run(fmt.Sprint(d), func(b *testing.B) {
			db := storetest.Open(b, d)
			st := store.New(db, storetest.InsecureHasher(), nil)
			dist := storetest.SeedDistrict(b, st)
			storetest.BulkGuardians(b, db, dist.Tenant.ID, dist.Lincoln.ID, "3", n)
			deep := ""
			for range 100 { // 5,000 students in
				page, err := st.SearchStudents(dist.As(dist.Admin), whitecross.StudentFilter{Cursor: deep})
				if err != nil {
					b.Fatal(err)
				}
				deep = page.NextCursor
			}
			for _, c := range []struct {
				name string
				from *whitecross.User
				f    whitecross.StudentFilter
			}{
				{"first-page", dist.Admin, whitecross.StudentFilter{}},
				{"deep-page", dist.Admin, whitecross.StudentFilter{Cursor: deep}},
				{"no-match", dist.Admin, whitecross.StudentFilter{Query: "zz"}},
				{"school-admin", dist.LincolnAdmin, whitecross.StudentFilter{LocationID: dist.Lincoln.ID, IncludeDeactivated: true}},
			} {
				b.Run(c.name, func(b *testing.B) {
					for b.Loop() {
						if _, err := st.SearchStudents(dist.As(c.from), c.f); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
