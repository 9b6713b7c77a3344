package main

import (
	"bytes"
	"crypto/ecdh"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"whitecross"
	"whitecross/auth"
	"whitecross/delivery"
	"whitecross/netguard"
	"whitecross/provider/sendgrid"
	"whitecross/provider/smtp"
	"whitecross/provider/twilio"
	"whitecross/vault"
)

// Config is the whole configuration of one run of the program. It is filled
// from the settings table: defaults, then the environment (and *_FILE
// secrets), then flags; Validate then reports every problem at once.
type Config struct {
	DatabaseURL          string
	DataDir              string
	Addr                 string
	PublicURL            string
	MasterKey            string
	OldMasterKey         string
	JWTSigningKey        string
	LogLevel             string
	ShutdownTimeout      time.Duration
	SMTPURL              string
	EmailFrom            string
	TwilioBaseURL        string
	TwilioAccountSID     string
	TwilioAuthToken      string
	TwilioFrom           string
	VAPIDPublicKey       string
	VAPIDPrivateKey      string
	VAPIDSubject         string
	PushAllowedHosts     string
	SendGridWebhookKey   string
	MetricsToken         string
	UrgentWorkers        int
	BulkWorkers          int
	UrgentDeliverWorkers int
	DeliverWorkers       int
	DispatchTimeout      time.Duration
	DeliverTimeout       time.Duration
	RescueAfter          time.Duration
	SMSRate              float64
	VoiceRate            float64
	EmailRate            float64
	PushRate             float64
	// PasswordHashConcurrency bounds argon2id runs at once; 0 until
	// deriveDefaults sizes it to the machine.
	PasswordHashConcurrency int
	PasswordHashWait        time.Duration
	MaxRequests             int
	TenantMaxRequests       int
	RequestQueueWait        time.Duration
	RatePerSecond           float64
	RateBurst               int
	RateConnectsPerMinute   int
	RateFramesPerSecond     float64
	RateFrameBurst          int
	TrustedProxies          string
	TLSCertFile             string
	TLSKeyFile              string
	Broker                  string
	AuditCheckpointEvery    time.Duration
	AuditCheckpointFile     string
	Demo                    bool
	NoMigrate               bool

	// sources says where each field's value came from ("default",
	// "WHITECROSS_ADDR", "--addr"), so problems name what to fix.
	sources map[string]string
	// problems are values that could not even be read or parsed.
	problems []string
	// publicURLDerived is true when PublicURL was not set and must follow
	// the port the server actually listens on.
	publicURLDerived bool
}

// loadConfig builds a Config from the settings table: each setting's
// default, replaced by its environment variable (or the file named by
// <VAR>_FILE for secrets), replaced by its flag when the flag was given.
// Unreadable or unparsable values are kept as problems for Validate.
func loadConfig(getenv func(string) string, flags *settingFlags) *Config {
	c := &Config{sources: map[string]string{}}
	for _, s := range settings {
		val, src := s.Default, "default"
		if s.Env != "" {
			if v := getenv(s.Env); v != "" {
				val, src = v, s.Env
			}
			if file := getenv(s.Env + "_FILE"); s.Secret && file != "" {
				if src == s.Env {
					c.problems = append(c.problems, fmt.Sprintf("%s and %s_FILE are both set; set only one", s.Env, s.Env))
				} else if b, err := os.ReadFile(file); err != nil {
					c.problems = append(c.problems, fmt.Sprintf("%s_FILE: cannot read %s: %v", s.Env, file, unwrapPathError(err)))
				} else {
					val, src = strings.TrimSpace(string(b)), s.Env+"_FILE"
				}
			}
		}
		if v, ok := flags.values[s.Field]; ok {
			val, src = v, "--"+s.Flag
		}
		c.sources[s.Field] = src
		if s.Default != "" {
			// A value that does not parse leaves the default, so only the
			// parse problem is reported, not a knock-on one.
			if err := s.assign(c, s.Default); err != nil {
				panic("settings: bad default of " + s.Field)
			}
		}
		if val == "" || val == s.Default {
			continue
		}
		if err := s.assign(c, val); err != nil {
			c.problems = append(c.problems, fmt.Sprintf("%s: %v", src, err))
		}
	}
	c.deriveDefaults()
	return c
}

// deriveDefaults fills the settings whose default depends on others.
func (c *Config) deriveDefaults() {
	if c.Broker == "" {
		c.Broker = "inmem"
		if c.DatabaseURL != "" {
			c.Broker = "postgres"
		}
	}
	if c.sources["PasswordHashConcurrency"] == "default" {
		c.PasswordHashConcurrency = auth.DefaultHashConcurrency()
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.PublicURL == "" {
		c.publicURLDerived = true
		if _, port, err := net.SplitHostPort(c.Addr); err == nil && port != "" && port != "0" {
			c.PublicURL = "http://localhost:" + port
		}
	}
}

// source names where a field's value came from, for problem messages.
func (c *Config) source(field string) string {
	if src := c.sources[field]; src != "" && src != "default" {
		return src
	}
	for _, s := range settings {
		if s.Field == field {
			if s.Env != "" {
				return s.Env
			}
			return "--" + s.Flag
		}
	}
	return field
}

// SQLitePath is the database file used when DATABASE_URL is unset.
func (c *Config) SQLitePath() string { return filepath.Join(c.DataDir, "whitecross.db") }

// MasterKeyPath is where the master key is generated on SQLite.
func (c *Config) MasterKeyPath() string { return filepath.Join(c.DataDir, "master.key") }

// DSN is what store.Open takes: the PostgreSQL URL or the SQLite path.
func (c *Config) DSN() string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return c.SQLitePath()
}

// Level returns the parsed log level (info when LogLevel is invalid;
// Validate reports that).
func (c *Config) Level() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return slog.LevelInfo
	}
	return l
}

// configError lists every configuration problem, one line each.
type configError []string

func (e configError) Error() string { return "invalid configuration: " + strings.Join(e, "; ") }

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// Validate reports every problem of c at once as a configError, or nil.
// Messages name the variable or flag to fix and never echo a secret.
func (c *Config) Validate() error {
	p := append([]string(nil), c.problems...)
	add := func(field, format string, args ...any) {
		p = append(p, c.source(field)+": "+fmt.Sprintf(format, args...))
	}
	if c.DatabaseURL != "" {
		if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			add("DatabaseURL", "must be a postgres:// or postgresql:// URL with a host (leave it unset to use SQLite in the data dir)")
		}
	}
	if strings.TrimSpace(c.DataDir) == "" {
		add("DataDir", "must not be empty")
	}
	if host, port, err := net.SplitHostPort(c.Addr); err != nil {
		add("Addr", "must be host:port or :port, got %q", c.Addr)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		add("Addr", "port must be a number 0-65535, got %q", port)
	} else if host != "" && net.ParseIP(host) == nil && strings.ContainsAny(host, "/:@ ") {
		add("Addr", "bad host %q", host)
	}
	if c.PublicURL != "" && !c.publicURLDerived {
		if !absoluteHTTP(c.PublicURL) {
			add("PublicURL", "must be an absolute http:// or https:// URL, got %q", c.PublicURL)
		}
	}
	switch {
	case c.MasterKey != "":
		if _, err := vault.ParseMasterKey(c.MasterKey); err != nil {
			// vault's messages never contain the key.
			add("MasterKey", "%v; generate one with: openssl rand -base64 32", err)
		}
	case c.DatabaseURL != "":
		add("MasterKey", "required with DATABASE_URL, so that every instance shares it; generate one with: openssl rand -base64 32")
	}
	if c.OldMasterKey != "" {
		switch _, err := vault.ParseMasterKey(c.OldMasterKey); {
		case err != nil:
			add("OldMasterKey", "%v", err)
		case c.MasterKey == "":
			add("OldMasterKey", "set the new key in %s too: the old key only opens what it wrapped", c.source("MasterKey"))
		case strings.TrimSpace(c.OldMasterKey) == strings.TrimSpace(c.MasterKey):
			add("OldMasterKey", "is the same key as %s", c.source("MasterKey"))
		}
	}
	if c.JWTSigningKey != "" {
		if _, err := auth.ParseSigningKeyPEM([]byte(c.JWTSigningKey)); err != nil {
			add("JWTSigningKey", "not an Ed25519 private key in PKCS#8 PEM (openssl genpkey -algorithm ed25519)")
		}
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		add("LogLevel", "must be debug, info, warn or error, got %q", c.LogLevel)
	}
	if c.ShutdownTimeout <= 0 {
		add("ShutdownTimeout", "must be positive, got %s", c.ShutdownTimeout)
	}
	c.validateProviders(add)
	c.validatePushAndMetrics(add)
	c.validateQueue(add)
	c.validateRates(add)
	c.validateHashing(add)
	c.validateLoadShedding(add)
	c.validateRateLimits(add)
	c.validateTLS(add)
	if len(p) == 0 {
		return nil
	}
	return configError(p)
}

// validateProviders checks the email, SMS and broker settings that later
// features use, so a typo fails at start rather than at the first message.
func (c *Config) validateProviders(add func(field, format string, args ...any)) {
	if c.SMTPURL != "" {
		// The sender's own parser, so that what it would refuse at wiring
		// is reported here; its messages never echo the URL (a password).
		if _, err := smtp.ParseURL(c.SMTPURL); err != nil {
			add("SMTPURL", "%s; the form is smtp://[user:pass@]host[:port] or smtps://[user:pass@]host[:port]",
				strings.TrimPrefix(whitecross.ErrorMessage(err), "WHITECROSS_SMTP_URL "))
		}
		if c.EmailFrom == "" {
			add("EmailFrom", "required with WHITECROSS_SMTP_URL")
		}
	}
	if c.EmailFrom != "" {
		if _, err := mail.ParseAddress(c.EmailFrom); err != nil {
			add("EmailFrom", "not an email address (\"Name <user@example.org>\" or user@example.org)")
		}
	}
	if !absoluteHTTP(c.TwilioBaseURL) {
		add("TwilioBaseURL", "must be an absolute http:// or https:// URL, got %q", c.TwilioBaseURL)
	}
	if c.TwilioAccountSID != "" || c.TwilioAuthToken != "" || c.TwilioFrom != "" {
		for _, f := range []struct{ field, val string }{{"TwilioAccountSID", c.TwilioAccountSID}, {"TwilioAuthToken", c.TwilioAuthToken}, {"TwilioFrom", c.TwilioFrom}} {
			if f.val == "" {
				add(f.field, "required when any WHITECROSS_TWILIO_ setting is set (account SID, auth token and sender go together)")
			}
		}
	}
	if c.TwilioAccountSID != "" && !twilio.IsAccountSID(c.TwilioAccountSID) {
		add("TwilioAccountSID", "must be AC followed by 32 hex digits (Twilio console, Account Info)")
	}
	if c.TwilioFrom != "" && !e164.MatchString(c.TwilioFrom) && !twilio.IsMessagingServiceSID(c.TwilioFrom) {
		add("TwilioFrom", "must be an E.164 number like +15551234567 or a messaging service SID (MG followed by 32 hex digits), got %q", c.TwilioFrom)
	}
	switch {
	case c.Broker == "inmem":
	case c.Broker == "postgres":
		if c.DatabaseURL == "" {
			add("Broker", "postgres needs DATABASE_URL (on SQLite use inmem)")
		}
	case strings.HasPrefix(c.Broker, "redis://") || strings.HasPrefix(c.Broker, "rediss://"):
		if u, err := url.Parse(c.Broker); err != nil || u.Hostname() == "" {
			add("Broker", "not a valid redis:// URL (redis://[:password@]host:6379/0)")
		}
	default:
		add("Broker", "must be inmem, postgres or a redis:// URL")
	}
}

// validatePushAndMetrics checks the Web Push key pair and contact, the
// SendGrid verification key and the metrics token.
func (c *Config) validatePushAndMetrics(add func(field, format string, args ...any)) {
	switch {
	case c.VAPIDPublicKey != "" && c.VAPIDPrivateKey == "":
		add("VAPIDPrivateKey", "required with WHITECROSS_VAPID_PUBLIC_KEY (the key pair goes together)")
	case c.VAPIDPublicKey == "" && c.VAPIDPrivateKey != "":
		add("VAPIDPublicKey", "required with WHITECROSS_VAPID_PRIVATE_KEY (the key pair goes together)")
	case c.VAPIDPublicKey != "":
		if err := checkVAPIDPair(c.VAPIDPublicKey, c.VAPIDPrivateKey); err != nil {
			add("VAPIDPrivateKey", "%v", err)
		}
	}
	if c.VAPIDSubject != "" {
		addr, isMail := strings.CutPrefix(c.VAPIDSubject, "mailto:")
		if isMail {
			if _, err := mail.ParseAddress(addr); err != nil {
				add("VAPIDSubject", "mailto: must be followed by an email address, like mailto:ops@district.example")
			}
		} else if u, err := url.Parse(c.VAPIDSubject); err != nil || u.Scheme != "https" || u.Host == "" {
			add("VAPIDSubject", "must be mailto:<address> or an https:// URL, got %q", c.VAPIDSubject)
		}
	}
	for _, h := range c.pushHosts() {
		if !pushHostPattern.MatchString(h) {
			add("PushAllowedHosts", "must be host names separated by commas, like fcm.googleapis.com,push.services.mozilla.com (no scheme, port or path), got %q", h)
		}
	}
	if c.SendGridWebhookKey != "" {
		if _, err := sendgrid.ParsePublicKey(c.SendGridWebhookKey); err != nil {
			add("SendGridWebhookKey", "not a SendGrid verification key (the base64 public key SendGrid's console shows, or PEM)")
		}
	}
	if c.MetricsToken != "" && (len(c.MetricsToken) < 16 || strings.ContainsFunc(c.MetricsToken, unicode.IsSpace)) {
		add("MetricsToken", "must be at least 16 characters without spaces (openssl rand -hex 32)")
	}
}

// pushHostPattern is a DNS name of at least two labels: an entry of
// WHITECROSS_PUSH_ALLOWED_HOSTS.
var pushHostPattern = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)

// pushHosts is WHITECROSS_PUSH_ALLOWED_HOSTS as a list: lower case, without
// blanks and trailing dots; empty when any public push service may be used.
func (c *Config) pushHosts() []string {
	var hosts []string
	for _, h := range strings.Split(c.PushAllowedHosts, ",") {
		if h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), "."); h != "" {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// pushGuard is the policy for Web Push endpoints, both when a browser
// registers one and when the sender connects: public addresses only, and
// the operator's allow-list of push service hosts when set.
func (c *Config) pushGuard() netguard.Guard {
	return netguard.Guard{Hosts: c.pushHosts()}
}

// checkVAPIDPair checks a VAPID key pair in base64url: a P-256 private key
// and the public key that belongs to it. Its errors never contain a key.
func checkVAPIDPair(public, private string) error {
	decode := func(s string) ([]byte, error) {
		return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	}
	priv, err := decode(private)
	if err != nil {
		return errors.New("the VAPID private key is not base64url")
	}
	key, err := ecdh.P256().NewPrivateKey(priv)
	if err != nil {
		return errors.New("the VAPID private key is not a P-256 key (32 bytes, base64url)")
	}
	pub, err := decode(public)
	if err != nil || !bytes.Equal(pub, key.PublicKey().Bytes()) {
		return errors.New("WHITECROSS_VAPID_PUBLIC_KEY is not the public key of this private key")
	}
	return nil
}

// maxWorkers bounds the workers of one lane: more only queue for database
// connections.
const maxWorkers = 1000

// validateQueue checks the job queue's knobs.
func (c *Config) validateQueue(add func(field, format string, args ...any)) {
	for _, f := range []struct {
		field string
		n     int
	}{{"UrgentWorkers", c.UrgentWorkers}, {"BulkWorkers", c.BulkWorkers},
		{"UrgentDeliverWorkers", c.UrgentDeliverWorkers}, {"DeliverWorkers", c.DeliverWorkers}} {
		if f.n < 1 || f.n > maxWorkers {
			add(f.field, "must be 1 to %d, got %d", maxWorkers, f.n)
		}
	}
	timeouts := []struct {
		field string
		d     time.Duration
	}{{"DispatchTimeout", c.DispatchTimeout}, {"DeliverTimeout", c.DeliverTimeout}}
	for _, f := range timeouts {
		if f.d <= 0 {
			add(f.field, "must be positive, got %s", f.d)
		}
	}
	if c.RescueAfter <= 0 {
		add("RescueAfter", "must be positive, got %s", c.RescueAfter)
		return
	}
	if c.DispatchTimeout > 0 && c.RescueAfter <= c.DispatchTimeout {
		add("RescueAfter", "must exceed %s (%s): a job still running would be started twice, got %s",
			c.source("DispatchTimeout"), c.DispatchTimeout, c.RescueAfter)
	}
	// A deliver job records a provider's answer for up to RecordTimeout
	// after its own timeout.
	if longest := c.DeliverTimeout + delivery.RecordTimeout; c.DeliverTimeout > 0 && c.RescueAfter <= longest {
		add("RescueAfter", "must exceed %s plus %s to record the outcome (%s): a job still running would be started twice, got %s",
			c.source("DeliverTimeout"), delivery.RecordTimeout, longest, c.RescueAfter)
	}
}

// Bounds of the password hashing settings: beyond them a burst of sign-ins
// would again take the machine's memory, or a caller would hang.
const (
	maxHashConcurrency = 1024
	maxHashWait        = time.Minute
)

// validateHashing checks the bound on concurrent password hashes.
func (c *Config) validateHashing(add func(field, format string, args ...any)) {
	if c.PasswordHashConcurrency < 1 || c.PasswordHashConcurrency > maxHashConcurrency {
		add("PasswordHashConcurrency", "must be 1 to %d, got %d", maxHashConcurrency, c.PasswordHashConcurrency)
	}
	if c.PasswordHashWait <= 0 || c.PasswordHashWait > maxHashWait {
		add("PasswordHashWait", "must be positive and at most %s, got %s", durationText(maxHashWait), c.PasswordHashWait)
	}
}

// Bounds of the load-shedding settings.
const (
	maxRequestsBound = 65536
	maxRequestWait   = 10 * time.Second
)

// validateLoadShedding checks the bounds on requests served at once.
func (c *Config) validateLoadShedding(add func(field, format string, args ...any)) {
	if c.MaxRequests < 1 || c.MaxRequests > maxRequestsBound {
		add("MaxRequests", "must be 1 to %d, got %d", maxRequestsBound, c.MaxRequests)
	}
	if c.TenantMaxRequests < 1 || c.TenantMaxRequests > c.MaxRequests {
		add("TenantMaxRequests", "must be 1 to %s (%d), got %d", c.source("MaxRequests"), c.MaxRequests, c.TenantMaxRequests)
	}
	if c.RequestQueueWait <= 0 || c.RequestQueueWait > maxRequestWait {
		add("RequestQueueWait", "must be positive and at most %s, got %s", durationText(maxRequestWait), c.RequestQueueWait)
	}
}

// absoluteHTTP reports whether s is an absolute http or https URL with a host.
func absoluteHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// unwrapPathError drops the path that a *fs.PathError repeats.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
