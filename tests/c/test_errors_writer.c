/* Error paths of the writer: each call must return the exact status, and the
 * thread's message must name the function and the offending argument/value. */
#include "ume_test.h"

#include <math.h>

#define WRITE_F64 "ume_writer_write_sample_f64"
#define WRITE_F32 "ume_writer_write_sample_f32"
#define CREATE "ume_writer_create"
#define FINALIZE "ume_writer_finalize"

/* ---- ume_writer_create: NULL pointers ------------------------------------------------- */
static void create_null_arguments(void) {
  const char *path = scratch_path("nulls.zarr");
  ume_world_desc d = tiny_world("w", 7);
  ume_writer *w = NULL;

  EXPECT_ERR(ume_writer_create(NULL, &d, NULL, &w), UME_ERR_NULL_ARGUMENT, CREATE, "path");
  CHECK(w == NULL);
  EXPECT_ERR(ume_writer_create(path, NULL, NULL, &w), UME_ERR_NULL_ARGUMENT, CREATE, "world");
  CHECK(w == NULL);
  EXPECT_ERR(ume_writer_create(path, &d, NULL, NULL), UME_ERR_NULL_ARGUMENT, CREATE, "out");

  d.world_id = NULL;
  EXPECT_ERR(ume_writer_create(path, &d, NULL, &w), UME_ERR_NULL_ARGUMENT, CREATE,
             "world_id");
  CHECK(w == NULL);
}

/* ---- ume_writer_create: bad values ---------------------------------------------------- */
static void create_invalid_arguments(void) {
  const char *path = scratch_path("invalid.zarr");
  ume_writer *w = NULL;
  ume_world_desc d;

  d = tiny_world("", 7);
  EXPECT_ERR(ume_writer_create(path, &d, NULL, &w), UME_ERR_INVALID_ARGUMENT, CREATE,
             "world_id");
  d = tiny_world("a/b", 7);
  EXPECT_ERR(ume_writer_create(path, &d, NULL, &w), UME_ERR_INVALID_ARGUMENT, CREATE,
             "world_id", "a/b");
  d = tiny_world("..", 7);
  EXPECT_ERR(ume_writer_create(path, &d, NULL, &w), UME_ERR_INVALID_ARGUMENT, CREATE,
             "world_id");

  d = tiny_world("w", 7);
  d.T = 0;
  EXPECT_ERR(ume_writer_create(path, &d, NULL, &w), UME_ERR_INVALID_ARGUMENT, CREATE, "T");
  d = tiny_world("w", 7);
  d.n_obs = 0;
  EXPECT_ERR(ume_writer_create(path, &d, NULL, &w), UME_ERR_INVALID_ARGUMENT, CREATE,
             "n_obs");
  d = tiny_world("w", 7);
  d.n_params = 0;
  EXPECT_ERR(ume_writer_create(path, &d, NULL, &w), UME_ERR_INVALID_ARGUMENT, CREATE,
             "n_params");
  d = tiny_world("w", 7);
  d.n_shocks = 0;
  EXPECT_ERR(ume_writer_create(path, &d, NULL, &w), UME_ERR_INVALID_ARGUMENT, CREATE,
             "n_shocks");

  /* an empty parameter name */
  const char *const params[TW_P] = {"alpha", "", "gamma", "delta"};
  d = tiny_world("w", 7);
  d.param_names = params;
  EXPECT_ERR(ume_writer_create(path, &d, NULL, &w), UME_ERR_INVALID_ARGUMENT, CREATE,
             "param");

  /* duplicate names */
  const char *const obs[TW_O] = {"output", "rate", "output"};
  d = tiny_world("w", 7);
  d.obs_names = obs;
  EXPECT_ERR(ume_writer_create(path, &d, NULL, &w), UME_ERR_INVALID_ARGUMENT, CREATE,
             "output");
  /* a NULL entry in a name list */
  const char *const shocks[TW_S] = {"monetary", NULL};
  d = tiny_world("w", 7);
  d.shock_names = shocks;
  EXPECT_ERR(ume_writer_create(path, &d, NULL, &w), UME_ERR_NULL_ARGUMENT, CREATE,
             "shock_names");

  /* unknown codec */
  d = tiny_world("w", 7);
  ume_writer_options o = ume_writer_options_default();
  o.codec = 99;
  EXPECT_ERR(ume_writer_create(path, &d, &o, &w), UME_ERR_INVALID_ARGUMENT, CREATE, "codec",
             "99");
  CHECK(w == NULL);

  /* inner chunks must tile the chunk: 3 does not divide 4 */
  o = ume_writer_options_default();
  o.chunk_samples = 4;
  o.inner_chunk_samples = 3;
  EXPECT_ERR(ume_writer_create(path, &d, &o, &w), UME_ERR_INVALID_ARGUMENT, CREATE,
             "inner_chunk_samples 3", "chunk_samples 4");
  CHECK(w == NULL);
}

/* ---- ume_writer_create: the file system says no ----------------------------------------- */
static void create_unwritable_path(void) {
  /* The parent of the dataset is a regular file: no user (not even root) can create a
   * directory under it. */
  const char *file = scratch_path("a_regular_file");
  FILE *f = fopen(file, "w");
  CHECK(f != NULL);
  if (f) {
    fputs("not a directory\n", f);
    fclose(f);
  }
  char path[1400];
  snprintf(path, sizeof path, "%s/ds.zarr", file);
  ume_world_desc d = tiny_world("w", 7);
  ume_writer *w = NULL;
  EXPECT_ERR(ume_writer_create(path, &d, NULL, &w), UME_ERR_IO, CREATE, "a_regular_file");
  CHECK(w == NULL);

  /* The dataset path itself is a regular file. */
  EXPECT_ERR(ume_writer_create(file, &d, NULL, &w), UME_ERR_IO, CREATE, "a_regular_file");
  CHECK(w == NULL);
  ume_writer_free(w);
}

/* ---- ume_writer_create over an existing world ----------------------------------------- */
static void create_existing(void) {
  const char *path = scratch_path("exists.zarr");
  ume_world_desc d = tiny_world("world_x", 7);
  ume_writer_options o = opts_with(0, 0, 0);
  ume_writer *w = NULL;
  tiny_sample s;

  EXPECT_OK(ume_writer_create(path, &d, &o, &w));
  tiny_fill(&s, 2, 0);
  EXPECT_OK(tiny_write(w, 2, &s));
  EXPECT_OK(ume_writer_finalize(w, NULL)); /* summary is optional */
  ume_writer_free(w);
  w = NULL;

  /* same world again, no overwrite */
  EXPECT_ERR(ume_writer_create(path, &d, &o, &w), UME_ERR_ALREADY_EXISTS, CREATE, "world_x");
  CHECK(w == NULL);
  /* the existing data is untouched by the refused create */
  ume_reader *r = NULL;
  uint64_t n_written = 99;
  if (EXPECT_OK(ume_reader_open(path, "world_x", &r))) {
    EXPECT_OK(ume_reader_samples_written(r, &n_written));
    CHECK(n_written == 1);
    ume_reader_free(r);
    r = NULL;
  }

  /* another world in the same dataset is fine */
  ume_world_desc d2 = tiny_world("world_y", 3);
  if (EXPECT_OK(ume_writer_create(path, &d2, &o, &w))) {
    EXPECT_OK(ume_writer_finalize(w, NULL));
    ume_writer_free(w);
    w = NULL;
  }

  /* overwrite = 1 replaces the world: nothing written any more */
  o.overwrite = 1;
  if (EXPECT_OK(ume_writer_create(path, &d, &o, &w))) {
    ume_summary sum;
    EXPECT_OK(ume_writer_finalize(w, &sum));
    CHECK(sum.samples_written == 0);
    CHECK(sum.n_samples == 7);
    ume_writer_free(w);
    w = NULL;
  }
  if (EXPECT_OK(ume_reader_open(path, "world_x", &r))) {
    n_written = 99;
    EXPECT_OK(ume_reader_samples_written(r, &n_written));
    CHECK(n_written == 0);
    uint8_t flag = 1;
    EXPECT_OK(ume_reader_is_written(r, 2, &flag));
    CHECK(flag == 0);
    ume_reader_free(r);
  }
  /* the other world survived the overwrite of world_x */
  if (EXPECT_OK(ume_reader_open(path, "world_y", &r))) ume_reader_free(r);

  /* overwrite also works when nothing exists yet */
  const char *fresh = scratch_path("fresh_overwrite.zarr");
  if (EXPECT_OK(ume_writer_create(fresh, &d, &o, &w))) {
    EXPECT_OK(ume_writer_finalize(w, NULL));
    ume_writer_free(w);
  }
}

/* ---- write_sample: argument errors on a live writer ------------------------------------- */
static void write_errors(void) {
  const char *path = scratch_path("write_errors.zarr");
  ume_world_desc d = tiny_world("w", 7);
  ume_writer_options o = opts_with(0, 1, 0);
  ume_writer *w = NULL;
  if (!EXPECT_OK(ume_writer_create(path, &d, &o, &w))) return;

  tiny_sample s;
  tiny_fill(&s, 3, 0);
  const uint32_t C = UME_LAYOUT_C;

  /* NULL handle and NULL buffers (with the right lengths) */
  EXPECT_ERR(ume_writer_write_sample_f64(NULL, 3, C, s.theta, TW_THETA, s.traj, TW_TRAJ,
                                         s.irfs, TW_IRFS, s.shocks, TW_SHOCKS),
             UME_ERR_NULL_ARGUMENT, WRITE_F64, "null");
  EXPECT_ERR(ume_writer_write_sample_f64(w, 3, C, NULL, TW_THETA, s.traj, TW_TRAJ, s.irfs,
                                         TW_IRFS, s.shocks, TW_SHOCKS),
             UME_ERR_NULL_ARGUMENT, WRITE_F64, "theta");
  EXPECT_ERR(ume_writer_write_sample_f64(w, 3, C, s.theta, TW_THETA, NULL, TW_TRAJ, s.irfs,
                                         TW_IRFS, s.shocks, TW_SHOCKS),
             UME_ERR_NULL_ARGUMENT, WRITE_F64, "traj");
  EXPECT_ERR(ume_writer_write_sample_f64(w, 3, C, s.theta, TW_THETA, s.traj, TW_TRAJ, NULL,
                                         TW_IRFS, s.shocks, TW_SHOCKS),
             UME_ERR_NULL_ARGUMENT, WRITE_F64, "irfs");
  EXPECT_ERR(ume_writer_write_sample_f64(w, 3, C, s.theta, TW_THETA, s.traj, TW_TRAJ, s.irfs,
                                         TW_IRFS, NULL, TW_SHOCKS),
             UME_ERR_NULL_ARGUMENT, WRITE_F64, "shocks");

  /* index >= n_samples: the message names the index and the valid range */
  EXPECT_ERR(tiny_write(w, 7, &s), UME_ERR_OUT_OF_RANGE, WRITE_F64, "7");
  EXPECT_ERR(tiny_write(w, 12345, &s), UME_ERR_OUT_OF_RANGE, WRITE_F64, "12345", "7");
  EXPECT_ERR(tiny_write(w, UINT64_MAX, &s), UME_ERR_OUT_OF_RANGE, WRITE_F64,
             "18446744073709551615");

  /* layout flag */
  EXPECT_ERR(ume_writer_write_sample_f64(w, 3, 7, s.theta, TW_THETA, s.traj, TW_TRAJ, s.irfs,
                                         TW_IRFS, s.shocks, TW_SHOCKS),
             UME_ERR_INVALID_ARGUMENT, WRITE_F64, "layout", "7");
  EXPECT_ERR(ume_writer_write_sample_f64(w, 3, 0, s.theta, TW_THETA, s.traj, TW_TRAJ, s.irfs,
                                         TW_IRFS, s.shocks, TW_SHOCKS),
             UME_ERR_INVALID_ARGUMENT, WRITE_F64, "layout", "0");

  /* buffer lengths: the message names the array, the given and the expected length */
  EXPECT_ERR(ume_writer_write_sample_f64(w, 3, C, s.theta, TW_THETA + 1, s.traj, TW_TRAJ,
                                         s.irfs, TW_IRFS, s.shocks, TW_SHOCKS),
             UME_ERR_LENGTH_MISMATCH, WRITE_F64, "theta", "5", "4");
  EXPECT_ERR(ume_writer_write_sample_f64(w, 3, C, s.theta, TW_THETA, s.traj, TW_TRAJ - 1,
                                         s.irfs, TW_IRFS, s.shocks, TW_SHOCKS),
             UME_ERR_LENGTH_MISMATCH, WRITE_F64, "traj", "17", "18");
  EXPECT_ERR(ume_writer_write_sample_f64(w, 3, C, s.theta, TW_THETA, s.traj, TW_TRAJ, s.irfs,
                                         TW_IRFS + 1, s.shocks, TW_SHOCKS),
             UME_ERR_LENGTH_MISMATCH, WRITE_F64, "irfs", "31", "30");
  EXPECT_ERR(ume_writer_write_sample_f64(w, 3, C, s.theta, TW_THETA, s.traj, TW_TRAJ, s.irfs,
                                         TW_IRFS, s.shocks, 0),
             UME_ERR_LENGTH_MISMATCH, WRITE_F64, "shocks", "0", "12");

  /* non-finite values are rejected by default and the message names the array */
  s.theta[1] = NAN;
  EXPECT_ERR(tiny_write(w, 3, &s), UME_ERR_NON_FINITE, WRITE_F64, "theta");
  tiny_fill(&s, 3, 0);
  s.shocks[TW_SHOCKS - 1] = INFINITY;
  EXPECT_ERR(tiny_write(w, 3, &s), UME_ERR_NON_FINITE, WRITE_F64, "shocks");
  tiny_fill(&s, 3, 0);
  s.irfs[5] = -INFINITY;
  EXPECT_ERR(tiny_write(w, 3, &s), UME_ERR_NON_FINITE, WRITE_F64, "irfs");
  tiny_fill(&s, 3, 0);

  /* the f32 entry point checks the same things */
  float th[TW_THETA] = {0}, tr[TW_TRAJ] = {0}, ir[TW_IRFS] = {0}, sh[TW_SHOCKS] = {0};
  EXPECT_ERR(ume_writer_write_sample_f32(NULL, 3, C, th, TW_THETA, tr, TW_TRAJ, ir, TW_IRFS,
                                         sh, TW_SHOCKS),
             UME_ERR_NULL_ARGUMENT, WRITE_F32);
  EXPECT_ERR(ume_writer_write_sample_f32(w, 9, C, th, TW_THETA, tr, TW_TRAJ, ir, TW_IRFS, sh,
                                         TW_SHOCKS),
             UME_ERR_OUT_OF_RANGE, WRITE_F32, "9", "7");
  EXPECT_ERR(ume_writer_write_sample_f32(w, 3, 3, th, TW_THETA, tr, TW_TRAJ, ir, TW_IRFS, sh,
                                         TW_SHOCKS),
             UME_ERR_INVALID_ARGUMENT, WRITE_F32, "layout", "3");
  EXPECT_ERR(ume_writer_write_sample_f32(w, 3, C, th, TW_THETA, tr, TW_TRAJ, ir, TW_IRFS - 2,
                                         sh, TW_SHOCKS),
             UME_ERR_LENGTH_MISMATCH, WRITE_F32, "irfs", "28", "30");
  tr[0] = NAN;
  EXPECT_ERR(ume_writer_write_sample_f32(w, 3, C, th, TW_THETA, tr, TW_TRAJ, ir, TW_IRFS, sh,
                                         TW_SHOCKS),
             UME_ERR_NON_FINITE, WRITE_F32, "traj");
  tr[0] = 0.0f;

  /* after all these rejections sample 3 is still writable, once */
  EXPECT_OK(tiny_write(w, 3, &s));
  EXPECT_ERR(tiny_write(w, 3, &s), UME_ERR_ALREADY_WRITTEN, WRITE_F64, "3");
  EXPECT_ERR(ume_writer_write_sample_f32(w, 3, C, th, TW_THETA, tr, TW_TRAJ, ir, TW_IRFS, sh,
                                         TW_SHOCKS),
             UME_ERR_ALREADY_WRITTEN, WRITE_F32, "3");
  tiny_fill(&s, 6, 0);
  EXPECT_OK(tiny_write(w, 6, &s));
  EXPECT_ERR(tiny_write(w, 6, &s), UME_ERR_ALREADY_WRITTEN, WRITE_F64, "6");

  /* finalize: NULL handle; then use after finalize */
  EXPECT_ERR(ume_writer_finalize(NULL, NULL), UME_ERR_NULL_ARGUMENT, FINALIZE);
  ume_summary sum;
  memset(&sum, 0xff, sizeof sum);
  EXPECT_OK(ume_writer_finalize(w, &sum));
  CHECK(sum.n_samples == 7);
  CHECK(sum.samples_written == 2);
  CHECK(sum.theta.raw_bytes > 0 && sum.trajectories.raw_bytes > 0);
  CHECK(sum.irfs.raw_bytes > 0 && sum.shocks.raw_bytes > 0);

  tiny_fill(&s, 0, 0);
  EXPECT_ERR(tiny_write(w, 0, &s), UME_ERR_FINALIZED, WRITE_F64, "final");
  EXPECT_ERR(ume_writer_write_sample_f32(w, 0, C, th, TW_THETA, tr, TW_TRAJ, ir, TW_IRFS, sh,
                                         TW_SHOCKS),
             UME_ERR_FINALIZED, WRITE_F32, "final");
  EXPECT_ERR(ume_writer_finalize(w, &sum), UME_ERR_FINALIZED, FINALIZE, "final");
  ume_writer_free(w);
  ume_writer_free(NULL);
}

/* ---- f64 values beyond the float32 range -------------------------------------------------
 * A finite double such as 1e300 becomes +inf when rounded to float32. With non-finite
 * values rejected (the default) it must be rejected too, or the dataset silently holds
 * infinities. Own writer, so that a failure here cannot cascade into other checks. */
static void f32_overflow_rejected(void) {
  const char *path = scratch_path("overflow.zarr");
  ume_world_desc d = tiny_world("w", 3);
  ume_writer_options o = opts_with(0, 1, 0);
  ume_writer *w = NULL;
  if (!EXPECT_OK(ume_writer_create(path, &d, &o, &w))) return;
  tiny_sample s;
  tiny_fill(&s, 0, 0);
  s.traj[4] = 1e300;
  EXPECT_ERR(tiny_write(w, 0, &s), UME_ERR_NON_FINITE, WRITE_F64, "traj");
  tiny_fill(&s, 1, 0);
  s.theta[2] = -1e39; /* just beyond -FLT_MAX */
  EXPECT_ERR(tiny_write(w, 1, &s), UME_ERR_NON_FINITE, WRITE_F64, "theta");
  tiny_fill(&s, 2, 0);
  s.shocks[0] = 3.0e38; /* below FLT_MAX: fine */
  EXPECT_OK(tiny_write(w, 2, &s));
  ume_summary sum;
  EXPECT_OK(ume_writer_finalize(w, &sum));
  CHECK(sum.samples_written == 1);
  ume_writer_free(w);
}

/* ---- allow_nonfinite = 1 stores NaN and Inf --------------------------------------------- */
static void nonfinite_allowed(void) {
  const char *path = scratch_path("nonfinite.zarr");
  ume_world_desc d = tiny_world("w", 4);
  ume_writer_options o = opts_with(0, 1, 1);
  ume_writer *w = NULL;
  if (!EXPECT_OK(ume_writer_create(path, &d, &o, &w))) return;

  tiny_sample s;
  tiny_fill(&s, 1, 0);
  s.theta[0] = NAN;
  s.traj[2] = INFINITY;
  s.irfs[7] = -INFINITY;
  s.shocks[0] = NAN;
  EXPECT_OK(tiny_write(w, 1, &s));
  EXPECT_OK(ume_writer_finalize(w, NULL));
  ume_writer_free(w);

  ume_reader *r = NULL;
  if (!EXPECT_OK(ume_reader_open(path, "w", &r))) return;
  tiny_sample back;
  EXPECT_OK(tiny_read(r, 1, &back));
  CHECK(isnan(back.theta[0]));
  CHECK(isinf(back.traj[2]) && back.traj[2] > 0);
  CHECK(isinf(back.irfs[7]) && back.irfs[7] < 0);
  CHECK(isnan(back.shocks[0]));
  CHECK(back.theta[1] == s.theta[1] && back.traj[3] == s.traj[3]);
  ume_reader_free(r);
}

int main(int argc, char **argv) {
  ume_test_init(argc, argv);
  create_null_arguments();
  create_invalid_arguments();
  create_unwritable_path();
  create_existing();
  write_errors();
  f32_overflow_rejected();
  nonfinite_allowed();
  return ume_test_report("test_errors_writer");
}
