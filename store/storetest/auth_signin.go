package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
)

// exerciseSignin covers sign-in codes and password reset tokens: single
// use, expiry by the clock, supersede, tries, and the notice each queues
// sealed.
func exerciseSignin(t *testing.T, open Opener) {
	t.Run("CodeSingleUse", func(t *testing.T) {
		t.Parallel()
		s := setupSignin(t, open)
		h := randomHash(t)
		s.issueCode(t, s.user, h)
		require.NoError(t, s.spend(s.user, h))
		requireUnauthorized(t, s.spend(s.user, h), "a spent code")
	})
	t.Run("CodeExpires", func(t *testing.T) {
		t.Parallel()
		s := setupSignin(t, open)
		h := randomHash(t)
		s.issueCode(t, s.user, h)
		s.clock.Advance(whitecross.SigninCodeTTL)
		requireUnauthorized(t, s.spend(s.user, h), "a code at its expiry")
	})
	t.Run("CodeSuperseded", func(t *testing.T) {
		t.Parallel()
		s := setupSignin(t, open)
		first, second := randomHash(t), randomHash(t)
		s.issueCode(t, s.user, first)
		s.issueCode(t, s.user, second)
		requireUnauthorized(t, s.spend(s.user, first), "a superseded code")
		require.NoError(t, s.spend(s.user, second))
	})
	t.Run("CodeTries", func(t *testing.T) {
		t.Parallel()
		s := setupSignin(t, open)
		h := randomHash(t)
		s.issueCode(t, s.user, h)
		for i := range whitecross.SigninCodeTries - 1 {
			requireUnauthorized(t, s.spend(s.user, randomHash(t)), "wrong code %d", i+1)
		}
		require.NoError(t, s.spend(s.user, h), "the right code after 4 wrong ones")
		s.issueCode(t, s.user, h)
		for range whitecross.SigninCodeTries {
			requireUnauthorized(t, s.spend(s.user, randomHash(t)), "wrong code")
		}
		requireUnauthorized(t, s.spend(s.user, h), "the right code after 5 wrong ones")
	})
	t.Run("CodeTriesConcurrent", func(t *testing.T) {
		t.Parallel()
		s := setupSignin(t, open)
		h := randomHash(t)
		s.issueCode(t, s.user, h)
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() { _ = s.spend(s.user, randomHash(t)) })
		}
		wg.Wait()
		requireUnauthorized(t, s.spend(s.user, h), "the right code after 10 concurrent wrong ones")
	})
	t.Run("CodeOfNobodyOrDeactivated", func(t *testing.T) {
		t.Parallel()
		s := setupSignin(t, open)
		h := randomHash(t)
		s.issueCode(t, "", h)
		require.Equal(t, 0, s.count(t, `SELECT COUNT(*) FROM signin_codes`))
		require.Len(t, s.queue.jobs, 1, "a notice is queued for nobody too, the same work")
		n, err := s.st.OpenNotice(context.Background(), s.queue.jobs[0])
		require.NoError(t, err)
		require.Empty(t, n.To, "a notice to nobody is dropped by the worker")
		execSQL(t, s.db, `UPDATE users SET deactivated_at = $1 WHERE id = $2`, s.clock.Now(), s.user)
		s.issueCode(t, s.user, h)
		requireUnauthorized(t, s.spend(s.user, h), "a deactivated user's code")
	})
	t.Run("NoticeSealed", func(t *testing.T) {
		t.Parallel()
		s := setupSignin(t, open)
		s.issueCode(t, s.user, randomHash(t))
		job := s.queue.jobs[0]
		require.NotContains(t, string(job.Sealed), "123456")
		require.NotContains(t, string(job.Sealed), "nurse@example.org")
		n, err := s.st.OpenNotice(context.Background(), job)
		require.NoError(t, err)
		require.Equal(t, "nurse@example.org", n.To)
		require.Contains(t, n.Text, "123456")
		moved := job
		moved.NoticeID = job.TenantID
		_, err = s.st.OpenNotice(context.Background(), moved)
		require.Error(t, err, "a sealed notice opens only as its own job")
	})
	t.Run("FindByContact", func(t *testing.T) {
		t.Parallel()
		s := setupSignin(t, open)
		ctx := context.Background()
		u, err := s.st.FindUserByContact(ctx, s.tenant, " Nurse@Example.org ")
		require.NoError(t, err)
		require.Equal(t, s.user, u.ID)
		execSQL(t, s.db, `UPDATE users SET phone = '+15550001111' WHERE id = $1`, s.user)
		u, err = s.st.FindUserByContact(ctx, s.tenant, "+15550001111")
		require.NoError(t, err)
		require.Equal(t, s.user, u.ID)
		other := insertAuthUser(t, s.db, s.tenant, "partner@example.org")
		execSQL(t, s.db, `UPDATE users SET phone = '+15550001111' WHERE id = $1`, other)
		_, err = s.st.FindUserByContact(ctx, s.tenant, "+15550001111")
		require.Equal(t, whitecross.ENOTFOUND, whitecross.ErrorCode(err), "a phone two active users share")
		_, err = s.st.FindUserByContact(ctx, insertBareTenant(t, s.db), "nurse@example.org")
		require.Equal(t, whitecross.ENOTFOUND, whitecross.ErrorCode(err), "another tenant's user")
	})
	exerciseResets(t, open)
}

func exerciseResets(t *testing.T, open Opener) {
	t.Run("ResetOnceEndsSessions", func(t *testing.T) {
		t.Parallel()
		s := setupSignin(t, open)
		sess, _ := s.newSession(t, time.Hour)
		h := randomHash(t)
		s.issueReset(t, s.user, h)
		u, err := s.st.ResetPassword(context.Background(), h, "a brand new long passphrase", "192.0.2.9")
		require.NoError(t, err)
		require.Equal(t, s.user, u.ID)
		require.False(t, s.active(t, s.tenant, sess.ID), "every session ends")
		_, err = s.st.ResetPassword(context.Background(), h, "another long new passphrase", "192.0.2.9")
		requireUnauthorized(t, err, "a spent reset")
	})
	t.Run("ResetExpires", func(t *testing.T) {
		t.Parallel()
		s := setupSignin(t, open)
		h := randomHash(t)
		s.issueReset(t, s.user, h)
		s.clock.Advance(whitecross.PasswordResetTTL)
		_, err := s.st.ResetPassword(context.Background(), h, "a brand new long passphrase", "")
		requireUnauthorized(t, err, "an expired reset")
	})
	t.Run("ResetWeakPasswordKeepsToken", func(t *testing.T) {
		t.Parallel()
		s := setupSignin(t, open)
		h := randomHash(t)
		s.issueReset(t, s.user, h)
		_, err := s.st.ResetPassword(context.Background(), h, "password1234", "")
		require.Equal(t, whitecross.EINVALID, whitecross.ErrorCode(err))
		_, err = s.st.ResetPassword(context.Background(), h, "a brand new long passphrase", "")
		require.NoError(t, err, "the link still works after a weak password")
	})
	t.Run("ResetSuperseded", func(t *testing.T) {
		t.Parallel()
		s := setupSignin(t, open)
		first, second := randomHash(t), randomHash(t)
		s.issueReset(t, s.user, first)
		s.issueReset(t, s.user, second)
		_, err := s.st.ResetPassword(context.Background(), first, "a brand new long passphrase", "")
		requireUnauthorized(t, err, "a superseded reset")
		_, err = s.st.ResetPassword(context.Background(), second, "a brand new long passphrase", "")
		require.NoError(t, err)
	})
}

// signinSetup is an auth setup whose store hashes passwords and queues
// notices on a recording queue.
type signinSetup struct {
	*authSetup
	queue *recordingNotices
}

func setupSignin(t *testing.T, open Opener) *signinSetup {
	t.Helper()
	a := setupAuth(t, open)
	a.st = store.New(a.db, testHasher{}, newTestVault(t))
	q := &recordingNotices{}
	a.st.SetNoticeQueue(q)
	return &signinSetup{authSetup: a, queue: q}
}

// recordingNotices is a NoticeQueue that keeps the jobs it is given.
type recordingNotices struct {
	mu   sync.Mutex
	jobs []store.NoticeJob
}

func (q *recordingNotices) EnqueueNotice(_ context.Context, _ *store.Tx, job store.NoticeJob) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, job)
	return nil
}

func (s *signinSetup) notice() *whitecross.Notice {
	return &whitecross.Notice{Channel: whitecross.ChannelEmail, To: "nurse@example.org", Subject: "Your code", Text: "Your code is 123456"}
}

func (s *signinSetup) issueCode(t *testing.T, user string, hash []byte) {
	t.Helper()
	require.NoError(t, s.st.IssueSigninCode(context.Background(), &whitecross.SigninCode{TenantID: s.tenant, UserID: user,
		Hash: hash, ExpiresAt: s.clock.Now().Add(whitecross.SigninCodeTTL)}, s.notice()))
}

func (s *signinSetup) issueReset(t *testing.T, user string, hash []byte) {
	t.Helper()
	require.NoError(t, s.st.IssuePasswordReset(context.Background(), &whitecross.PasswordReset{TenantID: s.tenant, UserID: user,
		Hash: hash, ExpiresAt: s.clock.Now().Add(whitecross.PasswordResetTTL)}, s.notice()))
}

func (s *signinSetup) spend(user string, hash []byte) error {
	return s.st.SpendSigninCode(context.Background(), s.tenant, user, hash, whitecross.SigninCodeTries)
}

func (s *signinSetup) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, s.db.Reader().QueryRow(store.AllTenants(context.Background()), query, args...).Scan(&n))
	return n
}

func requireUnauthorized(t *testing.T, err error, what string, args ...any) {
	t.Helper()
	require.Equal(t, whitecross.EUNAUTHORIZED, whitecross.ErrorCode(err), append([]any{what + ": %v"}, append(args, err)...)...)
}
