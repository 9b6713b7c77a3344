package storetest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
)

func newTestSigningKey(t *testing.T, id string, created time.Time) *whitecross.SigningKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return &whitecross.SigningKey{ID: id, PrivateKey: priv, CreatedAt: created}
}

func exerciseSigningKeys(t *testing.T, open Opener) {
	t.Run("SigningKeysRoundTripAndRetireOnAdd", func(t *testing.T) {
		t.Parallel()
		a := setupAuth(t, open)
		ctx := context.Background()
		keys, err := a.st.SigningKeys(ctx)
		require.NoError(t, err)
		require.Empty(t, keys)

		k1 := newTestSigningKey(t, "kid-one", a.clock.Now())
		require.NoError(t, a.st.AddSigningKey(ctx, k1))
		a.clock.Advance(time.Hour)
		k2 := newTestSigningKey(t, "kid-two", time.Time{}) // CreatedAt defaults to now
		require.NoError(t, a.st.AddSigningKey(ctx, k2))
		require.True(t, k2.CreatedAt.Equal(a.clock.Now()))

		keys, err = a.st.SigningKeys(ctx)
		require.NoError(t, err)
		require.Len(t, keys, 2)
		require.Equal(t, "kid-two", keys[0].ID, "newest first")
		require.Equal(t, k2.PrivateKey, keys[0].PrivateKey)
		require.Nil(t, keys[0].RetiredAt)
		require.Equal(t, "kid-one", keys[1].ID)
		require.Equal(t, k1.PrivateKey, keys[1].PrivateKey)
		require.True(t, keys[1].CreatedAt.Equal(k1.CreatedAt))
		require.NotNil(t, keys[1].RetiredAt, "adding a key retires the current one")
		require.True(t, keys[1].RetiredAt.Equal(a.clock.Now()))

		// A third key retires only the current one; earlier retirements stay.
		a.clock.Advance(time.Hour)
		require.NoError(t, a.st.AddSigningKey(ctx, newTestSigningKey(t, "kid-three", a.clock.Now())))
		keys, err = a.st.SigningKeys(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{"kid-three", "kid-two", "kid-one"}, []string{keys[0].ID, keys[1].ID, keys[2].ID})
		require.Nil(t, keys[0].RetiredAt)
		require.True(t, keys[1].RetiredAt.Equal(a.clock.Now()))
		require.True(t, keys[2].RetiredAt.Equal(a.clock.Now().Add(-time.Hour)))

		// A duplicate id conflicts and retires nothing.
		err = a.st.AddSigningKey(ctx, newTestSigningKey(t, "kid-three", a.clock.Now()))
		require.Equal(t, whitecross.ECONFLICT, whitecross.ErrorCode(err))
		keys, err = a.st.SigningKeys(ctx)
		require.NoError(t, err)
		require.Len(t, keys, 3)
		require.Nil(t, keys[0].RetiredAt)
	})

	t.Run("SigningKeysAreSealedAtRest", func(t *testing.T) {
		t.Parallel()
		a := setupAuth(t, open)
		ctx := context.Background()
		k := newTestSigningKey(t, "kid-one", a.clock.Now())
		require.NoError(t, a.st.AddSigningKey(ctx, k))
		var sealed []byte
		require.NoError(t, a.db.Reader().QueryRow(store.AllTenants(ctx), `SELECT sealed_key FROM signing_keys WHERE id = 'kid-one'`).Scan(&sealed))
		require.False(t, bytes.Contains(sealed, k.PrivateKey.Seed()), "private key stored in the clear")

		// A sealed key moved onto another row does not open there.
		require.NoError(t, a.st.AddSigningKey(ctx, newTestSigningKey(t, "kid-two", a.clock.Now().Add(time.Second))))
		execSQL(t, a.db, `UPDATE signing_keys SET sealed_key = $1 WHERE id = 'kid-two'`, sealed)
		_, err := a.st.SigningKeys(ctx)
		require.ErrorContains(t, err, "cannot open signing key kid-two")
	})

	t.Run("SigningKeysNeedTheRightMasterKey", func(t *testing.T) {
		t.Parallel()
		a := setupAuth(t, open)
		ctx := context.Background()
		require.NoError(t, a.st.AddSigningKey(ctx, newTestSigningKey(t, "kid-one", a.clock.Now())))

		other := store.New(a.db, nil, newTestVault(t))
		_, err := other.SigningKeys(ctx)
		require.ErrorContains(t, err, "cannot open signing key kid-one: wrong master key?")

		none := store.New(a.db, nil, nil)
		_, err = none.SigningKeys(ctx)
		require.Error(t, err)
		require.Error(t, none.AddSigningKey(ctx, newTestSigningKey(t, "kid-two", a.clock.Now())))
	})
}
