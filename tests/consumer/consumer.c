/* A minimal umedata user: writes a 6-sample world and reads it back.
 *   consumer OUT_DIR */
#include <stdio.h>
#include <string.h>

#include <umedata.h>

enum { N = 6, T = 4, H = 2, NP = 2, NS = 1, NO = 2 };

static int fail(const char *what) {
  fprintf(stderr, "consumer: %s: %s\n", what, ume_last_error_message());
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: consumer OUT_DIR\n");
    return 2;
  }
  ume_world_desc world;
  memset(&world, 0, sizeof world);
  world.world_id = "tiny";
  world.n_samples = N;
  world.T = T;
  world.H = H;
  world.n_params = NP;
  world.n_shocks = NS;
  world.n_obs = NO;
  ume_writer_options opts = ume_writer_options_default();
  opts.overwrite = 1;
  ume_writer *w = NULL;
  if (ume_writer_create(argv[1], &world, &opts, &w) != UME_OK) return fail("ume_writer_create");
  double theta[NP], traj[T * NO], irfs[NS * (H + 1) * NO], shocks[T * NS];
  for (int i = 0; i < N; i++) {
    for (int j = 0; j < NP; j++) theta[j] = i + 0.25 * j;
    for (int j = 0; j < T * NO; j++) traj[j] = 100.0 * i + j;
    for (int j = 0; j < NS * (H + 1) * NO; j++) irfs[j] = -0.5 * j;
    for (int j = 0; j < T * NS; j++) shocks[j] = 0.125 * j;
    if (ume_writer_write_sample_f64(w, (uint64_t)i, UME_LAYOUT_C, theta, NP, traj, T * NO, irfs,
                                    NS * (H + 1) * NO, shocks, T * NS) != UME_OK)
      return fail("ume_writer_write_sample_f64");
  }
  ume_summary s;
  if (ume_writer_finalize(w, &s) != UME_OK) return fail("ume_writer_finalize");
  ume_writer_free(w);

  ume_reader *r = NULL;
  if (ume_reader_open(argv[1], "tiny", &r) != UME_OK) return fail("ume_reader_open");
  float back[T * NO];
  if (ume_reader_read_f32(r, N - 1, 1, UME_LAYOUT_C, NULL, 0, back, T * NO, NULL, 0, NULL, 0) !=
      UME_OK)
    return fail("ume_reader_read_f32");
  ume_reader_free(r);
  for (int j = 0; j < T * NO; j++)
    if (back[j] != (float)(100.0 * (N - 1) + j)) {
      fprintf(stderr, "consumer: trajectories[%d] = %g\n", j, (double)back[j]);
      return 1;
    }
  printf("consumer: umedata %s, %llu samples written and read back\n", ume_version(),
         (unsigned long long)s.samples_written);
  return 0;
}
