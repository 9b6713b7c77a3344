package storetest

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// allPages follows a keyset-paginated listing to its end: next returns one
// page and the cursor of the following one ("" on the last). It checks
// that no page exceeds limit (0 means the default, 50) and that only the
// last page is short, and fails a listing that never ends.
func allPages[T any](t *testing.T, limit int, next func() ([]T, string, error)) []T {
	t.Helper()
	if limit == 0 {
		limit = 50
	}
	var out []T
	for range 10000 {
		items, cursor, err := next()
		require.NoError(t, err)
		require.LessOrEqual(t, len(items), limit, "page larger than the limit")
		if cursor != "" {
			require.Len(t, items, limit, "only the last page is short")
		}
		out = append(out, items...)
		if cursor == "" {
			return out
		}
	}
	t.Fatal("the listing never ended")
	return nil
}
