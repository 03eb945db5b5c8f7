// Package forecast turns a per-device speed into the time, GPU-hours, cost,
// energy and CO2 of training a model on N GPUs: pure functions of the model
// (kernels.Model), the hardware (bench/catalog), the speed (measured GEMM
// curve, a given figure, or the catalog's) and the parallel layout, which
// is searched when not given. It also answers budget questions, places a
// run against the EU AI Act's 10^25 FLOP threshold, and back-tests itself
// against published training runs (Backtest). Request.Resolve turns a run
// asked for by catalog names (GPU or instance, cluster size, results file,
// price) into an Input, so callers need no CLI. docs/forecast.md explains
// the model, its assumptions and lists the back-test's errors.
package forecast
