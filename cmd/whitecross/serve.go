package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"whitecross"
	"whitecross/api"
	"whitecross/audit"
	"whitecross/auth"
	"whitecross/delivery"
	"whitecross/realtime"
	"whitecross/web"
)

const (
	// maxBodyBytes is the request body limit of API.md (413 beyond).
	maxBodyBytes = 1 << 20
	// keyReloadInterval is how soon a running server starts signing with a
	// key rotated by `whitecross keys rotate` or another instance.
	keyReloadInterval = time.Minute
)

// serveHelp documents serve and every setting.
func serveHelp(w io.Writer) {
	fmt.Fprint(w, `Usage: whitecross serve [--demo] [--addr :8080] [--data-dir ./data] [--no-migrate] [flags]

Runs the HTTP API. Without DATABASE_URL it keeps everything in a SQLite file
in the data dir; with it, in PostgreSQL. Pending migrations are applied at
start unless --no-migrate is given. SIGINT or SIGTERM stops it gracefully.

`)
	writeSettingsHelp(w, func(setting) bool { return true })
}

// serve runs the HTTP server until ctx is cancelled (SIGINT, SIGTERM), then
// shuts down gracefully and returns nil.
func (p *program) serve(ctx context.Context, _ string, args []string) error {
	fs, sf := p.newFlagSet("serve", true)
	if err := p.parseFlags(fs, args, serveHelp); err != nil {
		return err
	}
	cfg, err := p.config(sf)
	if err != nil {
		return err
	}
	log := p.logger(cfg)
	// Listen first: the public URL may follow the port, and deliveries'
	// links and Twilio's callbacks are built from it.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	defer ln.Close()
	cert, err := servingCertificate(cfg, log)
	if err != nil {
		return err
	}
	if cfg.publicURLDerived {
		cfg.PublicURL = derivedPublicURL(ln.Addr().(*net.TCPAddr), cert != nil)
	}
	wiring, err := newDeliveryWiring(cfg, log)
	if err != nil {
		return err
	}
	a, err := openAppWith(ctx, cfg, log, wiring)
	if err != nil {
		return err
	}
	defer a.Close()
	// River's UI runs until uiCtx ends, before the database closes. The
	// realtime gateway, started with it too, does not stop with it (its
	// Start detaches from the context): stopGateway below stops it.
	uiCtx, stopUI := context.WithCancel(ctx)
	defer stopUI()
	if err := migrateAtStart(ctx, a); err != nil {
		return err
	}
	// The audit linker stops after the queue and the HTTP server (deferred
	// before them), so it links their last events before the database closes.
	stopLinker := startAuditLinker(ctx, a)
	defer stopLinker()
	stopCheckpoints := startAuditCheckpoints(ctx, a)
	defer stopCheckpoints()
	if err := a.queue.Start(ctx); err != nil {
		return err
	}
	// The queue stops before the database closes (deferred above): on
	// shutdown after the HTTP server, or on any early return.
	stopQueue := sync.OnceFunc(func() { stopQueueWorkers(ctx, a) })
	defer stopQueue()
	var logins []demoLogin
	if cfg.Demo {
		if logins, err = seedDemo(ctx, a.store); err != nil {
			return fmt.Errorf("seed demo data: %w", err)
		}
	}
	handler, keys, gw, err := buildHandler(uiCtx, a, wiring, ln.Addr().String())
	if err != nil {
		return err
	}
	// The gateway stops after the queue, so the queue's last commits still
	// reach the broker, and before the database closes: on shutdown after
	// the HTTP server, or on any early return. Its WebSockets are hijacked,
	// so http.Server.Shutdown does not wait for them; clients reconnect to
	// another instance and resume.
	stopGateway := sync.OnceFunc(func() {
		stopQueue()
		gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		if err := gw.Shutdown(gctx); err != nil {
			log.Warn("realtime connections still open at the shutdown timeout were cut off", "error", err.Error())
		}
	})
	defer stopGateway()
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("listening", "addr", ln.Addr().String(), "tls", cert != nil, "public_url", cfg.PublicURL,
		"database", string(a.db.Dialect), "demo", cfg.Demo, "version", whitecross.Version)
	if cfg.Demo {
		// Start-up has logged all it logs: the banner comes last, before
		// the first request's log line (connections wait in the listen
		// backlog meanwhile), so the logins are not mixed with the logs.
		writeDemoBanner(p.stdout, cfg.PublicURL, logins)
	}
	served := make(chan error, 1)
	if cert != nil {
		srv.TLSConfig = cert.config()
		cert.reloadOnHangup(ctx)
		go func() { served <- srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { served <- srv.Serve(ln) }()
	}

	var wg sync.WaitGroup
	reloadCtx, stopReload := context.WithCancel(ctx)
	wg.Go(func() { reloadKeys(reloadCtx, keys, log) })
	wg.Go(func() { pruneEvents(reloadCtx, a, log) })
	defer func() { stopReload(); wg.Wait() }()

	select {
	case err := <-served:
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("requests still running at the shutdown timeout were cut off", "error", err.Error())
		srv.Close()
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve http: %w", err)
	}
	stopGateway()
	log.Info("stopped")
	return nil
}

// migrateAtStart applies pending migrations, or with --no-migrate refuses
// to start on a schema that is behind.
func migrateAtStart(ctx context.Context, a *app) error {
	if a.cfg.NoMigrate {
		return a.requireSchema(ctx)
	}
	n, err := a.db.Migrate(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		a.log.Info("applied migrations", "count", n, "database", string(a.db.Dialect))
	}
	return nil
}

// startAuditLinker runs the store's audit linker (the group commit of
// every tenant's audit chain) until the returned function is called, which
// waits for its last round.
func startAuditLinker(ctx context.Context, a *app) (stop func()) {
	linker := a.store.NewAuditLinker(0, 0)
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); linker.Run(lctx) }()
	return func() { cancel(); <-done }
}

// startAuditCheckpoints writes every tenant's signed chain head every
// AuditCheckpointEvery (none when 0) until the returned function is
// called, which writes the last ones (before the linker's final round:
// the next run's checkpoints cover what that links).
func startAuditCheckpoints(ctx context.Context, a *app) (stop func()) {
	if a.cfg.AuditCheckpointEvery <= 0 {
		return func() {}
	}
	cp := &audit.Checkpointer{Store: a.store, Key: a.auditKey, Log: a.log, File: a.cfg.AuditCheckpointFile, Now: a.db.Now,
		Tenants: func(ctx context.Context) ([]string, error) {
			ts, err := a.store.ListTenants(ctx)
			ids := make([]string, len(ts))
			for i, t := range ts {
				ids[i] = t.ID
			}
			return ids, err
		}}
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); cp.Run(cctx, a.cfg.AuditCheckpointEvery) }()
	return func() { cancel(); <-done }
}

// stopQueueWorkers lets running jobs finish within the shutdown timeout;
// past it their contexts are canceled and they resume at the next start.
func stopQueueWorkers(ctx context.Context, a *app) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := a.queue.Stop(sctx); err != nil {
		a.log.Warn("job queue stopped with jobs cut off", "error", err.Error())
	}
}

// derivedPublicURL is the public URL of a server given none: localhost
// when it listens on a loopback or wildcard address (a browser on this
// machine), else the one address it listens on, which is then the only
// one that reaches it; https when it serves TLS itself.
func derivedPublicURL(addr *net.TCPAddr, tls bool) string {
	scheme := "http://"
	if tls {
		scheme = "https://"
	}
	if addr.IP == nil || addr.IP.IsUnspecified() || addr.IP.IsLoopback() {
		return fmt.Sprintf("%slocalhost:%d", scheme, addr.Port)
	}
	return scheme + addr.String()
}

// servingCertificate loads the configured TLS pair; nil when serve speaks
// plain HTTP.
func servingCertificate(cfg *Config, log *slog.Logger) (*certificate, error) {
	if cfg.TLSCertFile == "" {
		return nil, nil
	}
	return loadCertificate(cfg.TLSCertFile, cfg.TLSKeyFile, log)
}

// buildHandler wires the services into the HTTP API, whose pages may also
// be opened at listenAddr (see api.Config.ListenAddr). River's UI runs
// until ctx ends.
func buildHandler(ctx context.Context, a *app, w *deliveryWiring, listenAddr string) (http.Handler, *auth.Keyring, *realtime.Gateway, error) {
	keys, err := a.keyring(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	st, cfg := a.store, a.cfg
	authCfg := auth.DefaultConfig(cfg.PublicURL)
	authCfg.CodeKey = a.codeKey
	authSvc := auth.NewService(authCfg, auth.Deps{
		Tenants: st, Users: st, Credentials: st, Sessions: st, Throttle: st, Audit: st,
		Hasher: a.hasher, Signin: st, OIDC: st, MFA: st, Keys: keys, Now: a.db.Now,
	})
	riverUI, err := newRiverUI(ctx, a.queue, a.log)
	if err != nil {
		return nil, nil, nil, err
	}
	apiCfg := api.Config{PublicURL: cfg.PublicURL, ListenAddr: listenAddr, MaxBodyBytes: maxBodyBytes,
		SendGridWebhookKey: cfg.SendGridWebhookKey, VAPIDPublicKey: w.vapidPublicKey, MetricsToken: cfg.MetricsToken,
		MaxRequests: cfg.MaxRequests, TenantMaxRequests: cfg.TenantMaxRequests, RequestQueueWait: cfg.RequestQueueWait,
		Rate: cfg.rateBudget(), ConnectsPerMinute: cfg.RateConnectsPerMinute, TrustedProxies: cfg.trustedProxies()}
	if cfg.TwilioAccountSID != "" {
		apiCfg.TwilioAuthToken = cfg.TwilioAuthToken
	}
	limiter, err := sharedRateLimiter(ctx, cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	// The gateway authenticates upgrades with the API's own rules; srv is
	// set before the server listens.
	var srv *api.Server
	gw, err := startGateway(ctx, a, w, func(r *http.Request) (*whitecross.Actor, time.Time, error) { return srv.AuthenticateUpgrade(r) })
	if err != nil {
		return nil, nil, nil, err
	}
	srv = api.New(apiCfg, api.Deps{
		Auth: authSvc, SSO: authSvc, Tenants: st, Users: st, Locations: st, Students: st, Groups: st, Messages: st, Audiences: st, Reports: st, Acks: st,
		Push: st, Callbacks: &delivery.Callbacks{Store: st}, Now: a.db.Now,
		DeadLetters: st, Audit: st, LegalHolds: st, TenantSettings: st, DataKeys: st, Roster: st,
		Metrics: w.metricsHandler(), RiverUI: riverUI, Outbox: w.outboxReader(),
		JWKS:        keys.JWKS,
		Ready:       map[string]whitecross.Pinger{"database": a.db, "queue": a.queue},
		Realtime:    gw,
		RateLimiter: limiter,
		App:         web.Handler(),
		Logger:      a.log,
	})
	return srv, keys, gw, nil
}

// every runs do every interval until ctx ends.
func every(ctx context.Context, interval time.Duration, do func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			do()
		}
	}
}

// reloadKeys rereads the signing keys every keyReloadInterval so a rotation
// done elsewhere takes over signing here too.
func reloadKeys(ctx context.Context, keys *auth.Keyring, log *slog.Logger) {
	every(ctx, keyReloadInterval, func() {
		if err := keys.Reload(ctx); err != nil && ctx.Err() == nil {
			log.Warn("reload signing keys", "error", err.Error())
		}
	})
}

// startGateway starts the realtime gateway on the configured broker and
// lets the store tell it of every durable event it commits, besides the
// delivery metrics (w.notifier).
func startGateway(ctx context.Context, a *app, w *deliveryWiring, authenticate realtime.Authenticator) (*realtime.Gateway, error) {
	broker, err := realtime.OpenBroker(ctx, a.cfg.Broker, a.cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("realtime broker %q: %w", redactBroker(a.cfg.Broker), err)
	}
	gw := realtime.New(realtime.Config{Store: a.store, Authenticate: authenticate, Broker: broker, Now: a.db.Now, Logger: a.log,
		FramesPerSecond: a.cfg.RateFramesPerSecond, FrameBurst: a.cfg.RateFrameBurst,
		AuditReads: a.store.AuditLiveReads})
	gw.Start(ctx)
	a.store.SetEventNotifier(w.notifier(gw))
	return gw, nil
}

// redactBroker hides a password in a redis:// broker URL.
func redactBroker(spec string) string {
	if u, err := url.Parse(spec); err == nil && u.User != nil {
		return u.Redacted()
	}
	return spec
}

// eventPruneInterval is how often the realtime event log drops events
// older than store.EventsKeptFor.
const eventPruneInterval = time.Hour

// pruneEvents trims the realtime event log every eventPruneInterval (every
// instance does; the deletes are bounded and idempotent).
func pruneEvents(ctx context.Context, a *app, log *slog.Logger) {
	every(ctx, eventPruneInterval, func() {
		if n, err := a.store.PruneEvents(ctx); err != nil && ctx.Err() == nil {
			log.Warn("prune realtime events", "error", err.Error())
		} else if n > 0 {
			log.Info("pruned realtime events", "count", n)
		}
	})
}
