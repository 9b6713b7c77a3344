package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
)

// exerciseRetention is the conformance suite of legal holds and the
// retention purge.
func exerciseRetention(t *testing.T, open Opener) {
	runSubtests(t, open, []subtest{
		{"LegalHolds", testLegalHolds},
		{"LegalHoldsRefused", testLegalHoldsRefused},
		{"Purge", testRetentionPurge},
		{"PurgeKeepsByDefault", testRetentionKeepsByDefault},
		{"PurgeTenantAndBudget", testRetentionTenantAndBudget},
	})
}

// testLegalHolds places holds on a person and a student, lists them active
// first, releases one (kept, with who and when) and reads the audit trail.
func testLegalHolds(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	d := b.d
	admin := d.As(d.Admin)
	onParent, err := b.st.PlaceLegalHold(admin, whitecross.LegalHoldCreate{UserID: strings.ToUpper(d.LincolnParent.ID), Reason: "  Records request 2026-14  "})
	require.NoError(t, err)
	require.Equal(t, d.LincolnParent.ID, onParent.UserID, "the id in canonical form")
	require.Equal(t, d.LincolnParent.Name, onParent.Name)
	require.Equal(t, "Records request 2026-14", onParent.Reason)
	require.Equal(t, d.Admin.ID, onParent.CreatedBy)
	ev := lastAudit(t, b.st, d.Tenant.ID)
	require.Equal(t, whitecross.AuditLegalHoldPlaced, ev.Action)
	require.Equal(t, onParent.ID, ev.TargetID)
	require.Equal(t, map[string]string{"user_id": d.LincolnParent.ID}, ev.Detail, "the reason stays out of the audit log")

	b.clock.Advance(time.Minute)
	onStudent, err := b.st.PlaceLegalHold(admin, whitecross.LegalHoldCreate{StudentID: d.LincolnStudent.ID, Reason: "Due process hearing"})
	require.NoError(t, err)
	require.Equal(t, d.LincolnStudent.Name, onStudent.Name)
	require.Empty(t, onStudent.UserID)

	b.clock.Advance(time.Minute)
	released, err := b.st.ReleaseLegalHold(admin, onParent.ID)
	require.NoError(t, err)
	require.NotNil(t, released.ReleasedAt)
	require.Equal(t, b.clock.Now().UTC(), released.ReleasedAt.UTC())
	require.Equal(t, d.Admin.ID, released.ReleasedBy)
	require.Equal(t, whitecross.AuditLegalHoldReleased, lastAudit(t, b.st, d.Tenant.ID).Action)
	_, err = b.st.ReleaseLegalHold(admin, onParent.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")

	b.clock.Advance(time.Minute)
	newest, err := b.st.PlaceLegalHold(admin, whitecross.LegalHoldCreate{UserID: d.AnnexParent.ID, Reason: "Complaint"})
	require.NoError(t, err)
	holds, err := b.st.ListLegalHolds(admin)
	require.NoError(t, err)
	ids := []string{}
	for _, h := range holds {
		ids = append(ids, h.ID)
	}
	require.Equal(t, []string{newest.ID, onStudent.ID, onParent.ID}, ids, "active first, newest first; a released hold stays listed")
	require.Nil(t, holds[0].ReleasedAt)
	require.NotNil(t, holds[2].ReleasedAt)
	require.Equal(t, d.LincolnStudent.ID, holds[1].StudentID)
}

// testLegalHoldsRefused covers bad input, other roles and other districts.
func testLegalHoldsRefused(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	d, other := b.d, SeedDistrictSlug(t, b.st, "shelbyville")
	admin := d.As(d.Admin)
	for _, tc := range []struct {
		name  string
		in    whitecross.LegalHoldCreate
		field string
	}{
		{"neither", whitecross.LegalHoldCreate{Reason: "x"}, "body.user_id"},
		{"both", whitecross.LegalHoldCreate{UserID: d.LincolnParent.ID, StudentID: d.LincolnStudent.ID, Reason: "x"}, "body.user_id"},
		{"foreign user", whitecross.LegalHoldCreate{UserID: other.LincolnParent.ID, Reason: "x"}, "body.user_id"},
		{"foreign student", whitecross.LegalHoldCreate{StudentID: other.LincolnStudent.ID, Reason: "x"}, "body.student_id"},
		{"not an id", whitecross.LegalHoldCreate{StudentID: "nope", Reason: "x"}, "body.student_id"},
		{"no reason", whitecross.LegalHoldCreate{UserID: d.LincolnParent.ID, Reason: "   "}, "body.reason"},
		{"long reason", whitecross.LegalHoldCreate{UserID: d.LincolnParent.ID, Reason: strings.Repeat("é", whitecross.MaxLegalHoldReason+1)}, "body.reason"},
	} {
		_, err := b.st.PlaceLegalHold(admin, tc.in)
		requireCode(t, err, whitecross.EINVALID, tc.field)
	}
	for _, u := range []*whitecross.User{d.LincolnAdmin, d.LincolnNurse, d.LincolnParent} {
		_, err := b.st.PlaceLegalHold(d.As(u), whitecross.LegalHoldCreate{UserID: d.LincolnParent.ID, Reason: "x"})
		requireCode(t, err, whitecross.EFORBIDDEN, "")
		_, err = b.st.ListLegalHolds(d.As(u))
		requireCode(t, err, whitecross.EFORBIDDEN, "")
	}
	_, err := b.st.ListLegalHolds(context.Background())
	requireCode(t, err, whitecross.EUNAUTHORIZED, "")

	h, err := b.st.PlaceLegalHold(admin, whitecross.LegalHoldCreate{UserID: d.LincolnParent.ID, Reason: "x"})
	require.NoError(t, err)
	_, err = b.st.ReleaseLegalHold(other.As(other.Admin), h.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")
	theirs, err := b.st.ListLegalHolds(other.As(other.Admin))
	require.NoError(t, err)
	require.Empty(t, theirs, "another district's holds are not listed")
	_, err = b.st.ReleaseLegalHold(admin, "not-an-id")
	requireCode(t, err, whitecross.ENOTFOUND, "")
}
