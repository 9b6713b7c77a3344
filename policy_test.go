package whitecross_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
)

// TestSendPolicyTable: what each role may send, as listed for clients and
// as checked (the store's enforcement is tested in store/storetest).
func TestSendPolicyTable(t *testing.T) {
	t.Parallel()
	all := whitecross.Categories
	noEmergency := all[1:]
	require.Equal(t, whitecross.CategoryEmergency, all[0])
	for _, tc := range []struct {
		role       whitecross.Role
		categories []whitecross.Category
		priorities []whitecross.Priority
	}{
		{whitecross.RoleAdmin, all, whitecross.Priorities},
		{whitecross.RoleSchoolAdmin, all, whitecross.Priorities},
		{whitecross.RoleNurse, noEmergency, whitecross.Priorities},
		{whitecross.RoleStaff, noEmergency, whitecross.Priorities},
		{whitecross.RoleGuardian, noEmergency, whitecross.Priorities[:3]},
		{"JANITOR", noEmergency, whitecross.Priorities[:3]}, // unknown: the narrowest
	} {
		p := whitecross.SendPolicyFor(tc.role)
		require.Equal(t, tc.categories, p.Categories(), tc.role)
		require.Equal(t, tc.priorities, p.Priorities(), tc.role)
		for _, c := range whitecross.Categories {
			for _, pr := range whitecross.Priorities {
				err := whitecross.CheckSend(tc.role, c, pr)
				allowed := p.AllowsCategory(c) && p.AllowsPriority(pr)
				require.Equal(t, allowed, err == nil, "%s %s %s: %v", tc.role, c, pr, err)
			}
		}
	}
	require.Equal(t, []whitecross.Priority{whitecross.PriorityLow, whitecross.PriorityMedium, whitecross.PriorityHigh},
		whitecross.SendPolicyFor(whitecross.RoleGuardian).Priorities())
}

func TestCheckSendNamesTheRule(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		role     whitecross.Role
		category whitecross.Category
		priority whitecross.Priority
		field    string
		message  string
	}{
		{whitecross.RoleNurse, whitecross.CategoryEmergency, whitecross.PriorityUrgent, "body.category",
			"A nurse may not send EMERGENCY messages: emergency alerts are sent by district or school administrators (ADMIN, SCHOOL_ADMIN)."},
		{whitecross.RoleStaff, whitecross.CategoryEmergency, whitecross.PriorityLow, "body.category",
			"A staff member may not send EMERGENCY messages: emergency alerts are sent by district or school administrators (ADMIN, SCHOOL_ADMIN)."},
		{whitecross.RoleGuardian, whitecross.CategoryEmergency, whitecross.PriorityHigh, "body.category",
			"A guardian may not send EMERGENCY messages: emergency alerts are sent by district or school administrators (ADMIN, SCHOOL_ADMIN)."},
		{whitecross.RoleGuardian, whitecross.CategoryGeneral, whitecross.PriorityUrgent, "body.priority",
			"A guardian's message is at most HIGH priority; URGENT is for school and district staff. In an emergency, call the school."},
	} {
		err := whitecross.CheckSend(tc.role, tc.category, tc.priority)
		require.Equal(t, whitecross.EFORBIDDEN, whitecross.ErrorCode(err))
		require.Equal(t, tc.message, whitecross.ErrorMessage(err))
		var e *whitecross.Error
		require.ErrorAs(t, err, &e)
		require.Equal(t, tc.field, e.Field)
	}
}

func TestReplyKind(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		role     whitecross.Role
		in, want [2]string
	}{
		{whitecross.RoleGuardian, [2]string{"EMERGENCY", "URGENT"}, [2]string{"GENERAL", "HIGH"}},
		{whitecross.RoleGuardian, [2]string{"MEDICATION", "URGENT"}, [2]string{"MEDICATION", "HIGH"}},
		{whitecross.RoleGuardian, [2]string{"EMERGENCY", "LOW"}, [2]string{"GENERAL", "LOW"}},
		{whitecross.RoleGuardian, [2]string{"REMINDER", "HIGH"}, [2]string{"REMINDER", "HIGH"}},
		{whitecross.RoleNurse, [2]string{"EMERGENCY", "URGENT"}, [2]string{"GENERAL", "URGENT"}},
		{whitecross.RoleSchoolAdmin, [2]string{"EMERGENCY", "URGENT"}, [2]string{"EMERGENCY", "URGENT"}},
	} {
		c, p := whitecross.ReplyKind(tc.role, whitecross.Category(tc.in[0]), whitecross.Priority(tc.in[1]))
		require.Equal(t, tc.want, [2]string{string(c), string(p)}, "%s %v", tc.role, tc.in)
	}
}

func TestMessageSensitive(t *testing.T) {
	t.Parallel()
	on, off := whitecross.TenantSettings{}, whitecross.TenantSettings{SensitiveByDefault: new(false)}
	require.True(t, on.HealthSensitiveByDefault(), "unset is on")
	require.True(t, whitecross.TenantSettings{SensitiveByDefault: new(true)}.HealthSensitiveByDefault())
	require.False(t, off.HealthSensitiveByDefault())
	for _, c := range whitecross.Categories {
		health := c == whitecross.CategoryMedication || c == whitecross.CategoryHealthUpdate ||
			c == whitecross.CategoryImmunization || c == whitecross.CategoryIncident
		require.Equal(t, health, c.Health(), c)
		for _, st := range []whitecross.TenantSettings{on, off} {
			require.True(t, st.MessageSensitive(c, new(true)), c)
			require.Equal(t, health, st.MessageSensitive(c, nil), c)
		}
		require.Equal(t, health, on.MessageSensitive(c, new(false)), "%s: false is ignored for health while the setting is on", c)
		require.False(t, off.MessageSensitive(c, new(false)), "%s: off, false is honoured", c)
	}
}
