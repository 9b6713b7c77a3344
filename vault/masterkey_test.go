package vault_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross/vault"
)

func TestParseMasterKey(t *testing.T) {
	t.Parallel()
	key, err := vault.GenerateMasterKey()
	require.NoError(t, err)
	enc := vault.EncodeMasterKey(key)

	got, err := vault.ParseMasterKey("  " + enc + "\n")
	require.NoError(t, err)
	require.Equal(t, key, got)

	short := vault.EncodeMasterKey(key[:16])
	for _, bad := range []string{"", "   ", "not base64 at all!!", enc[:len(enc)-1], short, enc + enc} {
		_, err := vault.ParseMasterKey(bad)
		require.Error(t, err, "input %q", bad)
		if strings.TrimSpace(bad) != "" {
			require.NotContains(t, err.Error(), strings.TrimSpace(bad), "error echoes the key")
		}
	}
	_, err = vault.ParseMasterKey(short)
	require.ErrorContains(t, err, "32 bytes, got 16")
}

func TestLoadOrCreateMasterKeyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "data", "master.key")

	key, created, err := vault.LoadOrCreateMasterKeyFile(path)
	require.NoError(t, err)
	require.True(t, created)
	require.Len(t, key, vault.KeySize)

	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	di, err := os.Stat(filepath.Dir(path))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), di.Mode().Perm())
	require.NoError(t, vault.CheckKeyFileMode(path))
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	require.Len(t, entries, 1, "temporary file left behind")

	again, created, err := vault.LoadOrCreateMasterKeyFile(path)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, key, again)

	// A value sealed under the first load opens under the reloaded key.
	v1, err := vault.New(key)
	require.NoError(t, err)
	v2, err := vault.New(again)
	require.NoError(t, err)
	sealed, err := v1.Seal([]byte("secret"), nil)
	require.NoError(t, err)
	plain, err := v2.Open(sealed, nil)
	require.NoError(t, err)
	require.Equal(t, "secret", string(plain))
}

func TestLoadOrCreateMasterKeyFileConcurrentCreatorsAgree(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "master.key")
	const n = 8
	keys := make([][]byte, n)
	creators := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], creators[i], errs[i] = vault.LoadOrCreateMasterKeyFile(path) })
	}
	wg.Wait()
	created := 0
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, keys[0], keys[i])
		if creators[i] {
			created++
		}
	}
	require.Equal(t, 1, created)
}

func TestLoadMasterKeyFileRejectsGarbage(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "master.key")
	require.NoError(t, os.WriteFile(path, []byte("hunter2\n"), 0o600))
	_, _, err := vault.LoadOrCreateMasterKeyFile(path)
	require.ErrorContains(t, err, "not valid base64")
	require.NotContains(t, err.Error(), "hunter2")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "hunter2\n", string(b), "an unparsable key file must never be overwritten")
}

func TestCheckKeyFileModeWarnsWhenOthersCanRead(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "master.key")
	key, err := vault.GenerateMasterKey()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, []byte(vault.EncodeMasterKey(key)), 0o600))
	require.NoError(t, os.Chmod(path, 0o644))
	require.ErrorContains(t, vault.CheckKeyFileMode(path), "chmod 600")
	got, created, err := vault.LoadOrCreateMasterKeyFile(path)
	require.NoError(t, err, "a too-open key file still loads")
	require.False(t, created)
	require.Equal(t, key, got)
}
