package api

import (
	"embed"
	"net/http"
)

// static holds the API reference page: HTML, a script that renders the
// spec, and a stylesheet, all same-origin so the CSP stays default-src 'self'.
//
//go:embed static
var static embed.FS

var docsFiles = map[string]string{
	"docs.js":  "text/javascript; charset=utf-8",
	"docs.css": "text/css; charset=utf-8",
}

// docsPage serves GET /api/docs.
func (s *Server) docsPage(w http.ResponseWriter, r *http.Request) {
	serveStatic(w, "docs.html", "text/html; charset=utf-8")
}

// docsAsset serves GET /api/docs/{file}: only the page's own files.
func (s *Server) docsAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	ct, ok := docsFiles[name]
	if !ok {
		writeProblem(w, http.StatusNotFound, "Not found.")
		return
	}
	serveStatic(w, name, ct)
}

func serveStatic(w http.ResponseWriter, name, contentType string) {
	b, err := static.ReadFile("static/" + name)
	if err != nil {
		writeProblem(w, http.StatusNotFound, "Not found.")
		return
	}
	w.Header().Set("Content-Type", contentType)
	_, _ = w.Write(b)
}
