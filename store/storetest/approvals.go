package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
)

// setThreshold sets the district's approval_threshold.
func (b *audienceBundle) setThreshold(t *testing.T, n int) {
	t.Helper()
	_, err := b.st.UpdateTenantSettings(b.d.As(b.d.Admin), whitecross.TenantSettings{ApprovalThreshold: n})
	require.NoError(t, err)
}

func testAudienceApproval(t *testing.T, open Opener) {
	b := setupAudience(t, open, true)
	d := b.d
	b.setThreshold(t, 2)
	guardians := &whitecross.Audience{LocationIDs: []string{d.Lincoln.ID}, Roles: []whitecross.Role{whitecross.RoleGuardian}}

	// Three Lincoln families is more than 2: a nurse's broadcast waits.
	m := b.send(t, d.LincolnNurse, &whitecross.MessageCreate{Subject: "Flu clinic", Body: "b", Audience: guardians})
	require.Equal(t, whitecross.MessagePendingApproval, m.Status)
	require.Empty(t, b.queue.take(), "nothing goes anywhere before approval")
	counts, err := b.st.CountMessages(d.As(d.LincolnNurse))
	require.NoError(t, err)
	require.Equal(t, 1, counts[whitecross.BoxScheduled].Total, "the sender finds it with what waits")

	// An ADMIN's broadcast and one at the threshold go at once.
	require.Equal(t, whitecross.MessageSending, b.send(t, d.Admin, &whitecross.MessageCreate{Subject: "s", Body: "b", Audience: guardians}).Status)
	small := &whitecross.Audience{LocationIDs: []string{d.Annex.ID}, Roles: []whitecross.Role{whitecross.RoleGuardian}}
	require.Equal(t, whitecross.MessageSending, b.send(t, d.LincolnNurse, &whitecross.MessageCreate{Subject: "s", Body: "b", Audience: small}).Status)
	b.queue.take()

	// Who sees it waiting: the ADMIN and Lincoln's school admin, not
	// Washington's, not the sender (their own), not a recipient.
	for _, c := range []struct {
		who  *whitecross.User
		want int
	}{{d.Admin, 1}, {d.LincolnAdmin, 1}, {d.WashingtonAdmin, 0}, {d.LincolnNurse, 0}} {
		page, err := b.st.ListMessages(d.As(c.who), whitecross.MessageFilter{Box: whitecross.BoxApprovals})
		require.NoError(t, err)
		require.Len(t, page.Items, c.want, d.Labels[c.who.ID])
	}
	got, err := b.st.FindMessageByID(d.As(d.LincolnAdmin), m.ID)
	require.NoError(t, err, "the approver reads what they approve")
	require.Equal(t, "b", got.Body)
	_, err = b.st.FindMessageByID(d.As(d.WashingtonAdmin), m.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")

	_, err = b.st.Approve(d.As(d.LincolnNurse), m.ID)
	requireCode(t, err, whitecross.EFORBIDDEN, "")
	_, err = b.st.Approve(d.As(d.WashingtonAdmin), m.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")
	_, err = b.st.Approve(d.As(d.LincolnParent), m.ID)
	requireCode(t, err, whitecross.ENOTFOUND, "")

	approved, err := b.st.Approve(d.As(d.LincolnAdmin), m.ID)
	require.NoError(t, err)
	require.Equal(t, whitecross.MessageSending, approved.Status)
	jobs := b.queue.take()
	require.Len(t, jobs, 1)
	b.dispatchAll(t, m.ID)
	require.Equal(t, labels("LincolnParent", "AnnexParent", "KParent"), b.recipientLabels(t, m.ID))
	_, err = b.st.Reject(d.As(d.Admin), m.ID)
	requireCode(t, err, whitecross.ECONFLICT, "")
	require.Equal(t, 1, sendCount(t, b.db, `SELECT COUNT(*) FROM audit_events WHERE action = $1 AND target_id = $2`,
		whitecross.AuditMessageApproved, m.ID))

	// A rejected one is canceled and goes nowhere; a scheduled one
	// approved waits for its time.
	r := b.send(t, d.LincolnNurse, &whitecross.MessageCreate{Subject: "s", Body: "b", Audience: guardians})
	rejected, err := b.st.Reject(d.As(d.Admin), r.ID)
	require.NoError(t, err)
	require.Equal(t, whitecross.MessageCanceled, rejected.Status)
	require.Empty(t, b.queue.take())
	at := b.clock.Now().Add(time.Hour)
	sch := b.send(t, d.LincolnNurse, &whitecross.MessageCreate{Subject: "s", Body: "b", Audience: guardians, ScheduledAt: &at})
	require.Equal(t, whitecross.MessagePendingApproval, sch.Status)
	sch, err = b.st.Approve(d.As(d.Admin), sch.ID)
	require.NoError(t, err)
	require.Equal(t, whitecross.MessageScheduled, sch.Status)
	jobs = b.queue.take()
	require.Len(t, jobs, 1)
	require.True(t, jobs[0].RunAt.Equal(at))
	b.clock.Advance(time.Hour)
	done, err := b.st.DispatchMessage(context.Background(), jobs[0])
	require.NoError(t, err)
	require.True(t, done)
	require.Len(t, b.recipientLabels(t, sch.ID), 3)

	// The threshold is validated.
	_, err = b.st.UpdateTenantSettings(d.As(d.Admin), whitecross.TenantSettings{ApprovalThreshold: -1})
	requireCode(t, err, whitecross.EINVALID, "body.settings.approval_threshold")
}
