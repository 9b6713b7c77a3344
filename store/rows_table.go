package store

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Rows bound as arrays.
//
// A multi-row VALUES list binds every cell as its own parameter, and a
// dispatch batch of 1,000 recipients needs several thousand of them:
// SQLite (modernc) binds parameters in time that grows faster than their
// number, and each statement's text differs with its row count, so neither
// dialect's statement cache keeps it. rowsTable instead binds a whole
// column (PostgreSQL: one array per column, read with unnest) or the whole
// table (SQLite: one JSON array of rows, read with json_each) as one
// parameter, so that a batch is one statement per table with a fixed text,
// whatever its number of rows.

// rowsCol is a column of a rowsTable: its name in the derived table and its
// PostgreSQL array element type (UUID, TEXT or BIGINT).
type rowsCol struct{ name, pgType string }

// rowsTable adds to args the n rows whose cell (row r, column c) is
// cell(r, c), a string or an int64, and returns a derived table over them
// (alias v) that keeps their order, for INSERT … SELECT and UPDATE … FROM.
func (tx *Tx) rowsTable(args *queryArgs, cols []rowsCol, n int, cell func(r, c int) any) (string, error) {
	var b strings.Builder
	b.WriteString("(SELECT ")
	if tx.sql != nil {
		rows := make([][]any, n)
		for r := range rows {
			rows[r] = make([]any, len(cols))
			for c := range cols {
				rows[r][c] = cell(r, c)
			}
		}
		data, err := json.Marshal(rows)
		if err != nil {
			return "", err
		}
		for c, col := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			b.WriteString("json_extract(value, '$[" + strconv.Itoa(c) + "]') AS " + col.name)
		}
		b.WriteString(" FROM json_each(" + args.add(string(data)) + ")) AS v")
		return b.String(), nil
	}
	b.WriteString("* FROM unnest(")
	names := make([]string, len(cols))
	for c, col := range cols {
		if c > 0 {
			b.WriteString(", ")
		}
		names[c] = col.name
		p := args.add(pgColumn(col.pgType, n, func(r int) any { return cell(r, c) }))
		if col.pgType == "UUID" {
			// Bound as text[] and converted by the server: pgx's
			// encoding of each string into a uuid[] element allocated
			// more than the rest of a dispatch batch.
			p = "CAST(" + p + " AS TEXT[])"
		}
		b.WriteString("CAST(" + p + " AS " + col.pgType + "[])")
	}
	b.WriteString(") AS a(" + strings.Join(names, ", ") + ")) AS v")
	return b.String(), nil
}

// pgColumn is one column of a rowsTable as the Go slice pgx binds to an
// array of typ.
func pgColumn(typ string, n int, cell func(r int) any) any {
	if typ == "BIGINT" {
		out := make([]int64, n)
		for r := range out {
			out[r], _ = cell(r).(int64)
		}
		return out
	}
	out := make([]string, n)
	for r := range out {
		out[r], _ = cell(r).(string)
	}
	return out
}

// timeParam is placeholder p of a time.Time where its type cannot be
// inferred from a column (inside a CASE of a select list): PostgreSQL
// would take it for text.
func (tx *Tx) timeParam(p string) string {
	if tx.sql != nil {
		return p
	}
	return "CAST(" + p + " AS TIMESTAMPTZ)"
}
