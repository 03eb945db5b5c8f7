package sysinfo

import "testing"

func TestCgroupMemoryLimit(t *testing.T) {
	const mib = 1 << 20
	cases := []struct {
		root      string
		ok        bool
		limit     int64
		usage     int64
		file      string
		available int64
	}{
		// v2: the job's own limit (2 GiB, 350 MiB used besides 150 MiB of
		// file cache) leaves more than its parent's (1 GiB, 900 MiB used).
		{"testdata/cgroup2", true, 1024 * mib, 900 * mib, "/sys/fs/cgroup/user.slice/memory.max", 124 * mib},
		// v1 in a container: the mount's root is the container's group.
		{"testdata/cgroup1", true, 512 * mib, 100 * mib, "/sys/fs/cgroup/memory/memory.limit_in_bytes", 412 * mib},
		// v1 "unlimited" everywhere, no mountinfo: MemAvailable stands.
		{"testdata/cgroup1-unlimited", false, 0, 0, "", 16384000 * 1024},
		// No cgroup files at all.
		{"testdata/aws", false, 0, 0, "", 0},
	}
	for _, c := range cases {
		s := System{Root: c.root}
		lim, ok := s.CgroupMemory()
		if ok != c.ok || lim.Limit != c.limit || lim.Usage != c.usage || lim.File != c.file {
			t.Errorf("%s: CgroupMemory() = %+v, %v; want limit %d usage %d from %s, %v", c.root, lim, ok, c.limit, c.usage, c.file, c.ok)
		}
		if c.available == 0 {
			continue
		}
		if got := s.MemoryAvailable(); got != c.available {
			t.Errorf("%s: MemoryAvailable() = %d, want %d", c.root, got, c.available)
		}
	}
}

func TestCgroupFreeNeverNegative(t *testing.T) {
	if f := (MemoryLimit{Limit: 100, Usage: 150}).Free(); f != 0 {
		t.Errorf("Free() = %d over the limit, want 0", f)
	}
}

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{`/a\040b`: "/a b", `/plain`: "/plain", `/end\04`: `/end\04`, `\134x`: `\x`} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}
