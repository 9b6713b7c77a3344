package whitecross

import (
	"strings"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
)

// The password policy, for every password anyone sets: the person
// themselves, a reset, or the operator's CLI.
const (
	MinPasswordLength = 12  // characters
	MaxPasswordLength = 128 // characters
	// MinPasswordScore is the least zxcvbn score (0–4) a new password needs:
	// 3 means about 10^8 guesses or more, beyond an online attacker held by
	// the sign-in lockout and costly offline against argon2id.
	MinPasswordScore = 3
)

// CheckPassword applies the password policy to pw, a new password of the
// person with the given email and name: MinPasswordLength to
// MaxPasswordLength characters, not the email (nor its part before the @),
// and not guessable by the zxcvbn estimator — which knows common and
// breached passwords, names, dictionary words, keyboard patterns and dates,
// and is told the person's email, name and the product's name. EINVALID
// naming field, with a message the person can act on.
func CheckPassword(field, pw, email, name string) error {
	if n := utf8.RuneCountInString(pw); n < MinPasswordLength || n > MaxPasswordLength {
		return FieldErrorf(EINVALID, field, nil, "Password must be %d to %d characters.", MinPasswordLength, MaxPasswordLength)
	}
	personal := personalWords(email, name)
	for _, w := range personal {
		if strings.EqualFold(pw, w) {
			return FieldErrorf(EINVALID, field, nil, "Password must not be the account's email address or name.")
		}
	}
	// zxcvbn's cost grows with the length; MaxPasswordLength bounds it.
	if zxcvbn.PasswordStrength(pw, personal).Score < MinPasswordScore {
		return FieldErrorf(EINVALID, field, nil,
			"Password is too easy to guess: it is common or made of a name, word, date or pattern. A few unrelated words make a strong one.")
	}
	return nil
}

// personalWords are the strings a guesser of this person's password tries
// first.
func personalWords(email, name string) []string {
	words := []string{"whitecross", "white cross"}
	if email = strings.TrimSpace(email); email != "" {
		words = append(words, email)
		if local, _, ok := strings.Cut(email, "@"); ok {
			words = append(words, local)
		}
	}
	if name = strings.TrimSpace(name); name != "" {
		words = append(words, name)
		words = append(words, strings.Fields(name)...)
	}
	return words
}
