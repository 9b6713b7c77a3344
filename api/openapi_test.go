package api_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross/api"
)

var update = flag.Bool("update", false, "rewrite docs/openapi.json from the code")

var specPath = filepath.Join("..", "docs", "openapi.json")

// TestOpenAPISpecIsCommitted keeps docs/openapi.json equal to the spec the
// code generates, so API changes show up in review.
func TestOpenAPISpecIsCommitted(t *testing.T) {
	t.Parallel()
	got, err := api.New(api.Config{}, api.Deps{}).OpenAPI()
	require.NoError(t, err)
	if *update {
		require.NoError(t, os.WriteFile(specPath, got, 0o644))
		return
	}
	want, err := os.ReadFile(specPath)
	require.NoError(t, err, "docs/openapi.json is missing; run: go test ./api -run TestOpenAPISpecIsCommitted -update")
	if !bytes.Equal(got, want) {
		t.Fatal("docs/openapi.json differs from the spec the code generates; run: go test ./api -run TestOpenAPISpecIsCommitted -update")
	}
}

// TestOpenAPIServed checks that the served spec is the committed one and
// that the docs page and its script come from this origin.
func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(api.New(api.Config{}, api.Deps{}))
	t.Cleanup(srv.Close)

	res, err := http.Get(srv.URL + "/api/v1/openapi.json")
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	var served, committed map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&served))
	want, err := os.ReadFile(specPath)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(want, &committed))
	if !reflect.DeepEqual(committed, served) {
		t.Fatal("GET /api/v1/openapi.json differs from docs/openapi.json; run: go test ./api -run TestOpenAPISpecIsCommitted -update")
	}
	require.Equal(t, "3.1.0", served["openapi"])

	for path, ctype := range map[string]string{
		"/api/docs":         "text/html; charset=utf-8",
		"/api/docs/docs.js": "text/javascript; charset=utf-8",
	} {
		res, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode, path)
		require.Equal(t, ctype, res.Header.Get("Content-Type"), path)
		require.Contains(t, res.Header.Get("Content-Security-Policy"), "default-src 'self'", path)
	}
}
