package whitecross

import (
	"encoding/hex"
	"testing"
	"time"
)

// TestAuditChainHashIsStable pins the hash of two events as the code before
// the canonical-detail check computed them: chains written by earlier
// versions must keep verifying, so the hash input may never change.
func TestAuditChainHashIsStable(t *testing.T) {
	t.Parallel()
	e := &AuditEvent{TenantID: "0190b6d2-0000-7000-8000-000000000001", Seq: 7, At: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC),
		ActorID: "u", Action: "user.updated", TargetType: "user", TargetID: "t", Outcome: "SUCCESS", ClientIP: "192.0.2.1",
		Detail: map[string]string{"role": "STAFF", "from": "<GUARDIAN>"}}
	if got := hex.EncodeToString(e.ChainHash([]byte("prev"))); got != "86f22d8baba804584c42313a1ea6a00df53a3ae78a7e5ba3933adf7226655ac6" {
		t.Fatalf("hash with detail changed: %s", got)
	}
	e.Detail = nil
	if got := hex.EncodeToString(e.ChainHash([]byte{})); got != "70f0f706aca9d22b15c19f7e4a9e701b52604757f443b8d746d2475e9cafd6c5" {
		t.Fatalf("hash without detail changed: %s", got)
	}
}
