package roster

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"whitecross"
)

// RowError is a row that was skipped: the file, its line (1 is the header)
// and why, in words a district's IT staff can act on.
type RowError = whitecross.RosterRowError

// table reads one CSV file row by row, its columns found by header name.
type table struct {
	file    string
	r       *csv.Reader
	columns map[string]int
	record  []string
}

// utf8BOM starts files saved by spreadsheet programs.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// newTable reads the header of file and checks that it has every required
// column; without them the file is not OneRoster.
func newTable(file string, r io.Reader, required []string) (*table, error) {
	br := bufio.NewReader(r)
	if head, err := br.Peek(3); err == nil && bytes.Equal(head, utf8BOM) {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: %s has no header row (%v)", ErrNotOneRoster, file, err)
	}
	t := &table{file: file, r: cr, columns: make(map[string]int, len(header))}
	for i, name := range header {
		t.columns[strings.TrimSpace(name)] = i
	}
	var missing []string
	for _, name := range required {
		if _, ok := t.columns[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: %s lacks the column(s) %s", ErrNotOneRoster, file, strings.Join(missing, ", "))
	}
	return t, nil
}

// next reads the next row; io.EOF at the end. A row the CSV reader cannot
// parse is a *RowError and the table goes on after it.
func (t *table) next() (line int, err error) {
	rec, err := t.r.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return pe.StartLine, &RowError{File: t.file, Line: pe.StartLine, Message: "not valid CSV: " + pe.Err.Error()}
		}
		return 0, err
	}
	t.record = rec
	line, _ = t.r.FieldPos(0)
	for _, field := range rec {
		// A file saved in another encoding, or binary: nothing of the row
		// can be stored (PostgreSQL refuses such text), not even its id.
		if !utf8.ValidString(field) || strings.ContainsRune(field, 0) {
			return line, &RowError{File: t.file, Line: line, Message: "not UTF-8 text (save the file as UTF-8)"}
		}
	}
	return line, nil
}

// get returns a column of the current row, trimmed ("" when absent).
func (t *table) get(column string) string {
	i, ok := t.columns[column]
	if !ok || i >= len(t.record) {
		return ""
	}
	return strings.TrimSpace(t.record[i])
}

// list returns a column holding comma-separated values, without empties.
func (t *table) list(column string) []string {
	v := t.get(column)
	if v == "" {
		return nil
	}
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
