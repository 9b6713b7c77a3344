package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// get requests path from the handler with optional headers.
func get(t *testing.T, method, path string, header ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(b)
}

var assetRef = regexp.MustCompile(`/assets/([0-9a-f]{16})/([a-z0-9-]+\.(?:js|css|svg))`)

func TestAppRoutesServeThePage(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"/", "/inbox", "/sent", "/scheduled", "/archived", "/compose", "/outbox", "/deliveries", "/audit",
		"/messages/01a2088f-a368-70b9-8daa-9b4286f9e243", "/students", "/students/01a2088f-a368-70b9-8daa-9b4286f9e243", "/groups", "/groups/01a2088f-a368-70b9-8daa-9b4286f9e243"} {
		res := get(t, http.MethodGet, path)
		require.Equal(t, http.StatusOK, res.StatusCode, path)
		require.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"), path)
		require.Equal(t, "no-cache", res.Header.Get("Cache-Control"), path)
		require.NotEmpty(t, res.Header.Get("ETag"), path)
		csp := res.Header.Get("Content-Security-Policy")
		require.Contains(t, csp, "default-src 'self'", path)
		require.Contains(t, csp, "require-trusted-types-for 'script'", path)
		require.NotContains(t, csp, "unsafe-inline", path)
		require.Contains(t, body(t, res), `<main id="main"`, path)
	}
}

func TestPageReferencesEveryModuleByVersion(t *testing.T) {
	t.Parallel()
	page := body(t, get(t, http.MethodGet, "/"))
	refs := assetRef.FindAllStringSubmatch(page, -1)
	require.NotEmpty(t, refs)
	version := refs[0][1]
	seen := map[string]bool{}
	for _, r := range refs {
		require.Equal(t, version, r[1], "every asset carries the same version")
		seen[r[2]] = true
	}
	// Every module is preloaded, so the browser fetches them in parallel.
	modules, err := fs.Glob(files, "static/assets/*.js")
	require.NoError(t, err)
	for _, m := range modules {
		name := strings.TrimPrefix(m, "static/assets/")
		require.Contains(t, page, `<link rel="modulepreload" href="/assets/`+version+`/`+name+`">`, name)
	}
	require.True(t, seen["app.js"] && seen["app.css"] && seen["icon.svg"])
	require.NotContains(t, page, "{{assets}}")
	require.NotContains(t, page, "<!--modulepreload-->")
}

func TestAssetsAreImmutableAndTyped(t *testing.T) {
	t.Parallel()
	version := assetRef.FindStringSubmatch(body(t, get(t, http.MethodGet, "/")))[1]
	for name, ct := range map[string]string{
		"app.js":   "text/javascript; charset=utf-8",
		"app.css":  "text/css; charset=utf-8",
		"icon.svg": "image/svg+xml",
	} {
		res := get(t, http.MethodGet, "/assets/"+version+"/"+name)
		require.Equal(t, http.StatusOK, res.StatusCode, name)
		require.Equal(t, ct, res.Header.Get("Content-Type"), name)
		require.Equal(t, "public, max-age=31536000, immutable", res.Header.Get("Cache-Control"), name)
		want, err := files.ReadFile("static/assets/" + name)
		require.NoError(t, err)
		require.Equal(t, string(want), body(t, res), name)
	}
	// Another version, or a file that does not exist, is 404: an old page
	// never gets new content under its old name.
	require.Equal(t, http.StatusNotFound, get(t, http.MethodGet, "/assets/0000000000000000/app.js").StatusCode)
	require.Equal(t, http.StatusNotFound, get(t, http.MethodGet, "/assets/"+version+"/nope.js").StatusCode)
	// Dot segments escaped as %2e are not cleaned away by the mux: they reach
	// the asset handler as a file name ("../index.html") that is no asset.
	for _, path := range []string{"/%2e%2e/index.html", "/%2e%2e%2findex.html", "/%2e%2e/sw.js"} {
		require.Equal(t, http.StatusNotFound, get(t, http.MethodGet, "/assets/"+version+path).StatusCode, path)
	}
}

func TestGzipAndConditionalRequests(t *testing.T) {
	t.Parallel()
	version := assetRef.FindStringSubmatch(body(t, get(t, http.MethodGet, "/")))[1]
	path := "/assets/" + version + "/app.js"
	plain := get(t, http.MethodGet, path)
	plainBody := body(t, plain)

	zipped := get(t, http.MethodGet, path, "Accept-Encoding", "br, gzip")
	require.Equal(t, "gzip", zipped.Header.Get("Content-Encoding"))
	require.Equal(t, "Accept-Encoding", zipped.Header.Get("Vary"))
	require.NotEqual(t, plain.Header.Get("ETag"), zipped.Header.Get("ETag"), "each encoding has its own ETag")
	zr, err := gzip.NewReader(bytes.NewReader([]byte(body(t, zipped))))
	require.NoError(t, err)
	unzipped, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.Equal(t, plainBody, string(unzipped))

	require.Empty(t, get(t, http.MethodGet, path, "Accept-Encoding", "gzip;q=0").Header.Get("Content-Encoding"))

	notModified := get(t, http.MethodGet, path, "If-None-Match", plain.Header.Get("ETag"))
	require.Equal(t, http.StatusNotModified, notModified.StatusCode)
	require.Empty(t, body(t, notModified))
	page := get(t, http.MethodGet, "/inbox")
	require.Equal(t, http.StatusNotModified, get(t, http.MethodGet, "/compose", "If-None-Match", page.Header.Get("ETag")).StatusCode)

	head := get(t, http.MethodHead, path)
	require.Equal(t, http.StatusOK, head.StatusCode)
	require.Equal(t, plain.Header.Get("Content-Length"), head.Header.Get("Content-Length"))
	require.Empty(t, body(t, head))
}

func TestUnknownPaths(t *testing.T) {
	t.Parallel()
	res := get(t, http.MethodGet, "/nope")
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	require.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
	require.Contains(t, body(t, res), "Page not found")

	// API paths the API did not answer stay problems, never the page.
	for _, path := range []string{"/api/v1/nope", "/api/v2/messages"} {
		res := get(t, http.MethodGet, path)
		require.Equal(t, http.StatusNotFound, res.StatusCode, path)
		require.Equal(t, "application/problem+json", res.Header.Get("Content-Type"), path)
		require.JSONEq(t, `{"title":"Not Found","status":404,"detail":"Not found."}`, body(t, res))
	}
	post := get(t, http.MethodPost, "/inbox")
	require.Equal(t, http.StatusMethodNotAllowed, post.StatusCode)
	require.Equal(t, "GET, HEAD", post.Header.Get("Allow"))

	worker := get(t, http.MethodGet, "/sw.js")
	require.Equal(t, http.StatusOK, worker.StatusCode)
	require.Equal(t, "text/javascript; charset=utf-8", worker.Header.Get("Content-Type"))
	require.Equal(t, "no-cache", worker.Header.Get("Cache-Control"), "a new service worker is picked up at once")
	require.Contains(t, body(t, worker), "addEventListener('push'")

	icon := get(t, http.MethodGet, "/favicon.ico")
	require.Equal(t, http.StatusMovedPermanently, icon.StatusCode)
	require.Regexp(t, `^/assets/[0-9a-f]{16}/icon\.svg$`, icon.Header.Get("Location"))
}

// TestNoInlineCodeOrHTMLSinks keeps the app within its CSP and its rule
// that user content is never HTML: no inline scripts, styles or handlers in
// the page, and no HTML sink in the modules but setServerHTML.
func TestNoInlineCodeOrHTMLSinks(t *testing.T) {
	t.Parallel()
	page, err := files.ReadFile("static/index.html")
	require.NoError(t, err)
	require.NotRegexp(t, `<script(?:\s+type="module")?>`, string(page), "inline script")
	require.NotRegexp(t, `(?i)<script[^>]*>[^<\s]`, string(page), "inline script body")
	require.NotRegexp(t, `(?i)<style|\sstyle=`, string(page), "inline style")
	require.NotRegexp(t, `(?i)\son[a-z]+=`, string(page), "inline event handler")

	sinks := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\(\s*'on|\.srcdoc`)
	modules, err := fs.Glob(files, "static/assets/*.js")
	require.NoError(t, err)
	for _, m := range append(modules, "static/sw.js") {
		src, err := files.ReadFile(m)
		require.NoError(t, err)
		for i, line := range strings.Split(string(src), "\n") {
			if !sinks.MatchString(line) {
				continue
			}
			// The one allowed sink: the server's sanitized body_html,
			// through the Trusted Types policy.
			allowed := strings.HasSuffix(m, "/dom.js") && strings.Contains(line, "el.innerHTML = bodyPolicy ? bodyPolicy.createHTML(html) : html;")
			require.True(t, allowed, "%s:%d uses an HTML sink: %s", m, i+1, strings.TrimSpace(line))
		}
	}
}
