package auth

import "testing"

// TestProviderName: the sign-in button names the big providers, else the
// issuer's host.
func TestProviderName(t *testing.T) {
	for issuer, want := range map[string]string{
		"https://accounts.google.com":                      "Google",
		"https://login.microsoftonline.com/abc-123/v2.0":   "Microsoft",
		"https://sso.springfield.k12.example/realms/staff": "sso.springfield.k12.example",
		"http://127.0.0.1:8081":                            "127.0.0.1:8081",
	} {
		if got := providerName(issuer); got != want {
			t.Errorf("providerName(%q) = %q, want %q", issuer, got, want)
		}
	}
}
