package poll

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// fake is a clock that only moves when told: each query costs step, each
// sleep the time slept; it records what until did between queries.
type fake struct {
	t      time.Time
	step   time.Duration
	events []string
	sleeps []time.Duration
}

func (f *fake) clock() clock {
	return clock{
		now: func() time.Time { return f.t },
		sleep: func(d time.Duration) {
			f.events = append(f.events, "sleep")
			f.sleeps = append(f.sleeps, d)
			f.t = f.t.Add(d)
		},
		yield: func() { f.events = append(f.events, "yield") },
	}
}

// query is done after n calls; each call advances the clock by step.
func (f *fake) query(n int) func() (bool, error) {
	calls := 0
	return func() (bool, error) {
		calls++
		f.t = f.t.Add(f.step)
		return calls >= n, nil
	}
}

func TestUntilDoneAtOnce(t *testing.T) {
	f := &fake{step: time.Microsecond}
	if err := until(f.clock(), time.Second, Spin, f.query(1)); err != nil {
		t.Fatal(err)
	}
	if len(f.events) != 0 {
		t.Fatalf("waited although done: %v", f.events)
	}
}

func TestUntilSpinsThenSleeps(t *testing.T) {
	// 500 µs a query: queries 1-3 end at 0.5, 1 and 1.5 ms, inside the
	// 2 ms spin (three yields); from the fourth on it sleeps 10, 20, 40 µs ...
	f := &fake{step: 500 * time.Microsecond}
	if err := until(f.clock(), time.Second, Spin, f.query(8)); err != nil {
		t.Fatal(err)
	}
	want := []string{"yield", "yield", "yield", "sleep", "sleep", "sleep", "sleep"}
	if !slices.Equal(f.events, want) {
		t.Fatalf("events %v, want %v", f.events, want)
	}
	wantSleeps := []time.Duration{10 * time.Microsecond, 20 * time.Microsecond, 40 * time.Microsecond, 80 * time.Microsecond}
	if !slices.Equal(f.sleeps, wantSleeps) {
		t.Fatalf("sleeps %v, want %v", f.sleeps, wantSleeps)
	}
}

func TestUntilSleepsGrowToMax(t *testing.T) {
	f := &fake{}
	if err := until(f.clock(), time.Minute, 0, f.query(20)); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(f.events, "yield") {
		t.Fatalf("spun with spinFor 0: %v", f.events)
	}
	if m := slices.Max(f.sleeps); m != maxSleep {
		t.Fatalf("longest sleep %v, want %v", m, maxSleep)
	}
}

func TestUntilDeadline(t *testing.T) {
	f := &fake{step: 100 * time.Microsecond}
	err := until(f.clock(), 50*time.Millisecond, Spin, func() (bool, error) { f.t = f.t.Add(f.step); return false, nil })
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err %v, want ErrTimeout", err)
	}
	// No sleep runs past the deadline, and the timeout is seen soon after.
	if over := f.t.Sub(time.Time{}) - 50*time.Millisecond; over < 0 || over > 2*f.step {
		t.Fatalf("gave up %v after the deadline", over)
	}
}

func TestUntilQueryError(t *testing.T) {
	boom := errors.New("boom")
	f := &fake{}
	calls := 0
	err := until(f.clock(), time.Second, Spin, func() (bool, error) { calls++; return calls == 3, boom })
	if !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("err %v after %d calls, want boom after 1", err, calls)
	}
}

func TestUntilReal(t *testing.T) {
	start := time.Now()
	n := 0
	if err := Until(time.Second, Spin, func() (bool, error) { n++; return n == 3, nil }); err != nil {
		t.Fatal(err)
	}
	err := Until(5*time.Millisecond, Spin, func() (bool, error) { return false, nil })
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("took %v", d)
	}
}
