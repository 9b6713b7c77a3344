package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store"
	"whitecross/store/storetest"
)

// TestOIDCSecretIsSealed: the client secret is stored sealed with the
// district's key (the settings column never holds it), opens for the sign-in
// flow, survives a change without a new secret, and a secret sealed for one
// district does not open as another's.
func TestOIDCSecretIsSealed(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		st, d := newEventStore(t, db)
		other := storetest.SeedDistrictSlug(t, st, "shelbyville")
		ctx := context.Background()
		const secret = "very-secret-client-secret"
		set := func(d *storetest.District, o *whitecross.OIDCSettings) *whitecross.Tenant {
			t.Helper()
			tn, err := st.UpdateTenantSettings(d.As(d.Admin), whitecross.TenantSettings{OIDC: o})
			require.NoError(t, err)
			return tn
		}
		tn := set(d, &whitecross.OIDCSettings{Issuer: "https://idp.example", ClientID: "c", ClientSecret: secret})
		require.Empty(t, tn.Settings.OIDC.ClientSecret)
		require.NotEmpty(t, tn.Settings.OIDC.SealedSecret)

		var raw string
		require.NoError(t, db.Reader().QueryRow(store.AllTenants(ctx), `SELECT settings FROM tenants WHERE id = $1`, d.Tenant.ID).Scan(&raw))
		require.NotContains(t, raw, secret)

		_, o, err := st.TenantOIDC(ctx, "springfield")
		require.NoError(t, err)
		require.Equal(t, secret, o.ClientSecret)

		// A change that names no secret keeps the sealed one (as the API does).
		kept := *tn.Settings.OIDC
		kept.ClientID = "c2"
		set(d, &kept)
		_, o, err = st.TenantOIDC(ctx, "springfield")
		require.NoError(t, err)
		require.Equal(t, "c2", o.ClientID)
		require.Equal(t, secret, o.ClientSecret)

		// Copied to another district, the sealed secret does not open.
		set(other, &whitecross.OIDCSettings{Issuer: "https://idp.example", ClientID: "c", ClientSecret: "theirs"})
		_, err = st.UpdateTenantSettings(other.As(other.Admin), whitecross.TenantSettings{OIDC: &kept})
		require.NoError(t, err)
		_, _, err = st.TenantOIDC(ctx, "shelbyville")
		require.Error(t, err)

		_, _, err = st.TenantOIDC(ctx, "nowhere")
		require.Equal(t, whitecross.ENOTFOUND, whitecross.ErrorCode(err))
		set(d, nil)
		_, _, err = st.TenantOIDC(ctx, "springfield")
		require.Equal(t, whitecross.ENOTFOUND, whitecross.ErrorCode(err), "SSO removed")
	})
}
