package web

// The data key line of the District settings page, end to end: the
// operator rotates the district's data key with the CLI while the server
// runs, and the admin's page shows the new version and the re-encryption
// reaching 100 %.

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDistrictSettingsShowsTheDataKey: the demo district's page says
// "Data key v1 since …, re-encryption 100 %"; after `keys rotate-data` on
// the server's data dir it says v2, and 100 % once the server's job has
// re-encrypted the demo messages.
func TestDistrictSettingsShowsTheDataKey(t *testing.T) {
	e := endToEnd(t)
	dir, err := os.MkdirTemp("", "whitecross-web-keys-")
	require.NoError(t, err)
	e2eStop = append(e2eStop, func() { os.RemoveAll(dir) })
	url, err := startServer(e.bin, dir)
	require.NoError(t, err)
	own := &e2e{baseURL: url, browser: e.browser, root: e.root, bin: e.bin}

	b := own.newTab(t, "admin")
	b.signIn("/inbox", adminEmail)
	b.waitView("box")
	b.click("#nav-settings")
	b.waitView("settings")
	b.waitText("#setting-data-key", "Data key v1 since ")
	b.waitText("#setting-data-key", ", re-encryption 100 %")
	b.checkAccessibility("settings-data-key")

	cmd := exec.Command(e.bin, "keys", "rotate-data", "--tenant", "demo", "--data-dir", filepath.Join(dir, "data"))
	cmd.Env = serverEnv()
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "Tenant demo: data key v2 seals every new write from now on.")

	deadline := time.Now().Add(waitTimeout)
	for done := false; !done; {
		require.True(t, time.Now().Before(deadline), "the re-encryption did not reach 100 %")
		b.open("/settings")
		b.waitView("settings")
		b.waitText("#setting-data-key", "Data key v2 since ")
		done = evalJS[bool](b, `document.getElementById('setting-data-key').textContent.endsWith(', re-encryption 100 %')`)
	}
	b.screenshot("settings-data-key-desktop", 1280, 1400)
}
