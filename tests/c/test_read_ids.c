/* Issue 16 item 5: the batched read of a list of sample ids from C
 * (ume_reader_read_ids_f32/_f64). A shuffled batch with repeats returns exactly what
 * per-sample reads return, sharded and not, both layouts, one thread and several; the
 * errors (id out of range, id never written, wrong lengths, n_ids 0, NULL) are refused
 * before anything is copied. */
#include "ume_test.h"

#define IDS64 "ume_reader_read_ids_f64"
#define IDS32 "ume_reader_read_ids_f32"

enum { N = 37, N_WRITTEN = 33, B = 13 }; /* samples 0..32 written, 33..36 not */

static int make(const char *path, uint32_t inner) {
  ume_world_desc d = tiny_world("ri", N);
  ume_writer_options o = opts_with(8, 1, 0);
  o.inner_chunk_samples = inner;
  ume_writer *w = NULL;
  if (!EXPECT_OK(ume_writer_create(path, &d, &o, &w))) return 0;
  int ok = 1;
  tiny_sample s;
  for (uint64_t i = 0; i < N_WRITTEN; i++) {
    tiny_fill(&s, i, 0);
    ok &= EXPECT_OK(tiny_write(w, i, &s));
  }
  ok &= EXPECT_OK(ume_writer_finalize(w, NULL));
  ume_writer_free(w);
  return ok;
}

/* Blocks j of the batch equal sample ids[j] read alone, in layout `layout`. */
static void check_equal(const ume_reader *r, const uint64_t *ids, size_t n, uint32_t layout,
                        uint32_t threads) {
  static double th[B * TW_THETA], tr[B * TW_TRAJ], ir[B * TW_IRFS], sh[B * TW_SHOCKS];
  static float th32[B * TW_THETA], tr32[B * TW_TRAJ], ir32[B * TW_IRFS], sh32[B * TW_SHOCKS];
  for (size_t k = 0; k < B * TW_TRAJ; k++) tr[k] = -1.0;
  if (!EXPECT_OK(ume_reader_read_ids_f64(r, ids, n, layout, th, n * TW_THETA, tr, n * TW_TRAJ,
                                         ir, n * TW_IRFS, sh, n * TW_SHOCKS, threads)))
    return;
  if (!EXPECT_OK(ume_reader_read_ids_f32(r, ids, n, layout, th32, n * TW_THETA, tr32,
                                         n * TW_TRAJ, ir32, n * TW_IRFS, sh32, n * TW_SHOCKS,
                                         threads)))
    return;
  for (size_t j = 0; j < n; j++) {
    double a[TW_THETA], b[TW_TRAJ], c[TW_IRFS], e[TW_SHOCKS];
    if (!EXPECT_OK(ume_reader_read_f64(r, ids[j], 1, layout, a, TW_THETA, b, TW_TRAJ, c,
                                       TW_IRFS, e, TW_SHOCKS)))
      return;
    CHECK(memcmp(a, th + j * TW_THETA, sizeof a) == 0);
    CHECK(memcmp(b, tr + j * TW_TRAJ, sizeof b) == 0);
    CHECK(memcmp(c, ir + j * TW_IRFS, sizeof c) == 0);
    CHECK(memcmp(e, sh + j * TW_SHOCKS, sizeof e) == 0);
    int same32 = 1;
    for (size_t k = 0; k < TW_TRAJ; k++) same32 &= (double)tr32[j * TW_TRAJ + k] == b[k];
    for (size_t k = 0; k < TW_IRFS; k++) same32 &= (double)ir32[j * TW_IRFS + k] == c[k];
    CHECK(same32);
  }
  /* and the C-layout values are the ones written */
  if (layout == UME_LAYOUT_C) {
    tiny_sample s;
    tiny_fill(&s, ids[0], 0);
    CHECK(memcmp(s.traj, tr, sizeof s.traj) == 0);
    CHECK(memcmp(s.shocks, sh, sizeof s.shocks) == 0);
  }
}

static void run(const char *path) {
  ume_reader *r = NULL;
  if (!EXPECT_OK(ume_reader_open(path, "ri", &r))) return;
  /* shuffled, across shards and inner chunks, with repeats */
  const uint64_t ids[B] = {32, 0, 17, 5, 5, 9, 24, 1, 31, 16, 8, 0, 23};
  uint32_t layouts[2] = {UME_LAYOUT_C, UME_LAYOUT_F};
  uint32_t threads[3] = {1, 3, 0};
  for (int l = 0; l < 2; l++)
    for (int t = 0; t < 3; t++) check_equal(r, ids, B, layouts[l], threads[t]);

  /* one array only, the others skipped with NULL, 0 */
  double tr[2 * TW_TRAJ];
  const uint64_t two[2] = {30, 2};
  if (EXPECT_OK(ume_reader_read_ids_f64(r, two, 2, UME_LAYOUT_C, NULL, 0, tr, 2 * TW_TRAJ,
                                        NULL, 0, NULL, 0, 2))) {
    tiny_sample s;
    tiny_fill(&s, 2, 0);
    CHECK(memcmp(s.traj, tr + TW_TRAJ, sizeof s.traj) == 0);
  }

  /* errors, each before anything is copied */
  double th[2 * TW_THETA];
  for (size_t k = 0; k < 2 * TW_THETA; k++) th[k] = 7.0;
  const uint64_t out_of_range[2] = {1, N};
  EXPECT_ERR(ume_reader_read_ids_f64(r, out_of_range, 2, UME_LAYOUT_C, th, 2 * TW_THETA, NULL,
                                     0, NULL, 0, NULL, 0, 2),
             UME_ERR_OUT_OF_RANGE, IDS64, "sample index 37 (ids[1]) out of range [0, 37)");
  const uint64_t unwritten[2] = {3, 34};
  EXPECT_ERR(ume_reader_read_ids_f64(r, unwritten, 2, UME_LAYOUT_C, th, 2 * TW_THETA, NULL, 0,
                                     NULL, 0, NULL, 0, 2),
             UME_ERR_NOT_WRITTEN, IDS64, "sample 34 was never written");
  int untouched = 1;
  for (size_t k = 0; k < 2 * TW_THETA; k++) untouched &= th[k] == 7.0;
  CHECK(untouched);
  EXPECT_ERR(ume_reader_read_ids_f64(r, two, 2, UME_LAYOUT_C, th, TW_THETA, NULL, 0, NULL, 0,
                                     NULL, 0, 2),
             UME_ERR_LENGTH_MISMATCH, IDS64, "theta", "4", "8");
  float th32[2 * TW_THETA];
  EXPECT_ERR(ume_reader_read_ids_f32(r, two, 2, UME_LAYOUT_C, th32, 2 * TW_THETA + 1, NULL, 0,
                                     NULL, 0, NULL, 0, 2),
             UME_ERR_LENGTH_MISMATCH, IDS32, "theta", "9", "8");
  EXPECT_ERR(ume_reader_read_ids_f64(r, two, 0, UME_LAYOUT_C, NULL, 0, NULL, 0, NULL, 0, NULL,
                                     0, 2),
             UME_ERR_INVALID_ARGUMENT, IDS64, "ids is empty");
  EXPECT_ERR(ume_reader_read_ids_f64(r, NULL, 2, UME_LAYOUT_C, th, 2 * TW_THETA, NULL, 0, NULL,
                                     0, NULL, 0, 2),
             UME_ERR_NULL_ARGUMENT, IDS64, "ids");
  EXPECT_ERR(ume_reader_read_ids_f64(r, two, 2, 7, th, 2 * TW_THETA, NULL, 0, NULL, 0, NULL, 0,
                                     2),
             UME_ERR_INVALID_ARGUMENT, IDS64, "layout");
  EXPECT_ERR(ume_reader_read_ids_f64(NULL, two, 2, UME_LAYOUT_C, th, 2 * TW_THETA, NULL, 0,
                                     NULL, 0, NULL, 0, 2),
             UME_ERR_NULL_ARGUMENT, IDS64, "reader");
  ume_reader_free(r);
}

int main(int argc, char **argv) {
  ume_test_init(argc, argv);
  /* sharded (inner chunks of 2 in shards of 8) and plain (inner = chunk) */
  const char *sharded = scratch_path("sharded.zarr");
  if (make(sharded, 2)) run(sharded);
  const char *plain = scratch_path("plain.zarr");
  if (make(plain, 8)) run(plain);
  return ume_test_report("test_read_ids");
}
