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
	groups := []subtest{
		{"Audit", exerciseAudit},
		{"AuditLinking", exerciseAuditLinking},
		{"AuditReads", exerciseAuditReads},
		{"Directory", exerciseDirectory},
		{"Auth", exerciseAuth},
		{"MessagesSend", exerciseMessagesSend},
		{"SendPolicy", exerciseSendPolicy},
		{"MessagesRead", exerciseMessagesRead},
		{"Audiences", exerciseAudiences},
		{"Events", exerciseEvents},
		{"DeliveriesWork", exerciseDeliveriesWork},
		{"DeadLetters", exerciseDeadLetters},
		{"TenantSettings", exerciseTenantSettings},
		{"PushSubscriptions", exercisePushSubscriptions},
		{"Acks", exerciseAcks},
		{"Roster", exerciseRoster},
		{"Signin", exerciseSignin},
		{"MFA", exerciseMFA},
		{"Records", exerciseRecords},
		{"DataKeys", exerciseDataKeys},
		{"Retention", exerciseRetention},
	}
	runSubtests(t, open, groups)
}

// subtest is one named part of a conformance suite.
type subtest struct {
	name string
	fn   func(t *testing.T, open Opener)
}

// runSubtests runs each subtest in parallel; each opens its own database.
func runSubtests(t *testing.T, open Opener, tests []subtest) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open)
		})
	}
}
