package result

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// FormatError reports a file that is not a readable flopcast results file.
type FormatError struct {
	File string
	Msg  string
}

func (e *FormatError) Error() string {
	if e.File == "" {
		return e.Msg
	}
	return e.File + ": " + e.Msg
}

// maxFileSize bounds what Read loads, so a stray multi-gigabyte file is
// refused rather than read into memory.
const maxFileSize = 256 << 20

// Decode parses a results file from r. name is used in errors only.
func Decode(r io.Reader, name string) (*File, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return nil, &FormatError{name, err.Error()}
	}
	if len(data) > maxFileSize {
		return nil, &FormatError{name, "larger than 256 MiB: not a flopcast results file"}
	}
	// A first pass reads only the identifying fields, so a file of a newer
	// schema is refused by its version and not by a field it cannot parse.
	var head struct {
		SchemaVersion *int `json:"schema_version"`
		Tool          struct {
			Name string `json:"name"`
		} `json:"tool"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, &FormatError{name, "not a flopcast results file (not a JSON object)"}
	}
	if head.Tool.Name != ToolName || head.SchemaVersion == nil {
		return nil, &FormatError{name, "not a flopcast results file (no tool.name \"flopcast\" and schema_version)"}
	}
	if v := *head.SchemaVersion; v > SchemaVersion {
		return nil, &FormatError{name, fmt.Sprintf("results schema version %d is newer than this flopcast reads (%d); upgrade flopcast", v, SchemaVersion)}
	} else if v < 1 {
		return nil, &FormatError{name, fmt.Sprintf("invalid schema_version %d", v)}
	}
	var f File
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&f); err != nil {
		return nil, &FormatError{name, "malformed flopcast results file: " + err.Error()}
	}
	if err := f.Validate(); err != nil {
		return nil, &FormatError{name, err.Error()}
	}
	if err := f.CheckPlausible(); err != nil {
		return nil, &FormatError{name, err.Error()}
	}
	return &f, nil
}

// Validate checks the invariants readers rely on.
func (f *File) Validate() error {
	for i, m := range f.Measurements {
		if m.Workload == "" || m.Device == "" || m.DType == "" {
			return fmt.Errorf("measurement %d: workload, device and dtype are required", i)
		}
		switch m.Status {
		case StatusOK, StatusFailed, StatusSkipped:
		default:
			return fmt.Errorf("measurement %d: unknown status %q", i, m.Status)
		}
		if m.FLOPPerSecond < 0 || m.FLOPs < 0 {
			return fmt.Errorf("measurement %d: negative flops", i)
		}
		if m.FLOPPerSecond > 0 && !m.Verified {
			return fmt.Errorf("measurement %d: a throughput without a passed check", i)
		}
		if (m.AlgBytesPerSecond > 0 || m.BusBytesPerSecond > 0) && (!m.Verified || m.WrongElements > 0) {
			return fmt.Errorf("measurement %d: a collective bandwidth without a passed check", i)
		}
	}
	return nil
}

// Read reads and validates the results file at path.
func Read(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	if st, err := fh.Stat(); err == nil && st.IsDir() {
		return nil, &FormatError{path, "is a directory"}
	}
	return Decode(fh, path)
}

// Encode writes f as indented JSON.
func Encode(w io.Writer, f *File) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(f)
}

// Write stores f at path atomically: it writes a temporary file in the same
// directory, syncs it, and renames it over path, so a reader (or a crash)
// sees the old file or the new one, never half of one.
func Write(path string, f *File) error {
	return WriteWith(path, func(w io.Writer) error { return Encode(w, f) })
}

// WriteWith is Write with the content produced by fill.
func WriteWith(path string, fill func(io.Writer) error) (err error) {
	tmp, err := writeTemp(path, fill)
	if err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

// CheckWritable reports whether a file can be created at path, without
// leaving anything behind; it lets a run refuse a bad --out before it
// measures for minutes.
func CheckWritable(path string) error {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return errors.New("is a directory")
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), tempPattern)
	if err != nil {
		return err
	}
	tmp.Close()
	return os.Remove(tmp.Name())
}
