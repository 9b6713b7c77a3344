package web

// The end-to-end harness: the real product (whitecross serve --demo, built
// from this tree) driven by real Chromium through chromedp. The server and
// the browser start once, on the first test that needs them; each test
// signs in its users in their own browser contexts (separate cookies and
// storage), and uses subjects of its own, so tests never see each other's
// messages by accident.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

const (
	// chromiumEnv names another Chromium binary than /usr/bin/chromium.
	chromiumEnv = "WHITECROSS_CHROMIUM"
	// screenshotsEnv is where the screenshots go (default build/screenshots
	// at the module root).
	screenshotsEnv = "WHITECROSS_SCREENSHOTS"
	demoPassword   = "whitecross demo day"
	// waitTimeout bounds every wait for something to appear. It is a
	// deadline against hanging, never an assertion about speed.
	waitTimeout = 30 * time.Second
)

// e2e is the running server and browser.
type e2e struct {
	baseURL string          // the server's public URL, from its banner
	browser context.Context // a chromedp context whose browser is running
	root    string          // the module root
	bin     string          // the whitecross binary built from this tree
}

var (
	e2eOnce    sync.Once
	e2eEnv     *e2e
	e2eErr     error
	e2eMissing string // why the browser tests cannot run here
	e2eStop    []func()
)

func TestMain(m *testing.M) {
	code := m.Run()
	for i := len(e2eStop) - 1; i >= 0; i-- {
		e2eStop[i]()
	}
	os.Exit(code)
}

// endToEnd returns the server and browser, starting them on first use.
// Without Chromium the test is skipped locally and FAILS under CI, which
// must run these tests (.ci/run installs chromium).
func endToEnd(t *testing.T) *e2e {
	t.Helper()
	e2eOnce.Do(func() { e2eEnv, e2eMissing, e2eErr = startEndToEnd() })
	if e2eMissing != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s: CI must run the browser tests", e2eMissing)
		}
		t.Skip(e2eMissing + "; install Debian's chromium (apt-get install -y chromium) to run the browser tests")
	}
	require.NoError(t, e2eErr, "start the server and the browser")
	return e2eEnv
}

func chromiumPath() string {
	if p := os.Getenv(chromiumEnv); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	p, _ := exec.LookPath("chromium")
	return p
}

func startEndToEnd() (env *e2e, missing string, err error) {
	chromium := chromiumPath()
	if chromium == "" {
		return nil, "chromium is not installed", nil
	}
	root, err := filepath.Abs("..")
	if err != nil {
		return nil, "", err
	}
	dir, err := os.MkdirTemp("", "whitecross-web-e2e-")
	if err != nil {
		return nil, "", err
	}
	e2eStop = append(e2eStop, func() { os.RemoveAll(dir) })

	bin := filepath.Join(dir, "whitecross")
	build := exec.Command(goTool(), "build", "-o", bin, "./cmd/whitecross")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, "", fmt.Errorf("build whitecross: %w\n%s", err, out)
	}
	baseURL, err := startServer(bin, dir)
	if err != nil {
		return nil, "", err
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.Env("TZ=America/Chicago"),
		chromedp.UserDataDir(filepath.Join(dir, "chromium")),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	e2eStop = append(e2eStop, cancelAlloc, cancelBrowser)
	if err := chromedp.Do(browser); err != nil {
		return nil, "", fmt.Errorf("start chromium: %w", err)
	}
	return &e2e{baseURL: baseURL, browser: browser, root: root, bin: bin}, "", nil
}

func goTool() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

var bannerURL = regexp.MustCompile(`whitecross demo is running at (\S+)`)

// startServer runs `serve --demo` on a free port and returns its URL from
// the banner. The server's log goes to server.log in dir, shown if it dies.
func startServer(bin, dir string) (string, error) {
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return "", err
	}
	cmd := exec.Command(bin, "serve", "--demo", "--addr", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"))
	cmd.Env = serverEnv()
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start whitecross: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(exited)
	}()
	e2eStop = append(e2eStop, func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	found := make(chan string, 1)
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			if m := bannerURL.FindStringSubmatch(scanner.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case url := <-found:
		return url, nil
	case <-exited:
		log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		return "", fmt.Errorf("whitecross serve exited before it was ready:\n%s", log)
	case <-time.After(2 * time.Minute):
		return "", fmt.Errorf("whitecross serve printed no banner within 2 minutes")
	}
}

// serverEnv is the test process's environment without whitecross settings
// (a developer's DATABASE_URL or PUBLIC_URL must not leak into the demo).
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "WHITECROSS_") || strings.HasPrefix(kv, "DATABASE_URL=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// screenshotDir is where screenshots go, created if needed.
func (e *e2e) screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(screenshotsEnv)
	if dir == "" {
		dir = filepath.Join(e.root, "build", "screenshots")
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}
