// Package bench is flopcast's harness: it runs workloads on a backend,
// checks every result, times the checked kernel and returns measurements
// ready for a results file.
//
// The subpackages hold the pieces: stats (summaries of timing samples),
// verify (checking outputs against a float64 reference), result (the
// versioned results file), backend (the hardware seam and its
// implementations), hw (finding the machine) and report (tables and other
// renderings).
package bench
