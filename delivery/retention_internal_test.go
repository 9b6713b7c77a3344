package delivery

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDailyAtNext: the purge fires at the hour every day, whatever the
// current time (a restart does not push it back by a day).
func TestDailyAtNext(t *testing.T) {
	t.Parallel()
	s := dailyAt{hour: 7}
	day := func(d, h, m int) time.Time { return time.Date(2026, 12, d, h, m, 0, 0, time.UTC) }
	require.Equal(t, day(7, 7, 0), s.Next(day(7, 3, 15)))
	require.Equal(t, day(8, 7, 0), s.Next(day(7, 7, 0)), "at the hour, the next day")
	require.Equal(t, day(8, 7, 0), s.Next(day(7, 23, 59)))
	chicago, err := time.LoadLocation("America/Chicago")
	require.NoError(t, err)
	require.Equal(t, day(8, 7, 0), s.Next(time.Date(2026, 12, 7, 20, 0, 0, 0, chicago)), "UTC, whatever the zone given")
	require.Equal(t, time.Date(2027, 1, 1, 7, 0, 0, 0, time.UTC), s.Next(time.Date(2026, 12, 31, 8, 0, 0, 0, time.UTC)))
}
