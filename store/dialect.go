package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"whitecross"
)

// This file holds every difference between the dialects that the shared SQL
// text cannot hide.

// interpretError turns driver errors into domain errors: a missing row is
// ENOTFOUND and a unique-constraint violation is ECONFLICT, on both dialects.
// Callers that want a specific message check the code and return their own.
func interpretError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows) {
		return &whitecross.Error{Code: whitecross.ENOTFOUND, Message: "Not found."}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return &whitecross.Error{Code: whitecross.ECONFLICT, Message: "Already exists."}
	}
	// modernc's error text for SQLITE_CONSTRAINT_UNIQUE / PRIMARYKEY.
	if msg := err.Error(); strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "(2067)") || strings.Contains(msg, "(1555)") {
		return &whitecross.Error{Code: whitecross.ECONFLICT, Message: "Already exists."}
	}
	return err
}

// sqliteArgs normalises arguments for SQLite: times become UTC so that the
// stored text sorts in time order.
func sqliteArgs(args []any) []any {
	for i, a := range args {
		switch v := a.(type) {
		case time.Time:
			args[i] = v.UTC()
		case *time.Time:
			if v == nil {
				args[i] = nil
			} else {
				args[i] = v.UTC()
			}
		}
	}
	return args
}

// placeholders returns "$from, $from+1, ..." for n values, to expand an IN
// list in SQL text that runs on both dialects (SQLite has no arrays).
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(from + i))
	}
	return b.String()
}

// inIDs is the condition "col is one of the ids bound at param", and
// idsArg the value to bind: a list of any length in one parameter, so that
// a check of 10,000 ids is one statement with one bind, and one SQL text
// that stays in the statement caches whatever the number of ids. SQLite
// reads a JSON array (json_each drives primary-key probes); PostgreSQL a
// uuid[] (= ANY of an array is an index condition, as an IN list is; a
// join to json_array_elements_text is planned for 100 rows and was two
// orders of magnitude slower at 10,000).
func (db *DB) inIDs(col, param string) string {
	if db.Dialect == SQLite {
		return col + ` IN (SELECT value FROM json_each(` + param + `))`
	}
	return col + ` = ANY(CAST(` + param + ` AS UUID[]))`
}

// idsArg is the parameter inIDs reads: canonical UUID texts.
func (db *DB) idsArg(ids []string) (any, error) {
	if db.Dialect == SQLite {
		b, err := json.Marshal(ids)
		return string(b), err
	}
	return ids, nil
}

// anySlice converts ids to query arguments.
func anySlice(ids []string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// rowsPerInsert is how many rows one multi-row INSERT carries. SQLite
// (modernc) binds parameters in time that grows faster than their number —
// about 6 ms for 1,000 and 27 ms for 2,000 in one statement — so it gets
// short statements; PostgreSQL prefers fewer, longer ones. Both stay far
// below the dialects' parameter limits.
func (tx *Tx) rowsPerInsert() int {
	if tx.sql != nil {
		return 200
	}
	return 1000
}

// newIDSQL is an SQL expression that makes a new UUIDv7 for each row, so
// that an INSERT … SELECT over thousands of rows takes its ids from the
// database instead of a round trip through Go. at is the placeholder of a
// text parameter holding idTimePrefix(now): the time-ordered part, the
// same for the whole statement (as ids made by newID in one millisecond
// are); the version, variant and random bits come from the database's
// generator (PostgreSQL's gen_random_uuid, SQLite's randomblob).
func (tx *Tx) newIDSQL(at string) string {
	if tx.sql != nil {
		return `lower(CAST(` + at + ` AS TEXT) || '-7' || substr(hex(randomblob(2)), 2) || '-' ||
			substr('89ab', 1 + (random() & 3), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))`
	}
	// gen_random_uuid's text is xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx: its
	// random bits after the version digit, and its variant, are kept.
	return `CAST(CAST(` + at + ` AS TEXT) || '-7' || substr(CAST(gen_random_uuid() AS TEXT), 16, 3) ||
		substr(CAST(gen_random_uuid() AS TEXT), 19) AS UUID)`
}

// idTimePrefix is the first 13 characters of a UUIDv7 made at t
// ("tttttttt-tttt": 48 bits of Unix milliseconds), for newIDSQL.
func idTimePrefix(t time.Time) string {
	ms := uint64(t.UnixMilli()) & (1<<48 - 1)
	h := fmt.Sprintf("%012x", ms)
	return h[:8] + "-" + h[8:]
}

// valuePlaceholders is placeholders() for the VALUES of a bulk statement
// that has no other parameter: anonymous "?" on SQLite, which numbers
// them in order, where a "$N" is a name looked up in a list (a cost that
// grows with the square of a statement's thousands of values).
func (db *DB) valuePlaceholders(from, n int) string {
	if db.pool != nil {
		return placeholders(from, n)
	}
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
