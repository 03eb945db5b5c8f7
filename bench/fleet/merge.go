package fleet

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/flopcast/flopcast/bench/result"
)

// Merge builds the merged fleet file from the ranks' own files of one run:
// every measurement (each names its rank), the roster, the ranks with no
// file as missing, the stragglers and each node's verdict. nodes lists the
// job's nodes where known (Slurm), so that absent nodes are named.
func Merge(files []*result.File, th *Thresholds, nodes []string) (*result.File, error) {
	var rankFiles []*result.File
	for _, f := range files {
		if f != nil && f.Fleet != nil && f.Fleet.Rank != nil {
			rankFiles = append(rankFiles, f)
		}
	}
	if len(rankFiles) == 0 {
		return nil, badInput("no fleet rank files to merge")
	}
	sort.SliceStable(rankFiles, func(i, j int) bool { return *rankFiles[i].Fleet.Rank < *rankFiles[j].Fleet.Rank })
	first := rankFiles[0]
	runID := first.Fleet.RunID
	byRank := map[int]*result.File{}
	for _, f := range rankFiles {
		if f.Fleet.RunID != runID {
			return nil, badInput("rank files of two runs (%s and %s): merge one run at a time (--run-id)", runID, f.Fleet.RunID)
		}
		if f.Fleet.WorldSize != first.Fleet.WorldSize {
			return nil, badInput("run %s: rank files disagree on the world size (%d and %d)", runID, first.Fleet.WorldSize, f.Fleet.WorldSize)
		}
		r := *f.Fleet.Rank
		if _, dup := byRank[r]; dup {
			return nil, badInput("run %s: two files for rank %d", runID, r)
		}
		byRank[r] = f
	}
	size := first.Fleet.WorldSize
	roster := first.Fleet.Ranks
	for _, f := range rankFiles {
		if len(f.Fleet.Ranks) > len(roster) {
			roster = f.Fleet.Ranks
		}
	}
	m := &result.File{
		SchemaVersion: result.SchemaVersion,
		Tool:          first.Tool,
		Created:       first.Created,
		Host:          first.Host,
		Devices:       first.Devices,
		Environment:   first.Environment,
		Command:       first.Command,
		Suite:         first.Suite,
		Measurements:  []result.Measurement{},
		Fleet: &result.Fleet{
			RunID: runID, Launcher: first.Fleet.Launcher, WorldSize: size, Backend: first.Fleet.Backend,
			Ranks: roster, Thresholds: th.Describe(),
		},
	}
	for r := range size {
		f, ok := byRank[r]
		if !ok {
			m.Fleet.Missing = append(m.Fleet.Missing, r)
			m.Partial = true
			continue
		}
		if f.Partial {
			m.Partial = true
		}
		for _, x := range f.Measurements {
			if x.Rank == nil {
				rank := r
				x.Rank = &rank
			}
			m.Measurements = append(m.Measurements, x)
		}
	}
	m.Fleet.Stragglers = Stragglers(m, th)
	m.Fleet.Verdicts = Judge(m, th, nodes)
	return m, nil
}

// MergeDir merges the rank files of one run found in dir (runID "" when
// the directory holds one run only), judged with th; it also returns the
// files it used.
func MergeDir(dir, runID string, th *Thresholds) (*result.File, []string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, nil, badInput("%s: %v", dir, err)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, nil, badInput("%s: not a directory", dir)
	}
	runs := map[string][]*result.File{}
	var used []string
	for _, p := range paths {
		f, err := result.Read(p)
		if err != nil || f.Fleet == nil || f.Fleet.Rank == nil {
			continue // not a rank file (a merged file, another results file)
		}
		if runID != "" && f.Fleet.RunID != runID {
			continue
		}
		runs[f.Fleet.RunID] = append(runs[f.Fleet.RunID], f)
		used = append(used, p)
	}
	switch {
	case len(runs) == 0 && runID != "":
		return nil, nil, badInput("%s: no rank files of run %s", dir, runID)
	case len(runs) == 0:
		return nil, nil, badInput("%s: no fleet rank files (fleet-<run>-rank<N>.json)", dir)
	case len(runs) > 1:
		var ids []string
		for id := range runs {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		return nil, nil, badInput("%s holds rank files of %d runs (%s): choose one with --run-id", dir, len(ids), strings.Join(ids, ", "))
	}
	var fs []*result.File
	for _, v := range runs {
		fs = v
	}
	m, err := Merge(fs, th, nil)
	return m, used, err
}
