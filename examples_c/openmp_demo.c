/* openmp_demo — the demo economy of write_demo.c, written by all OpenMP threads through
 * ONE shared writer handle.
 *
 *   openmp_demo OUT_DIR [N=1000] [CHUNK_SAMPLES=0] [--overwrite]
 *
 * The simulator (and everything between the "shapes" and "helpers" markers) is the one of
 * examples_c/write_demo.c, specified in docs/c-api-draft.md ("Demo simulator"): same
 * seeds, world "nk", names and shapes. The sample loop is
 *
 *     #pragma omp parallel for schedule(dynamic)
 *     for (i = 0; i < N; i++) { simulate_sample(i, s); ume_writer_write_sample_f64(w, i, ...); }
 *
 * so samples reach the writer out of order and concurrently, the realistic case on a
 * multi-core node. The dataset must nevertheless be value for value the serial one; CTest
 * checks that with compare_datasets against write_demo's output.
 * OMP_NUM_THREADS chooses the number of threads as usual.
 */
#include <inttypes.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umedata.h"

/* The simulator is the serial demo's, shared with it (exact draws and sums). */
#include "demo_sim.h"

/* ---- main ------------------------------------------------------------------------------ */

static int parse_u64(const char *s, uint64_t *out) {
  char *end = NULL;
  if (s[0] == '-' || s[0] == '\0') return 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (*end != '\0') return 0;
  *out = (uint64_t)v;
  return 1;
}

static void usage(void) {
  fprintf(stderr, "usage: openmp_demo OUT_DIR [N=1000] [CHUNK_SAMPLES=0] [--overwrite]\n");
}

int main(int argc, char **argv) {
  const char *out_dir = NULL;
  uint64_t n = 1000, chunk = 0;
  int overwrite = 0, n_positional = 0;
  for (int a = 1; a < argc; a++) {
    if (strcmp(argv[a], "--overwrite") == 0) {
      overwrite = 1;
    } else if (n_positional == 0) {
      out_dir = argv[a];
      n_positional++;
    } else if (n_positional == 1 && parse_u64(argv[a], &n) && n > 0) {
      n_positional++;
    } else if (n_positional == 2 && parse_u64(argv[a], &chunk)) {
      n_positional++;
    } else {
      fprintf(stderr, "openmp_demo: bad argument '%s'\n", argv[a]);
      usage();
      return 2;
    }
  }
  if (out_dir == NULL) {
    usage();
    return 2;
  }

  ume_world_desc world = demo_world(n);

  ume_writer_options opts = ume_writer_options_default();
  opts.chunk_samples = chunk;
  opts.overwrite = (uint8_t)overwrite;

  ume_writer *writer = NULL;
  ume_status st = ume_writer_create(out_dir, &world, &opts, &writer);
  if (st != UME_OK) {
    fprintf(stderr, "openmp_demo: ume_writer_create failed: %s\n", ume_last_error_message());
    return 1;
  }

  int n_threads = 1, failed = 0;
  /* samples written per thread, to show that the work was really shared */
  uint64_t *per_thread = calloc((size_t)omp_get_max_threads(), sizeof *per_thread);
  if (per_thread == NULL) {
    ume_writer_free(writer);
    return 1;
  }

#pragma omp parallel shared(writer, failed, n_threads, per_thread)
  {
#pragma omp single
    n_threads = omp_get_num_threads();

    sample_t *s = malloc(sizeof *s); /* each thread its own buffers */
    if (s == NULL) {
#pragma omp atomic write
      failed = 1;
    }
    const int me = omp_get_thread_num();
#pragma omp for schedule(dynamic)
    for (uint64_t i = 0; i < n; i++) {
      int stop;
#pragma omp atomic read
      stop = failed;
      if (stop || s == NULL) continue;
      simulate_sample(i, s);
      ume_status ws = ume_writer_write_sample_f64(writer, i, UME_LAYOUT_C,
                                                  s->theta, THETA_LEN,
                                                  &s->traj[0][0], TRAJ_LEN,
                                                  &s->irfs[0][0][0], IRFS_LEN,
                                                  &s->shocks[0][0], SHOCKS_LEN);
      if (ws != UME_OK) {
        /* the message is this thread's own */
#pragma omp critical(report)
        fprintf(stderr, "openmp_demo: thread %d, sample %" PRIu64 ": %s\n", me, i,
                ume_last_error_message());
#pragma omp atomic write
        failed = 1;
      } else {
        per_thread[me]++;
      }
    }
    free(s);
  }

  ume_summary sum;
  st = ume_writer_finalize(writer, &sum);
  if (st != UME_OK) {
    fprintf(stderr, "openmp_demo: ume_writer_finalize failed: %s\n", ume_last_error_message());
    failed = 1;
  }
  ume_writer_free(writer);

  printf("openmp_demo: wrote %s/nk with %d threads sharing one writer, schedule(dynamic)\n",
         out_dir, n_threads);
  for (int t = 0; t < n_threads; t++)
    printf("  thread %d wrote %" PRIu64 " samples\n", t, per_thread[t]);
  free(per_thread);
  if (failed) return 1;
  printf("  samples written %" PRIu64 " of %" PRIu64 "; trajectories stored/raw %.3f\n",
         sum.samples_written, sum.n_samples, sum.trajectories.ratio);
  return sum.samples_written == n ? 0 : 1;
}
