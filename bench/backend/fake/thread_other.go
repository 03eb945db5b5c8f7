//go:build !linux

package fake

// threadID is 0 where the OS thread's ID is not known.
func threadID() int { return 0 }
