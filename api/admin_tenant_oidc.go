package api

import "whitecross"

// OIDCSettings is a district's single sign-on, as GET /tenant shows it:
// the client secret is write-only, so only whether one is stored shows.
type OIDCSettings struct {
	Issuer          string   `json:"issuer" doc:"The provider's issuer URL, e.g. https://accounts.google.com or https://login.microsoftonline.com/<tenant id>/v2.0"`
	ClientID        string   `json:"client_id"`
	ClientSecretSet bool     `json:"client_secret_set" doc:"Whether a client secret is stored (it is never returned)"`
	AllowedDomains  []string `json:"allowed_domains" nullable:"false" doc:"Email domains that may sign in this way; empty: any the provider vouches for"`
}

// oidcPatch sets the SSO setting. The client secret is write-only: left
// out or empty, the stored one is kept.
type oidcPatch struct {
	Issuer         string   `json:"issuer" maxLength:"2048" doc:"https URL (http only on 127.0.0.1 or localhost); empty removes single sign-on"`
	ClientID       string   `json:"client_id,omitempty" maxLength:"512"`
	ClientSecret   string   `json:"client_secret,omitempty" maxLength:"2048" writeOnly:"true" doc:"Write-only; stored encrypted with the district's key"`
	AllowedDomains []string `json:"allowed_domains,omitempty" maxItems:"50" doc:"Email domains that may sign in, e.g. springfield.k12.example"`
}

// apply returns the setting the patch makes of cur.
func (p *oidcPatch) apply(cur *whitecross.OIDCSettings) *whitecross.OIDCSettings {
	if p.Issuer == "" {
		return nil
	}
	next := &whitecross.OIDCSettings{Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: p.ClientSecret,
		AllowedDomains: p.AllowedDomains}
	if cur != nil && p.ClientSecret == "" {
		next.SecretKeyID, next.SealedSecret = cur.SecretKeyID, cur.SealedSecret
	}
	return next
}

func oidcFrom(o *whitecross.OIDCSettings) *OIDCSettings {
	if o == nil {
		return nil
	}
	return &OIDCSettings{Issuer: o.Issuer, ClientID: o.ClientID, ClientSecretSet: len(o.SealedSecret) > 0,
		AllowedDomains: nonNil(o.AllowedDomains)}
}
