/*
 * bench_read: read a umedata world back through the C reader API.
 *
 *  - full sequential read: every sample, all four arrays, in chunk-sized ranges
 *    (ume_reader_read_f32, C layout), reported as raw float32 GB/s, twice: decoded on the
 *    calling thread only (ume_reader_set_threads(r, 1)) and on the library's threads
 *    (UME_BENCH_READ_THREADS, default 0 = automatic: one per core);
 *  - random single-sample reads: N_RANDOM uniformly drawn samples, one
 *    ume_reader_read_f32(count = 1) each (all four arrays), median and p90 latency;
 *  - shuffled batches of 256: N_BATCHES batches of a random permutation of the samples
 *    (as a training loop draws them), one ume_reader_read_ids_f32 each (all four arrays,
 *    on the library's threads: UME_BENCH_READ_THREADS, default 0 = one per core), median
 *    and p90 per batch, with the per-sample
 *    time beside the random single-sample median.
 * The reader is opened once (its open time is reported separately). The files are read
 * through the page cache as the writer left them (warm cache; no cache dropping).
 * With UME_BENCH_POOL_FILE set, every sample read sequentially is compared with pool
 * sample i % P, so the benchmark also proves the bytes are the ones written.
 *
 * With the pool file, every sample of every batch is compared with the pool too.
 *
 * usage: bench_read DATASET [WORLD=bench] [N_RANDOM=300] [N_BATCHES=20]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "umedata.h"
#include "bench_common.h"

enum { BATCH = 256 };

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static ume_status read_range(ume_reader *r, uint64_t start, uint64_t count, float *th, float *tr,
                             float *ir, float *sh) {
  return ume_reader_read_f32(r, start, count, UME_LAYOUT_C, th, count * THETA_LEN, tr,
                             count * TRAJ_LEN, ir, count * IRFS_LEN, sh, count * SHOCKS_LEN);
}

/* One full sequential pass on `threads` threads (ume_reader_set_threads); seconds spent
 * in the reads, or -1 on an error. With `pool`, every sample is compared with it. */
static double seq_pass(ume_reader *r, uint32_t threads, uint64_t n, uint64_t cs, float *th,
                       float *tr, float *ir, float *sk, const bc_pool *pool,
                       uint64_t *mismatches) {
  if (ume_reader_set_threads(r, threads) != UME_OK) {
    fprintf(stderr, "set_threads: %s\n", ume_last_error_message());
    return -1;
  }
  double ts = 0;
  for (uint64_t start = 0; start < n; start += cs) {
    uint64_t count = n - start < cs ? n - start : cs;
    double a = bc_now();
    if (read_range(r, start, count, th, tr, ir, sk) != UME_OK) {
      fprintf(stderr, "read [%llu, +%llu): %s\n", (unsigned long long)start,
              (unsigned long long)count, ume_last_error_message());
      return -1;
    }
    ts += bc_now() - a;
    if (pool)
      for (uint64_t j = 0; j < count; j++) {
        uint64_t q = (start + j) % pool->P;
        *mismatches += memcmp(th + j * THETA_LEN, pool->theta + q * THETA_LEN, THETA_LEN * 4) != 0;
        *mismatches += memcmp(tr + j * TRAJ_LEN, pool->traj + q * TRAJ_LEN, TRAJ_LEN * 4) != 0;
        *mismatches += memcmp(ir + j * IRFS_LEN, pool->irfs + q * IRFS_LEN, IRFS_LEN * 4) != 0;
        *mismatches +=
            memcmp(sk + j * SHOCKS_LEN, pool->shocks + q * SHOCKS_LEN, SHOCKS_LEN * 4) != 0;
      }
  }
  return ts;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s DATASET [WORLD=bench] [N_RANDOM=300] [N_BATCHES=20]\n", argv[0]);
    return 2;
  }
  const char *world = argc > 2 ? argv[2] : "bench";
  int nrand = argc > 3 ? atoi(argv[3]) : 300;
  if (nrand < 1) nrand = 1;
  int nbatch = argc > 4 ? atoi(argv[4]) : 20;
  if (nbatch < 1) nbatch = 1;

  bc_pool pool = {0};
  const char *pool_file = getenv("UME_BENCH_POOL_FILE");
  int check = pool_file && *pool_file;
  if (check && bc_pool_read(&pool, pool_file)) {
    fprintf(stderr, "cannot read pool file %s\n", pool_file);
    return 1;
  }

  double t0 = bc_now();
  ume_reader *r = NULL;
  if (ume_reader_open(argv[1], world, &r) != UME_OK) {
    fprintf(stderr, "open: %s\n", ume_last_error_message());
    return 1;
  }
  double t_open = bc_now() - t0;
  ume_world_shape sh;
  ume_reader_shape(r, &sh);
  if (sh.T != T || sh.H != H || sh.n_params != NP || sh.n_shocks != NS || sh.n_obs != NO) {
    fprintf(stderr, "unexpected shapes\n");
    return 1;
  }
  uint64_t n = sh.n_samples, cs = sh.chunk_samples;
  if (cs < BATCH) cs = BATCH; /* the buffers also hold one batch */
  float *th = malloc(cs * THETA_LEN * 4), *tr = malloc(cs * TRAJ_LEN * 4),
        *ir = malloc(cs * IRFS_LEN * 4), *sk = malloc(cs * SHOCKS_LEN * 4);
  if (!th || !tr || !ir || !sk) return 1;

  const char *bt = getenv("UME_BENCH_READ_THREADS"); /* the library's threads; 0 = per core */
  uint32_t bthreads = bt && *bt ? (uint32_t)atoi(bt) : 0;

  /* Full sequential read, chunk-sized ranges: an untimed warm-up pass (the first pass
   * was ~30 % slower whatever its thread count), then on the calling thread only, then on
   * the library's threads (the samples of both timed passes are checked). */
  uint64_t mismatches = 0;
  if (seq_pass(r, 0, n, cs, th, tr, ir, sk, NULL, &mismatches) < 0) return 1; /* warm-up */
  double ts1 = seq_pass(r, 1, n, cs, th, tr, ir, sk, check ? &pool : NULL, &mismatches);
  double ts = seq_pass(r, bthreads, n, cs, th, tr, ir, sk, check ? &pool : NULL, &mismatches);
  if (ts1 < 0 || ts < 0) return 1;
  /* the other reads with the default (automatic) thread count */
  ume_reader_set_threads(r, 0);
  double raw = (double)n * SAMPLE_LEN * 4;

  /* Random single samples. */
  double *lat = malloc(sizeof(double) * (size_t)nrand);
  uint64_t s = 7;
  for (int k = 0; k < nrand; k++) {
    uint64_t i = bc_splitmix(&s) % n;
    double a = bc_now();
    if (read_range(r, i, 1, th, tr, ir, sk) != UME_OK) {
      fprintf(stderr, "read %llu: %s\n", (unsigned long long)i, ume_last_error_message());
      return 1;
    }
    lat[k] = bc_now() - a;
  }
  qsort(lat, (size_t)nrand, sizeof(double), cmp_double);
  double med = lat[nrand / 2], p90 = lat[(int)(0.9 * (nrand - 1))];

  /* Shuffled batches: consecutive slices of a random permutation (repeats once the
   * permutation is used up, when n < N_BATCHES * BATCH). */
  uint64_t *perm = malloc(sizeof(uint64_t) * n);
  double *blat = malloc(sizeof(double) * (size_t)nbatch);
  if (!perm || !blat) return 1;
  for (uint64_t i = 0; i < n; i++) perm[i] = i;
  for (uint64_t i = n; i-- > 1;) {
    uint64_t j = bc_splitmix(&s) % (i + 1), t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  uint64_t bs = n < BATCH ? n : BATCH;
  for (int k = 0; k < nbatch; k++) {
    const uint64_t *ids = perm + ((uint64_t)k % (n / bs)) * bs;
    double a = bc_now();
    if (ume_reader_read_ids_f32(r, ids, bs, UME_LAYOUT_C, th, bs * THETA_LEN, tr, bs * TRAJ_LEN,
                                ir, bs * IRFS_LEN, sk, bs * SHOCKS_LEN, bthreads) != UME_OK) {
      fprintf(stderr, "read batch %d: %s\n", k, ume_last_error_message());
      return 1;
    }
    blat[k] = bc_now() - a;
    if (check)
      for (uint64_t j = 0; j < bs; j++) {
        uint64_t q = ids[j] % pool.P;
        mismatches += memcmp(th + j * THETA_LEN, pool.theta + q * THETA_LEN, THETA_LEN * 4) != 0;
        mismatches += memcmp(tr + j * TRAJ_LEN, pool.traj + q * TRAJ_LEN, TRAJ_LEN * 4) != 0;
        mismatches += memcmp(ir + j * IRFS_LEN, pool.irfs + q * IRFS_LEN, IRFS_LEN * 4) != 0;
        mismatches += memcmp(sk + j * SHOCKS_LEN, pool.shocks + q * SHOCKS_LEN, SHOCKS_LEN * 4) != 0;
      }
  }
  qsort(blat, (size_t)nbatch, sizeof(double), cmp_double);
  double bmed = blat[nbatch / 2], bp90 = blat[(int)(0.9 * (nbatch - 1))];
  ume_reader_free(r);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("{\"n\": %llu, \"chunk_samples\": %llu, \"open_ms\": %.3f, \"seq_seconds\": %.3f, "
         "\"seq_GB_per_s\": %.3f, \"seq_1thread_seconds\": %.3f, \"seq_1thread_GB_per_s\": %.3f, \"random_reads\": %d, \"random_median_ms\": %.3f, "
         "\"random_p90_ms\": %.3f, \"batch_size\": %llu, \"batches\": %d, "
         "\"batch_threads\": %u, \"batch_median_ms\": %.3f, \"batch_p90_ms\": %.3f, \"batch_us_per_sample\": %.2f, "
         "\"random_us_per_sample\": %.2f, \"checked\": %d, \"mismatches\": %llu, "
         "\"peak_rss_MiB\": %.1f}\n",
         (unsigned long long)n, (unsigned long long)sh.chunk_samples, 1e3 * t_open, ts,
         raw / ts / 1e9, ts1, raw / ts1 / 1e9, nrand, 1e3 * med, 1e3 * p90, (unsigned long long)bs, nbatch, bthreads, 1e3 * bmed,
         1e3 * bp90, 1e6 * bmed / (double)bs, 1e6 * med, check, (unsigned long long)mismatches,
         (double)ru.ru_maxrss / 1024.0);
  return mismatches ? 1 : 0;
}
