package storetest

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
)

// exerciseMFA covers two-step sign-in storage: the secret sealed at rest,
// confirmation, single-use steps and recovery codes, mfa_tokens, and the
// setup-only sessions of a district that requires it.
func exerciseMFA(t *testing.T, open Opener) {
	ctx := context.Background()
	t.Run("SecretSealedAndConfirmed", func(t *testing.T) {
		t.Parallel()
		s := setupAuth(t, open)
		require.NoError(t, s.st.BeginTOTP(ctx, s.tenant, s.user, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"))
		var raw []byte
		require.NoError(t, s.db.Reader().QueryRow(store.AllTenants(ctx), `SELECT secret FROM mfa_totp WHERE user_id = $1`, s.user).Scan(&raw))
		require.NotContains(t, string(raw), "JBSWY3DP", "the secret is stored sealed")
		st, err := s.st.FindTOTP(ctx, s.tenant, s.user)
		require.NoError(t, err)
		require.Equal(t, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", st.Secret)
		require.False(t, st.Confirmed)
		requireUnauthorized(t, s.st.UseTOTPStep(ctx, s.tenant, s.user, 100), "a step of an unconfirmed secret")

		require.NoError(t, s.st.ConfirmTOTP(ctx, s.tenant, s.user, 100, [][]byte{{1}, {2}}, "192.0.2.1"))
		st, err = s.st.FindTOTP(ctx, s.tenant, s.user)
		require.NoError(t, err)
		require.True(t, st.Confirmed)
		require.Equal(t, int64(100), st.LastStep)
		require.Equal(t, 2, st.RecoveryLeft)
		require.Equal(t, whitecross.ECONFLICT, whitecross.ErrorCode(s.st.BeginTOTP(ctx, s.tenant, s.user, "AAAA")), "already on")
		require.Equal(t, whitecross.ECONFLICT, whitecross.ErrorCode(s.st.ConfirmTOTP(ctx, s.tenant, s.user, 101, nil, "")), "nothing to confirm")

		other := insertBareTenant(t, s.db)
		_, err = s.st.FindTOTP(ctx, other, s.user)
		require.Equal(t, whitecross.ENOTFOUND, whitecross.ErrorCode(err), "another district's user")
	})
	t.Run("StepsAndRecoveryCodesSingleUse", func(t *testing.T) {
		t.Parallel()
		s := setupAuth(t, open)
		require.NoError(t, s.st.BeginTOTP(ctx, s.tenant, s.user, "JBSWY3DPEHPK3PXP"))
		require.NoError(t, s.st.ConfirmTOTP(ctx, s.tenant, s.user, 100, [][]byte{[]byte("a"), []byte("b")}, ""))
		requireUnauthorized(t, s.st.UseTOTPStep(ctx, s.tenant, s.user, 100), "the confirming step again")
		require.NoError(t, s.st.UseTOTPStep(ctx, s.tenant, s.user, 101))
		requireUnauthorized(t, s.st.UseTOTPStep(ctx, s.tenant, s.user, 101), "a replayed step")
		requireUnauthorized(t, s.st.UseTOTPStep(ctx, s.tenant, s.user, 99), "an earlier step")

		left, err := s.st.SpendRecoveryCode(ctx, s.tenant, s.user, []byte("a"))
		require.NoError(t, err)
		require.Equal(t, 1, left)
		_, err = s.st.SpendRecoveryCode(ctx, s.tenant, s.user, []byte("a"))
		requireUnauthorized(t, err, "a spent recovery code")
		_, err = s.st.SpendRecoveryCode(ctx, s.tenant, s.user, []byte("zz"))
		requireUnauthorized(t, err, "an unknown recovery code")

		require.NoError(t, s.st.DeleteTOTP(ctx, s.tenant, s.user, ""))
		_, err = s.st.FindTOTP(ctx, s.tenant, s.user)
		require.Equal(t, whitecross.ENOTFOUND, whitecross.ErrorCode(err))
		_, err = s.st.SpendRecoveryCode(ctx, s.tenant, s.user, []byte("b"))
		requireUnauthorized(t, err, "a recovery code of a removed enrolment")
	})
	t.Run("Challenges", func(t *testing.T) {
		t.Parallel()
		s := setupAuth(t, open)
		issue := func() []byte {
			h := randomHash(t)
			require.NoError(t, s.st.IssueMFAChallenge(ctx, &whitecross.MFAChallenge{TenantID: s.tenant, UserID: s.user, Hash: h,
				ExpiresAt: s.clock.Now().Add(whitecross.MFATokenTTL), FirstFactor: whitecross.AuditLoginSucceeded}))
			return h
		}
		h := issue()
		c, err := s.st.FindMFAChallenge(ctx, h)
		require.NoError(t, err)
		require.Equal(t, s.user, c.UserID)
		require.Equal(t, whitecross.AuditLoginSucceeded, c.FirstFactor)
		require.NoError(t, s.st.SpendMFAChallenge(ctx, h, true))
		requireUnauthorized(t, s.st.SpendMFAChallenge(ctx, h, true), "a spent token")
		_, err = s.st.FindMFAChallenge(ctx, h)
		requireUnauthorized(t, err, "a spent token")

		h = issue()
		for range whitecross.MFATokenTries {
			require.NoError(t, s.st.SpendMFAChallenge(ctx, h, false))
		}
		_, err = s.st.FindMFAChallenge(ctx, h)
		requireUnauthorized(t, err, "a token after 5 wrong codes")

		h = issue()
		s.clock.Advance(whitecross.MFATokenTTL)
		_, err = s.st.FindMFAChallenge(ctx, h)
		requireUnauthorized(t, err, "an expired token")

		live := issue()
		var rows int
		require.NoError(t, s.db.Reader().QueryRow(store.AllTenants(ctx), `SELECT COUNT(*) FROM mfa_challenges`).Scan(&rows))
		require.Equal(t, 1, rows, "spent and expired tokens are deleted when the next is issued")
		_, err = s.st.FindMFAChallenge(ctx, live)
		require.NoError(t, err)
	})
	t.Run("Concurrent", func(t *testing.T) {
		t.Parallel()
		exerciseMFAConcurrent(t, open)
	})
	t.Run("SetupOnlySessions", func(t *testing.T) {
		t.Parallel()
		s := setupAuth(t, open)
		sess := &whitecross.Session{ID: uuid.Must(uuid.NewV7()).String(), TenantID: s.tenant, UserID: s.user, CreatedAt: s.clock.Now()}
		require.NoError(t, s.st.CreateSession(ctx, sess, &whitecross.RefreshToken{Hash: randomHash(t), SessionID: sess.ID,
			ExpiresAt: s.clock.Now().Add(whitecross.MFATokenTTL)}))
		setupOnly := func() bool {
			t.Helper()
			a, err := s.st.SessionActor(ctx, s.tenant, sess.ID)
			require.NoError(t, err)
			all, err := s.st.SessionActors(ctx, []string{sess.ID})
			require.NoError(t, err)
			require.Equal(t, a.MFASetupOnly, all[strings.ToLower(sess.ID)].MFASetupOnly)
			return a.MFASetupOnly
		}
		require.False(t, setupOnly(), "no policy")
		setRoles(t, s.db, s.tenant, `{"mfa_required_roles":["ADMIN"]}`)
		require.False(t, setupOnly(), "another role required")
		setRoles(t, s.db, s.tenant, `{"mfa_required_roles":["ADMIN","NURSE"]}`)
		require.True(t, setupOnly(), "the nurse's role required, no TOTP")
		require.NoError(t, s.st.BeginTOTP(ctx, s.tenant, s.user, "JBSWY3DPEHPK3PXP"))
		require.True(t, setupOnly(), "an unconfirmed secret is not enough")
		require.NoError(t, s.st.ConfirmTOTP(ctx, s.tenant, s.user, 1, nil, ""))
		require.False(t, setupOnly(), "confirmed: a full session")
		require.NoError(t, s.st.DeleteTOTP(ctx, s.tenant, s.user, ""))
		require.True(t, setupOnly(), "turned off again")
	})
}

func setRoles(t *testing.T, db *store.DB, tenant, settings string) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE tenants SET settings = $2 WHERE id = $1`, tenant, settings)
		return err
	}))
}

// exerciseMFAConcurrent: of many requests with one code (one step) or one
// recovery code at once, exactly one passes.
func exerciseMFAConcurrent(t *testing.T, open Opener) {
	ctx := context.Background()
	s := setupAuth(t, open)
	require.NoError(t, s.st.BeginTOTP(ctx, s.tenant, s.user, "JBSWY3DPEHPK3PXP"))
	require.NoError(t, s.st.ConfirmTOTP(ctx, s.tenant, s.user, 100, [][]byte{[]byte("r")}, ""))
	const n = 8
	errs := make([][2]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i][0] = s.st.UseTOTPStep(ctx, s.tenant, s.user, 101)
			_, errs[i][1] = s.st.SpendRecoveryCode(ctx, s.tenant, s.user, []byte("r"))
		}()
	}
	wg.Wait()
	steps, codes := 0, 0
	for _, e := range errs {
		if e[0] == nil {
			steps++
		} else {
			requireUnauthorized(t, e[0], "a step used concurrently")
		}
		if e[1] == nil {
			codes++
		} else {
			requireUnauthorized(t, e[1], "a recovery code used concurrently")
		}
	}
	require.Equal(t, 1, steps, "one code passes once")
	require.Equal(t, 1, codes, "one recovery code passes once")
}
