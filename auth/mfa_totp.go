package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP parameters: RFC 6238 defaults, which every authenticator app reads
// from the otpauth URL (SHA-1, 6 digits, 30 seconds).
const (
	totpPeriod = 30
	// totpSkew is how many steps before and after now are accepted, for
	// a phone clock that is a little off.
	totpSkew = 1
	// totpIssuer names the service in the authenticator app.
	totpIssuer = "Whitecross"
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// newTOTPKey makes a new 160-bit secret for account (the user's email).
func newTOTPKey(account string) (*otp.Key, error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: account, Period: totpPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return nil, fmt.Errorf("generate totp secret: %w", err)
	}
	return k, nil
}

// totpStep returns the time step whose code code is, among the steps
// within totpSkew of now, or 0 when it is none of them. Every candidate is
// compared in constant time.
func totpStep(secret, code string, now time.Time) (int64, error) {
	if !codeDigits.MatchString(code) {
		return 0, nil
	}
	cur := now.Unix() / totpPeriod
	var found int64
	for step := cur - totpSkew; step <= cur+totpSkew; step++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totpOpts)
		if err != nil {
			return 0, fmt.Errorf("totp code: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			found = step
		}
	}
	return found, nil
}

// recoveryEncoding writes recovery codes in lowercase base32 without
// padding: no 0/1/8/9 to confuse with letters.
var recoveryEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newRecoveryCodes returns n codes of 80 random bits each, written as
// four groups of four characters ("abcd-efgh-ijkl-mnop").
func newRecoveryCodes(n int) ([]string, error) {
	out := make([]string, n)
	for i := range out {
		b := make([]byte, 10)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("generate recovery code: %w", err)
		}
		s := strings.ToLower(recoveryEncoding.EncodeToString(b))
		out[i] = s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
	}
	return out, nil
}

// normalRecoveryCode is a typed recovery code without case, spaces and
// dashes, as it is hashed.
func normalRecoveryCode(code string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(code)))
}

// recoveryHash is the stored form of a recovery code, bound to its user.
// 80 random bits cannot be found from a fast hash, so no slow one is
// needed.
func recoveryHash(userID, code string) []byte {
	h := sha256.Sum256([]byte("mfa-recovery\x00" + strings.ToLower(userID) + "\x00" + normalRecoveryCode(code)))
	return h[:]
}

// mfaTokenHash is the stored form of an mfa_token.
func mfaTokenHash(token string) []byte {
	h := sha256.Sum256([]byte("mfa-token\x00" + token))
	return h[:]
}
