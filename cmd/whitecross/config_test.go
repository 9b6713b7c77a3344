package main

import (
	"bytes"
	"context"
	"flag"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross/auth"
)

var update = flag.Bool("update", false, "rewrite the settings table in docs/configuration.md")

// serveWithBadConfig runs serve with a context that is already cancelled,
// so a configuration that wrongly passes validation cannot start a server.
func serveWithBadConfig(t *testing.T, e testEnv, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	code := runWith(ctx, e.get, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), nil, &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// twilioSID is a well-formed Twilio account SID.
const twilioSID = "AC0123456789abcdef0123456789abcdef"

func TestConfigProblemsAreReportedOneLineEachWithExitCode2(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "nope")
	same := newMasterKey(t)
	tests := []struct {
		name string
		env  testEnv
		args []string
		want []string // one stderr line each, in order
	}{
		{"public URL flag not absolute", nil, []string{"--public-url", "example.org"},
			[]string{"--public-url: must be an absolute http:// or https:// URL"}},
		{"public URL env wrong scheme", testEnv{"WHITECROSS_PUBLIC_URL": "ftp://example.org"}, nil,
			[]string{"WHITECROSS_PUBLIC_URL: must be an absolute http:// or https:// URL"}},
		{"master key not base64", testEnv{"WHITECROSS_MASTER_KEY": "not*base64"}, nil,
			[]string{"WHITECROSS_MASTER_KEY: master key is not valid base64"}},
		{"master key too short", testEnv{"WHITECROSS_MASTER_KEY": "c2hvcnQ="}, nil,
			[]string{"WHITECROSS_MASTER_KEY: master key must be 32 bytes"}},
		{"master key required with DATABASE_URL", testEnv{"DATABASE_URL": "postgres://db.example/whitecross"}, nil,
			[]string{"WHITECROSS_MASTER_KEY: required with DATABASE_URL"}},
		{"database URL not postgres", testEnv{"DATABASE_URL": "mysql://db.example/x", "WHITECROSS_MASTER_KEY": newMasterKey(t)}, nil,
			[]string{"DATABASE_URL: must be a postgres:// or postgresql:// URL"}},
		{"old master key without the new one", testEnv{"WHITECROSS_OLD_MASTER_KEY": newMasterKey(t)}, nil,
			[]string{"WHITECROSS_OLD_MASTER_KEY: set the new key in WHITECROSS_MASTER_KEY too"}},
		{"old master key bad", testEnv{"WHITECROSS_MASTER_KEY": newMasterKey(t), "WHITECROSS_OLD_MASTER_KEY": "c2hvcnQ="}, nil,
			[]string{"WHITECROSS_OLD_MASTER_KEY: master key must be 32 bytes"}},
		{"old master key is the new one", testEnv{"WHITECROSS_MASTER_KEY": same, "WHITECROSS_OLD_MASTER_KEY": same}, nil,
			[]string{"WHITECROSS_OLD_MASTER_KEY: is the same key as WHITECROSS_MASTER_KEY"}},
		{"secret and its file both set", testEnv{"WHITECROSS_MASTER_KEY": newMasterKey(t), "WHITECROSS_MASTER_KEY_FILE": missing}, nil,
			[]string{"WHITECROSS_MASTER_KEY and WHITECROSS_MASTER_KEY_FILE are both set"}},
		{"secret file missing", testEnv{"WHITECROSS_TWILIO_AUTH_TOKEN_FILE": missing, "WHITECROSS_TWILIO_ACCOUNT_SID": twilioSID, "WHITECROSS_TWILIO_FROM": "+15551234567"}, nil,
			[]string{"WHITECROSS_TWILIO_AUTH_TOKEN_FILE: cannot read " + missing + ": no such file or directory",
				"WHITECROSS_TWILIO_AUTH_TOKEN: required when any WHITECROSS_TWILIO_ setting is set"}},
		{"bad signing key", testEnv{"WHITECROSS_JWT_SIGNING_KEY": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}, nil,
			[]string{"WHITECROSS_JWT_SIGNING_KEY: not an Ed25519 private key"}},
		{"bad addr", nil, []string{"--addr", "8080"}, []string{"--addr: must be host:port or :port"}},
		{"bad duration and level", testEnv{"WHITECROSS_SHUTDOWN_TIMEOUT": "soon"}, []string{"--log-level", "loud"},
			[]string{"WHITECROSS_SHUTDOWN_TIMEOUT: not a duration", "--log-level: must be debug, info, warn or error"}},
		{"smtp", testEnv{"WHITECROSS_SMTP_URL": "http://user:s3cret@mail.example"}, nil,
			[]string{"WHITECROSS_SMTP_URL: must start with smtp:// or smtps://", "WHITECROSS_EMAIL_FROM: required with WHITECROSS_SMTP_URL"}},
		{"smtp URL the sender refuses, with the others", testEnv{"WHITECROSS_SMTP_URL": "smtp://user:s3cret@mail.example/relay",
			"WHITECROSS_EMAIL_FROM": "nurse@district.example", "WHITECROSS_SHUTDOWN_TIMEOUT": "soon", "WHITECROSS_BROKER": "kafka"}, nil, []string{
			"WHITECROSS_SHUTDOWN_TIMEOUT: not a duration",
			"WHITECROSS_SMTP_URL: must not have a path",
			"WHITECROSS_BROKER: must be inmem, postgres or a redis:// URL"}},
		{"smtp URL parameter", testEnv{"WHITECROSS_SMTP_URL": "smtp://mail.example?tls=s3cret", "WHITECROSS_EMAIL_FROM": "nurse@district.example"}, nil,
			[]string{"WHITECROSS_SMTP_URL: accepts only the parameter starttls=required"}},
		{"twilio account SID", testEnv{"WHITECROSS_TWILIO_ACCOUNT_SID": "AC1", "WHITECROSS_TWILIO_AUTH_TOKEN": "s3cret", "WHITECROSS_TWILIO_FROM": "+15551234567"}, nil,
			[]string{"WHITECROSS_TWILIO_ACCOUNT_SID: must be AC followed by 32 hex digits"}},
		{"email from", testEnv{"WHITECROSS_EMAIL_FROM": "nobody"}, nil, []string{"WHITECROSS_EMAIL_FROM: not an email address"}},
		{"twilio", testEnv{"WHITECROSS_TWILIO_BASE_URL": "api.twilio.com", "WHITECROSS_TWILIO_FROM": "5551234"}, nil, []string{
			"WHITECROSS_TWILIO_BASE_URL: must be an absolute",
			"WHITECROSS_TWILIO_ACCOUNT_SID: required", "WHITECROSS_TWILIO_AUTH_TOKEN: required",
			"WHITECROSS_TWILIO_FROM: must be an E.164 number"}},
		{"push allowed hosts with a scheme", testEnv{"WHITECROSS_PUSH_ALLOWED_HOSTS": "fcm.googleapis.com, https://push.services.mozilla.com"}, nil,
			[]string{"WHITECROSS_PUSH_ALLOWED_HOSTS: must be host names separated by commas"}},
		{"send rates", testEnv{"WHITECROSS_SMS_RATE": "fast", "WHITECROSS_VOICE_RATE": "-1", "WHITECROSS_EMAIL_RATE": "NaN", "WHITECROSS_PUSH_RATE": "1e9"}, nil, []string{
			`WHITECROSS_SMS_RATE: not a number: "fast"`,
			"WHITECROSS_VOICE_RATE: must be 0 (unlimited) or a number of messages a second up to 100000, got -1",
			"WHITECROSS_EMAIL_RATE: must be 0 (unlimited)",
			"WHITECROSS_PUSH_RATE: must be 0 (unlimited)"}},
		{"broker postgres on sqlite", testEnv{"WHITECROSS_BROKER": "postgres"}, nil, []string{"WHITECROSS_BROKER: postgres needs DATABASE_URL"}},
		{"broker unknown", testEnv{"WHITECROSS_BROKER": "nats://x"}, nil, []string{"WHITECROSS_BROKER: must be inmem, postgres or a redis:// URL"}},
		{"rate limits", testEnv{"WHITECROSS_RATE_PER_SECOND": "0", "WHITECROSS_RATE_BURST": "-5", "WHITECROSS_RATE_WS_FRAMES_PER_SECOND": "NaN",
			"WHITECROSS_RATE_WS_CONNECTS_PER_MINUTE": "lots", "WHITECROSS_TRUSTED_PROXIES": "10.0.0.0/8, proxy.example"}, nil, []string{
			`WHITECROSS_RATE_WS_CONNECTS_PER_MINUTE: not a whole number: "lots"`,
			"WHITECROSS_RATE_PER_SECOND: must be a number above 0 and at most 1000000, got 0",
			"WHITECROSS_RATE_WS_FRAMES_PER_SECOND: must be a number above 0",
			"WHITECROSS_RATE_BURST: must be 1 to 1000000, got -5",
			`WHITECROSS_TRUSTED_PROXIES: "proxy.example" is not an IP address or CIDR`}},
		{"TLS key without certificate", testEnv{"WHITECROSS_TLS_KEY_FILE": missing}, nil,
			[]string{"WHITECROSS_TLS_CERT_FILE: required with WHITECROSS_TLS_KEY_FILE"}},
		{"TLS certificate without key", testEnv{"WHITECROSS_TLS_CERT_FILE": missing}, nil,
			[]string{"WHITECROSS_TLS_KEY_FILE: required with WHITECROSS_TLS_CERT_FILE"}},
		{"TLS files missing", testEnv{"WHITECROSS_TLS_CERT_FILE": missing, "WHITECROSS_TLS_KEY_FILE": missing}, nil,
			[]string{"WHITECROSS_TLS_CERT_FILE: cannot load it with WHITECROSS_TLS_KEY_FILE: open " + missing + ": no such file or directory"}},
		{"many at once", testEnv{"DATABASE_URL": "postgres://db.example/x", "WHITECROSS_PUBLIC_URL": "nope", "WHITECROSS_BROKER": "kafka"}, nil, []string{
			"WHITECROSS_PUBLIC_URL: must be an absolute",
			"WHITECROSS_MASTER_KEY: required with DATABASE_URL",
			"WHITECROSS_BROKER: must be inmem, postgres or a redis:// URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := testEnv{"WHITECROSS_DATA_DIR": t.TempDir()}
			for k, v := range tt.env {
				e[k] = v
			}
			r := serveWithBadConfig(t, e, tt.args...)
			require.Equal(t, exitUsage, r.code, r.stderr)
			got := lines(r.stderr)
			require.Len(t, got, len(tt.want), r.stderr)
			for i, w := range tt.want {
				require.Contains(t, got[i], "whitecross serve: "+w)
			}
			require.NotContains(t, r.stderr, "s3cret", "a secret was echoed")
			// Nothing was written (no master key, no Web Push keys, no
			// database): validation comes before any side effect.
			written, err := os.ReadDir(e["WHITECROSS_DATA_DIR"])
			require.NoError(t, err)
			require.Empty(t, written)
		})
	}
}

func TestConfigPrecedenceIsDefaultsThenEnvironmentThenFlags(t *testing.T) {
	t.Parallel()
	secretFile := filepath.Join(t.TempDir(), "key")
	key := newMasterKey(t)
	require.NoError(t, os.WriteFile(secretFile, []byte(key+"\n"), 0o600))
	load := func(e testEnv, args ...string) *Config {
		t.Helper()
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		sf := bindSettings(fs, true)
		require.NoError(t, fs.Parse(args))
		c := loadConfig(e.get, sf)
		require.NoError(t, c.Validate())
		return c
	}

	c := load(nil)
	require.Equal(t, ":8080", c.Addr)
	require.Equal(t, "./data", c.DataDir)
	require.Equal(t, "http://localhost:8080", c.PublicURL)
	require.Equal(t, 15*time.Second, c.ShutdownTimeout)
	require.Equal(t, "inmem", c.Broker)
	require.Equal(t, "https://api.twilio.com", c.TwilioBaseURL)
	require.False(t, c.Demo)

	e := testEnv{"WHITECROSS_ADDR": ":9090", "WHITECROSS_SHUTDOWN_TIMEOUT": "1m", "WHITECROSS_MASTER_KEY_FILE": secretFile}
	c = load(e)
	require.Equal(t, ":9090", c.Addr)
	require.Equal(t, "http://localhost:9090", c.PublicURL, "the default public URL follows the port")
	require.Equal(t, time.Minute, c.ShutdownTimeout)
	require.Equal(t, key, c.MasterKey, "secret read from its _FILE, trailing newline trimmed")

	c = load(e, "--addr", "127.0.0.1:7070", "--demo", "--public-url", "https://health.example.org/")
	require.Equal(t, "127.0.0.1:7070", c.Addr, "a flag beats the environment")
	require.Equal(t, "https://health.example.org", c.PublicURL)
	require.True(t, c.Demo)

	c = load(testEnv{"DATABASE_URL": "postgres://db.example/x", "WHITECROSS_MASTER_KEY": key})
	require.Equal(t, "postgres", c.Broker, "PostgreSQL deployments share realtime events through it by default")
}

// TestDerivedPublicURLReachesTheServer: with no public URL, the one the
// server prints is an address a browser reaches it at.
func TestDerivedPublicURLReachesTheServer(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		"127.0.0.1:41234":   "http://localhost:41234",
		"[::]:8080":         "http://localhost:8080",
		"[::1]:8080":        "http://localhost:8080",
		"192.168.1.5:8080":  "http://192.168.1.5:8080",
		"[2001:db8::5]:443": "http://[2001:db8::5]:443",
	} {
		tcp, err := net.ResolveTCPAddr("tcp", addr)
		require.NoError(t, err)
		require.Equal(t, want, derivedPublicURL(tcp, false), addr)
	}
}

func TestServeHelpListsEverySetting(t *testing.T) {
	t.Parallel()
	r := cli(t, nil, "", "serve", "--help")
	require.Equal(t, 0, r.code, r.stderr)
	typ := reflect.TypeFor[Config]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		var found *setting
		for _, s := range settings {
			if s.Field == f.Name {
				found = &s
			}
		}
		require.NotNilf(t, found, "Config.%s has no row in the settings table", f.Name)
		require.Containsf(t, r.stdout, "\n  "+found.names()+"\n", "serve --help does not list Config.%s", f.Name)
		if d := found.defaultText(); d != "" {
			require.Contains(t, r.stdout, "default: "+d)
		}
	}
	for _, s := range settings {
		_, ok := typ.FieldByName(s.Field)
		require.Truef(t, ok, "setting %s names no Config field", s.Field)
	}
	for _, v := range []string{"WHITECROSS_MASTER_KEY_FILE", "WHITECROSS_JWT_SIGNING_KEY_FILE", "WHITECROSS_TWILIO_AUTH_TOKEN_FILE", "--no-migrate", "--demo"} {
		require.Contains(t, r.stdout, v)
	}
}

// TestConfigurationDocMatchesSettings keeps docs/configuration.md's table
// generated from the settings table; run with -update to rewrite it.
func TestConfigurationDocMatchesSettings(t *testing.T) {
	t.Parallel()
	const begin, end = "<!-- settings:begin (generated by go test ./cmd/whitecross -run TestConfigurationDoc -update) -->\n", "<!-- settings:end -->"
	path := filepath.Join("..", "..", "docs", "configuration.md")
	doc, err := os.ReadFile(path)
	require.NoError(t, err)
	text := string(doc)
	i, j := strings.Index(text, begin), strings.Index(text, end)
	require.Truef(t, i >= 0 && j > i, "docs/configuration.md lacks the settings markers")
	want := settingsMarkdown()
	if got := text[i+len(begin) : j]; got != want {
		if *update {
			require.NoError(t, os.WriteFile(path, []byte(text[:i+len(begin)]+want+text[j:]), 0o644))
			return
		}
		t.Fatalf("docs/configuration.md settings table is out of date; run: go test ./cmd/whitecross -run TestConfigurationDoc -update")
	}
}

func TestBadArgumentsExit2WithOneLine(t *testing.T) {
	t.Parallel()
	e := testEnv{"WHITECROSS_DATA_DIR": t.TempDir()}
	tests := []struct {
		args []string
		want string
	}{
		{nil, "Usage: whitecross <command>"},
		{[]string{"frobnicate"}, `whitecross: unknown command "frobnicate"; commands: serve, migrate, tenant, user, roster, retention, audit, keys, version`},
		{[]string{"migrate"}, "whitecross migrate: missing sub-command: want one of up, status"},
		{[]string{"migrate", "sideways"}, `whitecross migrate: unknown sub-command "sideways"`},
		{[]string{"migrate", "up", "extra"}, `whitecross migrate up: unexpected argument "extra"`},
		{[]string{"serve", "--bogus"}, "whitecross serve: flag provided but not defined: -bogus"},
		{[]string{"tenant", "create", "--name", "X"}, "whitecross tenant create: missing required flag(s): --slug"},
		{[]string{"user", "create", "--tenant", "demo"}, "whitecross user create: missing required flag(s): --email, --name, --role"},
		{[]string{"user", "create", "--tenant", "demo", "--email", "a@b.example", "--name", "A", "--role", "janitor"}, "whitecross user create: --role must be one of"},
		{[]string{"user", "create", "--tenant", "demo", "--email", "a@b.example", "--name", "A", "--role", "nurse", "--password-stdin"}, "no password on the first line of standard input"},
		{[]string{"audit", "verify"}, "whitecross audit verify: missing required flag(s): --tenant"},
		{[]string{"keys", "rotate", "--addr", ":1"}, "whitecross keys rotate: flag provided but not defined: -addr"},
	}
	for _, tt := range tests {
		r := cli(t, e, "", tt.args...)
		require.Equalf(t, exitUsage, r.code, "%v: %s", tt.args, r.stderr)
		if tt.args == nil {
			require.Contains(t, r.stderr, tt.want)
			continue
		}
		require.Lenf(t, lines(r.stderr), 1, "%v should print one line: %s", tt.args, r.stderr)
		require.Contains(t, r.stderr, tt.want)
	}
	_, err := os.Stat(filepath.Join(e["WHITECROSS_DATA_DIR"], "whitecross.db"))
	require.True(t, os.IsNotExist(err), "a bad command must not create the database")
}

func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	r := cli(t, nil, "", "help")
	require.Equal(t, 0, r.code)
	for _, v := range []string{"serve", "migrate up|status", "tenant create", "user create", "audit verify", "keys rotate", "version"} {
		require.Contains(t, r.stdout, v)
	}
	r = cli(t, nil, "", "version")
	require.Equal(t, 0, r.code)
	require.Regexp(t, `^whitecross \S+ \(go1\.`, r.stdout)
	for _, args := range [][]string{{"tenant", "create", "--help"}, {"user", "create", "-h"}, {"audit", "verify", "--help"}, {"migrate", "--help"}} {
		r = cli(t, nil, "", args...)
		require.Equalf(t, 0, r.code, "%v", args)
		require.Contains(t, r.stdout, "Usage: whitecross "+args[0])
	}
}

// TestPasswordHashSettings: the bound on concurrent password hashes is
// sized to the machine unless set.
func TestPasswordHashSettings(t *testing.T) {
	t.Parallel()
	noFlags := &settingFlags{values: map[string]string{}}
	c := loadConfig(testEnv{}.get, noFlags)
	require.NoError(t, c.Validate())
	require.Equal(t, max(runtime.GOMAXPROCS(0), 1), c.PasswordHashConcurrency)
	require.Equal(t, auth.DefaultHashWait, c.PasswordHashWait)

	c = loadConfig(testEnv{"WHITECROSS_PASSWORD_HASH_CONCURRENCY": "3", "WHITECROSS_PASSWORD_HASH_WAIT": "500ms"}.get, noFlags)
	require.NoError(t, c.Validate())
	require.Equal(t, 3, c.PasswordHashConcurrency)
	require.Equal(t, 500*time.Millisecond, c.PasswordHashWait)
}
