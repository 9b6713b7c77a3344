package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// tokensFile is what setup writes and run reads: the bench tenant's
// users, each with a live session's refresh token. Refresh tokens are
// single use, so run writes the file back with their successors.
type tokensFile struct {
	Tenant   string `json:"tenant"`
	TenantID string `json:"tenant_id"`
	// Password is every bench user's password (one shared hash), for
	// measuring what a sign-in costs.
	Password string      `json:"password"`
	Users    []benchUser `json:"users"`
}

// benchUser is one bench user. User 0 is an ADMIN (the sender of the
// fan-out messages); the others are STAFF of one school.
type benchUser struct {
	ID           string `json:"id"`
	Email        string `json:"email"`
	SessionID    string `json:"session_id"`
	RefreshToken string `json:"refresh_token"`
	// AccessToken and Expires are filled by run, not saved.
	AccessToken string    `json:"-"`
	Expires     time.Time `json:"-"`
}

func readTokens(path string) (*tokensFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read tokens (run `wcbench setup` first): %w", err)
	}
	var f tokensFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("read tokens %s: %w", path, err)
	}
	return &f, nil
}

// writeTokens replaces the file atomically, readable by its owner only
// (it holds live refresh tokens).
func writeTokens(path string, f *tokensFile) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".wcbench-tokens-*")
	if err != nil {
		return fmt.Errorf("write tokens: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write tokens: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write tokens: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write tokens: %w", err)
	}
	return nil
}

// tokenPair is the API's answer to a sign-in or a refresh.
type tokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
}

// postJSON posts body to base+path with an optional bearer token and
// decodes a 2xx answer into out (when not nil).
func postJSON(ctx context.Context, hc *http.Client, base, path, bearer string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: HTTP %d: %.300s", path, resp.StatusCode, rb)
	}
	if out != nil {
		if err := json.Unmarshal(rb, out); err != nil {
			return fmt.Errorf("POST %s: %w", path, err)
		}
	}
	return nil
}

// refreshAll exchanges each user's refresh token for an access token
// through POST /api/v1/auth/refresh, conc at a time, and keeps the
// successor refresh token. It returns how many failed (their sessions are
// gone: run setup again) and the first error.
func refreshAll(ctx context.Context, hc *http.Client, base string, users []*benchUser, conc int) (int, error) {
	var failed atomic.Int64
	var first error
	var mu sync.Mutex
	next := make(chan *benchUser)
	var wg sync.WaitGroup
	for range max(1, conc) {
		wg.Go(func() {
			for u := range next {
				var p tokenPair
				err := postJSON(ctx, hc, base, "/api/v1/auth/refresh", "", map[string]string{"refresh_token": u.RefreshToken}, &p)
				if err != nil {
					failed.Add(1)
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					continue
				}
				u.AccessToken, u.RefreshToken = p.AccessToken, p.RefreshToken
				u.Expires = time.Now().Add(time.Duration(p.ExpiresIn) * time.Second)
			}
		})
	}
	for _, u := range users {
		if ctx.Err() != nil {
			break
		}
		next <- u
	}
	close(next)
	wg.Wait()
	return int(failed.Load()), first
}

// signIn signs a user in with the password through POST
// /api/v1/auth/login; each sign-in opens a new session.
func signIn(ctx context.Context, hc *http.Client, base, tenant, email, password string) (*tokenPair, error) {
	var p tokenPair
	err := postJSON(ctx, hc, base, "/api/v1/auth/login", "",
		map[string]string{"tenant": tenant, "email": email, "password": password}, &p)
	if err != nil {
		return nil, err
	}
	return &p, nil
}
