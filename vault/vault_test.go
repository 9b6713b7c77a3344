package vault_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross/vault"
)

func newVault(t *testing.T) *vault.Vault {
	t.Helper()
	key, err := vault.GenerateMasterKey()
	require.NoError(t, err)
	v, err := vault.New(key)
	require.NoError(t, err)
	return v
}

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	v := newVault(t)
	for _, plain := range [][]byte{{}, []byte("x"), bytes.Repeat([]byte("secret "), 1000)} {
		sealed, err := v.Seal(plain, []byte("signing-key:k1"))
		require.NoError(t, err)
		if len(plain) >= 16 { // a short plaintext can occur in random bytes by chance
			require.False(t, bytes.Contains(sealed, plain), "plaintext visible in sealed value")
		}
		got, err := v.Open(sealed, []byte("signing-key:k1"))
		require.NoError(t, err)
		require.Equal(t, plain, append([]byte{}, got...))
	}
}

func TestSealUsesFreshNonce(t *testing.T) {
	t.Parallel()
	v := newVault(t)
	a, err := v.Seal([]byte("same"), nil)
	require.NoError(t, err)
	b, err := v.Seal([]byte("same"), nil)
	require.NoError(t, err)
	require.NotEqual(t, a, b)
}

func TestOpenRejectsOtherAssociatedData(t *testing.T) {
	t.Parallel()
	v := newVault(t)
	sealed, err := v.Seal([]byte("private key"), []byte("signing-key:k1"))
	require.NoError(t, err)
	for _, ad := range [][]byte{[]byte("signing-key:k2"), nil, []byte("signing-key:k1 ")} {
		_, err := v.Open(sealed, ad)
		require.ErrorIs(t, err, vault.ErrTampered, "ad %q", ad)
	}
}

func TestOpenRejectsEveryTamperedByte(t *testing.T) {
	t.Parallel()
	v := newVault(t)
	sealed, err := v.Seal([]byte("private key"), []byte("ad"))
	require.NoError(t, err)
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x01
		_, err := v.Open(bad, []byte("ad"))
		require.Error(t, err, "flipping byte %d went unnoticed", i)
		require.True(t, errors.Is(err, vault.ErrTampered) || errors.Is(err, vault.ErrWrongKey), "byte %d: %v", i, err)
	}
	_, err = v.Open(sealed[:len(sealed)-1], []byte("ad"))
	require.ErrorIs(t, err, vault.ErrTampered)
	_, err = v.Open(nil, []byte("ad"))
	require.ErrorIs(t, err, vault.ErrTampered)
}

func TestOpenWithOtherMasterKey(t *testing.T) {
	t.Parallel()
	a, b := newVault(t), newVault(t)
	require.NotEqual(t, a.KeyID(), b.KeyID())
	sealed, err := a.Seal([]byte("private key"), []byte("ad"))
	require.NoError(t, err)
	_, err = b.Open(sealed, []byte("ad"))
	require.ErrorIs(t, err, vault.ErrWrongKey)
	require.Contains(t, err.Error(), "sealed with a different master key")
}

func TestSameKeySameKeyID(t *testing.T) {
	t.Parallel()
	key, err := vault.GenerateMasterKey()
	require.NoError(t, err)
	a, err := vault.New(key)
	require.NoError(t, err)
	b, err := vault.New(bytes.Clone(key))
	require.NoError(t, err)
	require.Equal(t, a.KeyID(), b.KeyID())
	sealed, err := a.Seal([]byte("p"), nil)
	require.NoError(t, err)
	got, err := b.Open(sealed, nil)
	require.NoError(t, err)
	require.Equal(t, []byte("p"), got)
}

func TestNewRejectsWrongKeySize(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 16, 31, 33, 64} {
		_, err := vault.New(make([]byte, n))
		require.Error(t, err, "size %d", n)
	}
}
