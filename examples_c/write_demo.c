/* write_demo — a small New-Keynesian-flavoured simulator that writes a umedata dataset.
 *
 *   write_demo OUT_DIR [N=1000] [CHUNK_SAMPLES=0] [--overwrite] [--zarr2]
 *
 * For each sample i it draws 8 parameters theta and a T x 3 shock sequence from a
 * splitmix64 stream seeded with 42 + i, simulates a 3-variable linear economy
 *     y_t = A(theta) y_{t-1} + B(theta) e_t,   y_{-1} = 0,
 * computes impulse responses, and hands the four arrays to umedata in double precision
 * (C layout). umedata stores them as float32 Zarr arrays in OUT_DIR/nk/.
 *
 * Afterwards it reopens the dataset and checks that a few samples read back equal the
 * float32-rounded values it wrote.
 *
 * The model is specified exactly in docs/c-api-draft.md ("Demo simulator");
 * tests/python/demo_sim.py recomputes it bit for bit, so any change to the draws, their
 * order or the order of the sums here must be made there as well.
 */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umedata.h"

#include "demo_sim.h"

/* ---- helpers --------------------------------------------------------------------------- */

/* Prints the failing call and the library's message, returns 1 for `return fail(...)`. */
static int fail(const char *what, ume_status st) {
  fprintf(stderr, "write_demo: %s failed: %s (%d): %s\n", what, ume_status_string(st),
          (int)st, ume_last_error_message());
  return 1;
}

static void usage(void) {
  fprintf(stderr,
          "usage: write_demo OUT_DIR [N=1000] [CHUNK_SAMPLES=0] [--overwrite] [--zarr2]\n"
          "  OUT_DIR        dataset directory to create (world \"nk\" inside it)\n"
          "  N              number of samples (>= 1)\n"
          "  CHUNK_SAMPLES  samples per chunk, 0 = automatic\n"
          "  --overwrite    replace an existing \"nk\" world\n"
          "  --zarr2        write Zarr v2 (consolidated metadata) instead of v3\n");
}

static int parse_u64(const char *s, uint64_t *out) {
  char *end = NULL;
  if (s[0] == '-' || s[0] == '\0') return 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (*end != '\0') return 0;
  *out = (uint64_t)v;
  return 1;
}

static void print_stats(const char *name, const ume_array_stats *a) {
  printf("  %-13s raw %12" PRIu64 " B   stored %12" PRIu64 " B   stored/raw %5.3f\n", name,
         a->raw_bytes, a->stored_bytes, a->ratio);
}

/* Compares n doubles read back with the float32 rounding of what was written. */
static int same_as_f32(const char *array, uint64_t i, const double *written,
                       const double *read, size_t n) {
  for (size_t j = 0; j < n; j++) {
    double expected = (double)(float)written[j];
    if (read[j] != expected) {
      fprintf(stderr,
              "write_demo: sample %" PRIu64 " %s[%zu]: read %.9g, expected %.9g "
              "(float32 of %.17g)\n",
              i, array, j, read[j], expected, written[j]);
      return 0;
    }
  }
  return 1;
}

/* ---- main ------------------------------------------------------------------------------ */

int main(int argc, char **argv) {
  const char *out_dir = NULL;
  uint64_t n = 1000, chunk = 0;
  int overwrite = 0, zarr2 = 0, n_positional = 0;

  for (int a = 1; a < argc; a++) {
    if (strcmp(argv[a], "--overwrite") == 0) {
      overwrite = 1;
    } else if (strcmp(argv[a], "--zarr2") == 0) {
      zarr2 = 1;
    } else if (strcmp(argv[a], "-h") == 0 || strcmp(argv[a], "--help") == 0) {
      usage();
      return 0;
    } else if (n_positional == 0) {
      out_dir = argv[a];
      n_positional++;
    } else if (n_positional == 1 && parse_u64(argv[a], &n) && n > 0) {
      n_positional++;
    } else if (n_positional == 2 && parse_u64(argv[a], &chunk)) {
      n_positional++;
    } else {
      fprintf(stderr, "write_demo: bad argument '%s'\n", argv[a]);
      usage();
      return 2;
    }
  }
  if (out_dir == NULL) {
    usage();
    return 2;
  }

  /* --- 1. describe the world and create the writer --- */
  ume_world_desc world = demo_world(n);

  ume_writer_options opts = ume_writer_options_default(); /* Blosc-LZ4, auto chunking */
  opts.chunk_samples = chunk;
  opts.overwrite = (uint8_t)overwrite;
  if (zarr2) opts.zarr_format = 2;

  ume_writer *writer = NULL;
  ume_status st = ume_writer_create(out_dir, &world, &opts, &writer);
  if (st != UME_OK) return fail("ume_writer_create", st);

  /* The provenance manifest: seeds (sample i draws from splitmix64 seeded with 42 + i,
   * the "global_seed + sample_index" rule), the configuration, git state of the current
   * directory, parameter bounds/defaults and shock scales. It is validated against
   * schemas/manifest.json and saved atomically by ume_writer_finalize_with_manifest. */
  double bounds[2 * N_PARAMS]; /* [lo, hi] per parameter: the simulator's own prior */
  for (int j = 0; j < N_PARAMS; j++) {
    bounds[2 * j] = LO[j];
    bounds[2 * j + 1] = HI[j];
  }
  static const double DEFAULTS[N_PARAMS] = {0.99, 1.0, 1.5, 0.125, 0.8, 0.9, 0.01, 0.005};
  static const double SIGMA[N_SHOCKS] = {0.005, 0.01, 0.005}; /* monetary, technology, cost-push */
  char config[256];
  snprintf(config, sizeof config,
           "{\"simulator\": \"write_demo VAR(1)\", \"n_samples\": %" PRIu64
           ", \"chunk_samples\": %" PRIu64 ", \"T\": %d, \"H\": %d}",
           n, chunk, T, H);
  ume_manifest *manifest = NULL;
  if ((st = ume_manifest_new("1.0.0", GLOBAL_SEED, UME_SEED_ADD, &manifest)) != UME_OK ||
      (st = ume_manifest_set_config_json(manifest, config, 1)) != UME_OK ||
      (st = ume_manifest_set_git(manifest, ".")) != UME_OK ||
      (st = ume_manifest_add_world_from_writer(manifest, writer)) != UME_OK ||
      (st = ume_manifest_set_parameters(manifest, "nk", NULL, 0, bounds, 2 * N_PARAMS,
                                        DEFAULTS, N_PARAMS)) != UME_OK ||
      (st = ume_manifest_set_shock_sigma(manifest, "nk", SIGMA, N_SHOCKS)) != UME_OK) {
    fail("building the manifest", st);
    ume_manifest_free(manifest);
    ume_writer_free(writer);
    return 1;
  }

  /* --- 2. simulate and write every sample (any order and any thread would do) --- */
  sample_t *s = malloc(sizeof *s);
  if (s == NULL) {
    fprintf(stderr, "write_demo: out of memory\n");
    ume_manifest_free(manifest);
    ume_writer_free(writer);
    return 1;
  }
  for (uint64_t i = 0; i < n; i++) {
    simulate_sample(i, s);
    st = ume_writer_write_sample_f64(writer, i, UME_LAYOUT_C,
                                     s->theta, THETA_LEN,
                                     &s->traj[0][0], TRAJ_LEN,
                                     &s->irfs[0][0][0], IRFS_LEN,
                                     &s->shocks[0][0], SHOCKS_LEN);
    if (st != UME_OK) {
      fprintf(stderr, "write_demo: sample %" PRIu64 ": ", i);
      fail("ume_writer_write_sample_f64", st);
      ume_manifest_free(manifest);
      ume_writer_free(writer);
      free(s);
      return 1;
    }
  }

  /* --- 3. finalize: flush the open chunks, save manifest.json, get a summary --- */
  ume_summary sum;
  st = ume_writer_finalize_with_manifest(writer, manifest, &sum);
  ume_manifest_free(manifest);
  if (st != UME_OK) {
    fail("ume_writer_finalize_with_manifest", st);
    ume_writer_free(writer);
    free(s);
    return 1;
  }
  ume_writer_free(writer);
  writer = NULL;

  printf("write_demo: wrote %s/nk (umedata %s)\n", out_dir, ume_version());
  printf("  samples written %" PRIu64 " of %" PRIu64 "\n", sum.samples_written, sum.n_samples);
  print_stats("theta", &sum.theta);
  print_stats("trajectories", &sum.trajectories);
  print_stats("irfs", &sum.irfs);
  print_stats("shocks", &sum.shocks);
  if (sum.samples_written != n || sum.n_samples != n) {
    fprintf(stderr, "write_demo: summary says %" PRIu64 "/%" PRIu64 " samples, expected %" PRIu64
                    "\n", sum.samples_written, sum.n_samples, n);
    free(s);
    return 1;
  }

  /* --- 4. read back the first, middle and last sample and compare --- */
  ume_reader *reader = NULL;
  st = ume_reader_open(out_dir, "nk", &reader);
  if (st != UME_OK) {
    free(s);
    return fail("ume_reader_open", st);
  }

  ume_world_shape shape;
  st = ume_reader_shape(reader, &shape);
  if (st != UME_OK) {
    ume_reader_free(reader);
    free(s);
    return fail("ume_reader_shape", st);
  }
  if (shape.n_samples != n || shape.T != T || shape.H != H || shape.n_params != N_PARAMS ||
      shape.n_shocks != N_SHOCKS || shape.n_obs != N_OBS) {
    fprintf(stderr, "write_demo: the reader reports different shapes than written\n");
    ume_reader_free(reader);
    free(s);
    return 1;
  }

  sample_t *back = malloc(sizeof *back);
  int ok = back != NULL;
  const uint64_t check[3] = {0, n / 2, n - 1};
  for (int c = 0; ok && c < 3; c++) {
    uint64_t i = check[c];
    st = ume_reader_read_f64(reader, i, 1, UME_LAYOUT_C,
                             back->theta, THETA_LEN,
                             &back->traj[0][0], TRAJ_LEN,
                             &back->irfs[0][0][0], IRFS_LEN,
                             &back->shocks[0][0], SHOCKS_LEN);
    if (st != UME_OK) {
      fprintf(stderr, "write_demo: sample %" PRIu64 ": ", i);
      fail("ume_reader_read_f64", st);
      ok = 0;
      break;
    }
    simulate_sample(i, s); /* recompute what was written */
    ok = same_as_f32("theta", i, s->theta, back->theta, THETA_LEN) &&
         same_as_f32("trajectories", i, &s->traj[0][0], &back->traj[0][0], TRAJ_LEN) &&
         same_as_f32("irfs", i, &s->irfs[0][0][0], &back->irfs[0][0][0], IRFS_LEN) &&
         same_as_f32("shocks", i, &s->shocks[0][0], &back->shocks[0][0], SHOCKS_LEN);
  }
  if (ok)
    printf("  read back samples %" PRIu64 ", %" PRIu64 ", %" PRIu64 ": equal to float32 of "
           "the simulated values\n", check[0], check[1], check[2]);

  ume_reader_free(reader);
  free(back);
  free(s);
  return ok ? 0 : 1;
}
