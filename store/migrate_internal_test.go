package store

import (
	"io/fs"
	"slices"
	"testing"

	"github.com/pressly/goose/v3"
)

// retiredMigrationVersions are the numbers skipped in both dialects: a
// migration given one now would be "missing (out-of-order)" for goose on
// every database already past it.
var retiredMigrationVersions = []int64{4, 8, 13, 15, 16, 21, 26}

// TestMigrationNumbers: both dialects have the same migration numbers, and
// none takes a retired one (see migrations/README.md).
func TestMigrationNumbers(t *testing.T) {
	t.Parallel()
	versions := map[Dialect][]int64{}
	for _, d := range []Dialect{SQLite, Postgres} {
		names, err := fs.Glob(migrationFS, "migrations/"+string(d)+"/*.sql")
		if err != nil || len(names) == 0 {
			t.Fatalf("%s migrations: %v %v", d, names, err)
		}
		for _, name := range names {
			v, err := goose.NumericComponent(name)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if slices.Contains(retiredMigrationVersions, v) {
				t.Errorf("%s takes retired number %d: give it the next number above the highest", name, v)
			}
			versions[d] = append(versions[d], v)
		}
	}
	if !slices.Equal(versions[SQLite], versions[Postgres]) {
		t.Errorf("the dialects' migration numbers differ: sqlite %v, postgres %v", versions[SQLite], versions[Postgres])
	}
}
