/*
 * bench_write: write N samples with the seed prototype's shapes (T=200, H=40, 8 params,
 * 3 shocks, 3 observables) through the C API, one ume_writer_write_sample_* call per
 * sample, and print microseconds per sample and peak RSS.
 *
 * The data are realistic, not white noise: AR(1) trajectories driven by N(0,1) shocks,
 * geometrically decaying IRFs. A pool of 64 distinct samples is prepared in every input
 * form before the clock starts and cycled through, so the timing is the library's.
 *
 * usage: bench_write OUT_DIR [N=100000] [THREADS=1] [f32c|f64f] [lz4|zstd|blosc-zstd|none]
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include <sys/resource.h>

#include "umedata.h"

enum { T = 200, H = 40, NP = 8, NS = 3, NO = 3 };

typedef struct {
  ume_writer *w;
  uint64_t n, first, step;
  int f64_fortran;
  int failed;
} job;

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static double unif(uint64_t *s) { return (double)(splitmix(s) >> 11) * 0x1.0p-53; }
static double normal(uint64_t *s) {
  double u1 = unif(s), u2 = unif(s);
  return sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586 * u2);
}

/* One sample of AR(1) data in C order (row-major), double precision. */
static void make_sample(uint64_t i, double *theta, double *traj, double *irfs, double *shocks) {
  uint64_t s = 42 + i;
  for (int p = 0; p < NP; p++) theta[p] = unif(&s);
  double rho = 0.5 + 0.45 * theta[0];
  double y[NO] = {0};
  for (int t = 0; t < T; t++) {
    for (int k = 0; k < NS; k++) shocks[t * NS + k] = normal(&s);
    for (int o = 0; o < NO; o++) {
      y[o] = rho * y[o] + 0.01 * shocks[t * NS + (o % NS)];
      traj[t * NO + o] = y[o];
    }
  }
  for (int k = 0; k < NS; k++)
    for (int h = 0; h <= H; h++)
      for (int o = 0; o < NO; o++)
        irfs[(k * (H + 1) + h) * NO + o] = (k == o ? 0.01 : 0.002) * pow(rho, h);
}

static void to_fortran(const double *c, double *f, int rows, int cols) {
  for (int r = 0; r < rows; r++)
    for (int q = 0; q < cols; q++) f[r + rows * q] = c[r * cols + q];
}

enum { POOL = 64 }; /* distinct samples cycled through: 64 x 6.3 KB, beyond LZ4's window */
static double g_theta[POOL][NP], g_traj[POOL][T * NO], g_irfs[POOL][NS * (H + 1) * NO],
    g_shocks[POOL][T * NS];
static double f_traj[POOL][T * NO], f_irfs[POOL][NS * (H + 1) * NO], f_shocks[POOL][T * NS];
static float c_theta[POOL][NP], c_traj[POOL][T * NO], c_irfs[POOL][NS * (H + 1) * NO],
    c_shocks[POOL][T * NS];

/* Prepares the pool in every input form before the clock starts. */
static void make_pool(void) {
  for (int q = 0; q < POOL; q++) {
    make_sample((uint64_t)q, g_theta[q], g_traj[q], g_irfs[q], g_shocks[q]);
    to_fortran(g_traj[q], f_traj[q], T, NO);
    /* irfs (NS, H+1, NO) column-major: element (k,h,o) at k + NS*(h + (H+1)*o) */
    for (int k = 0; k < NS; k++)
      for (int h = 0; h <= H; h++)
        for (int o = 0; o < NO; o++)
          f_irfs[q][k + NS * (h + (H + 1) * o)] = g_irfs[q][(k * (H + 1) + h) * NO + o];
    to_fortran(g_shocks[q], f_shocks[q], T, NS);
    for (int p = 0; p < NP; p++) c_theta[q][p] = (float)g_theta[q][p];
    for (int j = 0; j < T * NO; j++) c_traj[q][j] = (float)g_traj[q][j];
    for (int j = 0; j < NS * (H + 1) * NO; j++) c_irfs[q][j] = (float)g_irfs[q][j];
    for (int j = 0; j < T * NS; j++) c_shocks[q][j] = (float)g_shocks[q][j];
  }
}

static void *run(void *arg) {
  job *jb = arg;
  for (uint64_t i = jb->first; i < jb->n; i += jb->step) {
    int q = (int)(i % POOL);
    ume_status st;
    if (jb->f64_fortran)
      st = ume_writer_write_sample_f64(jb->w, i, UME_LAYOUT_F, g_theta[q], NP, f_traj[q], T * NO,
                                       f_irfs[q], NS * (H + 1) * NO, f_shocks[q], T * NS);
    else
      st = ume_writer_write_sample_f32(jb->w, i, UME_LAYOUT_C, c_theta[q], NP, c_traj[q], T * NO,
                                       c_irfs[q], NS * (H + 1) * NO, c_shocks[q], T * NS);
    if (st != UME_OK) {
      fprintf(stderr, "write %llu: %s\n", (unsigned long long)i, ume_last_error_message());
      jb->failed = 1;
      return NULL;
    }
  }
  return NULL;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s OUT_DIR [N] [THREADS] [f32c|f64f] [lz4|zstd|blosc-zstd|none]\n", argv[0]);
    return 2;
  }
  uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 100000;
  int threads = argc > 3 ? atoi(argv[3]) : 1;
  int f64f = argc > 4 && strcmp(argv[4], "f64f") == 0;
  const char *codec = argc > 5 ? argv[5] : "lz4";
  if (threads < 1 || threads > 64 || n == 0) {
    fprintf(stderr, "bad N or THREADS\n");
    return 2;
  }

  ume_world_desc d = {.world_id = "bench", .n_samples = n, .T = T, .H = H,
                      .n_params = NP, .n_shocks = NS, .n_obs = NO};
  ume_writer_options o = ume_writer_options_default();
  o.overwrite = 1;
  if (getenv("UME_BENCH_NOFSYNC")) o.fsync = 0;
  if (getenv("UME_BENCH_MAX_OPEN")) o.max_open_chunks = (uint32_t)atoi(getenv("UME_BENCH_MAX_OPEN"));
  if (getenv("UME_BENCH_WORKERS")) o.n_threads = (uint32_t)atoi(getenv("UME_BENCH_WORKERS"));
  if (strcmp(codec, "zstd") == 0) o.codec = UME_CODEC_ZSTD;
  else if (strcmp(codec, "blosc-zstd") == 0) o.codec = UME_CODEC_BLOSC_ZSTD;
  else if (strcmp(codec, "none") == 0) o.codec = UME_CODEC_NONE;
  make_pool();
  ume_writer *w = NULL;
  double t0 = now();
  if (ume_writer_create(argv[1], &d, &o, &w) != UME_OK) {
    fprintf(stderr, "create: %s\n", ume_last_error_message());
    return 1;
  }
  pthread_t tid[64];
  job jobs[64];
  for (int k = 0; k < threads; k++) {
    jobs[k] = (job){.w = w, .n = n, .first = (uint64_t)k, .step = (uint64_t)threads,
                    .f64_fortran = f64f};
    pthread_create(&tid[k], NULL, run, &jobs[k]);
  }
  int failed = 0;
  for (int k = 0; k < threads; k++) {
    pthread_join(tid[k], NULL);
    failed |= jobs[k].failed;
  }
  ume_summary s;
  if (ume_writer_finalize(w, &s) != UME_OK) {
    fprintf(stderr, "finalize: %s\n", ume_last_error_message());
    return 1;
  }
  double dt = now() - t0;
  ume_writer_free(w);
  if (failed) return 1;

  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  uint64_t raw = s.theta.raw_bytes + s.trajectories.raw_bytes + s.irfs.raw_bytes + s.shocks.raw_bytes;
  uint64_t stored = s.theta.stored_bytes + s.trajectories.stored_bytes + s.irfs.stored_bytes +
                    s.shocks.stored_bytes;
  printf("{\"n\": %llu, \"threads\": %d, \"input\": \"%s\", \"codec\": \"%s\", "
         "\"seconds\": %.3f, \"us_per_sample\": %.2f, \"raw_MB_per_s\": %.1f, "
         "\"stored_over_raw\": %.3f, \"peak_rss_MiB\": %.1f, \"samples_written\": %llu}\n",
         (unsigned long long)n, threads, f64f ? "f64-F" : "f32-C", codec, dt, 1e6 * dt / (double)n,
         (double)raw / dt / 1e6, (double)stored / (double)raw, (double)ru.ru_maxrss / 1024.0,
         (unsigned long long)s.samples_written);
  return s.samples_written == n ? 0 : 1;
}
