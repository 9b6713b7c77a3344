// Package oidctest is a small, real OpenID Connect provider for tests:
// discovery, a JSON Web Key Set, an authorization endpoint that signs in
// whoever the test says (no login page) and a token endpoint that checks
// the client, the code and its PKCE verifier and issues an RS256 ID token.
// A test can make the next sign-in misbehave (wrong nonce or audience,
// unverified email) to see that the relying party refuses it.
package oidctest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

// Identity is who the provider signs in next, and how it misbehaves.
type Identity struct {
	Email string
	// EmailVerified is the email_verified claim (nil: true).
	EmailVerified any
	// Nonce, when set, replaces the nonce the client asked for.
	Nonce string
	// Audience, when set, replaces the client ID as aud.
	Audience string
	// Issuer, when set, replaces the provider's URL as iss.
	Issuer string
	// Expired issues a token that expired a minute ago.
	Expired bool
	// Forged signs the token with a key the provider does not publish.
	Forged bool
}

// Provider is a running provider; URL is its issuer.
type Provider struct {
	URL                    string
	ClientID, ClientSecret string

	key *rsa.PrivateKey
	mu  sync.Mutex
	who Identity
	// grants are the codes handed out and not yet spent.
	grants map[string]grant
	// authorizations counts visits to the authorization endpoint,
	// discoveries fetches of the discovery document.
	authorizations, discoveries int
}

type grant struct {
	who                           Identity
	nonce, challenge, redirectURI string
}

// Start runs a provider on 127.0.0.1 until the test ends.
func Start(t testing.TB) *Provider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{ClientID: "whitecross-test", ClientSecret: "s3cret-" + token(), key: key, grants: map[string]grant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// SignInAs makes the provider sign in who at the next authorization.
func (p *Provider) SignInAs(who Identity) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.who = who
}

// Authorizations is how many times a browser was sent to the provider.
func (p *Provider) Authorizations() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.authorizations
}

// Discoveries is how many times the discovery document was fetched.
func (p *Provider) Discoveries() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.discoveries
}

func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	p.discoveries++
	p.mu.Unlock()
	writeJSON(w, map[string]any{
		"issuer": p.URL, "authorization_endpoint": p.URL + "/authorize", "token_endpoint": p.URL + "/token",
		"jwks_uri": p.URL + "/jwks", "response_types_supported": []string{"code"},
		"subject_types_supported": []string{"public"}, "id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported": []string{"S256"},
	})
}

func (p *Provider) jwks(w http.ResponseWriter, _ *http.Request) {
	pub := p.key.PublicKey
	writeJSON(w, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "alg": "RS256", "use": "sig", "kid": "test-key",
		"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

// authorize signs in the identity set by SignInAs at once and sends the
// browser back with a code and the state.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != p.ClientID || q.Get("response_type") != "code" ||
		q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("redirect_uri") == "" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	code := token()
	p.mu.Lock()
	p.authorizations++
	p.grants[code] = grant{who: p.who, nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirectURI: q.Get("redirect_uri")}
	p.mu.Unlock()
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	v := back.Query()
	v.Set("code", code)
	v.Set("state", q.Get("state"))
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// token spends a code for an ID token after checking the client secret,
// the redirect URI and the PKCE verifier.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	p.mu.Lock()
	g, found := p.grants[r.PostForm.Get("code")]
	delete(p.grants, r.PostForm.Get("code"))
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if id != p.ClientID || secret != p.ClientSecret || !found || b64(sum[:]) != g.challenge ||
		r.PostForm.Get("redirect_uri") != g.redirectURI {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
		return
	}
	writeJSON(w, map[string]any{"access_token": token(), "token_type": "Bearer", "expires_in": 300,
		"id_token": p.idToken(g)})
}

// idToken is an RS256 JWT with the grant's claims.
func (p *Provider) idToken(g grant) string {
	now := time.Now()
	claims := map[string]any{"iss": p.URL, "sub": "sub-" + g.who.Email, "aud": p.ClientID,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "nonce": g.nonce,
		"email": g.who.Email, "email_verified": true}
	if g.who.EmailVerified != nil {
		claims["email_verified"] = g.who.EmailVerified
	}
	if g.who.Nonce != "" {
		claims["nonce"] = g.who.Nonce
	}
	if g.who.Audience != "" {
		claims["aud"] = g.who.Audience
	}
	if g.who.Issuer != "" {
		claims["iss"] = g.who.Issuer
	}
	if g.who.Expired {
		claims["iat"], claims["exp"] = now.Add(-time.Hour).Unix(), now.Add(-time.Minute).Unix()
	}
	key := p.key
	if g.who.Forged {
		forger, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		key = forger
	}
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "test-key"})
	body, _ := json.Marshal(claims)
	signing := b64(header) + "." + b64(body)
	digest := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		panic(err)
	}
	return signing + "." + b64(sig)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func token() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return b64(b[:])
}
