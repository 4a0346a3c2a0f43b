/* ume_writer_config: the opaque options handle (the ABI's way to grow), and the frozen
 * layouts of the public structs. */
#include "ume_test.h"

#include <stddef.h>

/* The public structs keep their 0.2 layout for the whole major version (README, ABI
 * policy): a change here breaks every compiled program, so it must fail to compile. */
_Static_assert(sizeof(ume_writer_options) == 40, "ume_writer_options layout is frozen");
_Static_assert(offsetof(ume_writer_options, chunk_samples) == 8, "frozen");
_Static_assert(offsetof(ume_writer_options, n_threads) == 16, "frozen");
_Static_assert(offsetof(ume_writer_options, overwrite) == 24, "frozen");
_Static_assert(offsetof(ume_writer_options, zarr_format) == 29, "frozen");
_Static_assert(offsetof(ume_writer_options, inner_chunk_samples) == 32, "frozen");
_Static_assert(sizeof(ume_world_desc) == 64, "ume_world_desc layout is frozen");
_Static_assert(offsetof(ume_world_desc, param_names) == 40, "frozen");
_Static_assert(sizeof(ume_summary) == 120, "ume_summary layout is frozen");
_Static_assert(offsetof(ume_summary, chunks_stored_early) == 112, "frozen");

int main(int argc, char **argv) {
  ume_test_init(argc, argv);
  char path[1200];
  snprintf(path, sizeof path, "%s/cfg.zarr", ume_t_scratch);

  EXPECT_ERR(ume_writer_config_new(NULL), UME_ERR_NULL_ARGUMENT, "out");
  ume_writer_config *c = NULL;
  EXPECT_OK(ume_writer_config_new(&c));
  CHECK(c != NULL);

  /* Every setter checks its value at once and names it; the config keeps the old value. */
  EXPECT_ERR(ume_writer_config_set_codec(c, 9, -1), UME_ERR_INVALID_ARGUMENT, "codec 9");
  EXPECT_ERR(ume_writer_config_set_codec(c, UME_CODEC_BLOSC_LZ4, 42), UME_ERR_INVALID_ARGUMENT, "42");
  EXPECT_OK(ume_writer_config_set_codec(c, UME_CODEC_ZSTD, 5));
  EXPECT_ERR(ume_writer_config_set_chunking(c, 16, 5), UME_ERR_INVALID_ARGUMENT,
             "inner_chunk_samples 5 does not divide chunk_samples 16");
  EXPECT_OK(ume_writer_config_set_chunking(c, 16, 4));
  EXPECT_OK(ume_writer_config_set_threads(c, 2, 0));
  EXPECT_ERR(ume_writer_config_set_flag(c, 99, 1), UME_ERR_INVALID_ARGUMENT, "option 99");
  EXPECT_ERR(ume_writer_config_set_flag(c, UME_CONFIG_FSYNC, 2), UME_ERR_INVALID_ARGUMENT, "'on' is 2");
  EXPECT_OK(ume_writer_config_set_flag(c, UME_CONFIG_OVERWRITE, 1));
  EXPECT_OK(ume_writer_config_set_flag(c, UME_CONFIG_FSYNC, 0));
  EXPECT_ERR(ume_writer_config_set_claim_lease(c, 1), UME_ERR_INVALID_ARGUMENT, "claim_lease_seconds is 1");
  EXPECT_OK(ume_writer_config_set_claim_lease(c, 60));
  EXPECT_ERR(ume_writer_config_set_zarr_format(c, 4), UME_ERR_INVALID_ARGUMENT, "zarr_format is 4");
  EXPECT_ERR(ume_writer_config_set_codec(NULL, 0, -1), UME_ERR_NULL_ARGUMENT, "config");

  ume_world_desc world = {.world_id = "cfg", .n_samples = 50, .T = 4, .H = 2, .n_params = 2,
                          .n_shocks = 1, .n_obs = 2};
  ume_writer *w = NULL;
  EXPECT_OK(ume_writer_create_with_config(path, &world, c, &w));
  /* The config was copied: freeing it does not affect the writer. */
  ume_writer_config_free(c);
  ume_writer_config_free(NULL);
  float th[2] = {1, 2}, tr[8] = {0}, ir[6] = {0}, sh[4] = {0};
  for (uint64_t i = 0; i < 50; i++) {
    th[0] = (float)i;
    EXPECT_OK(ume_writer_write_sample_f32(w, i, UME_LAYOUT_C, th, 2, tr, 8, ir, 6, sh, 4));
  }
  ume_summary s;
  EXPECT_OK(ume_writer_finalize(w, &s));
  CHECK(s.samples_written == 50);
  ume_writer_free(w);

  /* The options reached the world: chunking 16, zstd. */
  ume_reader *r = NULL;
  EXPECT_OK(ume_reader_open(path, "cfg", &r));
  ume_world_shape shape;
  EXPECT_OK(ume_reader_shape(r, &shape));
  CHECK(shape.chunk_samples == 16);
  float got[2];
  EXPECT_OK(ume_reader_read_f32(r, 37, 1, UME_LAYOUT_C, got, 2, NULL, 0, NULL, 0, NULL, 0));
  CHECK(got[0] == 37.0f && got[1] == 2.0f);
  ume_reader_free(r);

  /* NULL config = defaults: without overwrite the existing world is refused. */
  EXPECT_ERR(ume_writer_create_with_config(path, &world, NULL, &w), UME_ERR_ALREADY_EXISTS,
             "already exists");
  CHECK(w == NULL);
  /* Reopening with a config, and a freed config is caught, not used. */
  EXPECT_OK(ume_writer_open_with_config(path, "cfg", NULL, &w));
  ume_writer_free(w);
  EXPECT_ERR(ume_writer_open_with_config(path, "cfg", c, &w), UME_ERR_INVALID_ARGUMENT,
             "not a live handle");
  EXPECT_OK(ume_writer_open_range_with_config(path, "cfg", 16, 16, NULL, &w));
  ume_writer_free(w);
  /* ume_writer_discard: buffered samples are not stored; a resume writes them. */
  {
    char dpath[1200];
    snprintf(dpath, sizeof dpath, "%s/discard.zarr", ume_t_scratch);
    ume_writer_config *dc = NULL;
    EXPECT_OK(ume_writer_config_new(&dc));
    EXPECT_OK(ume_writer_config_set_chunking(dc, 16, 0));
    ume_writer *dw = NULL;
    EXPECT_OK(ume_writer_create_with_config(dpath, &world, dc, &dw));
    for (uint64_t i = 0; i < 20; i++) { /* chunk 0 complete, chunk 1 partial */
      th[0] = (float)i;
      EXPECT_OK(ume_writer_write_sample_f32(dw, i, UME_LAYOUT_C, th, 2, tr, 8, ir, 6, sh, 4));
    }
    ume_writer_discard(dw);
    ume_writer_discard(NULL);
    ume_reader *dr = NULL;
    EXPECT_OK(ume_reader_open(dpath, "cfg", &dr));
    uint64_t nw = 0;
    EXPECT_OK(ume_reader_samples_written(dr, &nw));
    CHECK(nw == 16);
    ume_reader_free(dr);
    EXPECT_OK(ume_writer_open_with_config(dpath, "cfg", dc, &dw));
    uint64_t missing = 0;
    EXPECT_OK(ume_writer_missing_count(dw, &missing));
    CHECK(missing == 34);
    ume_writer_free(dw);
    ume_writer_config_free(dc);
  }
  return ume_test_report("test_config");
}
