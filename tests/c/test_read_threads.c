/* Issue 16 item 5: sequential ranges decoded on the library's threads
 * (ume_reader_set_threads / ume_reader_threads). A range read on several threads returns
 * exactly the bytes of a one-thread read and the values written, f32 and f64, C and F
 * layouts, sharded and plain worlds, ranges starting and ending inside chunks; a deleted
 * chunk the mask claims is still UME_ERR_FORMAT, an unwritten sample UME_ERR_NOT_WRITTEN;
 * the handle checks of the two new functions. */
#include "ume_test.h"

#define READ64 "ume_reader_read_f64"
#define READ32 "ume_reader_read_f32"

enum { N = 45, N_WRITTEN = 40, MAXC = N };

static int make(const char *path, uint32_t inner) {
  ume_world_desc d = tiny_world("rt", N);
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

typedef struct {
  double th[MAXC * TW_THETA], tr[MAXC * TW_TRAJ], ir[MAXC * TW_IRFS], sh[MAXC * TW_SHOCKS];
  float th32[MAXC * TW_THETA], tr32[MAXC * TW_TRAJ], ir32[MAXC * TW_IRFS],
      sh32[MAXC * TW_SHOCKS];
} bufs;

static int read_both(ume_reader *r, uint64_t start, uint64_t c, uint32_t layout, bufs *b) {
  memset(b, 0xff, sizeof *b);
  return EXPECT_OK(ume_reader_read_f64(r, start, c, layout, b->th, c * TW_THETA, b->tr,
                                       c * TW_TRAJ, b->ir, c * TW_IRFS, b->sh,
                                       c * TW_SHOCKS)) &&
         EXPECT_OK(ume_reader_read_f32(r, start, c, layout, b->th32, c * TW_THETA, b->tr32,
                                       c * TW_TRAJ, b->ir32, c * TW_IRFS, b->sh32,
                                       c * TW_SHOCKS));
}

static void run(const char *path) {
  ume_reader *r = NULL;
  if (!EXPECT_OK(ume_reader_open(path, "rt", &r))) return;
  uint32_t t = 99;
  if (EXPECT_OK(ume_reader_threads(r, &t))) CHECK(t == 0); /* default: automatic */
  static bufs one, par;
  const uint64_t ranges[][2] = {{0, 40}, {3, 37}, {9, 2}, {17, 20}, {39, 1}};
  const uint32_t layouts[2] = {UME_LAYOUT_C, UME_LAYOUT_F};
  const uint32_t threads[3] = {2, 3, 0};
  for (size_t k = 0; k < sizeof ranges / sizeof ranges[0]; k++)
    for (int l = 0; l < 2; l++) {
      uint64_t start = ranges[k][0], c = ranges[k][1];
      if (!EXPECT_OK(ume_reader_set_threads(r, 1))) return;
      if (!read_both(r, start, c, layouts[l], &one)) return;
      if (layouts[l] == UME_LAYOUT_C) { /* the serial read holds what was written */
        tiny_sample s;
        for (uint64_t j = 0; j < c; j++) {
          tiny_fill(&s, start + j, 0);
          CHECK(memcmp(s.traj, one.tr + j * TW_TRAJ, sizeof s.traj) == 0);
          CHECK(memcmp(s.shocks, one.sh + j * TW_SHOCKS, sizeof s.shocks) == 0);
        }
      }
      for (int n = 0; n < 3; n++) {
        if (!EXPECT_OK(ume_reader_set_threads(r, threads[n]))) return;
        if (EXPECT_OK(ume_reader_threads(r, &t))) CHECK(t == threads[n]);
        if (!read_both(r, start, c, layouts[l], &par)) return;
        CHECK(memcmp(&one, &par, sizeof one) == 0);
      }
    }

  /* errors when parallel: unwritten sample, bad lengths, before anything is copied */
  if (!EXPECT_OK(ume_reader_set_threads(r, 4))) return;
  memset(&par, 0, sizeof par);
  EXPECT_ERR(ume_reader_read_f64(r, 30, 12, UME_LAYOUT_C, par.th, 12 * TW_THETA, par.tr,
                                 12 * TW_TRAJ, NULL, 0, NULL, 0),
             UME_ERR_NOT_WRITTEN, READ64, "sample 40 was never written");
  int untouched = 1;
  for (size_t k = 0; k < 12 * TW_TRAJ; k++) untouched &= par.tr[k] == 0.0;
  CHECK(untouched);
  EXPECT_ERR(ume_reader_read_f32(r, 0, 16, UME_LAYOUT_C, NULL, 0, par.tr32, 15 * TW_TRAJ, NULL,
                                 0, NULL, 0),
             UME_ERR_LENGTH_MISMATCH, READ32, "trajectories");
  EXPECT_ERR(ume_reader_set_threads(NULL, 2), UME_ERR_NULL_ARGUMENT, "ume_reader_set_threads",
             "reader");
  EXPECT_ERR(ume_reader_threads(r, NULL), UME_ERR_NULL_ARGUMENT, "ume_reader_threads", "out");
  EXPECT_ERR(ume_reader_threads(NULL, &t), UME_ERR_NULL_ARGUMENT, "ume_reader_threads",
             "reader");
  ume_reader_free(r);
}

/* A chunk (a shard) of samples 16..24 deleted: a parallel range over it is UME_ERR_FORMAT
 * naming the array and the chunk, never values with UME_OK; the chunks around it read. */
static void deleted(const char *path) {
  char chunk[1400];
  snprintf(chunk, sizeof chunk, "%s/rt/shocks/c.2.0.0", path);
  CHECK(remove(chunk) == 0);
  ume_reader *r = NULL;
  if (!EXPECT_OK(ume_reader_open(path, "rt", &r))) return;
  static bufs b;
  for (uint32_t n = 1; n <= 4; n += 3) {
    EXPECT_OK(ume_reader_set_threads(r, n));
    EXPECT_ERR(ume_reader_read_f64(r, 0, 40, UME_LAYOUT_F, b.th, 40 * TW_THETA, b.tr,
                                   40 * TW_TRAJ, b.ir, 40 * TW_IRFS, b.sh, 40 * TW_SHOCKS),
               UME_ERR_FORMAT, READ64, "rt/shocks", "c.2.0.0", "missing");
    CHECK(read_both(r, 24, 16, UME_LAYOUT_C, &b));
  }
  ume_reader_free(r);
}

int main(int argc, char **argv) {
  ume_test_init(argc, argv);
  /* sharded (inner chunks of 2 in shards of 8) and plain (inner = chunk) */
  const char *sharded = scratch_path("sharded.zarr");
  if (make(sharded, 2)) {
    run(sharded);
    deleted(sharded);
  }
  const char *plain = scratch_path("plain.zarr");
  if (make(plain, 8)) {
    run(plain);
    deleted(plain);
  }
  return ume_test_report("test_read_threads");
}
