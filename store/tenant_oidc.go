package store

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"whitecross"
)

var _ whitecross.OIDCStore = (*Store)(nil)

// Limits of the oidc setting.
const (
	maxOIDCIssuer  = 2048
	maxOIDCClient  = 512
	maxOIDCSecret  = 2048
	maxOIDCDomains = 50
)

// domainPattern is an email domain: dot-separated labels of letters,
// digits and hyphens.
var domainPattern = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)

// oidcSecretAD binds a sealed client secret to its tenant and setting, so
// it opens nowhere else.
func oidcSecretAD(tenantID string) []byte { return []byte(tenantID + "|oidc|client_secret") }

// validOIDC checks the oidc setting and lowers its domains:
//   - issuer: an https URL without query or fragment, or http on
//     127.0.0.1, ::1 or localhost. It is not checked against private
//     address ranges: a district's administrator names their own identity
//     provider, which may be inside the district's network (see
//     docs/security.md);
//   - client_id: 1 to 512 characters;
//   - client_secret: 1 to 2048 characters, required when none is stored;
//   - allowed_domains: at most 50 domains like springfield.k12.example.
func validOIDC(field string, o *whitecross.OIDCSettings) error {
	if o == nil {
		return nil
	}
	if err := validIssuer(field+".issuer", o.Issuer); err != nil {
		return err
	}
	if o.ClientID == "" || len(o.ClientID) > maxOIDCClient {
		return whitecross.FieldErrorf(whitecross.EINVALID, field+".client_id", o.ClientID,
			"The client ID is 1 to %d characters, as your identity provider shows it.", maxOIDCClient)
	}
	if len(o.ClientSecret) > maxOIDCSecret || (o.ClientSecret == "" && len(o.SealedSecret) == 0) {
		return whitecross.FieldErrorf(whitecross.EINVALID, field+".client_secret", nil,
			"The client secret is 1 to %d characters, as your identity provider shows it.", maxOIDCSecret)
	}
	if len(o.AllowedDomains) > maxOIDCDomains {
		return whitecross.FieldErrorf(whitecross.EINVALID, field+".allowed_domains", len(o.AllowedDomains),
			"At most %d domains.", maxOIDCDomains)
	}
	for i, d := range o.AllowedDomains {
		d = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(d), "@")))
		if len(d) > 253 || !domainPattern.MatchString(d) {
			return whitecross.FieldErrorf(whitecross.EINVALID, fmt.Sprintf("%s.allowed_domains[%d]", field, i), o.AllowedDomains[i],
				"An email domain like springfield.k12.example.")
		}
		o.AllowedDomains[i] = d
	}
	return nil
}

// validIssuer checks an issuer URL (see validOIDC).
func validIssuer(field, issuer string) error {
	u, err := url.Parse(issuer)
	ok := err == nil && len(issuer) <= maxOIDCIssuer && u.Host != "" && u.User == nil &&
		u.RawQuery == "" && u.Fragment == "" && !u.ForceQuery
	if ok && u.Scheme != "https" {
		h := u.Hostname()
		ok = u.Scheme == "http" && (h == "127.0.0.1" || h == "::1" || h == "localhost")
	}
	if !ok {
		return whitecross.FieldErrorf(whitecross.EINVALID, field, issuer,
			"The issuer is your identity provider's https URL, like https://accounts.google.com.")
	}
	return nil
}

// sealOIDCSecret seals a new client secret under the tenant's data key
// (inside q, creating the tenant's first key when needed) and clears the
// clear text; a setting without a new secret keeps the sealed one.
func (s *Store) sealOIDCSecret(ctx context.Context, q Querier, tenantID string, o *whitecross.OIDCSettings) error {
	if o == nil || o.ClientSecret == "" {
		return nil
	}
	if s.sealer == nil {
		return errNoContentSealer
	}
	keyID, key, err := s.currentDataKey(ctx, q, tenantID)
	if err != nil {
		return err
	}
	sealed, err := key.Seal([]byte(o.ClientSecret), oidcSecretAD(tenantID))
	if err != nil {
		return fmt.Errorf("seal oidc client secret: %w", err)
	}
	o.SecretKeyID, o.SealedSecret, o.ClientSecret = keyID, sealed, ""
	return nil
}

// TenantOIDC implements whitecross.OIDCStore.
func (s *Store) TenantOIDC(ctx context.Context, slug string) (*whitecross.Tenant, *whitecross.OIDCSettings, error) {
	ctx = AllTenants(ctx) // the district is named by its slug, before anyone signs in
	t, err := s.FindTenantBySlug(ctx, slug)
	if err != nil {
		return nil, nil, err
	}
	if t.Settings.OIDC == nil {
		return nil, nil, whitecross.Errorf(whitecross.ENOTFOUND, "The district has no single sign-on.")
	}
	o := *t.Settings.OIDC
	if s.sealer == nil {
		return nil, nil, errNoContentSealer
	}
	key := s.cachedKey(t.ID, o.SecretKeyID)
	if key == nil {
		var wrapped []byte
		err := s.db.Reader().QueryRow(ctx, `SELECT wrapped_key FROM tenant_keys WHERE id = $1 AND tenant_id = $2`,
			o.SecretKeyID, t.ID).Scan(&wrapped)
		if err != nil {
			return nil, nil, fmt.Errorf("find tenant data key %s: %w", o.SecretKeyID, err)
		}
		if key, err = s.unwrapKey(t.ID, o.SecretKeyID, wrapped); err != nil {
			return nil, nil, err
		}
	}
	secret, err := key.Open(o.SealedSecret, oidcSecretAD(t.ID))
	if err != nil {
		return nil, nil, fmt.Errorf("open oidc client secret: %w", err)
	}
	o.ClientSecret = string(secret)
	return t, &o, nil
}
