// Package web is the browser app of whitecross: one HTML page, a stylesheet
// and plain JavaScript modules, embedded in the binary. There is no build
// step: the files under static/ are what the browser runs.
//
// Handler serves them. The assets live under a path that carries a hash of
// their content (/assets/<hash>/app.js), so browsers may keep them for a year
// and a new binary is picked up at once; the page itself is revalidated on
// every load (ETag). Text files are gzipped once, at start.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
)

//go:embed static
var files embed.FS

// AppRoutes are the paths the app answers with its page; the app's router
// picks the view. /messages/{id} is the link in email and SMS notices.
var AppRoutes = []string{"/", "/inbox", "/sent", "/scheduled", "/archived", "/compose", "/outbox", "/deliveries", "/audit", "/account", "/alert", "/approvals", "/roster", "/settings", "/legal-holds", "/people", "/locations", "/messages/{id}",
	"/students", "/students/{id}", "/students/{id}/messages", "/records", "/disclosures", "/groups", "/groups/{id}", "/reset"}

// contentSecurityPolicy is the app page's policy. It is the API's
// same-origin policy plus Trusted Types: the only way to put HTML into the
// page is the one policy that takes the server's sanitized body_html (so a
// stray innerHTML with user text throws instead of running), and the only
// script URL is the service worker's.
const contentSecurityPolicy = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; " +
	"object-src 'none'; require-trusted-types-for 'script'; trusted-types wc-body-html wc-worker-url"

// asset is one file ready to serve.
type asset struct {
	body        []byte
	gzipped     []byte // nil when gzip does not make it smaller
	contentType string
	etag        string
}

// site is the prepared app: the page and the assets by name.
type site struct {
	version string // hash of every asset, the path segment after /assets/
	page    *asset
	worker  *asset // the service worker, at /sw.js so its scope is the whole app
	assets  map[string]*asset
}

var loadSite = sync.OnceValues(func() (*site, error) { return prepare(files) })

// Handler returns the http.Handler that serves the app: GET and HEAD of the
// app routes (the page), /assets/<version>/<file>, the service worker
// /sw.js (Web Push notifications) and /favicon.ico; 404
// for anything else, as a problem for /api/ paths so API clients get JSON.
func Handler() http.Handler {
	s, err := loadSite()
	if err != nil {
		// The embedded files are part of the binary: a failure here is a
		// build mistake that the package tests catch.
		panic(fmt.Sprintf("web: %v", err))
	}
	mux := http.NewServeMux()
	for _, route := range AppRoutes {
		pattern := "GET " + route
		if route == "/" {
			pattern = "GET /{$}"
		}
		mux.HandleFunc(pattern, s.servePage)
	}
	mux.HandleFunc("GET /assets/{version}/{file...}", s.serveAsset)
	mux.HandleFunc("GET /sw.js", func(w http.ResponseWriter, r *http.Request) { s.worker.serve(w, r, "no-cache") })
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/assets/"+s.version+"/icon.svg", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/", notFound)
	return mux
}

// prepare reads the embedded files, hashes them and writes the asset
// version and the module preload list into the page.
func prepare(fsys fs.FS) (*site, error) {
	assetFS, err := fs.Sub(fsys, "static/assets")
	if err != nil {
		return nil, err
	}
	var names []string
	err = fs.WalkDir(assetFS, ".", func(name string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, name)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	s := &site{assets: map[string]*asset{}}
	version := sha256.New()
	for _, name := range names {
		b, err := fs.ReadFile(assetFS, name)
		if err != nil {
			return nil, err
		}
		ct, ok := contentTypes[path.Ext(name)]
		if !ok {
			return nil, fmt.Errorf("asset %s: no content type for its extension", name)
		}
		s.assets[name] = newAsset(b, ct)
		fmt.Fprintf(version, "%s\x00%d\x00", name, len(b))
		version.Write(b)
	}
	s.version = hex.EncodeToString(version.Sum(nil))[:16]

	page, err := fs.ReadFile(fsys, "static/index.html")
	if err != nil {
		return nil, err
	}
	// Every module is preloaded, so the browser fetches them in parallel
	// instead of discovering the imports one level at a time.
	var preload strings.Builder
	for _, name := range names {
		if strings.HasSuffix(name, ".js") {
			fmt.Fprintf(&preload, "<link rel=\"modulepreload\" href=\"/assets/%s/%s\">\n", s.version, name)
		}
	}
	page = bytes.Replace(page, []byte("<!--modulepreload-->\n"), []byte(preload.String()), 1)
	page = bytes.ReplaceAll(page, []byte("{{assets}}"), []byte("/assets/"+s.version))
	s.page = newAsset(page, "text/html; charset=utf-8")
	worker, err := fs.ReadFile(fsys, "static/sw.js")
	if err != nil {
		return nil, err
	}
	s.worker = newAsset(worker, contentTypes[".js"])
	return s, nil
}

var contentTypes = map[string]string{
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".json": "application/json",
}

func newAsset(body []byte, contentType string) *asset {
	sum := sha256.Sum256(body)
	a := &asset{body: body, contentType: contentType, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(body)
	_ = zw.Close()
	if buf.Len() < len(body) {
		a.gzipped = buf.Bytes()
	}
	return a
}

// servePage answers an app route with the page. It is revalidated on every
// load so a new version of the app is seen at once.
func (s *site) servePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
	s.page.serve(w, r, "no-cache")
}

// serveAsset answers /assets/<version>/<file>. Only the current version
// exists: an old page asking for an old version gets 404 rather than new
// content cached under the old name.
func (s *site) serveAsset(w http.ResponseWriter, r *http.Request) {
	a := s.assets[r.PathValue("file")]
	if a == nil || r.PathValue("version") != s.version {
		notFound(w, r)
		return
	}
	a.serve(w, r, "public, max-age=31536000, immutable")
}

func (a *asset) serve(w http.ResponseWriter, r *http.Request, cacheControl string) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", cacheControl)
	h.Set("Vary", "Accept-Encoding")
	body, etag := a.body, a.etag
	if a.gzipped != nil && acceptsGzip(r) {
		body, etag = a.gzipped, strings.TrimSuffix(a.etag, `"`)+`-gz"`
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}

func acceptsGzip(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") && strings.ReplaceAll(params, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

func etagMatches(header, etag string) bool {
	for candidate := range strings.SplitSeq(header, ",") {
		candidate = strings.TrimPrefix(strings.TrimSpace(candidate), "W/")
		if candidate == etag || candidate == "*" {
			return true
		}
	}
	return false
}

// notFound answers an unknown path: a problem for API paths (the API's own
// 404 shape), a short page otherwise.
func notFound(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !strings.HasPrefix(r.URL.Path, "/api/") {
		w.Header().Set("Allow", "GET, HEAD")
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusMethodNotAllowed)
		_, _ = w.Write([]byte(`{"title":"Method Not Allowed","status":405,"detail":"Method not allowed."}`))
		return
	}
	if strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/.well-known/") {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"title":"Not Found","status":404,"detail":"Not found."}`))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte(notFoundPage))
}

const notFoundPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Not found · whitecross</title></head>
<body><main><h1>Page not found</h1><p><a href="/">Go to your inbox</a></p></main></body></html>
`
