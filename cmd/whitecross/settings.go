package main

import (
	"flag"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	"whitecross/api"
	"whitecross/auth"
	"whitecross/delivery"
	"whitecross/realtime"
)

// flagScope says which verbs accept a setting's flag.
type flagScope int

const (
	everyVerb flagScope = iota // --data-dir, --log-level: every verb opens the database
	serveOnly                  // flags that only change the running server
)

// setting is one row of the settings table, the single source of the
// defaults, the environment variables, the flags, `serve --help` and the
// table in docs/configuration.md.
type setting struct {
	Field   string    // the Config field it fills
	Env     string    // environment variable; "" for a flag-only setting
	Flag    string    // command-line flag without dashes; "" for an environment-only setting
	Scope   flagScope // verbs that accept the flag
	Default string    // the value before environment and flags
	// DefaultText is shown instead of Default when the default is derived.
	DefaultText string
	// Secret settings are also read from the file named by Env+"_FILE" and
	// have no flag, so they never appear in a process listing or a log.
	Secret bool
	Usage  string
}

// settings lists every setting, in the order help and docs show them.
var settings = []setting{
	{Field: "DatabaseURL", Env: "DATABASE_URL", Secret: true,
		DefaultText: "unset: SQLite in the data dir",
		Usage:       "PostgreSQL URL (postgres://user:pass@host:5432/db?sslmode=require). Selects PostgreSQL; unset, the SQLite file <data-dir>/whitecross.db is used. Each instance opens up to 20 connections unless the URL sets pool_max_conns."},
	{Field: "DataDir", Env: "WHITECROSS_DATA_DIR", Flag: "data-dir", Scope: everyVerb, Default: "./data",
		Usage: "Directory for the SQLite database and the generated master key and Web Push keys (created mode 0700)."},
	{Field: "Addr", Env: "WHITECROSS_ADDR", Flag: "addr", Scope: serveOnly, Default: ":8080",
		Usage: "host:port the HTTP server listens on."},
	{Field: "PublicURL", Env: "WHITECROSS_PUBLIC_URL", Flag: "public-url", Scope: serveOnly,
		DefaultText: "http://localhost:<port of --addr> (http://<IP>:<port> when --addr names a non-loopback IP)",
		Usage:       "The server's external absolute http(s) URL, for links, token issuer and Origin checks. A loopback URL also accepts pages opened at the --addr address and its loopback names."},
	{Field: "MasterKey", Env: "WHITECROSS_MASTER_KEY", Secret: true,
		DefaultText: "SQLite: generated into <data-dir>/master.key; PostgreSQL: required",
		Usage:       "32 random bytes, base64 (openssl rand -base64 32). Encrypts secrets at rest; every instance must share it."},
	{Field: "OldMasterKey", Env: "WHITECROSS_OLD_MASTER_KEY", Secret: true,
		DefaultText: "unset",
		Usage:       "The previous master key, only while rotating it (docs/operations.md, Key rotation): data keys wrapped under either key open, new ones are wrapped under WHITECROSS_MASTER_KEY, and `keys rotate-master` re-wraps every one. Unset it once the rotation is done."},
	{Field: "JWTSigningKey", Env: "WHITECROSS_JWT_SIGNING_KEY", Secret: true,
		DefaultText: "unset: keys generated and stored in the database, sealed with the master key",
		Usage:       "Ed25519 private key (PKCS#8 PEM) that signs access tokens. Set it to manage the key yourself; `keys rotate` is then disabled."},
	{Field: "LogLevel", Env: "WHITECROSS_LOG_LEVEL", Flag: "log-level", Scope: everyVerb, Default: "info",
		Usage: "Least severe log level written (debug, info, warn, error). Logs are JSON on stderr (text lines with --demo)."},
	{Field: "ShutdownTimeout", Env: "WHITECROSS_SHUTDOWN_TIMEOUT", Flag: "shutdown-timeout", Scope: serveOnly, Default: "15s",
		Usage: "How long a stopping server waits for requests in flight before closing them (Go duration: 15s, 1m)."},
	{Field: "SMTPURL", Env: "WHITECROSS_SMTP_URL", Secret: true,
		DefaultText: "unset: no email",
		Usage:       "Email relay: smtp://user:pass@host:587 (STARTTLS when offered; ?starttls=required insists) or smtps://host:465 (implicit TLS)."},
	{Field: "EmailFrom", Env: "WHITECROSS_EMAIL_FROM",
		DefaultText: "unset; required with WHITECROSS_SMTP_URL",
		Usage:       "From address of outgoing email, e.g. \"Lincoln Health Office <health@district.example>\"."},
	{Field: "TwilioBaseURL", Env: "WHITECROSS_TWILIO_BASE_URL", Default: "https://api.twilio.com",
		Usage: "Twilio REST API base URL, without a version path (regional endpoints, tests)."},
	{Field: "TwilioAccountSID", Env: "WHITECROSS_TWILIO_ACCOUNT_SID",
		DefaultText: "unset: no SMS or voice",
		Usage:       "Twilio account SID. SMS and voice are used only when the SID, auth token and sender are all set."},
	{Field: "TwilioAuthToken", Env: "WHITECROSS_TWILIO_AUTH_TOKEN", Secret: true,
		DefaultText: "unset",
		Usage:       "Twilio auth token; also checks the signature of Twilio's status callbacks."},
	{Field: "TwilioFrom", Env: "WHITECROSS_TWILIO_FROM",
		DefaultText: "unset",
		Usage:       "Sender of SMS and calls: an E.164 number (+15551234567) or a messaging service SID (MG...)."},
	{Field: "VAPIDPublicKey", Env: "WHITECROSS_VAPID_PUBLIC_KEY",
		DefaultText: "SQLite: generated into <data-dir>/vapid.json; PostgreSQL: unset, no Web Push",
		Usage:       "Web Push (VAPID) public key, base64url. Set it with WHITECROSS_VAPID_PRIVATE_KEY; every instance must share the pair, and browsers' subscriptions are bound to it."},
	{Field: "VAPIDPrivateKey", Env: "WHITECROSS_VAPID_PRIVATE_KEY", Secret: true,
		DefaultText: "as WHITECROSS_VAPID_PUBLIC_KEY",
		Usage:       "Web Push (VAPID) private key, base64url."},
	{Field: "VAPIDSubject", Env: "WHITECROSS_VAPID_SUBJECT",
		DefaultText: "the public URL when it is https, else mailto:webpush@<its host>",
		Usage:       "Contact that push services may use about our pushes: mailto:ops@district.example or an https:// URL."},
	{Field: "PushAllowedHosts", Env: "WHITECROSS_PUSH_ALLOWED_HOSTS",
		DefaultText: "unset: any push service on the public internet",
		Usage: "Push services browsers may register and the server sends to: host names separated by commas, each allowing itself and its subdomains " +
			"(fcm.googleapis.com,push.services.mozilla.com,push.apple.com,notify.windows.com). Other endpoints are refused (422). " +
			"Whatever it says, endpoints must be https on port 443 and resolve to public addresses only, checked again at every connection."},
	{Field: "SendGridWebhookKey", Env: "WHITECROSS_SENDGRID_WEBHOOK_KEY",
		DefaultText: "unset: the SendGrid event webhook answers 404",
		Usage:       "Verification key of SendGrid's signed event webhook (base64, as SendGrid's console shows it, or PEM): bounces and complaints then stop email to the address."},
	{Field: "MetricsToken", Env: "WHITECROSS_METRICS_TOKEN", Secret: true,
		DefaultText: "unset: /metrics is open (keep it off the public network)",
		Usage:       "Bearer token that GET /metrics requires (at least 16 characters, no spaces; openssl rand -hex 32): Authorization: Bearer <token>."},
	{Field: "UrgentWorkers", Env: "WHITECROSS_QUEUE_URGENT_WORKERS", Default: strconv.Itoa(delivery.DefaultUrgentWorkers),
		Usage: "Jobs run at once in the urgent lane (EMERGENCY and URGENT messages), per instance" + workerRange + "."},
	{Field: "BulkWorkers", Env: "WHITECROSS_QUEUE_BULK_WORKERS", Default: strconv.Itoa(delivery.DefaultBulkWorkers),
		Usage: "Jobs run at once in the default lane, per instance" + workerRange + ". On PostgreSQL each holds a database connection while it runs."},
	{Field: "UrgentDeliverWorkers", Env: "WHITECROSS_QUEUE_URGENT_DELIVER_WORKERS", Default: strconv.Itoa(delivery.DefaultUrgentDeliverWorkers),
		Usage: "Sends in flight at once to providers for EMERGENCY and URGENT messages, per instance (lane deliver_urgent)" + workerRange + "."},
	{Field: "DeliverWorkers", Env: "WHITECROSS_QUEUE_DELIVER_WORKERS", Default: strconv.Itoa(delivery.DefaultDeliverWorkers),
		Usage: "Sends in flight at once to providers for other messages, per instance (lane deliver)" + workerRange + ". With a provider answering in 100 ms, 32 send about 200-250 a second; keep both under your SMTP relay's and API's per-client limits."},
	{Field: "DispatchTimeout", Env: "WHITECROSS_DISPATCH_TIMEOUT", Default: durationText(delivery.DefaultDispatchTimeout),
		Usage: "Longest attempt of a dispatch job (expanding a message into deliveries); it continues in a new attempt after that."},
	{Field: "DeliverTimeout", Env: "WHITECROSS_DELIVER_TIMEOUT", Default: durationText(delivery.DefaultDeliverTimeout),
		Usage: "Longest attempt of one delivery (a call to a provider); a slower one is retried."},
	{Field: "RescueAfter", Env: "WHITECROSS_QUEUE_RESCUE_AFTER", Default: durationText(delivery.DefaultRescueAfter),
		Usage: "When a job left running by a crashed instance runs again; must exceed the dispatch timeout, and the deliver timeout plus " + durationText(delivery.RecordTimeout) + " for recording a send. A crash delays its jobs by this much."},
	{Field: "SMSRate", Env: "WHITECROSS_SMS_RATE", Default: rateText(defaultSMSRate),
		Usage: "Most SMS sent per second, per instance" + rateRange + ". 1 is Twilio's rate for one US long-code number; a toll-free number sends 3, a short code 30 or more, a Messaging Service the sum of its numbers: set your account's figure (docs/providers.md, Pacing)."},
	{Field: "VoiceRate", Env: "WHITECROSS_VOICE_RATE", Default: rateText(defaultVoiceRate),
		Usage: "Most calls started per second, per instance" + rateRange + ". 1 is the calls per second (CPS) Twilio grants an account by default; set what your account's Voice settings show."},
	{Field: "EmailRate", Env: "WHITECROSS_EMAIL_RATE", Default: rateText(defaultEmailRate),
		Usage: "Most emails sent per second, per instance" + rateRange + ". 14 is the sending rate Amazon SES long gave accounts leaving its sandbox; set your relay's (SES: the console's maximum send rate)."},
	{Field: "PushRate", Env: "WHITECROSS_PUSH_RATE", Default: rateText(defaultPushRate),
		Usage: "Most push deliveries per second, per instance" + rateRange + ". Push services publish no limit per sender (they throttle one subscription at a time), so unlimited by default."},
	{Field: "PasswordHashConcurrency", Env: "WHITECROSS_PASSWORD_HASH_CONCURRENCY",
		DefaultText: "the number of usable CPUs (GOMAXPROCS)",
		Usage: "Password hashes (argon2id, 19 MiB each: sign-in checks and new passwords) run at once, per instance" + hashRange +
			". More add memory, not speed; a burst of sign-ins beyond it waits, then is answered 503 with Retry-After."},
	{Field: "PasswordHashWait", Env: "WHITECROSS_PASSWORD_HASH_WAIT", Default: durationText(auth.DefaultHashWait),
		Usage: "How long a sign-in or password change waits for a free hashing slot before it is answered 503 with Retry-After (up to " + durationText(maxHashWait) + ")."},
	{Field: "MaxRequests", Env: "WHITECROSS_MAX_REQUESTS", Default: strconv.Itoa(api.DefaultMaxRequests),
		Usage: "API requests served at once, per instance (WebSockets, health checks and pages not counted). One beyond waits up to the request queue wait, while no more than this many wait, then is answered 503 with Retry-After."},
	{Field: "TenantMaxRequests", Env: "WHITECROSS_TENANT_MAX_REQUESTS", Default: strconv.Itoa(api.DefaultTenantMaxRequests),
		Usage: "API requests of one district served at once, per instance (at most the instance's bound), so one district's burst cannot take every slot; beyond it the same wait, then 503 with Retry-After."},
	{Field: "RequestQueueWait", Env: "WHITECROSS_REQUEST_QUEUE_WAIT", Default: durationText(api.DefaultRequestQueueWait),
		Usage: "Longest time a request waits in all for a free slot under the two bounds above before it is answered 503 with Retry-After: 1 (up to " + durationText(maxRequestWait) + ")."},
	{Field: "RatePerSecond", Env: "WHITECROSS_RATE_PER_SECOND", Default: strconv.Itoa(api.DefaultRatePerSecond),
		Usage: "API requests per second each user (or, without a valid token, each client address; IPv6 by /64) may make sustained; beyond the burst they are answered 429 with Retry-After. Shared by all instances with a redis:// broker, per instance otherwise (docs/security.md). Health, metrics, pages and provider webhooks are not limited."},
	{Field: "RateBurst", Env: "WHITECROSS_RATE_BURST", Default: strconv.Itoa(api.DefaultRateBurst),
		Usage: "API requests each user or address may make at once before the per-second rate applies" + rateBurstRange + "."},
	{Field: "RateConnectsPerMinute", Env: "WHITECROSS_RATE_WS_CONNECTS_PER_MINUTE", Default: strconv.Itoa(api.DefaultConnectsPerMinute),
		Usage: "WebSocket connects per minute of each user or address, per instance (also the burst); beyond it 429."},
	{Field: "RateFramesPerSecond", Env: "WHITECROSS_RATE_WS_FRAMES_PER_SECOND", Default: strconv.Itoa(realtime.DefaultFramesPerSecond),
		Usage: "Frames per second one WebSocket may send sustained; beyond the burst the server closes it with 1008."},
	{Field: "RateFrameBurst", Env: "WHITECROSS_RATE_WS_FRAME_BURST", Default: strconv.Itoa(realtime.DefaultFrameBurst),
		Usage: "Frames one WebSocket may send at once before the per-second rate applies" + rateBurstRange + "."},
	{Field: "TrustedProxies", Env: "WHITECROSS_TRUSTED_PROXIES",
		DefaultText: "unset: X-Forwarded-For is ignored",
		Usage:       "Comma-separated CIDRs (or addresses) of your reverse proxies or load balancers. Only when the direct peer is in them is X-Forwarded-For used: the client is its rightmost address that is not a trusted proxy. Used by rate limits, sign-in lockout and audit events."},
	{Field: "TLSCertFile", Env: "WHITECROSS_TLS_CERT_FILE",
		DefaultText: "unset: plain HTTP (put a TLS proxy in front)",
		Usage:       "PEM certificate chain; with WHITECROSS_TLS_KEY_FILE serve speaks HTTPS itself (TLS 1.2 and up) and sends Strict-Transport-Security. SIGHUP rereads both files (docs/operations.md)."},
	{Field: "TLSKeyFile", Env: "WHITECROSS_TLS_KEY_FILE",
		DefaultText: "unset",
		Usage:       "PEM private key of WHITECROSS_TLS_CERT_FILE; both or neither."},
	{Field: "Broker", Env: "WHITECROSS_BROKER",
		DefaultText: "inmem on SQLite, postgres with DATABASE_URL",
		Usage:       "How instances share realtime events: inmem (one instance), postgres (LISTEN/NOTIFY) or redis://[:pass@]host:6379/0 (rediss:// for TLS)."},
	{Field: "AuditCheckpointEvery", Env: "WHITECROSS_AUDIT_CHECKPOINT_EVERY", Default: "10m",
		Usage: "How often each district's audit chain head is written as a signed checkpoint line to the log (and the checkpoint file), for `audit verify --checkpoints`; 0 turns checkpoints off."},
	{Field: "AuditCheckpointFile", Env: "WHITECROSS_AUDIT_CHECKPOINT_FILE",
		DefaultText: "unset: the log only",
		Usage:       "File the checkpoint lines are also appended to (created 0600). Keep it, or ship it, where the database's administrators cannot rewrite it."},
	{Field: "Demo", Flag: "demo", Scope: serveOnly, Default: "false",
		Usage: "Seed demo districts (idempotent), print the URL and demo logins, and capture outgoing email, SMS, calls and push instead of sending them (read them at GET /api/v1/dev/outbox)."},
	{Field: "NoMigrate", Flag: "no-migrate", Scope: serveOnly, Default: "false",
		Usage: "Do not apply pending migrations at start; refuse to start if any are pending (run `whitecross migrate up` first)."},
}

// hashRange is what validateHashing accepts for concurrent hashes.
var hashRange = fmt.Sprintf(": 1 to %d", maxHashConcurrency)

// rateBurstRange is what validateRateLimits accepts for a burst.
var rateBurstRange = fmt.Sprintf(": 1 to %d", maxRateBurst)

// workerRange is what validateQueue accepts for a lane's workers.
var workerRange = fmt.Sprintf(": 1 to %d", maxWorkers)

// durationText writes a default duration the way an operator would:
// "2m", "1m30s", not "2m0s".
func durationText(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// names returns how a setting is spelled on the command line and in the
// environment, e.g. "--addr, WHITECROSS_ADDR".
func (s setting) names() string {
	var n []string
	if s.Flag != "" {
		n = append(n, "--"+s.Flag)
	}
	if s.Env != "" {
		n = append(n, s.Env)
	}
	if s.Secret {
		n = append(n, s.Env+"_FILE")
	}
	return strings.Join(n, ", ")
}

// defaultText is the default as help and docs show it.
func (s setting) defaultText() string {
	if s.DefaultText != "" {
		return s.DefaultText
	}
	return s.Default
}

// assign parses v into the Config field the setting names.
func (s setting) assign(c *Config, v string) error {
	f := reflect.ValueOf(c).Elem().FieldByName(s.Field)
	switch {
	case f.Type() == reflect.TypeFor[time.Duration]():
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("not a duration (use e.g. 15s or 1m): %q", v)
		}
		f.SetInt(int64(d))
	case f.Kind() == reflect.Float64:
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("not a number: %q", v)
		}
		f.SetFloat(n)
	case f.Kind() == reflect.Int:
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("not a whole number: %q", v)
		}
		f.SetInt(int64(n))
	case f.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("not true or false: %q", v)
		}
		f.SetBool(b)
	case f.Kind() == reflect.String:
		f.SetString(v)
	default:
		panic("settings: unsupported field type " + f.Type().String())
	}
	return nil
}

// settingFlags records the settings given as flags, for loadConfig to apply
// over the environment.
type settingFlags struct {
	values map[string]string // Field -> raw value
}

// bindSettings registers on fs the flags of the settings that scope allows
// (every-verb settings always; serve-only ones when serve is true).
func bindSettings(fs *flag.FlagSet, serve bool) *settingFlags {
	sf := &settingFlags{values: map[string]string{}}
	for _, s := range settings {
		if s.Flag == "" || (s.Scope == serveOnly && !serve) {
			continue
		}
		record := func(v string) error { sf.values[s.Field] = v; return nil }
		if s.Default == "false" || s.Default == "true" {
			fs.BoolFunc(s.Flag, s.Usage, record)
		} else {
			fs.Func(s.Flag, s.Usage, record)
		}
	}
	return sf
}

// writeSettingsHelp writes one entry per setting that keep selects: its flag
// and environment names, default and meaning.
func writeSettingsHelp(w io.Writer, keep func(setting) bool) {
	fmt.Fprintln(w, "Settings (defaults < environment < flags: a flag beats its environment variable).")
	fmt.Fprintln(w, "Secrets have no flag; each can also be read from the file named by <VAR>_FILE.")
	for _, s := range settings {
		if !keep(s) {
			continue
		}
		fmt.Fprintf(w, "\n  %s\n", s.names())
		fmt.Fprintf(w, "        %s\n", s.Usage)
		if d := s.defaultText(); d != "" {
			fmt.Fprintf(w, "        default: %s\n", d)
		}
	}
}

// settingsMarkdown renders the settings table of docs/configuration.md.
func settingsMarkdown() string {
	var b strings.Builder
	b.WriteString("| environment | flag | default | meaning |\n|---|---|---|---|\n")
	for _, s := range settings {
		env, flg := "", ""
		if s.Env != "" {
			env = "`" + s.Env + "`"
			if s.Secret {
				env += "<br>`" + s.Env + "_FILE`"
			}
		}
		if s.Flag != "" {
			flg = "`--" + s.Flag + "`"
			if s.Scope == serveOnly {
				flg += " (serve)"
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", env, flg, mdEscape(s.defaultText()), mdEscape(s.Usage))
	}
	return b.String()
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;").Replace(s)
}
