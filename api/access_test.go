package api_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/api"
	"whitecross/store/storetest"
)

// The school-admin and stale-session attacks of issue 11 (defects 4, 5 and
// 6), over HTTP. The store's conformance suite covers the rules in depth;
// these pin the status codes and the fields the problems name.

// requireProblemField asserts a problem of status naming field.
func requireProblemField(t *testing.T, res *response, status int, field string) problemBody {
	t.Helper()
	require.Equal(t, status, res.status, "%s", res.body)
	p := res.problem(t)
	require.NotEmpty(t, p.Errors, "%s", res.body)
	require.Equal(t, field, p.Errors[0].Location, "%s", res.body)
	return p
}

// TestSchoolAdminCannotSignInAsGuardian: a SCHOOL_ADMIN who may not read the
// nurse's sensitive message to a guardian cannot set the guardian's
// password to sign in as them, nor create a guardian account with a
// password they chose; nor can an ADMIN set anyone else's.
func TestSchoolAdminCannotSignInAsGuardian(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		d := b.d
		nurse, schoolAdmin, admin := b.token(t, d, d.LincolnNurse), b.token(t, d, d.LincolnAdmin), b.token(t, d, d.Admin)
		res := b.do(t, req{method: "POST", path: "/api/v1/messages", token: nurse, body: map[string]any{
			"recipient_ids": []string{d.LincolnParent.ID}, "subject": "Screening result", "body": "Lily needs a follow-up.",
			"category": "HEALTH_UPDATE", "sensitive": true}})
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		var m api.Message
		res.decode(t, &m)
		require.Equal(t, http.StatusNotFound, b.do(t, req{method: "GET", path: "/api/v1/messages/" + m.ID, token: schoolAdmin}).status)

		const chosen = "the admin's choice 123"
		for _, tok := range []string{schoolAdmin, admin} {
			res = b.do(t, req{method: "PATCH", path: "/api/v1/users/" + d.LincolnParent.ID, token: tok, body: map[string]any{"password": chosen}})
			requireProblemField(t, res, http.StatusForbidden, "body.password")
		}
		res = b.do(t, req{method: "PATCH", path: "/api/v1/users/" + d.LincolnNurse.ID, token: admin, body: map[string]any{"password": chosen}})
		requireProblemField(t, res, http.StatusForbidden, "body.password")
		res = b.do(t, req{method: "POST", path: "/api/v1/auth/login",
			body: map[string]string{"tenant": d.Tenant.Slug, "email": d.LincolnParent.Email, "password": chosen}})
		require.Equal(t, http.StatusUnauthorized, res.status, "the guardian's password did not change")

		for _, tok := range []string{schoolAdmin, admin} {
			res = b.do(t, req{method: "POST", path: "/api/v1/users", token: tok, body: map[string]any{
				"email": "second.parent@springfield.example", "name": "Second Parent", "role": "GUARDIAN", "password": chosen}})
			requireProblemField(t, res, http.StatusForbidden, "body.password")
		}
		res = b.do(t, req{method: "POST", path: "/api/v1/auth/login",
			body: map[string]string{"tenant": d.Tenant.Slug, "email": "second.parent@springfield.example", "password": chosen}})
		require.Equal(t, http.StatusUnauthorized, res.status, "no account was made")

		// Not even their own through PATCH: that needs the current password.
		res = b.do(t, req{method: "PATCH", path: "/api/v1/users/" + d.LincolnAdmin.ID, token: schoolAdmin, body: map[string]any{"password": chosen}})
		requireProblemField(t, res, http.StatusForbidden, "body.password")
	})
}

// TestSchoolAdminCannotMakeGuardianStaff: turning a guardian (here the
// non-custodial parent) into staff is an ADMIN's act.
func TestSchoolAdminCannotMakeGuardianStaff(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		d := b.d
		schoolAdmin := b.token(t, d, d.LincolnAdmin)
		res := b.do(t, req{method: "PATCH", path: "/api/v1/users/" + d.NonCustodialParent.ID, token: schoolAdmin,
			body: map[string]any{"role": "STAFF", "location_ids": []string{d.Lincoln.ID}}})
		requireProblemField(t, res, http.StatusForbidden, "body.role")
		res = b.do(t, req{method: "PATCH", path: "/api/v1/users/" + d.LincolnStaff.ID, token: schoolAdmin, body: map[string]any{"role": "GUARDIAN"}})
		requireProblemField(t, res, http.StatusForbidden, "body.role")

		res = b.do(t, req{method: "PATCH", path: "/api/v1/users/" + d.NonCustodialParent.ID, token: b.token(t, d, d.Admin),
			body: map[string]any{"role": "STAFF", "location_ids": []string{d.Lincoln.ID}}})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	})
}

// TestSchoolAdminCannotLinkHiddenGuardian: a guardian the school admin may
// not see (another school's family) is refused like an unknown id.
func TestSchoolAdminCannotLinkHiddenGuardian(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		d := b.d
		schoolAdmin := b.token(t, d, d.LincolnAdmin)
		create := func(guardian string) *response {
			return b.do(t, req{method: "POST", path: "/api/v1/students", token: schoolAdmin, body: map[string]any{
				"name": "Linked Later", "location_id": d.Lincoln.ID, "grade": "2",
				"guardians": []map[string]any{{"user_id": guardian, "custody": true}}}})
		}
		unknown := requireProblemField(t, create(uuid.NewString()), http.StatusUnprocessableEntity, "body.guardians[0].user_id")
		for _, hidden := range []string{d.WashingtonParent.ID, b.other.LincolnParent.ID} {
			p := requireProblemField(t, create(hidden), http.StatusUnprocessableEntity, "body.guardians[0].user_id")
			require.Equal(t, unknown.Detail, p.Detail)
			require.Equal(t, unknown.Errors[0].Message, p.Errors[0].Message)
		}
		require.Equal(t, http.StatusCreated, create(d.AnnexParent.ID).status)
	})
}

// TestNonCustodialParentSeesNoStudent: the non-custodial parent gets 404
// for their child and an empty list.
func TestNonCustodialParentSeesNoStudent(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		d := b.d
		tok := b.token(t, d, d.NonCustodialParent)
		res := b.do(t, req{method: "GET", path: "/api/v1/students/" + d.LincolnStudent.ID, token: tok})
		require.Equal(t, http.StatusNotFound, res.status, "%s", res.body)
		res = b.do(t, req{method: "GET", path: "/api/v1/students", token: tok})
		require.Equal(t, http.StatusOK, res.status)
		var list api.StudentList
		res.decode(t, &list)
		require.Empty(t, list.Items)
		require.Equal(t, http.StatusOK, b.do(t, req{method: "GET", path: "/api/v1/students/" + d.LincolnStudent.ID,
			token: b.token(t, d, d.LincolnParent)}).status, "the custodial parent still sees the child")
	})
}

// TestPasswordChangeEndsOtherSessions: a password change needs the current
// password (a stolen session is not enough to take the account), and right
// after it the other sessions' access and refresh tokens are refused; the
// changer's own session carries on.
func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		d := b.d
		mine, other := b.login(t, d, d.LincolnAdmin), b.login(t, d, d.LincolnAdmin)
		change := func(current, next string) *response {
			return b.do(t, req{method: "PUT", path: "/api/v1/me/password", token: other.AccessToken,
				body: map[string]any{"current_password": current, "new_password": next}})
		}
		requireProblemField(t, change("a guess at it", "a brand new password"), http.StatusForbidden, "body.current_password")
		for next, problem := range map[string]string{"short one": "12 to 128", "password1234": "too easy", d.LincolnAdmin.Email: "email"} {
			res := change(storetest.SeedPassword, next)
			requireProblemField(t, res, http.StatusUnprocessableEntity, "body.new_password")
			require.Contains(t, string(res.body), problem)
		}
		require.Equal(t, http.StatusOK, b.do(t, req{method: "GET", path: "/api/v1/me", token: other.AccessToken}).status,
			"refused changes end nothing")

		res := b.do(t, req{method: "PUT", path: "/api/v1/me/password", token: mine.AccessToken,
			body: map[string]any{"current_password": storetest.SeedPassword, "new_password": "a brand new password"}})
		require.Equal(t, http.StatusNoContent, res.status, "%s", res.body)

		require.Equal(t, http.StatusUnauthorized, b.do(t, req{method: "GET", path: "/api/v1/me", token: other.AccessToken}).status)
		require.Equal(t, http.StatusUnauthorized, b.do(t, req{method: "POST", path: "/api/v1/auth/refresh",
			body: map[string]string{"refresh_token": other.RefreshToken}}).status)

		require.Equal(t, http.StatusOK, b.do(t, req{method: "GET", path: "/api/v1/me", token: mine.AccessToken}).status)
		require.Equal(t, http.StatusOK, b.do(t, req{method: "POST", path: "/api/v1/auth/refresh",
			body: map[string]string{"refresh_token": mine.RefreshToken}}).status)
	})
}

// TestDemotionTakesEffectAtOnce: a SCHOOL_ADMIN demoted to STAFF is refused
// the school admin's acts with the access token they already hold, and
// acts as STAFF.
func TestDemotionTakesEffectAtOnce(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		d := b.d
		demoted := b.token(t, d, d.LincolnAdmin)
		newUser := map[string]any{"email": "new.staff@springfield.example", "name": "New Staff", "role": "STAFF",
			"location_ids": []string{d.Lincoln.ID}}

		res := b.do(t, req{method: "PATCH", path: "/api/v1/users/" + d.LincolnAdmin.ID, token: b.token(t, d, d.Admin),
			body: map[string]any{"role": "STAFF"}})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)

		res = b.do(t, req{method: "POST", path: "/api/v1/users", token: demoted, body: newUser})
		require.Equal(t, http.StatusForbidden, res.status, "%s", res.body)
		res = b.do(t, req{method: "POST", path: "/api/v1/students", token: demoted,
			body: map[string]any{"name": "X", "location_id": d.Lincoln.ID, "grade": "1"}})
		require.Equal(t, http.StatusForbidden, res.status, "%s", res.body)
		res = b.do(t, req{method: "PATCH", path: "/api/v1/users/" + d.LincolnStaff.ID, token: demoted, body: map[string]any{"name": "X"}})
		require.Equal(t, http.StatusForbidden, res.status, "%s", res.body)

		// As STAFF they still work: the directory, their own record.
		res = b.do(t, req{method: "GET", path: "/api/v1/me", token: demoted})
		require.Equal(t, http.StatusOK, res.status)
		var me api.User
		res.decode(t, &me)
		require.Equal(t, string(whitecross.RoleStaff), me.Role)
		res = b.do(t, req{method: "GET", path: "/api/v1/users", token: demoted})
		require.Equal(t, http.StatusOK, res.status)
	})
}
