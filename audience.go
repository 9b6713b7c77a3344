package whitecross

import "context"

// Audience is who a broadcast reaches, resolved by the database when the
// message is dispatched (a scheduled message reaches whoever matches at its
// time). A user is in it when every dimension given holds:
//   - LocationIDs: the user is at one of these locations or one below it; a
//     guardian is at the locations of the students they have custody of.
//   - Roles: the user has one of these roles.
//   - Grades: the user is a guardian with custody of a student in one of
//     these grades (with LocationIDs, the same student must be at one of
//     the locations: "grade 3 at Lincoln").
//
// Everyone means the whole of what the sender may reach and is never
// combined with another dimension. Whatever the dimensions, only users the
// sender may message are in it, and a guardian only through custody: a
// non-custodial guardian is never in an audience.
type Audience struct {
	Everyone    bool
	LocationIDs []string
	Roles       []Role
	Grades      []string
}

// Audience limits, enforced at the API edge and in the store.
const (
	MaxAudienceLocations = 100
	MaxAudienceGrades    = 20
	MaxGradeChars        = 20
)

// AudiencePreview is what a sender sees before sending to an audience:
// how many people it holds now, by role, and how many of them each
// external channel can reach (they have that contact point).
type AudiencePreview struct {
	Count     int
	ByRole    map[Role]int
	Reachable map[Channel]int // EMAIL, SMS, VOICE, PUSH, each present
}

// AudienceService previews audiences.
type AudienceService interface {
	// PreviewAudience counts the audience as it would be resolved now, with
	// the same rules (and errors, naming body.*) as sending to it.
	PreviewAudience(ctx context.Context, aud *Audience) (*AudiencePreview, error)
}
