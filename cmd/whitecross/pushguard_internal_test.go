package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPushGuardFromAllowedHosts(t *testing.T) {
	t.Parallel()
	c := &Config{PushAllowedHosts: " FCM.googleapis.com, push.services.mozilla.com.,, "}
	g := c.pushGuard()
	require.Equal(t, []string{"fcm.googleapis.com", "push.services.mozilla.com"}, g.Hosts)
	require.True(t, g.HostAllowed("updates.push.services.mozilla.com"))
	require.False(t, g.HostAllowed("push.example.net"))
	require.Empty(t, (&Config{}).pushGuard().Hosts, "unset: any public host")
	require.Empty(t, (&Config{}).pushGuard().Allow, "production never allows private addresses")
}
