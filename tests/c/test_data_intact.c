/* Bad input leaves stored data intact: a rejected write of sample i stores nothing
 * (sample i stays writable and unwritten), earlier samples keep their values, and a
 * refused rewrite of a stored sample does not change it. Covers f64 and f32 input and
 * both layouts, with chunks that are flushed while errors happen in between. */
#include "ume_test.h"

#include <math.h>

enum { N = 12, CHUNK = 4 };

/* Sample i of the tiny world in Fortran layout, as f32 (values are f32-exact). */
typedef struct {
  float theta[TW_THETA], traj[TW_TRAJ], irfs[TW_IRFS], shocks[TW_SHOCKS];
} sample_f32;

static void to_fortran_f32(const tiny_sample *c, sample_f32 *f) {
  for (int j = 0; j < TW_THETA; j++) f->theta[j] = (float)c->theta[j];
  for (int t = 0; t < TW_T; t++)
    for (int o = 0; o < TW_O; o++) f->traj[t + TW_T * o] = (float)c->traj[t * TW_O + o];
  for (int k = 0; k < TW_S; k++)
    for (int h = 0; h <= TW_H; h++)
      for (int o = 0; o < TW_O; o++)
        f->irfs[k + TW_S * (h + (TW_H + 1) * o)] =
            (float)c->irfs[(k * (TW_H + 1) + h) * TW_O + o];
  for (int t = 0; t < TW_T; t++)
    for (int k = 0; k < TW_S; k++) f->shocks[t + TW_T * k] = (float)c->shocks[t * TW_S + k];
}

static ume_status write_f32_fortran(ume_writer *w, uint64_t i, const sample_f32 *f) {
  return ume_writer_write_sample_f32(w, i, UME_LAYOUT_F, f->theta, TW_THETA, f->traj, TW_TRAJ,
                                     f->irfs, TW_IRFS, f->shocks, TW_SHOCKS);
}

/* Every way a write of sample i can be refused, with a sample whose values differ from
 * the good one (version 1), so a partial store would be visible. */
static void try_bad_writes(ume_writer *w, uint64_t i) {
  tiny_sample bad;
  tiny_fill(&bad, i, 1);
  /* NaN in the last array only: theta/traj/irfs are valid and must not be stored */
  bad.shocks[TW_SHOCKS - 1] = NAN;
  EXPECT_ERR(tiny_write(w, i, &bad), UME_ERR_NON_FINITE);
  tiny_fill(&bad, i, 1);
  /* wrong length of the last array */
  EXPECT_ERR(ume_writer_write_sample_f64(w, i, UME_LAYOUT_C, bad.theta, TW_THETA, bad.traj,
                                         TW_TRAJ, bad.irfs, TW_IRFS, bad.shocks,
                                         TW_SHOCKS - 1),
             UME_ERR_LENGTH_MISMATCH);
  /* NULL last array */
  EXPECT_ERR(ume_writer_write_sample_f64(w, i, UME_LAYOUT_C, bad.theta, TW_THETA, bad.traj,
                                         TW_TRAJ, bad.irfs, TW_IRFS, NULL, TW_SHOCKS),
             UME_ERR_NULL_ARGUMENT);
  /* bad layout */
  EXPECT_ERR(ume_writer_write_sample_f64(w, i, 7, bad.theta, TW_THETA, bad.traj, TW_TRAJ,
                                         bad.irfs, TW_IRFS, bad.shocks, TW_SHOCKS),
             UME_ERR_INVALID_ARGUMENT);
  /* f32 with Inf in the last array, Fortran layout */
  sample_f32 f;
  to_fortran_f32(&bad, &f);
  f.shocks[0] = INFINITY;
  EXPECT_ERR(write_f32_fortran(w, i, &f), UME_ERR_NON_FINITE);
}

int main(int argc, char **argv) {
  ume_test_init(argc, argv);
  const char *path = scratch_path("intact.zarr");
  ume_world_desc d = tiny_world("ok", N);
  ume_writer_options o = opts_with(CHUNK, 1, 0);
  o.max_open_chunks = 1; /* flush chunks as soon as possible */
  ume_writer *w = NULL;
  if (!EXPECT_OK(ume_writer_create(path, &d, &o, &w)))
    return ume_test_report("test_data_intact");

  tiny_sample s;
  sample_f32 f;
  /* Samples 0..9: before each good write, every bad write of the same index is refused.
   * Even samples go in as f64/C, odd ones as f32/Fortran. Sample 10 only gets bad
   * writes; sample 11 nothing at all. */
  for (uint64_t i = 0; i < N; i++) {
    try_bad_writes(w, i);
    if (i >= 10) continue;
    tiny_fill(&s, i, 0);
    if (i % 2 == 0) {
      EXPECT_OK(tiny_write(w, i, &s));
    } else {
      to_fortran_f32(&s, &f);
      EXPECT_OK(write_f32_fortran(w, i, &f));
    }
    /* a second, different, valid sample i is refused and changes nothing */
    tiny_sample other;
    tiny_fill(&other, i, 2);
    EXPECT_ERR(tiny_write(w, i, &other), UME_ERR_ALREADY_WRITTEN);
    /* so are bad writes of an earlier, stored (possibly already flushed) sample */
    if (i >= 1) try_bad_writes(w, i - 1);
  }

  ume_summary sum;
  EXPECT_OK(ume_writer_finalize(w, &sum));
  CHECK(sum.samples_written == 10);
  CHECK(sum.chunks_stored_early == 0); /* in sample order: no chunk stored early */
  ume_writer_free(w);

  ume_reader *r = NULL;
  if (!EXPECT_OK(ume_reader_open(path, "ok", &r))) return ume_test_report("test_data_intact");
  uint64_t n_written = 0;
  EXPECT_OK(ume_reader_samples_written(r, &n_written));
  CHECK(n_written == 10);
  for (uint64_t i = 0; i < N; i++) {
    uint8_t flag = 9;
    EXPECT_OK(ume_reader_is_written(r, i, &flag));
    CHECK(flag == (i < 10 ? 1 : 0));
  }
  int all_equal = 1;
  for (uint64_t i = 0; i < 10; i++) {
    tiny_sample expect, got;
    tiny_fill(&expect, i, 0);
    ume_status st = tiny_read(r, i, &got);
    int same = st == UME_OK && tiny_equal(&expect, &got);
    if (!same)
      fprintf(stderr, "  sample %llu differs from what was written (status %d)\n",
              (unsigned long long)i, (int)st);
    all_equal &= same;
  }
  CHECK(all_equal);
  tiny_sample dummy;
  EXPECT_ERR(tiny_read(r, 10, &dummy), UME_ERR_NOT_WRITTEN, "10");
  ume_reader_free(r);

  /* A refused create (no overwrite) does not touch the stored world either. */
  ume_writer *w2 = NULL;
  ume_writer_options o2 = opts_with(CHUNK, 0, 0);
  EXPECT_ERR(ume_writer_create(path, &d, &o2, &w2), UME_ERR_ALREADY_EXISTS, "ok");
  if (EXPECT_OK(ume_reader_open(path, "ok", &r))) {
    n_written = 0;
    EXPECT_OK(ume_reader_samples_written(r, &n_written));
    CHECK(n_written == 10);
    ume_reader_free(r);
  }

  /* ume_writer_free without finalize still stores what was written. */
  const char *path2 = scratch_path("free_flushes.zarr");
  ume_world_desc d2 = tiny_world("ff", 6);
  ume_writer_options o3 = opts_with(4, 1, 0);
  if (EXPECT_OK(ume_writer_create(path2, &d2, &o3, &w))) {
    for (uint64_t i = 1; i < 6; i += 2) { /* 1, 3, 5: partial chunks */
      tiny_fill(&s, i, 0);
      EXPECT_OK(tiny_write(w, i, &s));
    }
    ume_writer_free(w);
    if (EXPECT_OK(ume_reader_open(path2, "ff", &r))) {
      n_written = 0;
      EXPECT_OK(ume_reader_samples_written(r, &n_written));
      CHECK(n_written == 3);
      tiny_sample expect, got;
      tiny_fill(&expect, 5, 0);
      EXPECT_OK(tiny_read(r, 5, &got));
      CHECK(tiny_equal(&expect, &got));
      EXPECT_ERR(tiny_read(r, 4, &got), UME_ERR_NOT_WRITTEN, "4");
      ume_reader_free(r);
    }
  }

  /* Alternating between two chunks with one open chunk allowed: each switch stores the
   * other chunk early and reads it back later; the summary counts it and every sample
   * still reads back exactly. */
  const char *path3 = scratch_path("early.zarr");
  ume_world_desc d3 = tiny_world("ee", 8);
  ume_writer_options o4 = opts_with(CHUNK, 1, 0);
  o4.max_open_chunks = 1;
  if (EXPECT_OK(ume_writer_create(path3, &d3, &o4, &w))) {
    const uint64_t order[8] = {0, 4, 1, 5, 2, 6, 3, 7};
    for (int k = 0; k < 8; k++) {
      tiny_fill(&s, order[k], 0);
      EXPECT_OK(tiny_write(w, order[k], &s));
    }
    ume_summary sum3;
    EXPECT_OK(ume_writer_finalize(w, &sum3));
    CHECK(sum3.samples_written == 8);
    CHECK(sum3.chunks_stored_early >= 6);
    ume_writer_free(w);
    if (EXPECT_OK(ume_reader_open(path3, "ee", &r))) {
      int same = 1;
      for (uint64_t i = 0; i < 8; i++) {
        tiny_sample expect, got;
        tiny_fill(&expect, i, 0);
        same &= tiny_read(r, i, &got) == UME_OK && tiny_equal(&expect, &got);
      }
      CHECK(same);
      ume_reader_free(r);
    }
  }
  return ume_test_report("test_data_intact");
}
