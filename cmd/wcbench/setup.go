package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"whitecross"
	"whitecross/auth"
	"whitecross/store"
)

// The bench tenant. setup refuses to touch a tenant of that slug with
// another name: it must never add users to a real district.
const (
	defaultTenant   = "wcbench"
	benchTenantName = "wcbench load test"
	benchSchoolName = "wcbench school"
)

// benchEmail is the address of bench user i.
func benchEmail(i int) string { return fmt.Sprintf("user%06d@wcbench.example", i) }

// setupConfig is what `wcbench setup` takes.
type setupConfig struct {
	users       int
	tokens      string
	tenant      string
	dsn         string
	concurrency int
}

// setup creates (or completes) the bench tenant with its users directly in
// the database, gives them all one password hash (one argon2 computation,
// not one per user), opens one session per user and writes their refresh
// tokens to the tokens file. Sessions of a previous setup listed in that
// file are revoked first.
func setup(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := parseSetup(args, getenv)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.dsn)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer db.Close()
	return setupBench(ctx, db, cfg, stdout)
}

// setupBench is setup on an open database.
func setupBench(ctx context.Context, db *store.DB, cfg *setupConfig, stdout io.Writer) error {
	st := store.New(db, nil, nil) // no content is sealed and no password hashed per user
	conc := cfg.concurrency
	if db.Dialect == store.SQLite {
		conc = 1 // one writer at a time anyway
	}

	start := time.Now()
	tenant, err := benchTenant(ctx, st, cfg.tenant)
	if err != nil {
		return err
	}
	sys := whitecross.SystemContext(ctx, tenant.ID)
	school, err := benchSchool(sys, st)
	if err != nil {
		return err
	}
	existing, err := benchUsers(ctx, db, tenant.ID)
	if err != nil {
		return err
	}
	users := make([]benchUser, cfg.users)
	for i := range users {
		users[i] = benchUser{Email: benchEmail(i), ID: existing[benchEmail(i)]}
	}
	t := time.Now()
	created, err := forEach(ctx, conc, users, func(u *benchUser, i int) (bool, error) {
		if u.ID != "" {
			return false, nil
		}
		role := whitecross.RoleStaff
		if i == 0 {
			role = whitecross.RoleAdmin
		}
		nu, err := st.CreateUser(sys, &whitecross.UserCreate{Email: u.Email, Name: fmt.Sprintf("Bench User %d", i),
			Role: role, LocationIDs: []string{school}})
		if err != nil {
			return false, fmt.Errorf("create %s: %w", u.Email, err)
		}
		u.ID = nu.ID
		return true, nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "users: %d created, %d existed (%s)\n", created, len(users)-created, time.Since(t).Round(time.Millisecond))

	password, err := setPasswords(ctx, db, tenant.ID)
	if err != nil {
		return err
	}
	if old, err := readTokens(cfg.tokens); err == nil && old.TenantID == tenant.ID {
		revoked, err := forEach(ctx, conc, old.Users, func(u *benchUser, _ int) (bool, error) {
			return u.SessionID != "", st.RevokeSession(ctx, tenant.ID, u.SessionID)
		})
		if err != nil {
			return fmt.Errorf("revoke the previous setup's sessions: %w", err)
		}
		fmt.Fprintf(stdout, "sessions: revoked %d of the previous setup\n", revoked)
	}
	t = time.Now()
	expires := time.Now().Add(30 * 24 * time.Hour)
	if _, err := forEach(ctx, conc, users, func(u *benchUser, _ int) (bool, error) {
		// The server's own token format; CreateSession fills in the session id.
		token, stored, err := auth.NewRefreshToken("", expires)
		if err != nil {
			return false, err
		}
		sess := &whitecross.Session{TenantID: tenant.ID, UserID: u.ID, ClientIP: "127.0.0.1", UserAgent: "wcbench setup"}
		if err := st.CreateSession(ctx, sess, stored); err != nil {
			return false, fmt.Errorf("open session for %s: %w", u.Email, err)
		}
		u.SessionID, u.RefreshToken = sess.ID, token
		return true, nil
	}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sessions: %d opened (%s)\n", len(users), time.Since(t).Round(time.Millisecond))
	f := &tokensFile{Tenant: tenant.Slug, TenantID: tenant.ID, Password: password, Users: users}
	if err := writeTokens(cfg.tokens, f); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d users of tenant %q (%s in all)\n", cfg.tokens, len(users), tenant.Slug,
		time.Since(start).Round(time.Millisecond))
	return nil
}

func parseSetup(args []string, getenv func(string) string) (*setupConfig, error) {
	fs := flag.NewFlagSet("wcbench setup", flag.ContinueOnError)
	cfg := &setupConfig{}
	fs.IntVar(&cfg.users, "users", 1000, "bench users to create (user 0 is an ADMIN, the others STAFF of one school)")
	fs.StringVar(&cfg.tokens, "tokens", "wcbench-tokens.json", "file to write the users' refresh tokens to (mode 0600)")
	fs.StringVar(&cfg.tenant, "tenant", defaultTenant, "slug of the bench tenant")
	fs.IntVar(&cfg.concurrency, "concurrency", 8, "transactions at once on PostgreSQL (SQLite: 1)")
	dataDir := fs.String("data-dir", envOr(getenv, "WHITECROSS_DATA_DIR", "./data"), "the server's data dir (SQLite), as for 'whitecross serve'")
	dbURL := fs.String("database-url", getenv("DATABASE_URL"), "the server's PostgreSQL URL (default $DATABASE_URL; empty: SQLite in --data-dir)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if cfg.users < 2 || cfg.users > 1_000_000 {
		return nil, fmt.Errorf("--users must be between 2 and 1000000")
	}
	cfg.dsn = *dbURL
	if cfg.dsn == "" {
		path := filepath.Join(*dataDir, "whitecross.db")
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no database at %s (start `whitecross serve` once, or set DATABASE_URL): %w", path, err)
		}
		cfg.dsn = path
	}
	return cfg, nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// benchTenant finds or creates the bench tenant.
func benchTenant(ctx context.Context, st *store.Store, slug string) (*whitecross.Tenant, error) {
	t, err := st.FindTenantBySlug(ctx, slug)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		t = &whitecross.Tenant{Slug: slug, Name: benchTenantName}
		if err := st.CreateTenant(ctx, t); err != nil {
			return nil, fmt.Errorf("create tenant %s: %w", slug, err)
		}
		return t, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find tenant %s: %w", slug, err)
	}
	if t.Name != benchTenantName {
		return nil, fmt.Errorf("tenant %q exists and is not a wcbench tenant (its name is not %q): choose another --tenant", slug, benchTenantName)
	}
	return t, nil
}

// benchSchool finds or creates the school every bench user belongs to, so
// each may message every other.
func benchSchool(sys context.Context, st *store.Store) (string, error) {
	locs, err := st.ListLocations(sys)
	if err != nil {
		return "", fmt.Errorf("list locations: %w", err)
	}
	for _, l := range locs {
		if l.Name == benchSchoolName {
			return l.ID, nil
		}
	}
	l := &whitecross.Location{Name: benchSchoolName, Kind: whitecross.LocationSchool}
	if err := st.CreateLocation(sys, l); err != nil {
		return "", fmt.Errorf("create location: %w", err)
	}
	return l.ID, nil
}

// benchUsers returns the bench tenant's users by email.
func benchUsers(ctx context.Context, db *store.DB, tenantID string) (map[string]string, error) {
	rows, err := db.Reader().Query(store.AllTenants(ctx), `SELECT id, email FROM users WHERE tenant_id = $1`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list bench users: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, email string
		if err := rows.Scan(&id, &email); err != nil {
			return nil, fmt.Errorf("list bench users: %w", err)
		}
		out[email] = strings.ToLower(id)
	}
	return out, rows.Err()
}

// setPasswords gives every user of the bench tenant one new random
// password, hashed once, and returns it.
func setPasswords(ctx context.Context, db *store.DB, tenantID string) (string, error) {
	raw := make([]byte, 18)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	password := base64.RawURLEncoding.EncodeToString(raw)
	hash, err := auth.NewArgon2id().HashPassword(ctx, password)
	if err != nil {
		return "", err
	}
	err = db.InTx(store.AllTenants(ctx), func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE users SET password_hash = $1 WHERE tenant_id = $2`, hash, tenantID)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("set bench passwords: %w", err)
	}
	return password, nil
}

// forEach calls fn for every item, conc at a time, and returns how many
// calls reported true; it stops at the first error.
func forEach(ctx context.Context, conc int, items []benchUser, fn func(u *benchUser, i int) (bool, error)) (int, error) {
	var mu sync.Mutex
	var n int
	var first error
	idx := make(chan int)
	var wg sync.WaitGroup
	for range max(1, conc) {
		wg.Go(func() {
			for i := range idx {
				ok, err := fn(&items[i], i)
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				if ok && err == nil {
					n++
				}
				mu.Unlock()
			}
		})
	}
	for i := range items {
		mu.Lock()
		stop := first != nil
		mu.Unlock()
		if stop || ctx.Err() != nil {
			break
		}
		idx <- i
	}
	close(idx)
	wg.Wait()
	return n, errors.Join(first, ctx.Err())
}
