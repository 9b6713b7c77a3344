package storetest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
)

// bulkRows is how many rows one statement of a bulk fixture inserts: few
// enough parameters for SQLite, few enough statements for 100,000 rows to
// take seconds.
const bulkRows = 500

// BulkGuardians inserts n active guardians with an email address and a
// phone number, each with custody of one student of the grade at
// locationID, and returns the guardians' ids. It writes the
// rows CreateUser and CreateStudent would (users, students,
// guardianships; no audit events), in multi-row INSERTs inside one
// transaction, because a district's 100,000 families through the API
// would take longer than anything a test or benchmark measures.
func BulkGuardians(t testing.TB, db *store.DB, tenantID, locationID, grade string, n int) []string {
	t.Helper()
	ctx := context.Background()
	ids := make([]string, n)
	now := db.Now().UTC().Truncate(time.Microsecond)
	require.NoError(t, db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
		for start := 0; start < n; start += bulkRows {
			end := min(start+bulkRows, n)
			var users, students, links strings.Builder
			uargs := []any{tenantID, now}
			sargs := []any{tenantID, now, locationID, grade}
			largs := []any{tenantID}
			for i := start; i < end; i++ {
				ids[i] = uuid.Must(uuid.NewV7()).String()
				student := uuid.Must(uuid.NewV7()).String()
				if i > start {
					users.WriteString(", ")
					students.WriteString(", ")
					links.WriteString(", ")
				}
				uargs = append(uargs, ids[i], "guardian-"+ids[i]+"@x.example", fmt.Sprintf("+1555%07d", i%10_000_000))
				fmt.Fprintf(&users, "($%d, $1, $%d, 'Bulk Guardian', 'GUARDIAN', $%d, $2, $2)", len(uargs)-2, len(uargs)-1, len(uargs))
				sargs = append(sargs, student)
				fmt.Fprintf(&students, "($%d, $1, 'Bulk Student', $3, $4, $2)", len(sargs))
				largs = append(largs, student, ids[i])
				fmt.Fprintf(&links, "($1, $%d, $%d, TRUE)", len(largs)-1, len(largs))
			}
			for _, stmt := range []struct {
				sql  string
				args []any
			}{
				{`INSERT INTO users (id, tenant_id, email, name, role, phone, created_at, updated_at) VALUES ` + users.String(), uargs},
				{`INSERT INTO students (id, tenant_id, name, location_id, grade, created_at) VALUES ` + students.String(), sargs},
				{`INSERT INTO guardianships (tenant_id, student_id, user_id, custody) VALUES ` + links.String(), largs},
			} {
				if _, err := tx.Exec(ctx, stmt.sql, stmt.args...); err != nil {
					return fmt.Errorf("bulk guardians: %w", err)
				}
			}
		}
		return nil
	}))
	return ids
}

// BroadcastSizes are the audiences the broadcast benchmarks measure
// (issue 13): 1,000, 10,000 and 100,000 guardians.
var BroadcastSizes = []int{1000, 10000, 100000}

// LargeBenchEnv names the variable that lets a benchmark build audiences
// above 10,000: those take minutes, so `go test -bench .` skips them
// unless it is set to 1.
const LargeBenchEnv = "WHITECROSS_BENCH_LARGE"

// SkipLargeBench skips tb when n is above 10,000 and LargeBenchEnv is not 1.
func SkipLargeBench(tb testing.TB, n int) {
	tb.Helper()
	if n > 10000 && os.Getenv(LargeBenchEnv) != "1" {
		tb.Skipf("an audience of %d takes minutes; set %s=1 to run it", n, LargeBenchEnv)
	}
}

// testBulkGuardians checks the fixture the broadcast benchmarks stand on:
// its guardians are an audience of exactly n, by custody of a student of
// the grade at the location, all reachable by email and SMS, and reached
// through custody only (staff of another school do not reach them).
func testBulkGuardians(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	d := b.d
	const n = 2*bulkRows + 7 // several statements, the last one short
	ids := BulkGuardians(t, b.db, d.Tenant.ID, d.Washington.ID, "B", n)
	require.Len(t, ids, n)
	aud := &whitecross.Audience{LocationIDs: []string{d.Washington.ID}, Grades: []string{"B"}}
	p, err := b.st.PreviewAudience(d.As(d.Admin), aud)
	require.NoError(t, err)
	require.Equal(t, n, p.Count)
	require.Equal(t, map[whitecross.Role]int{whitecross.RoleGuardian: n}, p.ByRole)
	require.Equal(t, n, p.Reachable[whitecross.ChannelEmail])
	require.Equal(t, n, p.Reachable[whitecross.ChannelSMS])

	p, err = b.st.PreviewAudience(d.As(d.LincolnNurse), &whitecross.Audience{Grades: []string{"B"}})
	require.NoError(t, err)
	require.Equal(t, 0, p.Count, "Lincoln's nurse reaches no Washington family")

	u, err := b.st.FindUserByID(d.As(d.WashingtonNurse), ids[n-1])
	require.NoError(t, err)
	require.Equal(t, whitecross.RoleGuardian, u.Role)
	require.Nil(t, u.DeactivatedAt)
}
