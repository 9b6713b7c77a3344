package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"whitecross"
	"whitecross/auth"
	"whitecross/delivery"
	"whitecross/store"
	"whitecross/vault"
)

// app is the opened database and the services every verb builds on it.
type app struct {
	cfg    *Config
	log    *slog.Logger
	db     *store.DB
	store  *store.Store
	queue  *delivery.Queue // the store enqueues dispatches; only serve starts workers
	hasher whitecross.PasswordHasher
	// codeKey keys the hashes of sign-in codes (derived from the master key).
	codeKey []byte
	// masterKeyID names the master key that wraps new keys (safe to print).
	masterKeyID string
	// auditKey signs audit checkpoints (derived from the master key).
	auditKey []byte
}

// config reads and validates the configuration after fs has parsed the
// verb's flags.
func (p *program) config(flags *settingFlags) (*Config, error) {
	cfg := loadConfig(p.getenv, flags)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// logger returns the logger on stderr: JSON lines for a log collector, or
// with --demo, where a person reads them in the terminal beside the
// banner, short text lines with the time of day. Nothing logged carries a
// secret, a name, an email address or a phone number.
func (p *program) logger(cfg *Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Level()}
	if !cfg.Demo {
		return slog.New(slog.NewJSONHandler(p.stderr, opts))
	}
	opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey && a.Value.Kind() == slog.KindTime {
			return slog.String(slog.TimeKey, a.Value.Time().Format(time.TimeOnly))
		}
		return a
	}
	return slog.New(slog.NewTextHandler(p.stderr, opts))
}

// openApp opens the database and builds the store on it, generating the
// master key into the data dir on first use of a SQLite deployment. Its
// queue only inserts jobs: operator verbs run no workers.
func openApp(ctx context.Context, cfg *Config, log *slog.Logger) (*app, error) {
	return openAppWith(ctx, cfg, log, nil)
}

// openAppWith is openApp whose queue's deliver jobs use w's providers and
// metrics (serve); nil leaves every external channel unconfigured.
func openAppWith(ctx context.Context, cfg *Config, log *slog.Logger, w *deliveryWiring) (*app, error) {
	key, err := masterKey(cfg, log)
	if err != nil {
		return nil, err
	}
	sealer, err := masterSealer(cfg, key)
	if err != nil {
		return nil, err
	}
	if cfg.OldMasterKey != "" {
		log.Info("master key rotation: opening keys wrapped under either master key, wrapping new ones under the new one; unset WHITECROSS_OLD_MASTER_KEY after `keys rotate-master`",
			"master_key_id", sealer.KeyID())
	}
	codeKey, err := vault.DeriveKey(key, "sign-in codes")
	if err != nil {
		return nil, err
	}
	auditKey, err := vault.DeriveKey(key, "audit checkpoints")
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, cfg.DSN())
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if cfg.DatabaseURL == "" {
		restrictSQLiteFiles(cfg, log)
	}
	// One bound for every password hash of this process: sign-ins and new
	// passwords alike.
	hasher := auth.NewBoundedHasher(auth.NewArgon2id(), cfg.PasswordHashConcurrency, cfg.PasswordHashWait)
	st := store.New(db, hasher, sealer)
	st.SetPushGuard(cfg.pushGuard())
	qc := cfg.queueConfig()
	qc.Deliver.Store = st
	if w != nil {
		w.configure(&qc.Deliver, cfg, db)
		// Deliveries count from the first job on; startGateway adds realtime.
		st.SetEventNotifier(w.notifier(nil))
	}
	queue, err := delivery.NewQueue(db, st, qc, log)
	if err != nil {
		db.Close()
		return nil, err
	}
	st.SetDispatchQueue(queue)
	st.SetNoticeQueue(queue)
	st.SetRekeyQueue(queue)
	return &app{cfg: cfg, log: log, db: db, store: st, queue: queue, hasher: hasher, codeKey: codeKey, masterKeyID: sealer.KeyID(), auditKey: auditKey}, nil
}

// queueConfig is the job queue's configuration from the settings.
func (c *Config) queueConfig() delivery.QueueConfig {
	return delivery.QueueConfig{
		UrgentWorkers: c.UrgentWorkers, BulkWorkers: c.BulkWorkers,
		UrgentDeliverWorkers: c.UrgentDeliverWorkers, DeliverWorkers: c.DeliverWorkers,
		DispatchTimeout: c.DispatchTimeout, RescueAfter: c.RescueAfter,
		Deliver: delivery.DeliverConfig{Timeout: c.DeliverTimeout, Rates: c.sendRates()},
	}
}

// Close closes the database.
func (a *app) Close() error { return a.db.Close() }

// masterKey returns the configured master key or, on SQLite without one,
// the key in <data-dir>/master.key, generating it (mode 0600) on first use.
func masterKey(cfg *Config, log *slog.Logger) ([]byte, error) {
	if cfg.MasterKey != "" {
		key, err := vault.ParseMasterKey(cfg.MasterKey)
		if err != nil {
			return nil, fmt.Errorf("%s: not a valid master key", cfg.source("MasterKey"))
		}
		return key, nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	path := cfg.MasterKeyPath()
	key, created, err := vault.LoadOrCreateMasterKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("master key file: %w", err)
	}
	if created {
		log.Warn("generated a new master key; back it up with the database, which cannot be read without it, or set WHITECROSS_MASTER_KEY",
			"path", path)
	} else if err := vault.CheckKeyFileMode(path); err != nil {
		log.Warn(err.Error())
	}
	return key, nil
}

// masterSealer is the master key's vault: a ring that also opens what the
// old master key wrapped while WHITECROSS_OLD_MASTER_KEY is set (a master
// key rotation), wrapping everything new under the new key.
func masterSealer(cfg *Config, key []byte) (*vault.Ring, error) {
	current, err := vault.New(key)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	if cfg.OldMasterKey == "" {
		return vault.NewRing(current), nil
	}
	oldKey, err := vault.ParseMasterKey(cfg.OldMasterKey)
	if err != nil {
		return nil, fmt.Errorf("%s: not a valid master key", cfg.source("OldMasterKey"))
	}
	old, err := vault.New(oldKey)
	if err != nil {
		return nil, fmt.Errorf("old master key: %w", err)
	}
	return vault.NewRing(current, old), nil
}

// restrictSQLiteFiles makes the database files readable by the owner only:
// they hold personal data. Failures are logged, not fatal (a read-only
// mount may refuse them).
func restrictSQLiteFiles(cfg *Config, log *slog.Logger) {
	if fi, err := os.Stat(cfg.DataDir); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("the data dir is accessible to other users; chmod 700 it", "path", cfg.DataDir, "mode", fi.Mode().Perm().String())
	}
	base := cfg.SQLitePath()
	for _, path := range []string{base, base + "-wal", base + "-shm"} {
		if err := os.Chmod(path, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			log.Warn("cannot restrict database file permissions", "path", path, "error", err.Error())
		}
	}
}

// requireSchema fails unless every migration is applied, so operator verbs
// never half-work on an old schema.
func (a *app) requireSchema(ctx context.Context) error {
	pending, err := pendingMigrations(ctx, a.db)
	if err != nil {
		return err
	}
	if pending > 0 {
		return fmt.Errorf("the database schema is %d migration(s) behind: run `whitecross migrate up` (serve also applies them)", pending)
	}
	return nil
}

func pendingMigrations(ctx context.Context, db *store.DB) (int, error) {
	st, err := db.MigrationStatuses(ctx)
	if err != nil {
		return 0, fmt.Errorf("read migration status: %w", err)
	}
	n := 0
	for _, s := range st {
		if !s.Applied {
			n++
		}
	}
	return n, nil
}

// keyring returns the keys that sign access tokens: the configured PEM key,
// or the keys stored in the database (a first one is generated if none).
func (a *app) keyring(ctx context.Context) (*auth.Keyring, error) {
	if a.cfg.JWTSigningKey != "" {
		k, err := auth.ParseSigningKeyPEM([]byte(a.cfg.JWTSigningKey))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a.cfg.source("JWTSigningKey"), err)
		}
		k.CreatedAt = time.Now().UTC()
		return auth.NewStaticKeyring(k), nil
	}
	kr, err := auth.LoadKeyring(ctx, a.store, a.db.Now)
	if err != nil {
		return nil, fmt.Errorf("signing keys (is this the master key they were sealed with?): %w", err)
	}
	return kr, nil
}
