package whitecross

import (
	"context"
	"fmt"
	"time"
)

// RosterImportStatus is where an import of a OneRoster set stands.
type RosterImportStatus string

// Roster import statuses.
const (
	RosterRunning RosterImportStatus = "RUNNING"
	RosterDone    RosterImportStatus = "DONE"
	RosterFailed  RosterImportStatus = "FAILED"
)

// RosterImport is one import of a district's roster (OneRoster 1.1 CSV):
// what it changed (or, for a dry run, would change) and the rows it skipped.
type RosterImport struct {
	ID     string             `json:"id"`
	Status RosterImportStatus `json:"status"`
	DryRun bool               `json:"dry_run"`
	Counts RosterCounts       `json:"counts"`
	// Errors are the skipped rows, at most MaxRosterRowErrors of them;
	// ErrorCount counts them all.
	Errors     []RosterRowError `json:"errors"`
	ErrorCount int              `json:"error_count"`
	// Failure says why a FAILED import stopped ("" otherwise).
	Failure    string     `json:"failure,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

// RosterCounts are an import's changes by kind of record.
type RosterCounts struct {
	Locations RosterLocationCounts `json:"locations"`
	Users     RosterPersonCounts   `json:"users"`
	Students  RosterPersonCounts   `json:"students"`
}

// RosterLocationCounts: locations are created and renamed or moved, never
// deactivated by an import.
type RosterLocationCounts struct {
	Created int `json:"created"`
	Updated int `json:"updated"`
}

// RosterPersonCounts counts users or students.
type RosterPersonCounts struct {
	Created     int `json:"created"`
	Updated     int `json:"updated"`
	Deactivated int `json:"deactivated"`
}

// RosterRowError is a row an import skipped: its file, the line it starts
// on (1 is the header) and why.
type RosterRowError struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Message string `json:"message"`
	// SourcedID is the row's sourcedId when it has one: what a bad row
	// stands for is left as it is, never deactivated for missing.
	SourcedID string `json:"-"`
}

func (e RosterRowError) Error() string {
	return fmt.Sprintf("%s line %d: %s", e.File, e.Line, e.Message)
}

// MaxRosterRowErrors bounds the row errors an import keeps; past it only
// ErrorCount goes on (100,000 wrong rows are one mistake, not a report of
// 100,000 lines).
const MaxRosterRowErrors = 1000

// Audit actions of roster imports (detail: the counts).
const (
	AuditRosterImported = "roster.imported"
)

// RosterImportService reads the imports of the caller's district (ADMIN).
type RosterImportService interface {
	// FindRosterImport returns an import of the caller's district;
	// ENOTFOUND for another district's or an unknown id, EFORBIDDEN for
	// anyone but an ADMIN.
	FindRosterImport(ctx context.Context, id string) (*RosterImport, error)
}
