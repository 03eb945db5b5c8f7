package fleet

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Fault is a fault injected for tests only (flopcast fleet run's hidden
// --fault flag or FLOPCAST_FLEET_FAULT), as it applies to one rank. The
// spec is a comma-separated list of:
//
//	slow-rank:R:DUR     rank R sleeps DUR before each collective's local phase
//	slow-link:R:DUR     rank R sleeps DUR before each message it sends
//	slow-link:R>P:DUR   ... only before those it sends to rank P
//	corrupt:R           rank R flips one element of each collective's output
//	never-arrive:R      rank R never reaches the rendezvous
//	version:R           rank R reports another flopcast version
//
// Nothing of it is meant for a real run.
type Fault struct {
	// SlowRank is the extra delay before each local phase.
	SlowRank time.Duration
	// SlowSend is the delay before each send, to SlowPeer only when it is
	// not negative.
	SlowSend time.Duration
	SlowPeer int
	// Corrupt flips one output element per collective call.
	Corrupt bool
	// NeverArrive keeps the rank away from the rendezvous.
	NeverArrive bool
	// Version replaces the reported flopcast version.
	Version string
}

// Active reports whether any fault applies.
func (f Fault) Active() bool { return f != Fault{SlowPeer: -1} && f != Fault{} }

// ParseFault reads spec and returns the faults that apply to rank.
func ParseFault(spec string, rank int) (Fault, error) {
	f := Fault{SlowPeer: -1}
	if strings.TrimSpace(spec) == "" {
		return f, nil
	}
	for _, item := range strings.Split(spec, ",") {
		parts := strings.Split(strings.TrimSpace(item), ":")
		bad := fmt.Errorf("fault %q: want slow-rank:R:DUR, slow-link:R[>P]:DUR, corrupt:R, never-arrive:R or version:R", item)
		if len(parts) < 2 {
			return f, bad
		}
		who, peer := parts[1], -1
		if a, b, ok := strings.Cut(who, ">"); ok {
			p, err := strconv.Atoi(b)
			if err != nil || p < 0 || parts[0] != "slow-link" {
				return f, bad
			}
			who, peer = a, p
		}
		r, err := strconv.Atoi(who)
		if err != nil || r < 0 {
			return f, bad
		}
		var dur time.Duration
		switch parts[0] {
		case "slow-rank", "slow-link":
			if len(parts) != 3 {
				return f, bad
			}
			dur, err = time.ParseDuration(parts[2])
			if err != nil || dur <= 0 || dur > time.Minute {
				return f, bad
			}
		case "corrupt", "never-arrive", "version":
			if len(parts) != 2 {
				return f, bad
			}
		default:
			return f, bad
		}
		if r != rank {
			continue
		}
		switch parts[0] {
		case "slow-rank":
			f.SlowRank = dur
		case "slow-link":
			f.SlowSend, f.SlowPeer = dur, peer
		case "corrupt":
			f.Corrupt = true
		case "never-arrive":
			f.NeverArrive = true
		case "version":
			f.Version = "0.0.0-fault"
		}
	}
	return f, nil
}

// sleep waits d, or until ctx is done (then it returns ctx's error): the
// injected delays keep the step's deadline.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
