// Package poll waits for asynchronous GPU work by querying it: the one
// polling loop behind driver.Stream.Wait, driver.Event.Wait and
// nccl.Comm.Wait.
package poll

import (
	"errors"
	"runtime"
	"time"
)

// ErrTimeout is what Until returns when the work is not done by the
// deadline; callers wrap it in their own message.
var ErrTimeout = errors.New("poll: not done before the deadline")

// Spin is how long callers spin before sleeping: waits that end within it
// (an NCCL enqueue answering ncclInProgress, a short kernel) never meet
// the ~1 ms granularity of a Go sleep.
const Spin = 2 * time.Millisecond

// Sleeps start at firstSleep and double up to maxSleep.
const (
	firstSleep = 10 * time.Microsecond
	maxSleep   = time.Millisecond
)

// Until calls query until it reports done or fails, returning query's
// error, or ErrTimeout once timeout has passed since the call with the
// work still not done. For the first spinFor it only yields
// (runtime.Gosched) between queries, so quick work returns within
// microseconds; after that it sleeps in growing steps, never past the
// deadline, so long waits cost no core. query runs at least once.
func Until(timeout, spinFor time.Duration, query func() (done bool, err error)) error {
	return until(realClock, timeout, spinFor, query)
}

// clock is what until needs of time, so tests can fake it.
type clock struct {
	now   func() time.Time
	sleep func(time.Duration)
	yield func()
}

var realClock = clock{now: time.Now, sleep: time.Sleep, yield: runtime.Gosched}

func until(c clock, timeout, spinFor time.Duration, query func() (bool, error)) error {
	start := c.now()
	deadline := start.Add(timeout)
	sleep := firstSleep
	for {
		done, err := query()
		if err != nil || done {
			return err
		}
		now := c.now()
		if now.After(deadline) {
			return ErrTimeout
		}
		if now.Sub(start) < spinFor {
			c.yield()
			continue
		}
		c.sleep(min(sleep, deadline.Sub(now)))
		sleep = min(2*sleep, maxSleep)
	}
}
