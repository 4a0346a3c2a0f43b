/*
 * bench_write: write N samples with the seed prototype's shapes (T=200, H=40, 8 params,
 * 3 shocks, 3 observables) through the C API, one ume_writer_write_sample_* call per
 * sample, and print microseconds per sample and peak RSS (one JSON line).
 *
 * The data are realistic, not white noise: a VAR(1) economy driven by N(0,1) shocks with
 * decaying IRFs (bench_common.h documents the formula). A pool of P distinct samples is
 * prepared in the input form before the clock starts and sample i is pool sample i % P,
 * so the timing is the library's. With P >= samples per chunk no chunk holds a repeated
 * sample, so the compressor cannot exploit the pool (bench/README.md shows the check).
 *
 * usage: bench_write OUT_DIR [N=100000] [THREADS=1] [f32c|f64f] [lz4|zstd|blosc-zstd|none]
 *
 * Environment (all optional):
 *   UME_BENCH_POOL_FILE  read the pool from this file (written by bench_gen; the peers
 *                        in peers.py read the same file), else generate it in memory
 *   UME_BENCH_POOL       pool size when generated (default 1024)
 *   UME_BENCH_CHUNK      samples per chunk (default 0 = the library's choice)
 *   UME_BENCH_INNER      samples per inner chunk of a shard (default 0 = the library's
 *                        choice; = UME_BENCH_CHUNK for unsharded chunks)
 *   UME_BENCH_NOFSYNC=1  opts.fsync = 0
 *   UME_BENCH_MAX_OPEN, UME_BENCH_WORKERS   opts.max_open_chunks, opts.n_threads
 *   UME_BENCH_LABEL      free text copied into the JSON line
 *
 * Threads: caller thread k writes samples k, k + THREADS, k + 2*THREADS, ... (all threads
 * fill the same chunks at once). The clock runs from ume_writer_create to the end of
 * ume_writer_finalize (all data stored; fsynced unless UME_BENCH_NOFSYNC).
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
#include "bench_common.h"

typedef struct {
  ume_writer *w;
  uint64_t n, first, step;
  int f64_fortran;
  int failed;
} job;

static bc_pool g_pool;
/* float64 Fortran-order copies of the pool (only for f64f runs). */
static double *f_theta, *f_traj, *f_irfs, *f_shocks;

static void to_fortran(const float *c, double *f, int rows, int cols) {
  for (int r = 0; r < rows; r++)
    for (int q = 0; q < cols; q++) f[r + rows * q] = (double)c[r * cols + q];
}

static int make_f64_fortran(void) {
  uint64_t P = g_pool.P;
  f_theta = malloc(P * THETA_LEN * sizeof(double));
  f_traj = malloc(P * TRAJ_LEN * sizeof(double));
  f_irfs = malloc(P * IRFS_LEN * sizeof(double));
  f_shocks = malloc(P * SHOCKS_LEN * sizeof(double));
  if (!f_theta || !f_traj || !f_irfs || !f_shocks) return -1;
  for (uint64_t q = 0; q < P; q++) {
    for (int p = 0; p < NP; p++) f_theta[q * THETA_LEN + p] = g_pool.theta[q * THETA_LEN + p];
    to_fortran(g_pool.traj + q * TRAJ_LEN, f_traj + q * TRAJ_LEN, T, NO);
    /* irfs (NS, H+1, NO) column-major: element (k,h,o) at k + NS*(h + (H+1)*o) */
    const float *ci = g_pool.irfs + q * IRFS_LEN;
    double *fi = f_irfs + q * IRFS_LEN;
    for (int k = 0; k < NS; k++)
      for (int h = 0; h <= H; h++)
        for (int o = 0; o < NO; o++) fi[k + NS * (h + (H + 1) * o)] = ci[(k * (H + 1) + h) * NO + o];
    to_fortran(g_pool.shocks + q * SHOCKS_LEN, f_shocks + q * SHOCKS_LEN, T, NS);
  }
  /* The float32 copy is not needed any more: release it so peak RSS is not inflated. */
  bc_pool_free(&g_pool);
  return 0;
}

static void *run(void *arg) {
  job *jb = arg;
  uint64_t P = g_pool.P;
  for (uint64_t i = jb->first; i < jb->n; i += jb->step) {
    uint64_t q = i % P;
    ume_status st;
    if (jb->f64_fortran)
      st = ume_writer_write_sample_f64(jb->w, i, UME_LAYOUT_F, f_theta + q * THETA_LEN, THETA_LEN,
                                       f_traj + q * TRAJ_LEN, TRAJ_LEN, f_irfs + q * IRFS_LEN,
                                       IRFS_LEN, f_shocks + q * SHOCKS_LEN, SHOCKS_LEN);
    else
      st = ume_writer_write_sample_f32(jb->w, i, UME_LAYOUT_C, g_pool.theta + q * THETA_LEN,
                                       THETA_LEN, g_pool.traj + q * TRAJ_LEN, TRAJ_LEN,
                                       g_pool.irfs + q * IRFS_LEN, IRFS_LEN,
                                       g_pool.shocks + q * SHOCKS_LEN, SHOCKS_LEN);
    if (st != UME_OK) {
      fprintf(stderr, "write %llu: %s\n", (unsigned long long)i, ume_last_error_message());
      jb->failed = 1;
      return NULL;
    }
  }
  return NULL;
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
  if (getenv("UME_BENCH_CHUNK")) o.chunk_samples = strtoull(getenv("UME_BENCH_CHUNK"), NULL, 10);
  if (getenv("UME_BENCH_INNER")) o.inner_chunk_samples = (uint32_t)strtoul(getenv("UME_BENCH_INNER"), NULL, 10);
  if (strcmp(codec, "zstd") == 0) o.codec = UME_CODEC_ZSTD;
  else if (strcmp(codec, "blosc-zstd") == 0) o.codec = UME_CODEC_BLOSC_ZSTD;
  else if (strcmp(codec, "none") == 0) o.codec = UME_CODEC_NONE;
  else if (strcmp(codec, "lz4") != 0) {
    fprintf(stderr, "unknown codec %s\n", codec);
    return 2;
  }

  const char *pool_file = getenv("UME_BENCH_POOL_FILE");
  if (pool_file && *pool_file) {
    if (bc_pool_read(&g_pool, pool_file)) {
      fprintf(stderr, "cannot read pool file %s\n", pool_file);
      return 1;
    }
  } else {
    uint64_t P = getenv("UME_BENCH_POOL") ? strtoull(getenv("UME_BENCH_POOL"), NULL, 10) : 1024;
    if (P == 0 || bc_pool_generate(&g_pool, P)) {
      fprintf(stderr, "cannot generate a pool of %llu samples\n", (unsigned long long)P);
      return 1;
    }
  }
  uint64_t pool_n = g_pool.P;
  if (f64f && make_f64_fortran()) {
    fprintf(stderr, "out of memory\n");
    return 1;
  }
  g_pool.P = pool_n;
  double pool_MiB = (double)pool_n * SAMPLE_LEN * (f64f ? 8 : 4) / 1048576.0;
  double rss_base = bc_rss_now_MiB();

  ume_writer *w = NULL;
  double t0 = bc_now();
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
  double t_calls = bc_now() - t0;
  ume_summary s;
  if (ume_writer_finalize(w, &s) != UME_OK) {
    fprintf(stderr, "finalize: %s\n", ume_last_error_message());
    return 1;
  }
  double dt = bc_now() - t0;
  ume_writer_free(w);
  if (failed) return 1;

  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  uint64_t raw = s.theta.raw_bytes + s.trajectories.raw_bytes + s.irfs.raw_bytes + s.shocks.raw_bytes;
  uint64_t stored = s.theta.stored_bytes + s.trajectories.stored_bytes + s.irfs.stored_bytes +
                    s.shocks.stored_bytes;
  const char *label = getenv("UME_BENCH_LABEL");
  printf("{\"n\": %llu, \"threads\": %d, \"input\": \"%s\", \"codec\": \"%s\", "
         "\"seconds\": %.3f, \"us_per_sample\": %.2f, \"raw_MB_per_s\": %.1f, "
         "\"stored_over_raw\": %.3f, \"peak_rss_MiB\": %.1f, \"samples_written\": %llu, "
         "\"fsync\": %d, \"pool\": %llu, \"pool_MiB\": %.1f, \"rss_before_create_MiB\": %.1f, "
         "\"chunk_samples_opt\": %llu, \"inner_chunk_samples_opt\": %u, \"calls_seconds\": %.3f, \"finalize_seconds\": %.3f, "
         "\"raw_bytes\": %llu, \"stored_bytes\": %llu, \"chunks_stored_early\": %llu, \"label\": \"%s\"}\n",
         (unsigned long long)n, threads, f64f ? "f64-F" : "f32-C", codec, dt, 1e6 * dt / (double)n,
         (double)raw / dt / 1e6, (double)stored / (double)raw, (double)ru.ru_maxrss / 1024.0,
         (unsigned long long)s.samples_written, o.fsync, (unsigned long long)pool_n, pool_MiB,
         rss_base, (unsigned long long)o.chunk_samples, o.inner_chunk_samples, t_calls, dt - t_calls,
         (unsigned long long)raw, (unsigned long long)stored,
         (unsigned long long)s.chunks_stored_early, label ? label : "");
  if (s.samples_written != n) {
    fprintf(stderr, "bench_write: every write returned UME_OK but finalize reports %llu samples "
            "written, expected %llu\n", (unsigned long long)s.samples_written, (unsigned long long)n);
    return 1;
  }
  return 0;
}
