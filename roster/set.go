package roster

import (
	"errors"
	"fmt"
	"io"
)

// Set is an opened OneRoster set whose manifest has been read.
type Set struct {
	src      Source
	Manifest Manifest
}

// Read opens the set's manifest and checks that the files it is to read
// are there with OneRoster headers, so that a wrong upload is refused
// before anything is imported (ErrNotOneRoster).
func Read(src Source) (*Set, error) {
	m, err := readManifest(src)
	if err != nil {
		return nil, err
	}
	if m.Orgs == Absent && m.Users == Absent {
		return nil, fmt.Errorf("%w: the manifest lists neither orgs.csv nor users.csv", ErrNotOneRoster)
	}
	s := &Set{src: src, Manifest: m}
	if m.Orgs != Absent {
		if err := s.checkHeader(orgsFile, orgColumns); err != nil {
			return nil, err
		}
	}
	if m.Users != Absent {
		if err := s.checkHeader(usersFile, userColumns); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// checkHeader opens a file only to read its header.
func (s *Set) checkHeader(name string, required []string) error {
	f, err := s.src.Open(name)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotOneRoster, err)
	}
	defer f.Close()
	_, err = newTable(name, f, required)
	return err
}

// each streams the rows of one file to row; a row that fails with a
// *RowError is given to bad and skipped, any other error stops the file.
func (s *Set) each(name string, required []string, row func(t *table, line int) error, bad func(RowError)) error {
	f, err := s.src.Open(name)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotOneRoster, err)
	}
	defer f.Close()
	t, err := newTable(name, f, required)
	if err != nil {
		return err
	}
	for {
		line, err := t.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err == nil {
			err = row(t, line)
		}
		var re *RowError
		if errors.As(err, &re) {
			bad(*re)
		} else if err != nil {
			return err
		}
	}
}

// rowError is a *RowError for the current row of t, naming its sourcedId.
func (t *table) rowError(line int, format string, args ...any) error {
	return &RowError{File: t.file, Line: line, Message: fmt.Sprintf(format, args...), SourcedID: t.get("sourcedId")}
}
