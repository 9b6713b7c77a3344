package storetest

import (
	"testing"

	"whitecross/store"
)

// Opener returns a new, migrated, empty database for one test.
type Opener func(t *testing.T) *store.DB

// Exercise runs the whole conformance suite against one dialect. The
// dialect's test file only says how to open a database.
func Exercise(t *testing.T, open Opener) {
	t.Helper()
	groups := []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"Audit", exerciseAudit},
		{"Directory", exerciseDirectory},
		{"Auth", exerciseAuth},
		{"MessagesSend", exerciseMessagesSend},
		{"MessagesRead", exerciseMessagesRead},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			g.fn(t, open)
		})
	}
}
