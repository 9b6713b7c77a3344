package store_test

import (
	"fmt"
	"testing"
	"time"

	"whitecross"
	"whitecross/store/storetest"
)

// BenchmarkPreviewAudience measures PreviewAudience (POST
// /api/v1/audiences/preview) in districts of 1,000, 10,000 and 100,000
// guardians (storetest.BroadcastSizes; the largest needs
// WHITECROSS_BENCH_LARGE=1), all with a child at Lincoln, nine in ten in
// grade 3 and one in ten in K, for three audiences: Lincoln's guardians
// from its school admin (the whole district's families), grade K at
// Lincoln from the same (a tenth of them) and everyone from the district
// admin. It reports the audience's size (count) beside the time per
// preview, and the fixture's time (seed-s) once.
func BenchmarkPreviewAudience(b *testing.B) {
	for _, d := range storetest.Dialects {
		for _, n := range storetest.BroadcastSizes {
			b.Run(fmt.Sprintf("%s/%d", d, n), func(b *testing.B) {
				storetest.SkipLargeBench(b, n)
				db := storetest.Open(b, d)
				st := newTestStore(b, db)
				dist := storetest.SeedDistrict(b, st)
				start := time.Now()
				storetest.BulkGuardians(b, db, dist.Tenant.ID, dist.Lincoln.ID, "3", n-n/10)
				storetest.BulkGuardians(b, db, dist.Tenant.ID, dist.Lincoln.ID, "K", n/10)
				seeded := time.Since(start)
				guardians := []whitecross.Role{whitecross.RoleGuardian}
				for _, c := range []struct {
					name string
					from *whitecross.User
					aud  *whitecross.Audience
				}{
					{"school", dist.LincolnAdmin, &whitecross.Audience{LocationIDs: []string{dist.Lincoln.ID}, Roles: guardians}},
					{"grade-at-school", dist.LincolnAdmin, &whitecross.Audience{LocationIDs: []string{dist.Lincoln.ID}, Grades: []string{"K"}}},
					{"everyone", dist.Admin, &whitecross.Audience{Everyone: true}},
				} {
					b.Run(c.name, func(b *testing.B) {
						ctx := dist.As(c.from)
						var p *whitecross.AudiencePreview
						var err error
						for b.Loop() {
							if p, err = st.PreviewAudience(ctx, c.aud); err != nil {
								b.Fatal(err)
							}
						}
						if p.Count < n/10 {
							b.Fatalf("audience of %d, want at least %d", p.Count, n/10)
						}
						b.ReportMetric(float64(p.Count), "count")
						b.ReportMetric(seeded.Seconds(), "seed-s")
					})
				}
			})
		}
	}
}
