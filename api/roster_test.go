package api_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"whitecross"
	"whitecross/store/storetest"
)

// multipartFile is a multipart/form-data body with one file field.
func multipartFile(t *testing.T, field, name string, content []byte) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, err := mw.CreateFormFile(field, name)
	require.NoError(t, err)
	_, err = w.Write(content)
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	return buf.Bytes(), mw.FormDataContentType()
}

// uploadRoster posts a roster file and returns the response.
func (b *bundle) uploadRoster(t *testing.T, token, query string, content []byte) *response {
	t.Helper()
	body, ctype := multipartFile(t, "file", "roster.zip", content)
	return b.do(t, req{method: http.MethodPost, path: "/api/v1/admin/roster" + query, token: token, body: body,
		header: map[string]string{"Content-Type": ctype}})
}

// waitRoster polls an import until it is no longer RUNNING.
func (b *bundle) waitRoster(t *testing.T, token, id string) whitecross.RosterImport {
	t.Helper()
	var imp whitecross.RosterImport
	require.Eventually(t, func() bool {
		res := b.do(t, req{method: http.MethodGet, path: "/api/v1/admin/roster/" + id, token: token})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		res.decode(t, &imp)
		return imp.Status != whitecross.RosterRunning
	}, 30*time.Second, 50*time.Millisecond)
	return imp
}

func TestRosterImportOverHTTP(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		admin := b.token(t, b.d, b.d.Admin)
		zip := storetest.RosterZip(t)

		res := b.uploadRoster(t, admin, "?dry_run=true", zip)
		require.Equal(t, http.StatusAccepted, res.status, "%s", res.body)
		var started whitecross.RosterImport
		res.decode(t, &started)
		require.Equal(t, whitecross.RosterRunning, started.Status)
		require.True(t, started.DryRun)
		dry := b.waitRoster(t, admin, started.ID)
		require.Equal(t, whitecross.RosterDone, dry.Status)
		require.Equal(t, 5, dry.Counts.Users.Created)
		require.Equal(t, 2, dry.Counts.Students.Created)
		require.Zero(t, b.rows(t, "students WHERE external_id <> ''"), "a dry run changes nothing")

		res = b.uploadRoster(t, admin, "", zip)
		require.Equal(t, http.StatusAccepted, res.status, "%s", res.body)
		res.decode(t, &started)
		done := b.waitRoster(t, admin, started.ID)
		require.Equal(t, dry.Counts, done.Counts)
		require.Equal(t, 2, b.rows(t, "students WHERE external_id <> ''"))

		// Only an ADMIN imports; another district's import is not found.
		res = b.uploadRoster(t, b.token(t, b.d, b.d.LincolnAdmin), "", zip)
		require.Equal(t, http.StatusForbidden, res.status, "%s", res.body)
		res = b.do(t, req{method: http.MethodGet, path: "/api/v1/admin/roster/" + started.ID, token: b.token(t, b.other, b.other.Admin)})
		require.Equal(t, http.StatusNotFound, res.status)

		// A file that is not OneRoster starts nothing.
		res = b.uploadRoster(t, admin, "", []byte("name,email\nAna,ana@example.org\n"))
		require.Equal(t, http.StatusUnprocessableEntity, res.status, "%s", res.body)
		p := res.problem(t)
		require.Equal(t, "body.file", p.Errors[0].Location)
		require.Contains(t, p.Errors[0].Message, "OneRoster")
	})
}
