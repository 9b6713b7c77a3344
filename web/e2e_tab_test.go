package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// tab is one person's browser: its own browser context (cookies, storage)
// and tab. When the test ends it checks that the page never broke its
// Content-Security-Policy and threw no uncaught exception.
type tab struct {
	t    *testing.T
	e    *e2e
	ctx  context.Context
	name string
	base string // where open goes: the server's printed URL unless set

	mu       sync.Mutex
	console  []chromedp.ConsoleMessage
	expected []string // console texts a test provokes on purpose
}

func (e *e2e) newTab(t *testing.T, name string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(e.browser, chromedp.WithNewBrowserContext())
	return e.watchTab(t, name, ctx, cancel)
}

// sibling opens another tab of the same person (same browser context:
// cookies and storage shared).
func (b *tab) sibling(t *testing.T, name string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	return b.e.watchTab(t, name, ctx, cancel)
}

func (e *e2e) watchTab(t *testing.T, name string, ctx context.Context, cancel context.CancelFunc) *tab {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)))
	b := &tab{t: t, e: e, ctx: ctx, name: name}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		b.checkConsole()
		cancel()
	})
	return b
}

// checkConsole fails the test on a CSP violation or an uncaught exception.
func (b *tab) checkConsole() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		text := m.String()
		if slices.ContainsFunc(b.expected, func(e string) bool { return strings.Contains(text, e) }) {
			continue
		}
		if m.IsException() || strings.Contains(text, "Content Security Policy") || strings.Contains(text, "TrustedHTML") {
			b.t.Errorf("%s's page: %s (%s:%d)", b.name, text, m.URL, m.Line+1)
		}
	}
}

// do runs actions with a deadline against hanging.
func (b *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	defer cancel()
	require.NoError(b.t, chromedp.Do(ctx, actions...), b.name)
}

// evalJS evaluates a JavaScript expression in the tab.
func evalJS[T any](b *tab, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	require.NoError(b.t, err, "%s: %s", b.name, expr)
	return v
}

// waitFor waits until the JavaScript predicate is true.
func (b *tab) waitFor(what, predicate string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](predicate,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(waitTimeout)))
	require.NoError(b.t, err, "%s waited for %s", b.name, what)
}

// js quotes a Go string as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// hasText is a predicate: some element matching selector contains text.
func hasText(selector, text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll(%s)].some((e) => e.offsetParent !== null && e.textContent.includes(%s))`, js(selector), js(text))
}

func (b *tab) waitText(selector, text string) {
	b.t.Helper()
	b.waitFor(fmt.Sprintf("%q in %s", text, selector), hasText(selector, text))
}

// waitView waits until the app shows view (box, message, compose, outbox,
// signin) and is done loading it.
func (b *tab) waitView(view string) {
	b.t.Helper()
	b.waitFor("the "+view+" view", fmt.Sprintf(`(() => { const m = document.getElementById('main'); return m.dataset.state === 'ready' && m.dataset.view === %s; })()`, js(view)))
}

func (b *tab) open(path string) {
	b.t.Helper()
	base := b.base
	if base == "" {
		base = b.e.baseURL
	}
	b.do(chromedp.Navigate(base + path))
}

// signIn opens path, signs in as email in the demo district and waits for
// the page asked for.
func (b *tab) signIn(path, email string) {
	b.t.Helper()
	b.signInTo(path, "demo", email, demoPassword)
}

// signInTo signs in through the form to any district with any password.
func (b *tab) signInTo(path, tenant, email, password string) {
	b.t.Helper()
	b.open(path)
	b.waitView("signin")
	b.do(
		chromedp.SetValue(chromedp.ID("signin-tenant"), tenant),
		chromedp.SendKeys(chromedp.ID("signin-email"), email),
		chromedp.SendKeys(chromedp.ID("signin-password"), password),
		chromedp.Click(chromedp.CSS(".signin-form button[type=submit]")),
	)
	b.waitFor("signed in", `(() => { const m = document.getElementById('main'); return m.dataset.state === 'ready' && m.dataset.view !== 'signin'; })()`)
}

// click clicks the first element matching a CSS selector.
func (b *tab) click(selector string) {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.CSS(selector), chromedp.NodeVisible))
}

// clickText clicks the first visible element matching selector whose text
// contains text.
func (b *tab) clickText(selector, text string) {
	b.t.Helper()
	b.waitText(selector, text)
	evalJS[chromedp.Void](b, fmt.Sprintf(`[...document.querySelectorAll(%s)].find((e) => e.offsetParent !== null && e.textContent.includes(%s)).click()`, js(selector), js(text)))
}

// setOffline cuts or restores the tab's network, and what navigator.onLine
// says (with its offline and online events).
func (b *tab) setOffline(offline bool) {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: []*network.Conditions{{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1}},
		})
		if err != nil {
			return err
		}
		_, err = cdp.Call(ctx, t, network.OverrideNetworkState, network.OverrideNetworkStateParams{
			Offline: offline, DownloadThroughput: -1, UploadThroughput: -1,
		})
		return err
	}))
}

// screenshot saves a full-page PNG of the tab at the given width and height.
func (b *tab) screenshot(name string, width, height int64) {
	b.t.Helper()
	b.do(chromedp.EmulateViewport(width, height))
	// Let the layout settle at the new width before the capture.
	evalJS[chromedp.Void](b, `new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))`)
	ctx, cancel := context.WithTimeout(b.ctx, waitTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(b.t, err)
	path := filepath.Join(b.e.screenshotDir(b.t), name+".png")
	require.NoError(b.t, os.WriteFile(path, png, 0o644))
	b.t.Logf("screenshot %s", path)
}

// apiClient calls the REST API with a bearer token, to arrange data and to
// check outcomes the way an API client sees them.
type apiClient struct {
	t     *testing.T
	base  string
	token string
	user  struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
}

func (e *e2e) api(t *testing.T, email string) *apiClient {
	t.Helper()
	c := &apiClient{t: t, base: e.baseURL}
	var out struct {
		AccessToken string          `json:"access_token"`
		User        json.RawMessage `json:"user"`
	}
	status := c.call(http.MethodPost, "/api/v1/auth/login", map[string]string{"tenant": "demo", "email": email, "password": demoPassword}, &out)
	require.Equal(t, http.StatusOK, status, "sign in %s", email)
	c.token = out.AccessToken
	require.NoError(t, json.Unmarshal(out.User, &c.user))
	return c
}

// call sends a request and decodes a JSON answer into out (may be nil).
func (c *apiClient) call(method, path string, body, out any, header ...string) int {
	c.t.Helper()
	var reader *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(c.t, err)
		reader = bytes.NewReader(b)
	} else {
		reader = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, c.base+path, reader)
	require.NoError(c.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer res.Body.Close()
	if out != nil && res.StatusCode < 300 {
		require.NoError(c.t, json.NewDecoder(res.Body).Decode(out))
	}
	return res.StatusCode
}

// apiMessage is the part of a Message the tests look at.
type apiMessage struct {
	ID        string  `json:"id"`
	ThreadID  string  `json:"thread_id"`
	Subject   string  `json:"subject"`
	Body      string  `json:"body"`
	ReadAt    *string `json:"read_at"`
	ReadCount *int    `json:"read_count"`
	Status    string  `json:"status"`
	Sender    struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"sender"`
}

// box returns every message of a box, walking all pages.
func (c *apiClient) box(box string) []apiMessage {
	c.t.Helper()
	var all []apiMessage
	cursor := ""
	for {
		var page struct {
			Items      []apiMessage `json:"items"`
			NextCursor *string      `json:"next_cursor"`
		}
		q := url.Values{"box": {box}, "limit": {"100"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		require.Equal(c.t, http.StatusOK, c.call(http.MethodGet, "/api/v1/messages?"+q.Encode(), nil, &page))
		all = append(all, page.Items...)
		if page.NextCursor == nil {
			return all
		}
		cursor = *page.NextCursor
	}
}

// withSubject returns the messages of a box that have the subject.
func (c *apiClient) withSubject(box, subject string) []apiMessage {
	c.t.Helper()
	var found []apiMessage
	for _, m := range c.box(box) {
		if m.Subject == subject {
			found = append(found, m)
		}
	}
	return found
}

// send sends a message as this user and returns it.
func (c *apiClient) send(msg map[string]any) apiMessage {
	c.t.Helper()
	var m apiMessage
	require.Equal(c.t, http.StatusCreated, c.call(http.MethodPost, "/api/v1/messages", msg, &m))
	return m
}

// unique makes a subject no other test (or run) uses.
func unique(prefix string) string {
	return fmt.Sprintf("%s %d", prefix, time.Now().UnixNano()%1_000_000_000)
}
