/*
 * cblas_sgemm peer: the comparator for flopcast's CPU GEMM.
 *
 * It calls cblas_sgemm from the system's OpenBLAS directly, with the same
 * row-major layout, shape, thread count and timing rules as flopcast (warm-up,
 * then timed calls until both a minimum count and a minimum time, median of
 * per-call wall-clock times), so the ratio of the two medians isolates what
 * flopcast's Go path (gorgonia tensor -> gonum BLAS interface -> cgo) costs.
 *
 * Build: cc -O2 -o cblas_sgemm cblas_sgemm.c -lopenblas
 * Run:   ./cblas_sgemm M N K [repeats] [warmup] [min_seconds] [threads]
 * Output: one JSON object on stdout.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

extern void openblas_set_num_threads(int);
extern char *openblas_get_config(void);

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv) {
	if (argc < 4) {
		fprintf(stderr, "usage: %s M N K [repeats] [warmup] [min_seconds] [threads]\n", argv[0]);
		return 2;
	}
	int m = atoi(argv[1]), n = atoi(argv[2]), k = atoi(argv[3]);
	int repeats = argc > 4 ? atoi(argv[4]) : 10;
	int warmup = argc > 5 ? atoi(argv[5]) : 2;
	double min_seconds = argc > 6 ? atof(argv[6]) : 0.5;
	int threads = argc > 7 ? atoi(argv[7]) : 0;
	if (m <= 0 || n <= 0 || k <= 0 || repeats <= 0 || warmup < 0) {
		fprintf(stderr, "bad arguments\n");
		return 2;
	}
	if (threads > 0) openblas_set_num_threads(threads);

	float *a = malloc(sizeof(float) * (size_t)m * k);
	float *b = malloc(sizeof(float) * (size_t)k * n);
	float *c = malloc(sizeof(float) * (size_t)m * n);
	if (!a || !b || !c) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	srand(1);
	for (size_t i = 0; i < (size_t)m * k; i++) a[i] = 2.0f * rand() / RAND_MAX - 1.0f + 1e-7f;
	for (size_t i = 0; i < (size_t)k * n; i++) b[i] = 2.0f * rand() / RAND_MAX - 1.0f + 1e-7f;

	for (int i = 0; i < warmup + 1; i++)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);

	size_t cap = 1 << 20, count = 0;
	double *samples = malloc(sizeof(double) * cap), total = 0;
	while ((count < (size_t)repeats || total < min_seconds) && count < cap) {
		double t0 = now();
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
		double dt = now() - t0;
		samples[count++] = dt;
		total += dt;
	}
	/* A spot check that the product was computed: c[0] against a dot product. */
	double ref = 0;
	for (int p = 0; p < k; p++) ref += (double)a[p] * b[(size_t)p * n];
	double err = (c[0] - ref) / (ref != 0 ? ref : 1);
	if (err < 0) err = -err;

	qsort(samples, count, sizeof(double), cmp);
	double median = count % 2 ? samples[count / 2] : 0.5 * (samples[count / 2 - 1] + samples[count / 2]);
	double flops = 2.0 * m * n * k;
	printf("{\"peer\":\"cblas_sgemm\",\"blas\":\"%s\",\"m\":%d,\"n\":%d,\"k\":%d,\"repeats\":%zu,"
	       "\"median_s\":%.9f,\"min_s\":%.9f,\"max_s\":%.9f,\"gflop_per_second\":%.3f,\"c00_rel_error\":%.3g}\n",
	       openblas_get_config(), m, n, k, count, median, samples[0], samples[count - 1],
	       flops / median / 1e9, err);
	free(a);
	free(b);
	free(c);
	free(samples);
	return err < 1e-3 ? 0 : 1;
}
