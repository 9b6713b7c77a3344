package whitecross

import "time"

// Automatic logoff (HIPAA 164.312(a)(2)(iii)): a staff member's session
// unused for the district's idle_timeout_minutes ends. See
// docs/security.md, "Automatic logoff".
const (
	// DefaultIdleTimeoutMinutes is the idle timeout of staff sessions in a
	// district that set none.
	DefaultIdleTimeoutMinutes = 30
	// MaxIdleTimeoutMinutes bounds idle_timeout_minutes (twelve hours: a
	// shift); 0 turns automatic logoff off.
	MaxIdleTimeoutMinutes = 720
	// SessionUseInterval is how stale a session's recorded last use may be:
	// a request records it only when the recorded one is older than this
	// (or than a quarter of a shorter timeout), so a busy session writes
	// its row at most once a minute, not on every request.
	SessionUseInterval = time.Minute
)

// AuditSessionEnded records a session the server ended by itself (detail
// "reason": "idle", with the minutes of the timeout).
const AuditSessionEnded = "auth.session.ended"

// IdleTimeoutMinutesOrDefault is the district's idle timeout for staff in
// minutes (unset: DefaultIdleTimeoutMinutes; 0: off).
func (s TenantSettings) IdleTimeoutMinutesOrDefault() int {
	if s.IdleTimeoutMinutes == nil {
		return DefaultIdleTimeoutMinutes
	}
	return *s.IdleTimeoutMinutes
}

// IdleTimeout is how long a session of a user with role may go unused
// before it ends; 0 means never. Guardians are not timed out: they read
// their own family's messages on their own phone, and a code or password
// sign-in every half hour would keep them from reading at all. Staff, who
// see many families' health information on shared school computers, are.
func IdleTimeout(role Role, minutes *int) time.Duration {
	if role == RoleGuardian {
		return 0
	}
	m := DefaultIdleTimeoutMinutes
	if minutes != nil {
		m = *minutes
	}
	return time.Duration(m) * time.Minute
}

// SessionUseEvery is how often a session with idle timeout d records its
// use: SessionUseInterval, or a quarter of a shorter timeout. The web app
// tells the server about activity that makes no request (reading,
// scrolling) as often, so both ends count from nearly the same moment.
func SessionUseEvery(d time.Duration) time.Duration {
	return min(SessionUseInterval, d/4)
}

// IdleAfter is how long after its recorded last use a session with idle
// timeout d ends: d plus twice SessionUseEvery(d), once for the recorded
// use being that stale and once for the web app's keep-alive being that
// far apart. So the server never ends a session before d has passed since
// the last request or activity, and the web app's own lock at d comes
// first; a client that stopped talking (a closed laptop, a copied token)
// is cut off at most 2 minutes later than d.
func IdleAfter(d time.Duration) time.Duration {
	return d + 2*SessionUseEvery(d)
}
