// Package compare puts flopcast results files side by side: it groups their
// measurements into machines (one column each), builds the comparison table
// buyers read (throughput per dtype and shape, memory bandwidth, the block
// step, price and the figures derived from it), and gates regressions
// between a baseline and a new run with a threshold and a rank test on the
// stored samples.
package compare

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/flopcast/flopcast/bench/result"
)

// Input is one results file read from disk.
type Input struct {
	Path string
	File *result.File
}

// Load reads the results files named by paths. A directory contributes every
// *.json file under it (hidden files, such as the temporary files of an
// interrupted write, are ignored). A path that cannot be read, a file that is
// not a flopcast results file, a file of a newer schema, or a directory
// without results files is an error naming it; nothing is returned then.
func Load(paths []string) ([]Input, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("no results file or directory given")
	}
	var out []Input
	seen := map[string]bool{}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", p, unwrapPathError(err))
		}
		files := []string{p}
		if st.IsDir() {
			files, err = jsonFiles(p)
			if err != nil {
				return nil, err
			}
			if len(files) == 0 {
				return nil, fmt.Errorf("%s: directory holds no results files (*.json)", p)
			}
		}
		for _, f := range files {
			abs, _ := filepath.Abs(f)
			if seen[abs] {
				continue
			}
			seen[abs] = true
			rf, err := result.Read(f)
			if err != nil {
				if _, ok := err.(*result.FormatError); ok {
					return nil, err
				}
				return nil, fmt.Errorf("%s: %v", f, unwrapPathError(err))
			}
			out = append(out, Input{Path: f, File: rf})
		}
	}
	return out, nil
}

// jsonFiles lists the visible *.json files under dir, sorted.
func jsonFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %v", path, unwrapPathError(err))
		}
		name := d.Name()
		if path != dir && strings.HasPrefix(name, ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && strings.EqualFold(filepath.Ext(name), ".json") {
			files = append(files, path)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// unwrapPathError drops the operation and path of an *fs.PathError, which
// the caller names already.
func unwrapPathError(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}
