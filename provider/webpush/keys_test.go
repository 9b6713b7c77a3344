package webpush_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/provider/webpush"
)

func TestGenerateVAPIDKeys(t *testing.T) {
	t.Parallel()
	public, private, err := webpush.GenerateVAPIDKeys()
	require.NoError(t, err)
	pub, err := base64.RawURLEncoding.DecodeString(public)
	require.NoError(t, err)
	require.Len(t, pub, 65)
	require.Equal(t, byte(4), pub[0], "uncompressed point")
	priv, err := base64.RawURLEncoding.DecodeString(private)
	require.NoError(t, err)
	require.Len(t, priv, 32)
	_, err = webpush.New(webpush.Config{PublicKey: public, PrivateKey: private, Subscriber: "mailto:a@b.example"})
	require.NoError(t, err, "generated keys form a pair")
}

func TestLoadOrCreateVAPIDKeys(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data", "keys")
	path := filepath.Join(dir, "vapid.json")

	public, private, err := webpush.LoadOrCreateVAPIDKeys(path)
	require.NoError(t, err)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	di, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), di.Mode().Perm())
	leftovers, err := filepath.Glob(filepath.Join(dir, ".vapid-*"))
	require.NoError(t, err)
	require.Empty(t, leftovers)

	public2, private2, err := webpush.LoadOrCreateVAPIDKeys(path)
	require.NoError(t, err)
	require.Equal(t, public, public2, "reload gives the same keys")
	require.Equal(t, private, private2)
	_, err = webpush.New(webpush.Config{PublicKey: public2, PrivateKey: private2, Subscriber: "mailto:a@b.example"})
	require.NoError(t, err)

	require.NoError(t, os.WriteFile(path, []byte("{not json"), 0o600))
	_, _, err = webpush.LoadOrCreateVAPIDKeys(path)
	require.Equal(t, whitecross.EINVALID, whitecross.ErrorCode(err), "a broken key file is not replaced")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "{not json", string(data))

	otherPublic, _, err := webpush.GenerateVAPIDKeys()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, []byte(`{"public_key":"`+otherPublic+`","private_key":"`+private+`"}`), 0o600))
	_, _, err = webpush.LoadOrCreateVAPIDKeys(path)
	require.Equal(t, whitecross.EINVALID, whitecross.ErrorCode(err))
	require.NotContains(t, whitecross.ErrorMessage(err), private)
}
