package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/danielgtaylor/huma/v2"

	"whitecross"
	"whitecross/roster"
)

// MaxRosterUploadBytes bounds a roster upload (a .zip of OneRoster CSV
// files: 100,000 people compress to a few MiB).
const MaxRosterUploadBytes = 64 << 20

// RosterImporter runs roster imports (the store).
type RosterImporter interface {
	whitecross.RosterImportService
	StartRosterImport(ctx context.Context, dryRun bool) (*whitecross.RosterImport, error)
	RunRosterImport(ctx context.Context, id string, set *roster.Set) (*whitecross.RosterImport, error)
}

const rosterUploadPath = "/api/v1/admin/roster"

// rosterRoutes registers the roster import.
func (s *Server) rosterRoutes() {
	register(s, tagAdmin, authRequired, huma.Operation{OperationID: "import-roster", Method: http.MethodPost, Path: rosterUploadPath,
		Summary: "Import the district's roster (OneRoster 1.1 CSV)", DefaultStatus: http.StatusAccepted,
		MaxBodyBytes: MaxRosterUploadBytes,
		Description: "ADMIN only (others 403). multipart/form-data with `file`: a .zip of manifest.csv, orgs.csv and users.csv " +
			"(at most 64 MiB). Answers 202 with the import, RUNNING; follow it with GET /api/v1/admin/roster/{id}. A file that is " +
			"not a OneRoster 1.1 set is 422 and starts nothing; 409 while another import of the district runs. With " +
			"dry_run=true nothing changes and the counts say what would.",
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity}},
		s.importRoster)
	register(s, tagAdmin, authRequired, huma.Operation{OperationID: "get-roster-import", Method: http.MethodGet, Path: rosterUploadPath + "/{id}",
		Summary:     "A roster import: its status, counts and skipped rows",
		Description: "ADMIN only (others 403); another district's import is 404.",
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}}, s.getRosterImport)
}

type importRosterInput struct {
	DryRun  bool `query:"dry_run" doc:"Report what would change and change nothing"`
	RawBody huma.MultipartFormFiles[struct {
		File huma.FormFile `form:"file" contentType:"application/zip,application/octet-stream,application/x-zip-compressed" required:"true" doc:"The .zip of OneRoster CSV files"`
	}]
}

type rosterImportOutput struct{ Body *whitecross.RosterImport }

// importRoster keeps the upload in a file of its own (the form's goes with
// the request), checks it is OneRoster, and runs the import after
// answering. A server stopped mid-import leaves it RUNNING until the next
// import of the district marks it FAILED (see store.StartRosterImport).
func (s *Server) importRoster(ctx context.Context, in *importRosterInput) (*rosterImportOutput, error) {
	f := in.RawBody.Data().File
	path, err := keepUpload(f)
	if err != nil {
		return nil, err
	}
	set, src, err := openRosterUpload(path)
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	imp, err := s.deps.Roster.StartRosterImport(ctx, in.DryRun)
	if err != nil {
		src.Close()
		os.Remove(path)
		return nil, err
	}
	go s.runRoster(context.WithoutCancel(ctx), imp.ID, set, src, path)
	return &rosterImportOutput{Body: imp}, nil
}

// runRoster runs a started import and removes its upload.
func (s *Server) runRoster(ctx context.Context, id string, set *roster.Set, src roster.Source, path string) {
	defer os.Remove(path)
	defer src.Close()
	if _, err := s.deps.Roster.RunRosterImport(ctx, id, set); err != nil {
		s.log.Error("roster import failed", "import_id", id, "err", err)
	}
}

// keepUpload copies an uploaded file into a temporary file of ours.
func keepUpload(f huma.FormFile) (string, error) {
	tmp, err := os.CreateTemp("", "whitecross-roster-*.zip")
	if err != nil {
		return "", fmt.Errorf("keep roster upload: %w", err)
	}
	_, err = io.Copy(tmp, f)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("keep roster upload: %w", err)
	}
	return tmp.Name(), nil
}

// openRosterUpload opens a kept upload as a OneRoster set; 422 naming
// the file field when it is not one.
func openRosterUpload(path string) (*roster.Set, roster.Source, error) {
	src, err := roster.Open(path)
	if err == nil {
		var set *roster.Set
		if set, err = roster.Read(src); err == nil {
			return set, src, nil
		}
		src.Close()
	}
	if errors.Is(err, roster.ErrNotOneRoster) {
		return nil, nil, whitecross.FieldErrorf(whitecross.EINVALID, "body.file", nil, "%s", sentence(err.Error()))
	}
	return nil, nil, err
}

type rosterImportIDInput struct {
	ID string `path:"id" maxLength:"64" doc:"The import's id"`
}

func (s *Server) getRosterImport(ctx context.Context, in *rosterImportIDInput) (*rosterImportOutput, error) {
	imp, err := s.deps.Roster.FindRosterImport(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &rosterImportOutput{Body: imp}, nil
}
