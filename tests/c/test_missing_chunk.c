/* Issue 15 item 2: a chunk file (or a shard's inner chunk) of samples the `written` mask
 * claims, missing from a finalized world, is reported as UME_ERR_FORMAT naming the array,
 * the chunk and the samples; never NaN with UME_OK. */
#include "ume_test.h"

#define READ64 "ume_reader_read_f64"

/* A finalized world of 8 samples, chunks of 4; `inner` samples per inner chunk (4 = not
 * sharded); samples [0, n_written) written. */
static int make_world(const char *ds, const char *id, uint64_t inner, uint64_t n_written) {
  ume_world_desc d = tiny_world(id, 8);
  ume_writer_options o = opts_with(4, 1, 0);
  o.inner_chunk_samples = inner;
  ume_writer *w = NULL;
  if (!EXPECT_OK(ume_writer_create(ds, &d, &o, &w))) return 0;
  tiny_sample s;
  int ok = 1;
  for (uint64_t i = 0; i < n_written; i++) {
    tiny_fill(&s, i, 0);
    ok &= EXPECT_OK(tiny_write(w, i, &s));
  }
  ok &= EXPECT_OK(ume_writer_finalize(w, NULL));
  ume_writer_free(w);
  return ok;
}

static void deleted_chunk(uint64_t inner, const char *name) {
  char ds[1200];
  snprintf(ds, sizeof ds, "%s", scratch_path(name));
  if (!make_world(ds, "mw", inner, 8)) return;
  char chunk[1400];
  snprintf(chunk, sizeof chunk, "%s/mw/theta/c.0.0", ds);
  CHECK(remove(chunk) == 0);

  ume_reader *r = NULL;
  if (!EXPECT_OK(ume_reader_open(ds, "mw", &r))) return;
  uint8_t written = 0;
  EXPECT_OK(ume_reader_is_written(r, 1, &written)); /* the mask still claims it */
  CHECK(written == 1);
  tiny_sample s;
  EXPECT_ERR(tiny_read(r, 1, &s), UME_ERR_FORMAT, READ64, "mw/theta", "c.0.0", "missing",
             "samples 1..2");
  double th[TW_THETA];
  EXPECT_ERR(ume_reader_read_f64(r, 1, 1, UME_LAYOUT_C, th, TW_THETA, NULL, 0, NULL, 0,
                                 NULL, 0),
             UME_ERR_FORMAT, READ64, "theta");
  /* the other chunk and the other arrays of the same samples are intact */
  tiny_sample expect;
  tiny_fill(&expect, 5, 0);
  if (EXPECT_OK(tiny_read(r, 5, &s))) CHECK(tiny_equal(&s, &expect));
  double traj[TW_TRAJ];
  tiny_fill(&expect, 1, 0);
  if (EXPECT_OK(ume_reader_read_f64(r, 1, 1, UME_LAYOUT_C, NULL, 0, traj, TW_TRAJ, NULL, 0,
                                    NULL, 0)))
    CHECK(memcmp(traj, expect.traj, sizeof traj) == 0);
  ume_reader_free(r);
}

/* Samples 0..1 written in shards of 4 with inner chunks of 2: inner chunk 1 of shard 0 is
 * absent. Once the mask claims sample 3 (a damaged or hand-edited mask), reading it must
 * fail, not return NaN. */
static void absent_inner_chunk(void) {
  char ds[1200];
  snprintf(ds, sizeof ds, "%s", scratch_path("inner.zarr"));
  if (!make_world(ds, "iw", 2, 2)) return;
  ume_reader *r = NULL;
  tiny_sample s;
  if (EXPECT_OK(ume_reader_open(ds, "iw", &r))) {
    EXPECT_ERR(tiny_read(r, 3, &s), UME_ERR_NOT_WRITTEN, READ64, "sample 3");
    ume_reader_free(r);
  }
  /* make the mask claim all of chunk 0: copy in the mask chunk of a sibling world (same
   * id, same options) in which samples 0..3 were written */
  char other[1200];
  snprintf(other, sizeof other, "%s", scratch_path("inner_full.zarr"));
  if (!make_world(other, "iw", 2, 4)) return;
  char from[1400], to[1400];
  snprintf(from, sizeof from, "%s/iw/written/c.0", other);
  snprintf(to, sizeof to, "%s/iw/written/c.0", ds);
  FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
  CHECK(in != NULL && out != NULL);
  if (in && out) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) CHECK(fwrite(buf, 1, n, out) == n);
  }
  if (in) fclose(in);
  if (out) fclose(out);
  if (!EXPECT_OK(ume_reader_open(ds, "iw", &r))) return;
  uint8_t written = 0;
  EXPECT_OK(ume_reader_is_written(r, 3, &written));
  CHECK(written == 1);
  EXPECT_ERR(tiny_read(r, 3, &s), UME_ERR_FORMAT, READ64, "iw/theta", "inner chunk 1",
             "absent", "samples 3..4");
  tiny_sample expect;
  tiny_fill(&expect, 1, 0);
  if (EXPECT_OK(tiny_read(r, 1, &s))) CHECK(tiny_equal(&s, &expect));
  ume_reader_free(r);
}

int main(int argc, char **argv) {
  ume_test_init(argc, argv);
  deleted_chunk(4, "plain.zarr");
  deleted_chunk(2, "sharded.zarr");
  absent_inner_chunk();
  return ume_test_report("test_missing_chunk");
}
