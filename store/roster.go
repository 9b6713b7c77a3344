package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"whitecross"
	"whitecross/roster"
)

var _ whitecross.RosterImportService = (*Store)(nil)

// rosterStale is how long a RUNNING import may go without a step before
// another import of the district takes it for one whose server stopped.
const rosterStale = 10 * time.Minute

// StartRosterImport records a RUNNING import of the caller's district
// (ADMIN, or the system for the CLI). ECONFLICT while another import of
// the district runs; one whose server stopped (no step for rosterStale) is
// marked FAILED first.
func (s *Store) StartRosterImport(ctx context.Context, dryRun bool) (*whitecross.RosterImport, error) {
	a, err := rosterCaller(ctx)
	if err != nil {
		return nil, err
	}
	now := s.db.now()
	imp := &whitecross.RosterImport{ID: newID(), Status: whitecross.RosterRunning, DryRun: dryRun,
		Errors: []whitecross.RosterRowError{}, CreatedAt: now}
	err = s.db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE roster_imports SET status = 'FAILED', finished_at = $2,
			failure = 'The server stopped during the import. Run it again: an import changes only what differs.'
			WHERE tenant_id = $1 AND status = 'RUNNING' AND heartbeat_at < $3`, a.TenantID, now, now.Add(-rosterStale)); err != nil {
			return fmt.Errorf("fail stale roster import: %w", err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO roster_imports (id, tenant_id, created_by, dry_run, status, created_at, heartbeat_at)
			VALUES ($1, $2, $3, $4, 'RUNNING', $5, $5)`, imp.ID, a.TenantID, a.UserID, dryRun, now)
		if whitecross.ErrorCode(err) == whitecross.ECONFLICT {
			return whitecross.Errorf(whitecross.ECONFLICT, "Another roster import of this district is running; wait for it to finish.")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return imp, nil
}

// rosterCaller is the caller of an import: an ADMIN or the system.
func rosterCaller(ctx context.Context) (*whitecross.Actor, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if !a.System && a.Role != whitecross.RoleAdmin {
		return nil, whitecross.Errorf(whitecross.EFORBIDDEN, "Only a district administrator may import the roster.")
	}
	return a, nil
}

// RunRosterImport runs a started import: stages the set's rows, works out
// what each changes, applies the changes unless it is a dry run, and
// records the counts and skipped rows (DONE), or FAILED with the reason.
// Each step is a short transaction of its own, so the district keeps
// working during a 100,000-row import; an import stopped half way is
// finished by running it again. Audited with its counts. When the import
// FAILED the error says why too (for the log: the import's failure text
// is what users see).
func (s *Store) RunRosterImport(ctx context.Context, id string, set *roster.Set) (*whitecross.RosterImport, error) {
	a, err := rosterCaller(ctx)
	if err != nil {
		return nil, err
	}
	run := &rosterRun{s: s, tenantID: a.TenantID, importID: id, set: set,
		errs: rosterErrors{list: []whitecross.RosterRowError{}}} // "errors": [] when there are none
	if run.dryRun, err = s.rosterDryRun(ctx, a.TenantID, id); err != nil {
		return nil, err
	}
	counts, runErr := run.do(ctx)
	if err := s.finishRosterImport(context.WithoutCancel(ctx), run, counts, runErr); err != nil {
		return nil, err
	}
	imp, err := s.FindRosterImport(ctx, id)
	if err != nil {
		return nil, err
	}
	return imp, runErr
}

// rosterDryRun reads whether a RUNNING import of the tenant is a dry run.
func (s *Store) rosterDryRun(ctx context.Context, tenantID, id string) (bool, error) {
	ctx = inTenant(ctx, tenantID)
	var dry bool
	err := s.db.Reader().QueryRow(ctx, `SELECT dry_run FROM roster_imports WHERE tenant_id = $1 AND id = $2 AND status = 'RUNNING'`,
		tenantID, id).Scan(&dry)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return false, whitecross.Errorf(whitecross.ENOTFOUND, "Roster import %s is not running.", id)
	}
	return dry, err
}

// finishRosterImport records the outcome, drops the staged rows and
// audits the import.
func (s *Store) finishRosterImport(ctx context.Context, run *rosterRun, counts whitecross.RosterCounts, runErr error) error {
	status, failure := whitecross.RosterDone, ""
	if runErr != nil {
		status, failure = whitecross.RosterFailed, rosterFailure(runErr)
	}
	countsJSON, _ := json.Marshal(counts)
	errorsJSON, _ := json.Marshal(run.errs.list)
	return s.db.InTx(ctx, func(tx *Tx) error {
		for _, table := range []string{"roster_links", "roster_rows"} {
			if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE import_id = $1`, run.importID); err != nil {
				return fmt.Errorf("drop staged roster rows: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE roster_imports SET status = $3, counts = $4, errors = $5, error_count = $6,
			failure = $7, finished_at = $8 WHERE tenant_id = $1 AND id = $2`,
			run.tenantID, run.importID, string(status), string(countsJSON), string(errorsJSON), run.errs.count, failure, s.db.now()); err != nil {
			return fmt.Errorf("finish roster import: %w", err)
		}
		return s.auditTx(ctx, tx, whitecross.AuditRosterImported, "roster_import", run.importID, rosterAuditDetail(run, counts, status))
	})
}

// rosterFailure is what the import's page says about a failure: the
// domain error's message, else a generic sentence (details go to the log).
func rosterFailure(err error) string {
	var e *whitecross.Error
	if errors.As(err, &e) || errors.Is(err, roster.ErrNotOneRoster) {
		return whitecross.ErrorMessage(err)
	}
	return "The import stopped on an internal error; nothing after the failing step was changed. Run it again."
}

// rosterAuditDetail is the audit detail of an import: its counts.
func rosterAuditDetail(run *rosterRun, c whitecross.RosterCounts, status whitecross.RosterImportStatus) map[string]string {
	n := func(v int) string { return fmt.Sprint(v) }
	return map[string]string{"status": string(status), "dry_run": fmt.Sprint(run.dryRun), "rows_skipped": n(run.errs.count),
		"locations_created": n(c.Locations.Created), "locations_updated": n(c.Locations.Updated),
		"users_created": n(c.Users.Created), "users_updated": n(c.Users.Updated), "users_deactivated": n(c.Users.Deactivated),
		"students_created": n(c.Students.Created), "students_updated": n(c.Students.Updated), "students_deactivated": n(c.Students.Deactivated)}
}

// FindRosterImport implements whitecross.RosterImportService.
func (s *Store) FindRosterImport(ctx context.Context, id string) (*whitecross.RosterImport, error) {
	a, err := rosterCaller(ctx)
	if err != nil {
		return nil, err
	}
	if !validUUID(id) {
		return nil, whitecross.Errorf(whitecross.ENOTFOUND, "Roster import not found.")
	}
	imp := &whitecross.RosterImport{}
	var status, counts, errs string
	err = s.db.Reader().QueryRow(ctx, `SELECT id, status, dry_run, counts, errors, error_count, failure, created_at, finished_at
		FROM roster_imports WHERE tenant_id = $1 AND id = $2`, a.TenantID, id).
		Scan(&imp.ID, &status, &imp.DryRun, &counts, &errs, &imp.ErrorCount, &imp.Failure, &imp.CreatedAt, &imp.FinishedAt)
	if whitecross.ErrorCode(err) == whitecross.ENOTFOUND {
		return nil, whitecross.Errorf(whitecross.ENOTFOUND, "Roster import not found.")
	}
	if err != nil {
		return nil, fmt.Errorf("find roster import: %w", err)
	}
	imp.Status = whitecross.RosterImportStatus(status)
	imp.CreatedAt = imp.CreatedAt.UTC()
	if imp.FinishedAt != nil {
		t := imp.FinishedAt.UTC()
		imp.FinishedAt = &t
	}
	if err := json.Unmarshal([]byte(counts), &imp.Counts); err != nil {
		return nil, fmt.Errorf("roster import counts: %w", err)
	}
	if err := json.Unmarshal([]byte(errs), &imp.Errors); err != nil {
		return nil, fmt.Errorf("roster import errors: %w", err)
	}
	return imp, nil
}

// rosterErrors keeps the first MaxRosterRowErrors skipped rows and counts
// them all.
type rosterErrors struct {
	list  []whitecross.RosterRowError
	count int
}

func (e *rosterErrors) add(re whitecross.RosterRowError) {
	e.count++
	if len(e.list) < whitecross.MaxRosterRowErrors {
		e.list = append(e.list, re)
	}
}
