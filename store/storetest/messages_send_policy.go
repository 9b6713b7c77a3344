package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
)

// exerciseSendPolicy is the conformance suite of API.md "Who may send
// what": the category and priority each role may send (a refusal is
// EFORBIDDEN naming the field and stores nothing), replies lowered to what
// the replier may send, and health categories sensitive by default.
func exerciseSendPolicy(t *testing.T, open Opener) {
	runSubtests(t, open, []subtest{
		{"Table", testSendPolicyTable},
		{"ValidationFirst", testSendPolicyOrder},
		{"Replies", testSendPolicyReplies},
		{"SensitiveByDefault", testSendSensitiveByDefault},
		{"SensitiveByDefaultOff", testSendSensitiveByDefaultOff},
	})
}

// policyCase is one send of the table: a category and a priority, and the
// field refused (or "" when allowed).
type policyCase struct {
	category whitecross.Category
	priority whitecross.Priority
	refused  string
}

func testSendPolicyTable(t *testing.T, open Opener) {
	b := setupSend(t, open, true)
	d := b.d
	emergency := policyCase{whitecross.CategoryEmergency, whitecross.PriorityMedium, ""}
	urgent := policyCase{whitecross.CategoryGeneral, whitecross.PriorityUrgent, ""}
	high := policyCase{whitecross.CategoryGeneral, whitecross.PriorityHigh, ""}
	both := policyCase{whitecross.CategoryEmergency, whitecross.PriorityUrgent, ""}
	refuse := func(c policyCase, field string) policyCase { c.refused = field; return c }
	tests := []struct {
		from  *whitecross.User
		to    *whitecross.User
		cases []policyCase
		says  string // in the message of every refusal
	}{
		{d.Admin, d.LincolnParent, []policyCase{emergency, urgent, high, both}, ""},
		{d.LincolnAdmin, d.LincolnParent, []policyCase{emergency, urgent, high, both}, ""},
		{d.LincolnNurse, d.LincolnParent, []policyCase{refuse(emergency, "body.category"), urgent, high, refuse(both, "body.category")},
			"A nurse may not send EMERGENCY messages: emergency alerts are sent by district or school administrators (ADMIN, SCHOOL_ADMIN)."},
		{d.LincolnStaff, d.LincolnParent, []policyCase{refuse(emergency, "body.category"), urgent, high, refuse(both, "body.category")},
			"A staff member may not send EMERGENCY messages"},
		{d.LincolnParent, d.LincolnNurse, []policyCase{refuse(emergency, "body.category"), refuse(urgent, "body.priority"), high,
			refuse(both, "body.category")}, "guardian"},
	}
	for _, tc := range tests {
		who := d.Labels[tc.from.ID]
		for _, c := range tc.cases {
			name := who + " " + string(c.category) + "/" + string(c.priority)
			in := msg("Policy "+name, tc.to)
			in.Category, in.Priority, in.IdempotencyKey = c.category, c.priority, "k-"+name
			before := sendCounts(t, b.db)
			m, err := b.st.SendMessage(d.As(tc.from), in)
			if c.refused == "" {
				require.NoError(t, err, name)
				require.Equal(t, c.category, m.Category, name)
				require.Equal(t, c.priority, m.Priority, name)
				continue
			}
			requireCode(t, err, whitecross.EFORBIDDEN, c.refused)
			require.Contains(t, whitecross.ErrorMessage(err), tc.says, name)
			require.Equal(t, before, sendCounts(t, b.db), "%s: a refused message stores nothing", name)
			require.Empty(t, b.queue.take(), name)
		}
	}

	// A guardian's refused priority says the rule: at most HIGH.
	in := msg("Come now", d.LincolnNurse)
	in.Priority = whitecross.PriorityUrgent
	_, err := b.st.SendMessage(d.As(d.LincolnParent), in)
	requireCode(t, err, whitecross.EFORBIDDEN, "body.priority")
	require.Contains(t, whitecross.ErrorMessage(err), "A guardian's message is at most HIGH")

	// A scheduled message is held to the same rules, and so is a group send.
	later := b.clock.Now().Add(24 * time.Hour)
	in = msg("Drill tomorrow", d.LincolnParent)
	in.Category, in.ScheduledAt = whitecross.CategoryEmergency, &later
	before := sendCounts(t, b.db)
	_, err = b.st.SendMessage(d.As(d.LincolnNurse), in)
	requireCode(t, err, whitecross.EFORBIDDEN, "body.category")
	require.Equal(t, before, sendCounts(t, b.db))
	require.Empty(t, b.queue.take())
	require.Equal(t, whitecross.MessageScheduled, b.send(t, d.LincolnAdmin, in).Status)
	require.Len(t, b.queue.take(), 1, "the administrator's alert waits in the queue")
}

func testSendPolicyOrder(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	d := b.d
	before := sendCounts(t, b.db)
	// A malformed request is 422 before a forbidden one is 403.
	in := msg("Help", d.LincolnNurse)
	in.Category, in.Priority, in.Subject = whitecross.CategoryEmergency, whitecross.PriorityUrgent, " "
	_, err := b.st.SendMessage(d.As(d.LincolnParent), in)
	requireCode(t, err, whitecross.EINVALID, "body.subject")
	in = msg("Help", d.LincolnNurse)
	in.Category, in.Priority = whitecross.CategoryEmergency, "ASAP"
	_, err = b.st.SendMessage(d.As(d.LincolnParent), in)
	requireCode(t, err, whitecross.EINVALID, "body.priority")
	// The category is judged before the priority.
	in = msg("Help", d.LincolnNurse)
	in.Category, in.Priority = whitecross.CategoryEmergency, whitecross.PriorityUrgent
	_, err = b.st.SendMessage(d.As(d.LincolnParent), in)
	requireCode(t, err, whitecross.EFORBIDDEN, "body.category")
	// The policy is judged before the recipients: what the caller may not
	// send is refused whoever it goes to.
	in = msg("Help", d.WashingtonNurse)
	in.Priority = whitecross.PriorityUrgent
	_, err = b.st.SendMessage(d.As(d.LincolnParent), in)
	requireCode(t, err, whitecross.EFORBIDDEN, "body.priority")
	require.Equal(t, before, sendCounts(t, b.db))
}

func testSendPolicyReplies(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	d := b.d
	reply := func(from *whitecross.User, id string) *whitecross.Message {
		t.Helper()
		r, err := b.st.Reply(d.As(from), id, &whitecross.ReplyCreate{Body: "Answer from " + d.Labels[from.ID]})
		require.NoError(t, err, "a reply is never refused for its kind")
		return r
	}
	requireKind := func(m *whitecross.Message, c whitecross.Category, p whitecross.Priority) {
		t.Helper()
		require.Equal(t, c, m.Category)
		require.Equal(t, p, m.Priority)
		var cat, prio string
		require.NoError(t, b.db.Reader().QueryRow(store.AllTenants(t.Context()), `SELECT category, priority FROM messages WHERE id = $1`, m.ID).Scan(&cat, &prio))
		require.Equal(t, string(c), cat, "stored")
		require.Equal(t, string(p), prio, "stored")
	}

	// A guardian's answer to an URGENT message is HIGH; its category stays.
	in := msg("Please come and collect Lily", d.LincolnParent)
	in.Category, in.Priority = whitecross.CategoryHealthUpdate, whitecross.PriorityUrgent
	m := b.send(t, d.LincolnNurse, in)
	require.True(t, m.Sensitive, "a health category is sensitive by default")
	r := reply(d.LincolnParent, m.ID)
	requireKind(r, whitecross.CategoryHealthUpdate, whitecross.PriorityHigh)
	require.True(t, r.Sensitive, "a reply keeps its original's sensitive flag")
	require.False(t, r.Urgent(), "a guardian's reply never rides the urgent lane")
	// A reply takes the kind of the message it answers: the nurse's answer
	// to the guardian's reply is HIGH, a follow-up to her own URGENT one is URGENT.
	requireKind(reply(d.LincolnNurse, r.ID), whitecross.CategoryHealthUpdate, whitecross.PriorityHigh)
	requireKind(reply(d.LincolnNurse, m.ID), whitecross.CategoryHealthUpdate, whitecross.PriorityUrgent)

	// A guardian's answer to an emergency alert is GENERAL and HIGH.
	in = msg("Lockdown lifted", d.LincolnParent)
	in.Category, in.Priority = whitecross.CategoryEmergency, whitecross.PriorityUrgent
	alert := b.send(t, d.Admin, in)
	r = reply(d.LincolnParent, alert.ID)
	requireKind(r, whitecross.CategoryGeneral, whitecross.PriorityHigh)
	require.Equal(t, alert.ThreadID, r.ThreadID)
	in = msg("Shelter in place", d.LincolnParent)
	in.Category, in.Priority = whitecross.CategoryEmergency, whitecross.PriorityLow
	requireKind(reply(d.LincolnParent, b.send(t, d.LincolnAdmin, in).ID), whitecross.CategoryGeneral, whitecross.PriorityLow)

	// A nurse keeps URGENT but not EMERGENCY; a school administrator keeps both.
	in = msg("Evacuate to the field", d.LincolnNurse, d.LincolnAdmin)
	in.Category, in.Priority = whitecross.CategoryEmergency, whitecross.PriorityUrgent
	alert = b.send(t, d.Admin, in)
	requireKind(reply(d.LincolnNurse, alert.ID), whitecross.CategoryGeneral, whitecross.PriorityUrgent)
	requireKind(reply(d.LincolnAdmin, alert.ID), whitecross.CategoryEmergency, whitecross.PriorityUrgent)
}

// sensitiveCase is one send: a category, what the sender asked, and the
// flag stored.
type sensitiveCase struct {
	category whitecross.Category
	asked    *bool
	want     bool
}

// sendSensitive sends each case from an admin (who may send every
// category) and checks the flag returned and stored, and audited.
func sendSensitive(t *testing.T, b *sendBundle, cases []sensitiveCase, channels []whitecross.Channel) {
	t.Helper()
	d := b.d
	for _, c := range cases {
		name := string(c.category)
		if c.asked != nil {
			name += map[bool]string{true: " asked true", false: " asked false"}[*c.asked]
		}
		in := msg("Sensitivity "+name, d.LincolnParent)
		in.Category, in.Sensitive, in.Channels = c.category, c.asked, channels
		m := b.send(t, d.Admin, in)
		require.Equal(t, c.want, m.Sensitive, name)
		var stored bool
		require.NoError(t, b.db.Reader().QueryRow(store.AllTenants(t.Context()), `SELECT sensitive FROM messages WHERE id = $1`, m.ID).Scan(&stored))
		require.Equal(t, c.want, stored, "%s: stored", name)
		thread, err := b.st.Thread(d.As(d.LincolnParent), m.ID)
		require.NoError(t, err)
		require.Equal(t, c.want, thread[0].Body == "", "%s: a sensitive message is read without its body outside its detail", name)
	}
}

// nonHealthCases: categories that are not about health are sensitive only
// when asked, whatever the district's setting.
func nonHealthCases() []sensitiveCase {
	var out []sensitiveCase
	for _, c := range []whitecross.Category{whitecross.CategoryGeneral, whitecross.CategoryReminder, whitecross.CategoryAppointment, whitecross.CategoryEmergency} {
		out = append(out, sensitiveCase{c, nil, false}, sensitiveCase{c, new(false), false}, sensitiveCase{c, new(true), true})
	}
	return out
}

var healthCategories = []whitecross.Category{whitecross.CategoryMedication, whitecross.CategoryHealthUpdate,
	whitecross.CategoryImmunization, whitecross.CategoryIncident}

func testSendSensitiveByDefault(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	cur, err := b.st.CurrentTenant(b.d.As(b.d.Admin))
	require.NoError(t, err)
	require.Nil(t, cur.Settings.SensitiveByDefault, "a new district has the default")
	require.True(t, cur.Settings.HealthSensitiveByDefault(), "the default is on")

	// On: a health message is sensitive even when its sender says false.
	var cases []sensitiveCase
	for _, c := range healthCategories {
		cases = append(cases, sensitiveCase{c, nil, true}, sensitiveCase{c, new(false), true}, sensitiveCase{c, new(true), true})
	}
	sendSensitive(t, b, append(cases, nonHealthCases()...), nil)
	// The same with a channel beyond the app (the settings are read for
	// the channels then, not only for the flag).
	sendSensitive(t, b, []sensitiveCase{{whitecross.CategoryMedication, new(false), true}, {whitecross.CategoryGeneral, nil, false}},
		[]whitecross.Channel{whitecross.ChannelEmail})

	// Turned on explicitly, the same.
	_, err = b.st.UpdateTenantSettings(b.d.As(b.d.Admin), whitecross.TenantSettings{SensitiveByDefault: new(true)})
	require.NoError(t, err)
	sendSensitive(t, b, []sensitiveCase{{whitecross.CategoryIncident, new(false), true}}, nil)
}

func testSendSensitiveByDefaultOff(t *testing.T, open Opener) {
	b := setupSend(t, open, false)
	d := b.d
	got, err := b.st.UpdateTenantSettings(d.As(d.Admin), whitecross.TenantSettings{SensitiveByDefault: new(false)})
	require.NoError(t, err)
	require.False(t, got.Settings.HealthSensitiveByDefault())
	require.Equal(t, "sensitive_by_default", lastAudit(t, b.st, d.Tenant.ID).Detail["changed"])
	cur, err := b.st.CurrentTenant(d.As(d.LincolnParent))
	require.NoError(t, err)
	require.Equal(t, whitecross.TenantSettings{SensitiveByDefault: new(false)}, cur.Settings, "stored")

	// Off: a health message is still sensitive unless its sender says false.
	var cases []sensitiveCase
	for _, c := range healthCategories {
		cases = append(cases, sensitiveCase{c, nil, true}, sensitiveCase{c, new(false), false}, sensitiveCase{c, new(true), true})
	}
	sendSensitive(t, b, append(cases, nonHealthCases()...), nil)
	sendSensitive(t, b, []sensitiveCase{{whitecross.CategoryMedication, new(false), false}}, []whitecross.Channel{whitecross.ChannelEmail})

	// Back to the default: false is ignored again.
	_, err = b.st.UpdateTenantSettings(d.As(d.Admin), whitecross.TenantSettings{})
	require.NoError(t, err)
	sendSensitive(t, b, []sensitiveCase{{whitecross.CategoryHealthUpdate, new(false), true}}, nil)
}
