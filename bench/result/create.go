package result

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// tempPattern names the temporary files Write and Create fill before they
// give them their final name. It is short and fixed, so a final name of
// up to NAME_MAX (255) bytes still has a temporary name that fits; the
// leading dot keeps it out of directory listings and *.json globs.
const tempPattern = ".flopcast-*.tmp"

// Create stores f at path like Write, but only when nothing exists at
// path: the complete file appears under its final name at once (link(2)
// of a synced temporary file), and an existing file is never replaced.
// When path exists the error satisfies errors.Is(err, fs.ErrExist).
func Create(path string, f *File) error {
	return CreateWith(path, func(w io.Writer) error { return Encode(w, f) })
}

// CreateWith is Create with the content produced by fill.
func CreateWith(path string, fill func(io.Writer) error) error {
	tmp, err := writeTemp(path, fill)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return &fs.PathError{Op: "create", Path: path, Err: fs.ErrExist}
		}
		if err := createNoLink(tmp, path); err != nil {
			return err
		}
	}
	syncDir(filepath.Dir(path))
	return nil
}

// createNoLink gives tmp the name path where the file system has no hard
// links: path is reserved with O_EXCL (an empty file for a moment), then
// tmp is renamed over it.
func createNoLink(tmp, path string) error {
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	fh.Close()
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// writeTemp writes fill's content to a new temporary file in path's
// directory, syncs and closes it, makes it readable by all (0644, as a
// results file is), and returns its name. Nothing is left behind on an
// error.
func writeTemp(path string, fill func(io.Writer) error) (name string, err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), tempPattern)
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = fill(tmp); err != nil {
		return "", err
	}
	if err = tmp.Sync(); err != nil {
		return "", err
	}
	if err = tmp.Close(); err != nil {
		return "", err
	}
	if err = os.Chmod(tmp.Name(), 0o644); err != nil {
		return "", err
	}
	return tmp.Name(), nil
}

// syncDir flushes a directory's entries (a rename or link in it) to disk;
// best effort.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
