/* Sizes, limits and reserved names, through the real shared library (issue 15, items 3
 * and 5). Every refused call must return UME_ERR_INVALID_ARGUMENT with a message naming
 * the argument and the limit, before anything is created on disk: the dataset directory
 * must not exist afterwards. One function per case.
 */
#include "ume_test.h"

#define CREATE "ume_writer_create"

static int exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* n_shocks * (H+1) * n_obs * 4 = 2^16 * 2^32 * 2^14 * 4 = 2^64 bytes of irfs per sample:
 * wrapped to 0 and accepted before. */
static void irfs_of_2_pow_64_bytes(void) {
  const char *ds = scratch_path("irfs64.zarr");
  ume_world_desc d = tiny_world("w", 10);
  d.T = 1;
  d.n_params = 1;
  d.n_shocks = 1u << 16;
  d.H = UINT32_MAX;
  d.n_obs = 1u << 14;
  ume_writer *w = NULL;
  EXPECT_ERR(ume_writer_create(ds, &d, NULL, &w), UME_ERR_INVALID_ARGUMENT, CREATE,
             "one sample would take more than 2^64 bytes", "1 GiB");
  CHECK(w == NULL);
  CHECK(!exists(ds));
}

/* 2^22 observables, T = 1 (16 MiB of trajectories per sample): refused by the documented
 * name-count limit at once, before 4 million default names are generated (before: a
 * quadratic duplicate check over generated names ran for minutes). */
static void four_million_observables(void) {
  const char *ds = scratch_path("obs22.zarr");
  ume_world_desc d = tiny_world("w", 10);
  d.T = 1;
  d.H = 0;
  d.n_shocks = 1;
  d.n_obs = 1u << 22;
  ume_writer *w = NULL;
  EXPECT_ERR(ume_writer_create(ds, &d, NULL, &w), UME_ERR_INVALID_ARGUMENT, CREATE,
             "n_obs 4194304", "1048576");
  CHECK(w == NULL);
  CHECK(!exists(ds));
}

/* The largest accepted name list: 2^20 generated observable names, checked by hashing. */
static void a_million_observables_are_accepted(void) {
  const char *ds = scratch_path("obs20.zarr");
  ume_world_desc d = tiny_world("w", 2);
  d.T = 1;
  d.H = 0;
  d.n_shocks = 1;
  d.n_obs = 1u << 20;
  ume_writer_options o = opts_with(1, 0, 0);
  o.fsync = 0;
  ume_writer *w = NULL;
  EXPECT_OK(ume_writer_create(ds, &d, &o, &w));
  ume_world_shape sh;
  EXPECT_OK(ume_writer_shape(w, &sh));
  CHECK(sh.n_obs == (1u << 20));
  EXPECT_OK(ume_writer_finalize(w, NULL));
  ume_writer_free(w);
}

static void n_threads_too_many(uint32_t n, const char *shown) {
  const char *ds = scratch_path("threads.zarr");
  ume_world_desc d = tiny_world("w", 10);
  ume_writer_options o = ume_writer_options_default();
  o.n_threads = n;
  ume_writer *w = NULL;
  EXPECT_ERR(ume_writer_create(ds, &d, &o, &w), UME_ERR_INVALID_ARGUMENT, CREATE, "n_threads",
             shown, "at most 1024");
  CHECK(w == NULL);
  CHECK(!exists(ds));
}

static void n_threads_100000(void) { n_threads_too_many(100000, "100000"); }

static void n_threads_uint32_max(void) { n_threads_too_many(UINT32_MAX, "4294967295"); }

/* The same bounds hold when reopening a world (nothing is touched either). */
static void n_threads_on_open(void) {
  const char *ds = scratch_path("threads_open.zarr");
  ume_world_desc d = tiny_world("w", 8);
  ume_writer_options o = opts_with(4, 0, 0);
  ume_writer *w = NULL;
  EXPECT_OK(ume_writer_create(ds, &d, &o, &w));
  EXPECT_OK(ume_writer_finalize(w, NULL));
  ume_writer_free(w);
  o.n_threads = UINT32_MAX;
  w = NULL;
  EXPECT_ERR(ume_writer_open(ds, "w", &o, &w), UME_ERR_INVALID_ARGUMENT, "ume_writer_open",
             "n_threads", "1024");
  CHECK(w == NULL);
  EXPECT_ERR(ume_writer_open_range(ds, "w", 0, 4, &o, &w), UME_ERR_INVALID_ARGUMENT,
             "ume_writer_open_range", "n_threads", "1024");
  CHECK(w == NULL);
}

static void max_open_chunks_uint32_max(void) {
  const char *ds = scratch_path("open_chunks.zarr");
  ume_world_desc d = tiny_world("w", 10);
  ume_writer_options o = ume_writer_options_default();
  o.max_open_chunks = UINT32_MAX;
  ume_writer *w = NULL;
  EXPECT_ERR(ume_writer_create(ds, &d, &o, &w), UME_ERR_INVALID_ARGUMENT, CREATE,
             "max_open_chunks 4294967295", "65536");
  CHECK(w == NULL);
  CHECK(!exists(ds));
}

/* 100 samples of 16 MiB each in one chunk: 1.6 GiB, beyond what blosc takes in one piece. */
static void chunk_of_more_than_1_gib(void) {
  const char *ds = scratch_path("bigchunk.zarr");
  ume_world_desc d = tiny_world("w", 100);
  d.T = 1024;
  d.n_obs = 4096;
  d.H = 0;
  ume_writer_options o = opts_with(100, 0, 0);
  ume_writer *w = NULL;
  EXPECT_ERR(ume_writer_create(ds, &d, &o, &w), UME_ERR_INVALID_ARGUMENT, CREATE,
             "chunk_samples 100", "1 GiB");
  CHECK(w == NULL);
  CHECK(!exists(ds));
}

/* One sample per chunk of 2^30 samples: 2^30 chunks, more than the 2^22 allowed. */
static void too_many_chunks(void) {
  const char *ds = scratch_path("manychunks.zarr");
  ume_world_desc d = tiny_world("w", (uint64_t)1 << 30);
  ume_writer_options o = opts_with(1, 0, 0);
  ume_writer *w = NULL;
  EXPECT_ERR(ume_writer_create(ds, &d, &o, &w), UME_ERR_INVALID_ARGUMENT, CREATE,
             "1073741824 chunks", "at least 256");
  CHECK(w == NULL);
  CHECK(!exists(ds));
}

/* Item 5: a world named like a file of the dataset root would shadow it. */
static void reserved_world_id(const char *id) {
  const char *ds = scratch_path("reserved.zarr");
  ume_world_desc d = tiny_world(id, 4);
  ume_writer *w = NULL;
  EXPECT_ERR(ume_writer_create(ds, &d, NULL, &w), UME_ERR_INVALID_ARGUMENT, CREATE, id,
             "reserved");
  CHECK(w == NULL);
  CHECK(!exists(ds));
}

static void world_id_manifest_json(void) { reserved_world_id("manifest.json"); }

static void world_id_zarr_json(void) { reserved_world_id("zarr.json"); }

/* ... and a manifest can still be saved next to a world with an ordinary id. */
static void manifest_saved_beside_world(void) {
  const char *ds = scratch_path("manifest_ok.zarr");
  ume_world_desc d = tiny_world("manifest", 4);
  ume_writer *w = NULL;
  EXPECT_OK(ume_writer_create(ds, &d, NULL, &w));
  EXPECT_OK(ume_writer_finalize(w, NULL));
  ume_manifest *m = NULL;
  EXPECT_OK(ume_manifest_new("1.0.0", 42, UME_SEED_SPLITMIX64, &m));
  EXPECT_OK(ume_manifest_add_world_from_writer(m, w));
  const double bounds[] = {0, 1, 0, 1, 0, 1, 0, 1}, defaults[] = {0.5, 0.5, 0.5, 0.5};
  const double sigma[] = {1, 1};
  EXPECT_OK(ume_manifest_set_parameters(m, "manifest", NULL, 0, bounds, 8, defaults, 4));
  EXPECT_OK(ume_manifest_set_shock_sigma(m, "manifest", sigma, 2));
  EXPECT_OK(ume_manifest_save(m, ds));
  ume_manifest_free(m);
  ume_writer_free(w);
}

int main(int argc, char **argv) {
  ume_test_init(argc, argv);
  irfs_of_2_pow_64_bytes();
  four_million_observables();
  a_million_observables_are_accepted();
  n_threads_100000();
  n_threads_uint32_max();
  n_threads_on_open();
  max_open_chunks_uint32_max();
  chunk_of_more_than_1_gib();
  too_many_chunks();
  world_id_manifest_json();
  world_id_zarr_json();
  manifest_saved_beside_world();
  return ume_test_report("test_limits");
}
