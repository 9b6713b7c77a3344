package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
)

// testReadSensitiveWithheld: a sensitive message's body and attachments
// appear only in its detail view (FindMessageByID), which is audited. Every
// box, a thread and the realtime frame carry its subject and the sensitive
// marker only, and never decrypt what they do not return.
func testReadSensitiveWithheld(t *testing.T, open Opener) {
	b := setupRead(t, open)
	d := b.d
	ctx := context.Background()
	secret := &whitecross.MessageCreate{Subject: "Sofia used her inhaler", Body: "Two puffs at recess.", Sensitive: new(true),
		Attachments: []whitecross.Attachment{{URL: "https://files.example.org/asthma-plan.pdf", Name: "asthma-plan.pdf"}}}
	sensitive := b.sendWith(t, d.LincolnNurse, secret, d.LincolnParent)
	require.Equal(t, "Two puffs at recess.", sensitive.Body, "the sender's own send answer carries what they wrote")
	b.clock.Advance(time.Minute)
	reply, err := b.st.Reply(d.As(d.LincolnParent), sensitive.ID, &whitecross.ReplyCreate{Body: "Thank you, her spacer is in her bag."})
	require.NoError(t, err)
	require.True(t, reply.Sensitive, "a reply keeps the sensitive flag")
	b.clock.Advance(time.Minute)
	plain := b.send(t, d.LincolnNurse, "Picture day", d.LincolnParent)
	b.clock.Advance(time.Minute)
	later := b.clock.Now().Add(time.Hour)
	scheduled := b.sendWith(t, d.LincolnNurse, &whitecross.MessageCreate{Subject: "Follow-up", Body: "Inhaler check tomorrow.",
		Sensitive: new(true), ScheduledAt: &later}, d.LincolnParent)

	// The ciphertext of the sensitive bodies is spoiled: a list that tried
	// to decrypt one would fail instead of returning the page.
	spoil(t, b.db, d.Tenant.ID, sensitive.ID, reply.ID, scheduled.ID)

	withheld := func(m *whitecross.Message, subject string) {
		t.Helper()
		require.True(t, m.Sensitive)
		require.Equal(t, subject, m.Subject, "the subject is shown")
		require.Empty(t, m.Body, "the body of a sensitive message is withheld")
		require.NotNil(t, m.Attachments)
		require.Empty(t, m.Attachments, "its attachments are withheld too")
	}
	list := func(u *whitecross.User, box whitecross.Box) map[string]*whitecross.Message {
		t.Helper()
		page, err := b.st.ListMessages(d.As(u), whitecross.MessageFilter{Box: box})
		require.NoError(t, err)
		out := map[string]*whitecross.Message{}
		for _, m := range page.Items {
			out[m.ID] = m
		}
		return out
	}

	inbox := list(d.LincolnParent, whitecross.BoxInbox)
	withheld(inbox[sensitive.ID], "Sofia used her inhaler")
	require.Equal(t, "Body of Picture day", inbox[plain.ID].Body, "other messages keep their body")
	sent := list(d.LincolnNurse, whitecross.BoxSent)
	withheld(sent[sensitive.ID], "Sofia used her inhaler")
	withheld(list(d.LincolnParent, whitecross.BoxSent)[reply.ID], "Re: Sofia used her inhaler")
	withheld(list(d.LincolnNurse, whitecross.BoxInbox)[reply.ID], "Re: Sofia used her inhaler")
	withheld(list(d.LincolnNurse, whitecross.BoxScheduled)[scheduled.ID], "Follow-up")
	require.NoError(t, b.st.SetArchived(d.As(d.LincolnParent), sensitive.ID, true))
	withheld(list(d.LincolnParent, whitecross.BoxArchived)[sensitive.ID], "Sofia used her inhaler")

	// A thread is a list too.
	for _, u := range []*whitecross.User{d.LincolnParent, d.LincolnNurse, d.Admin} {
		thread, err := b.st.Thread(d.As(u), sensitive.ID)
		require.NoError(t, err, d.Labels[u.ID])
		require.Len(t, thread, 2)
		withheld(thread[0], "Sofia used her inhaler")
		withheld(thread[1], "Re: Sofia used her inhaler")
	}

	// So is the live frame, for the recipients and the sender's other tabs.
	for _, forSender := range []bool{false, true} {
		m, err := b.st.EventMessage(ctx, d.Tenant.ID, sensitive.ID, forSender)
		require.NoError(t, err)
		withheld(m, "Sofia used her inhaler")
	}
	shared, err := b.st.EventMessage(ctx, d.Tenant.ID, plain.ID, false)
	require.NoError(t, err)
	require.Equal(t, "Body of Picture day", shared.Body)

	// Only the detail view opens it, and it is audited as a read.
	_, err = b.st.FindMessageByID(d.As(d.LincolnParent), sensitive.ID)
	require.Error(t, err, "the detail view decrypts the (spoiled) body")
	fresh := b.sendWith(t, d.LincolnNurse, &whitecross.MessageCreate{Subject: "Sofia, again", Body: "One puff after lunch.", Sensitive: new(true),
		Attachments: secret.Attachments}, d.LincolnParent)
	m, err := b.st.FindMessageByID(d.As(d.LincolnParent), fresh.ID)
	require.NoError(t, err)
	require.Equal(t, "One puff after lunch.", m.Body)
	require.Equal(t, secret.Attachments, m.Attachments)
	e := lastAudit(t, b.st, d.Tenant.ID)
	require.Equal(t, whitecross.AuditMessageRead, e.Action)
	require.Equal(t, "message", e.TargetType)
	require.Equal(t, fresh.ID, e.TargetID)
	require.Equal(t, d.LincolnParent.ID, e.ActorID)
}

// spoil replaces the sealed body and attachments of the messages ids with
// bytes that do not decrypt.
func spoil(t *testing.T, db *store.DB, tenantID string, ids ...string) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
		for _, id := range ids {
			n, err := tx.Exec(ctx, `UPDATE messages SET body_sealed = $3, attachments_sealed = $3 WHERE tenant_id = $1 AND id = $2`,
				tenantID, id, []byte("not a ciphertext"))
			if err != nil {
				return err
			}
			require.EqualValues(t, 1, n)
		}
		return nil
	}))
}
