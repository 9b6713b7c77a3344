package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross/api"
)

// TestSendPolicyAPI: a send the caller's role may not make is 403 naming
// the field of the rule (body.category or body.priority) and stores
// nothing; the tenant answer lists what each role may send; a guardian's
// reply to an URGENT message is HIGH; health categories are sensitive by
// default, as the district's setting says.
func TestSendPolicyAPI(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		d := b.d
		admin, nurse, parent := b.token(t, d, d.Admin), b.token(t, d, d.LincolnNurse), b.token(t, d, d.LincolnParent)
		body := func(to string, extra map[string]any) map[string]any {
			m := map[string]any{"recipient_ids": []string{to}, "subject": "Come now", "body": "Please."}
			for k, v := range extra {
				m[k] = v
			}
			return m
		}

		var tenant api.Tenant
		b.get(t, parent, "/api/v1/tenant", &tenant)
		require.Equal(t, api.SendPolicy{Categories: []string{"HEALTH_UPDATE", "MEDICATION", "IMMUNIZATION", "INCIDENT", "APPOINTMENT", "REMINDER", "GENERAL"},
			Priorities: []string{"LOW", "MEDIUM", "HIGH"}}, tenant.SendPolicy["GUARDIAN"])
		require.Equal(t, []string{"LOW", "MEDIUM", "HIGH", "URGENT"}, tenant.SendPolicy["NURSE"].Priorities)
		require.NotContains(t, tenant.SendPolicy["STAFF"].Categories, "EMERGENCY")
		require.Contains(t, tenant.SendPolicy["SCHOOL_ADMIN"].Categories, "EMERGENCY")
		require.Contains(t, tenant.SendPolicy["ADMIN"].Categories, "EMERGENCY")
		require.Len(t, tenant.SendPolicy, 5)

		for _, tc := range []struct {
			name, token string
			body        map[string]any
			location    string
			says        string
		}{
			{"nurse EMERGENCY", nurse, body(d.LincolnParent.ID, map[string]any{"category": "EMERGENCY"}), "body.category",
				"A nurse may not send EMERGENCY messages: emergency alerts are sent by district or school administrators (ADMIN, SCHOOL_ADMIN)."},
			{"guardian EMERGENCY", parent, body(d.LincolnNurse.ID, map[string]any{"category": "EMERGENCY", "priority": "HIGH"}), "body.category",
				"A guardian may not send EMERGENCY messages"},
			{"guardian URGENT", parent, body(d.LincolnNurse.ID, map[string]any{"priority": "URGENT"}), "body.priority",
				"A guardian's message is at most HIGH"},
		} {
			res := b.do(t, req{method: "POST", path: "/api/v1/messages", token: tc.token, body: tc.body,
				header: map[string]string{"Idempotency-Key": tc.name}})
			require.Equal(t, http.StatusForbidden, res.status, "%s: %s", tc.name, res.body)
			p := res.problem(t)
			require.Len(t, p.Errors, 1, "%s: %s", tc.name, res.body)
			require.Equal(t, tc.location, p.Errors[0].Location, tc.name)
			require.Contains(t, p.Errors[0].Message, tc.says, tc.name)
		}
		require.Zero(t, b.rows(t, "messages"), "a refused send stores nothing")
		require.Zero(t, b.rows(t, "idempotency_keys"))

		// A guardian's answer to an URGENT message is HIGH.
		urgent := b.send(t, nurse, body(d.LincolnParent.ID, map[string]any{"priority": "URGENT"}))
		require.Equal(t, "URGENT", urgent.Priority)
		r := b.reply(t, parent, urgent.ID, "On my way.")
		require.Equal(t, "HIGH", r.Priority)
		require.Equal(t, "GENERAL", r.Category)

		// Health categories: sensitive by default, false ignored while the
		// district's setting is on, honoured once an admin turns it off.
		medication := func(extra map[string]any) map[string]any {
			m := body(d.LincolnParent.ID, map[string]any{"category": "MEDICATION", "subject": "Inhaler"})
			for k, v := range extra {
				m[k] = v
			}
			return m
		}
		require.True(t, b.send(t, nurse, medication(nil)).Sensitive)
		optOut := medication(map[string]any{"sensitive": false})
		require.True(t, b.send(t, nurse, optOut).Sensitive)
		res := b.do(t, req{method: "PATCH", path: "/api/v1/tenant", token: admin,
			body: map[string]any{"settings": map[string]any{"sensitive_by_default": false}}})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		require.False(t, b.send(t, nurse, optOut).Sensitive)
		require.True(t, b.send(t, nurse, medication(nil)).Sensitive, "said nothing: still sensitive")
		require.False(t, b.send(t, nurse, body(d.LincolnParent.ID, nil)).Sensitive, "GENERAL is not a health category")
	})
}
