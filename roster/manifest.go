package roster

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// Mode says how a file of the set is to be read (manifest.csv's
// "file.users" and so on).
type Mode string

// Modes of OneRoster 1.1. A bulk file is the whole truth: what it does not
// list and was imported before is deactivated. A delta file lists changes
// only; its rows with status "tobedeleted" are deactivated. An absent file
// is not read.
const (
	Bulk   Mode = "bulk"
	Delta  Mode = "delta"
	Absent Mode = "absent"
)

// Manifest is what manifest.csv says about the set. Without a manifest
// every file present is read as bulk, which is what a nightly full export
// is.
type Manifest struct {
	Orgs  Mode
	Users Mode
}

// readManifest reads manifest.csv if the set has one.
func readManifest(src Source) (Manifest, error) {
	m := Manifest{Orgs: Bulk, Users: Bulk}
	f, err := src.Open("manifest.csv")
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return m, fmt.Errorf("open manifest.csv: %w", err)
	}
	defer f.Close()
	t, err := newTable("manifest.csv", f, []string{"propertyName", "value"})
	if err != nil {
		return m, err
	}
	for {
		_, err := t.next()
		if errors.Is(err, io.EOF) {
			return m, nil
		}
		if err != nil {
			return m, fmt.Errorf("%w: %v", ErrNotOneRoster, err)
		}
		if err := m.set(t.get("propertyName"), strings.ToLower(t.get("value"))); err != nil {
			return m, err
		}
	}
}

// set records one property; the version and the two files we read are
// checked, the others (courses, classes, enrollments…) are not ours.
func (m *Manifest) set(property, value string) error {
	switch property {
	case "oneroster.version":
		if value != "1.1" {
			return fmt.Errorf("%w: manifest.csv says oneroster.version %q (1.1 is read)", ErrNotOneRoster, value)
		}
	case "file.orgs":
		return setMode(&m.Orgs, property, value)
	case "file.users":
		return setMode(&m.Users, property, value)
	}
	return nil
}

func setMode(dst *Mode, property, value string) error {
	switch mode := Mode(value); mode {
	case Bulk, Delta, Absent:
		*dst = mode
		return nil
	default:
		return fmt.Errorf("%w: manifest.csv says %s %q (bulk, delta or absent)", ErrNotOneRoster, property, value)
	}
}
