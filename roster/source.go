package roster

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// Source is a set of OneRoster CSV files: a directory or a .zip.
type Source interface {
	// Open opens the file of that name (e.g. "users.csv"); a missing file
	// is an error satisfying errors.Is(err, fs.ErrNotExist).
	Open(name string) (io.ReadCloser, error)
	// Close releases the source.
	Close() error
}

// Open opens a directory, or a .zip file, of OneRoster CSV files.
func Open(p string) (Source, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("open roster: %w", err)
	}
	if info.IsDir() {
		return dirSource{fsys: os.DirFS(p)}, nil
	}
	z, err := zip.OpenReader(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is neither a directory nor a .zip (%v)", ErrNotOneRoster, p, err)
	}
	return &zipSource{r: &z.Reader, closer: z}, nil
}

// OpenZip reads a .zip of OneRoster CSV files from r (an upload kept in a
// temporary file, say).
func OpenZip(r io.ReaderAt, size int64) (Source, error) {
	z, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: not a .zip (%v)", ErrNotOneRoster, err)
	}
	return &zipSource{r: z}, nil
}

type dirSource struct{ fsys fs.FS }

func (d dirSource) Open(name string) (io.ReadCloser, error) { return d.fsys.Open(name) }
func (d dirSource) Close() error                            { return nil }

// zipSource finds files by base name, case-insensitively, wherever they are
// in the archive: exports often put them in a folder named after the date.
type zipSource struct {
	r      *zip.Reader
	closer io.Closer
}

func (z *zipSource) Open(name string) (io.ReadCloser, error) {
	for _, f := range z.r.File {
		if !f.FileInfo().IsDir() && strings.EqualFold(path.Base(f.Name), name) {
			return f.Open()
		}
	}
	return nil, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
}

func (z *zipSource) Close() error {
	if z.closer == nil {
		return nil
	}
	return z.closer.Close()
}

// ErrNotOneRoster means the files are not a OneRoster 1.1 CSV set (no
// users.csv or orgs.csv, their headers lack required columns, or the
// manifest names another version). The import stops before any change.
var ErrNotOneRoster = errors.New("not a OneRoster 1.1 CSV set")
