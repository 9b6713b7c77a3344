package storetest

import "testing"

// exerciseAuth is written by the auth storage work (sessions, refresh
// tokens, credentials, login throttle, signing keys).
func exerciseAuth(t *testing.T, open Opener) { t.Fatal("auth conformance suite not written yet") }
