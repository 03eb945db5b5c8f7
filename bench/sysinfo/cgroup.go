package sysinfo

import (
	"bufio"
	"path"
	"strconv"
	"strings"
)

// MemoryLimit is a control group's memory limit and what the group uses
// of it.
type MemoryLimit struct {
	// Limit is the limit in bytes.
	Limit int64
	// Usage is the group's memory use less its file cache (active and
	// inactive file pages), which the kernel reclaims before it kills.
	Usage int64
	// File is the file the limit was read from, e.g.
	// /sys/fs/cgroup/memory.max.
	File string
}

// Free is what a new allocation may use under the limit.
func (l MemoryLimit) Free() int64 { return max(0, l.Limit-l.Usage) }

// unlimited is the least value read as "no limit": cgroup v1 writes
// "unlimited" as the largest page-aligned int64.
const unlimited = 1 << 62

// CgroupMemory returns the tightest memory limit (the least Free) among
// the control groups that hold this process and their ancestors up to the
// hierarchy's root as this process sees it: cgroup v2's memory.max and
// memory.current, or v1's memory.limit_in_bytes and memory.usage_in_bytes.
// ok is false when no group sets a limit or none can be read.
func (s System) CgroupMemory() (lim MemoryLimit, ok bool) {
	mounts := s.cgroupMounts()
	sc := bufio.NewScanner(strings.NewReader(s.read("/proc/self/cgroup")))
	for sc.Scan() {
		// hierarchy-ID:controller-list:cgroup-path
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		v2 := parts[0] == "0" && parts[1] == ""
		if !v2 && !hasWord(parts[1], "memory") {
			continue
		}
		for _, m := range mounts {
			if m.v2 != v2 {
				continue
			}
			if l, found := s.walkCgroup(m, parts[2]); found && (!ok || l.Free() < lim.Free()) {
				lim, ok = l, true
			}
		}
	}
	return lim, ok
}

// cgroupMount is a mounted cgroup hierarchy: v2, or v1 with the memory
// controller.
type cgroupMount struct {
	// root is the hierarchy's directory that is mounted; dir where.
	root, dir string
	v2        bool
}

// cgroupMounts reads the cgroup2 and v1 memory mounts from
// /proc/self/mountinfo; without it, the usual places.
func (s System) cgroupMounts() []cgroupMount {
	info := s.read("/proc/self/mountinfo")
	if info == "" {
		return []cgroupMount{{"/", "/sys/fs/cgroup", true}, {"/", "/sys/fs/cgroup/unified", true}, {"/", "/sys/fs/cgroup/memory", false}}
	}
	var out []cgroupMount
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		// id parent major:minor root mount-point options [optional...] - type source super-options
		left, right, found := strings.Cut(sc.Text(), " - ")
		l, r := strings.Fields(left), strings.Fields(right)
		if !found || len(l) < 5 || len(r) < 1 {
			continue
		}
		m := cgroupMount{root: unescapeMount(l[3]), dir: unescapeMount(l[4])}
		switch {
		case r[0] == "cgroup2":
			m.v2 = true
		case r[0] == "cgroup" && len(r) >= 3 && hasWord(r[2], "memory"):
		default:
			continue
		}
		out = append(out, m)
	}
	return out
}

// walkCgroup reads the limits from the group at cgroup path p of mount m
// up to the mount's top and returns the one with the least room.
func (s System) walkCgroup(m cgroupMount, p string) (lim MemoryLimit, ok bool) {
	rel, inside := strings.CutPrefix(path.Clean(p), path.Clean(m.root))
	if !inside || m.root != "/" && rel != "" && rel[0] != '/' {
		rel = "" // another namespace's path: this mount's top is the group
	}
	dir := path.Join(m.dir, rel)
	if s.read(path.Join(dir, cgroupFile(m.v2, "limit"))) == "" && s.read(path.Join(dir, cgroupFile(m.v2, "usage"))) == "" {
		dir = m.dir // not found: the group is the mount's top
	}
	for {
		if l, found := s.cgroupLimit(dir, m.v2); found && (!ok || l.Free() < lim.Free()) {
			lim, ok = l, true
		}
		if dir == path.Clean(m.dir) || dir == "/" || dir == "." {
			return lim, ok
		}
		dir = path.Dir(dir)
	}
}

func cgroupFile(v2 bool, what string) string {
	switch {
	case v2 && what == "limit":
		return "memory.max"
	case v2:
		return "memory.current"
	case what == "limit":
		return "memory.limit_in_bytes"
	}
	return "memory.usage_in_bytes"
}

// cgroupLimit reads one group's limit and usage; found is false when the
// group sets no limit.
func (s System) cgroupLimit(dir string, v2 bool) (MemoryLimit, bool) {
	file := path.Join(dir, cgroupFile(v2, "limit"))
	limit, err := strconv.ParseInt(s.read(file), 10, 64)
	if err != nil || limit <= 0 || limit >= unlimited { // "max", missing or unlimited
		return MemoryLimit{}, false
	}
	usage, _ := strconv.ParseInt(s.read(path.Join(dir, cgroupFile(v2, "usage"))), 10, 64)
	stat := s.read(path.Join(dir, "memory.stat"))
	var cache int64
	keys := []string{"inactive_file", "active_file"}
	if !v2 {
		keys = []string{"total_inactive_file", "total_active_file"}
	}
	for _, k := range keys {
		cache += statValue(stat, k)
	}
	if cache > usage {
		cache = usage
	}
	return MemoryLimit{Limit: limit, Usage: max(0, usage-cache), File: file}, true
}

// statValue is key's value in a memory.stat file ("key value" lines).
func statValue(stat, key string) int64 {
	sc := bufio.NewScanner(strings.NewReader(stat))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		if k == key {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return max(n, 0)
		}
	}
	return 0
}

// hasWord reports whether the comma-separated list holds w.
func hasWord(list, w string) bool {
	for _, x := range strings.Split(list, ",") {
		if x == w {
			return true
		}
	}
	return false
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
