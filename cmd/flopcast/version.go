package main

import (
	"runtime"
	"runtime/debug"
)

// version and commit are set at build time by the Makefile
// (-ldflags "-X main.version=... -X main.commit=...").
var (
	version = "0.1.0-dev"
	commit  = ""
)

// buildCommit returns the git commit the binary was built from, from the
// linker flag or the Go toolchain's VCS stamp.
func buildCommit() string {
	if commit != "" {
		return commit
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		var rev, dirty string
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			return rev + dirty
		}
	}
	return ""
}

func versionString() string {
	s := version
	if c := buildCommit(); c != "" {
		s += " (" + c + ")"
	}
	return s + " " + runtime.Version()
}
