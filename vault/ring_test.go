package vault_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross/vault"
)

// TestRingOpensEitherKeyAndSealsWithTheCurrent: during a master key roll a
// server holding both keys opens values of either and wraps only under the
// new one; a server holding only the old key is told which key it lacks.
func TestRingOpensEitherKeyAndSealsWithTheCurrent(t *testing.T) {
	t.Parallel()
	oldKey, newKey := newVault(t), newVault(t)
	ring := vault.NewRing(newKey, oldKey)
	byOld, err := oldKey.Seal([]byte("old"), []byte("ad"))
	require.NoError(t, err)
	byNew, err := ring.Seal([]byte("new"), []byte("ad"))
	require.NoError(t, err)

	require.Equal(t, newKey.KeyID(), vault.SealedKeyID(byNew))
	require.Equal(t, oldKey.KeyID(), vault.SealedKeyID(byOld))
	require.True(t, ring.Current(byNew))
	require.False(t, ring.Current(byOld))
	for sealed, want := range map[string]string{string(byOld): "old", string(byNew): "new"} {
		got, err := ring.Open([]byte(sealed), []byte("ad"))
		require.NoError(t, err)
		require.Equal(t, want, string(got))
	}
	_, err = ring.Open(byOld, []byte("other"))
	require.ErrorIs(t, err, vault.ErrTampered)

	onlyOld := vault.NewRing(oldKey)
	_, err = onlyOld.Open(byNew, []byte("ad"))
	require.ErrorIs(t, err, vault.ErrWrongKey)
	require.ErrorContains(t, err, newKey.KeyID(), "names the key it lacks")
	require.Empty(t, vault.SealedKeyID([]byte("junk")))
}
