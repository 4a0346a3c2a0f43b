/* A program written and compiled against the 0.2.0 header (tests/abi/umedata-0.2.0.h,
 * the header as released), run against the current library: the ABI promise of
 * README "ABI policy". It uses the by-value ume_writer_options struct exactly as 0.2
 * programs do, writes a world, reads it back and checks the values and the summary.
 *
 *   abi_0_2 <scratch dir>
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "umedata-0.2.0.h"

#define N 40
#define NT 5
#define NH 2
#define NP 3
#define NS 2
#define NO 2

static int failures = 0;
#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c)) {                                                                \
      fprintf(stderr, "%s:%d: FAILED: %s (%s)\n", __FILE__, __LINE__, #c,      \
              ume_last_error_message());                                       \
      failures++;                                                              \
    }                                                                          \
  } while (0)

static double value(uint64_t i, int array, size_t k) { return (double)i + array * 0.25 + k * 1e-3; }

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: abi_0_2 <scratch dir>\n");
    return 2;
  }
  mkdir(argv[1], 0755);
  char path[1024];
  snprintf(path, sizeof path, "%s/abi.zarr", argv[1]);

  /* Same major version, library at least as new as the header. */
  const char *v = ume_version();
  int major = -1, minor = -1;
  CHECK(sscanf(v, "%d.%d", &major, &minor) == 2);
  CHECK(major == UME_VERSION_MAJOR);
  CHECK(minor >= UME_VERSION_MINOR);

  const char *params[NP] = {"a", "b", "c"};
  ume_world_desc world = {.world_id = "abi", .n_samples = N, .T = NT, .H = NH, .n_params = NP,
                          .n_shocks = NS, .n_obs = NO, .param_names = params};
  ume_writer_options opts = ume_writer_options_default();
  opts.chunk_samples = 8;
  opts.inner_chunk_samples = 4;
  opts.overwrite = 1;
  opts.n_threads = 2;
  ume_writer *w = NULL;
  CHECK(ume_writer_create(path, &world, &opts, &w) == UME_OK);
  if (!w) return 1;
  enum { LT = NP, LTR = NT * NO, LI = NS * (NH + 1) * NO, LS = NT * NS };
  double th[LT], tr[LTR], ir[LI], sh[LS];
  for (uint64_t i = 0; i < N; i++) {
    for (size_t k = 0; k < LT; k++) th[k] = value(i, 0, k);
    for (size_t k = 0; k < LTR; k++) tr[k] = value(i, 1, k);
    for (size_t k = 0; k < LI; k++) ir[k] = value(i, 2, k);
    for (size_t k = 0; k < LS; k++) sh[k] = value(i, 3, k);
    CHECK(ume_writer_write_sample_f64(w, i, UME_LAYOUT_C, th, LT, tr, LTR, ir, LI, sh, LS) == UME_OK);
  }
  ume_summary s;
  memset(&s, 0xAB, sizeof s);
  CHECK(ume_writer_finalize(w, &s) == UME_OK);
  CHECK(s.n_samples == N);
  CHECK(s.samples_written == N);
  CHECK(s.trajectories.raw_bytes == (uint64_t)N * LTR * 4);
  CHECK(s.trajectories.ratio > 0.0 && s.trajectories.ratio < 2.0);
  CHECK(s.chunks_stored_early == 0);
  ume_writer_free(w);

  /* A bad flag in the frozen struct is still named. */
  ume_writer_options bad = ume_writer_options_default();
  bad.fsync = 7;
  ume_writer *w2 = NULL;
  CHECK(ume_writer_create(path, &world, &bad, &w2) == UME_ERR_INVALID_ARGUMENT);
  CHECK(strstr(ume_last_error_message(), "fsync") != NULL);
  CHECK(w2 == NULL);

  ume_reader *r = NULL;
  CHECK(ume_reader_open(path, "abi", &r) == UME_OK);
  if (!r) return 1;
  ume_world_shape shape;
  CHECK(ume_reader_shape(r, &shape) == UME_OK);
  CHECK(shape.n_samples == N && shape.T == NT && shape.H == NH && shape.chunk_samples == 8);
  double rtr[LTR];
  for (uint64_t i = 0; i < N; i += 7) {
    CHECK(ume_reader_read_f64(r, i, 1, UME_LAYOUT_C, NULL, 0, rtr, LTR, NULL, 0, NULL, 0) == UME_OK);
    for (size_t k = 0; k < LTR; k++) CHECK(rtr[k] == (double)(float)value(i, 1, k));
  }
  ume_reader_free(r);
  printf("abi_0_2: header %s, library %s: %s\n", UME_VERSION_STRING, v,
         failures ? "FAILED" : "1 passed, 0 failed");
  return failures ? 1 : 0;
}
