package fleet

import (
	"fmt"
	"strings"
	"testing"
)

func envOf(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func intp(v int) *int { return &v }

var testHost = Overrides{Hostname: func() (string, error) { return "host-a", nil }}

func TestDetectEnvLaunchers(t *testing.T) {
	cases := []struct {
		name  string
		env   func(string) string
		flags Overrides
		want  Env
	}{
		{"slurm", envOf("SLURM_PROCID", "5", "SLURM_NTASKS", "8", "SLURM_LOCALID", "1", "SLURM_NODEID", "2",
			"SLURM_JOB_NODELIST", "gpu[001-003,007]", "SLURM_TASKS_PER_NODE", "2(x4)", "SLURM_JOB_ID", "1234", "SLURMD_NODENAME", "gpu003"), testHost,
			Env{Launcher: "slurm", Rank: 5, Size: 8, LocalRank: 1, LocalSize: 2, NodeRank: 2, Node: "gpu003", JobID: "1234",
				Rendezvous: "gpu001:29751", Nodes: []string{"gpu001", "gpu002", "gpu003", "gpu007"}}},
		{"slurm node from list, flag rendezvous", envOf("SLURM_PROCID", "0", "SLURM_NTASKS", "2", "SLURM_NODEID", "1", "SLURM_NODELIST", "a[1-2],b3"),
			Overrides{Rendezvous: "127.0.0.1:4000"},
			Env{Launcher: "slurm", Rank: 0, Size: 2, NodeRank: 1, Node: "a2", Rendezvous: "127.0.0.1:4000", Nodes: []string{"a1", "a2", "b3"}}},
		{"openmpi", envOf("OMPI_COMM_WORLD_RANK", "3", "OMPI_COMM_WORLD_SIZE", "4", "OMPI_COMM_WORLD_LOCAL_RANK", "1",
			"OMPI_COMM_WORLD_LOCAL_SIZE", "2", "OMPI_COMM_WORLD_NODE_RANK", "1", "FLOPCAST_RENDEZVOUS", "10.0.0.1:5000"), testHost,
			Env{Launcher: "openmpi", Rank: 3, Size: 4, LocalRank: 1, LocalSize: 2, NodeRank: -1, Node: "host-a", Rendezvous: "10.0.0.1:5000"}},
		{"pmix", envOf("PMIX_RANK", "2", "PMI_SIZE", "3", "MASTER_ADDR", "m", "MASTER_PORT", "77"), testHost,
			Env{Launcher: "pmi", Rank: 2, Size: 3, NodeRank: -1, Node: "host-a", Rendezvous: "m:77"}},
		{"pmi hydra", envOf("PMI_RANK", "1", "PMI_SIZE", "2", "MPI_LOCALRANKID", "1", "MPI_LOCALNRANKS", "2"), Overrides{Node: "n1", Rendezvous: "h:9"},
			Env{Launcher: "pmi", Rank: 1, Size: 2, LocalRank: 1, LocalSize: 2, NodeRank: -1, Node: "n1", Rendezvous: "h:9"}},
		{"torchrun", envOf("RANK", "3", "WORLD_SIZE", "4", "LOCAL_RANK", "1", "LOCAL_WORLD_SIZE", "2", "GROUP_RANK", "1",
			"MASTER_ADDR", "10.1.1.1", "MASTER_PORT", "29500", "TORCHELASTIC_RUN_ID", "r9"), testHost,
			Env{Launcher: "torchrun", Rank: 3, Size: 4, LocalRank: 1, LocalSize: 2, NodeRank: 1, Node: "host-a", JobID: "r9", Rendezvous: "10.1.1.1:29500"}},
		{"indexed job", envOf("JOB_COMPLETION_INDEX", "2", "FLOPCAST_WORLD_SIZE", "4", "HOSTNAME", "fleet-2", "FLOPCAST_SERVICE", "fleet", "FLOPCAST_NODE", "ip-10-0-0-7"), testHost,
			Env{Launcher: "kubernetes", Rank: 2, Size: 4, NodeRank: -1, Node: "ip-10-0-0-7", JobID: "fleet", Rendezvous: "fleet-0.fleet:29517"}},
		{"jobset", envOf("JOB_COMPLETION_INDEX", "1", "FLOPCAST_WORLD_SIZE", "2", "JOBSET_NAME", "js", "REPLICATED_JOB_NAME", "workers", "FLOPCAST_RENDEZVOUS_PORT", "4444"), testHost,
			Env{Launcher: "kubernetes", Rank: 1, Size: 2, NodeRank: -1, Node: "host-a", JobID: "js", Rendezvous: "js-workers-0-0.js:4444"}},
		{"flags", envOf(), Overrides{Rank: intp(1), WorldSize: intp(2), LocalRank: intp(0), Node: "x", Rendezvous: "[::1]:80"},
			Env{Launcher: "flags", Rank: 1, Size: 2, NodeRank: -1, Node: "x", Rendezvous: "[::1]:80"}},
		{"flags override slurm", envOf("SLURM_PROCID", "0", "SLURM_NTASKS", "2", "SLURMD_NODENAME", "s"), Overrides{Rank: intp(1), Node: "mine", Rendezvous: "h:1"},
			Env{Launcher: "slurm", Rank: 1, Size: 2, NodeRank: -1, Node: "mine", Rendezvous: "h:1"}},
	}
	for _, c := range cases {
		got, err := DetectEnv(c.env, c.flags)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
}

func TestDetectEnvBadValues(t *testing.T) {
	cases := []struct {
		env   func(string) string
		flags Overrides
		want  string
	}{
		{envOf("SLURM_PROCID", "x", "SLURM_NTASKS", "4"), testHost, `SLURM_PROCID="x"`},
		{envOf("SLURM_PROCID", "4", "SLURM_NTASKS", "4", "SLURM_JOB_NODELIST", "a1"), testHost, "SLURM_PROCID"},
		{envOf("SLURM_PROCID", "0", "SLURM_NTASKS", "4", "SLURM_JOB_NODELIST", "gpu[3-1]"), testHost, "SLURM_JOB_NODELIST"},
		{envOf("SLURM_PROCID", "0", "SLURM_NTASKS", "-1"), testHost, "SLURM_NTASKS"},
		{envOf("OMPI_COMM_WORLD_RANK", "0"), testHost, "OMPI_COMM_WORLD_SIZE"},
		{envOf("PMIX_RANK", "0"), testHost, "PMI_SIZE"},
		{envOf("RANK", "0", "WORLD_SIZE", "0", "MASTER_ADDR", "a", "MASTER_PORT", "1"), testHost, "WORLD_SIZE"},
		{envOf("JOB_COMPLETION_INDEX", "0", "FLOPCAST_WORLD_SIZE", "2", "HOSTNAME", "j-0"), testHost, "FLOPCAST_SERVICE"},
		{envOf("JOB_COMPLETION_INDEX", "0", "FLOPCAST_WORLD_SIZE", "2", "FLOPCAST_SERVICE", "s"), testHost, "FLOPCAST_JOB_NAME"},
		{envOf("JOB_COMPLETION_INDEX", "0", "FLOPCAST_WORLD_SIZE", "2", "FLOPCAST_SERVICE", "s", "HOSTNAME", "j-0", "FLOPCAST_RENDEZVOUS_PORT", "0"), testHost, "FLOPCAST_RENDEZVOUS_PORT"},
		{envOf(), testHost, "--rank and --world-size"},
		{envOf(), Overrides{Rank: intp(0)}, "--rank and --world-size go together"},
		{envOf(), Overrides{Rank: intp(0), WorldSize: intp(1)}, "--rendezvous"},
		{envOf(), Overrides{Rank: intp(0), WorldSize: intp(1), Rendezvous: "nohost"}, "--rendezvous"},
		{envOf(), Overrides{Rank: intp(0), WorldSize: intp(1), Rendezvous: "h:0"}, "--rendezvous"},
		{envOf(), Overrides{Rank: intp(0), WorldSize: intp(1), Rendezvous: "h:1", Node: "a b"}, "--node"},
	}
	for _, c := range cases {
		_, err := DetectEnv(c.env, c.flags)
		if err == nil || !IsBadInput(err) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("want a one-line bad-input error naming %s, got %v", c.want, err)
		}
	}
}

func TestExpandHostlist(t *testing.T) {
	cases := map[string]string{
		"gpu[001-004,007]":   "gpu001 gpu002 gpu003 gpu004 gpu007",
		"a[1-2],b3":          "a1 a2 b3",
		"n[8-11]":            "n8 n9 n10 n11",
		"r[1-2]-n[01-02]":    "r1-n01 r1-n02 r2-n01 r2-n02",
		"single":             "single",
		"x[09-10],y[0],z":    "x09 x10 y0 z",
		"c[1,3],d[098-101]e": "c1 c3 d098e d099e d100e d101e",
	}
	for in, want := range cases {
		got, err := ExpandHostlist(in)
		if err != nil || strings.Join(got, " ") != want {
			t.Errorf("ExpandHostlist(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "a[1-", "a]", "a[x]", "a[3-1]", "a[[1]]", "a,,b", "a[1-2000000]"} {
		if got, err := ExpandHostlist(bad); err == nil {
			t.Errorf("ExpandHostlist(%q) = %v, want an error", bad, got)
		}
	}
	if got, err := ExpandTasksPerNode("2(x3),1"); err != nil || fmt.Sprint(got) != "[2 2 2 1]" {
		t.Errorf("ExpandTasksPerNode = %v, %v", got, err)
	}
	for _, bad := range []string{"2(3)", "x", "2(x0)"} {
		if _, err := ExpandTasksPerNode(bad); err == nil {
			t.Errorf("ExpandTasksPerNode(%q) accepted", bad)
		}
	}
}

func TestParseFault(t *testing.T) {
	f, err := ParseFault("slow-rank:1:50ms,slow-link:2>0:5ms,corrupt:2,version:3", 2)
	if err != nil || f.SlowSend.Milliseconds() != 5 || f.SlowPeer != 0 || !f.Corrupt || f.SlowRank != 0 || f.Version != "" {
		t.Errorf("rank 2: %+v %v", f, err)
	}
	f, _ = ParseFault("slow-rank:1:50ms", 0)
	if f.Active() {
		t.Errorf("rank 0 got a fault: %+v", f)
	}
	for _, bad := range []string{"slow-rank:1", "melt:1", "slow-rank:x:1s", "corrupt:1>2", "slow-link:1:2h"} {
		if _, err := ParseFault(bad, 1); err == nil {
			t.Errorf("ParseFault(%q) accepted", bad)
		}
	}
}
