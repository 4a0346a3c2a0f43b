/* Error paths of the reader, plus the values it returns on success (C and Fortran
 * layouts, f32 and f64, skipped arrays). */
#include "ume_test.h"

#define OPEN "ume_reader_open"
#define READ64 "ume_reader_read_f64"
#define READ32 "ume_reader_read_f32"

enum { N = 11, N_WRITTEN = 9 }; /* samples 0..8 written, 9 and 10 not */

/* Creates the dataset used by most checks below. Returns 1 on success. */
static int make_dataset(const char *path) {
  ume_world_desc d = tiny_world("rw", N);
  ume_writer_options o = opts_with(4, 1, 0);
  ume_writer *w = NULL;
  if (!EXPECT_OK(ume_writer_create(path, &d, &o, &w))) return 0;
  int ok = 1;
  tiny_sample s;
  for (uint64_t i = N_WRITTEN; i-- > 0;) { /* out of order on purpose */
    tiny_fill(&s, i, 0);
    ok &= EXPECT_OK(tiny_write(w, i, &s));
  }
  ok &= EXPECT_OK(ume_writer_finalize(w, NULL));
  ume_writer_free(w);
  return ok;
}

static void open_errors(const char *path) {
  ume_reader *r = NULL;

  EXPECT_ERR(ume_reader_open(NULL, "rw", &r), UME_ERR_NULL_ARGUMENT, OPEN, "path");
  CHECK(r == NULL);
  EXPECT_ERR(ume_reader_open(path, NULL, &r), UME_ERR_NULL_ARGUMENT, OPEN, "world_id");
  CHECK(r == NULL);
  EXPECT_ERR(ume_reader_open(path, "rw", NULL), UME_ERR_NULL_ARGUMENT, OPEN, "out");

  /* missing dataset directory: NOT_FOUND, the message names the path */
  const char *missing = scratch_path("does_not_exist.zarr");
  EXPECT_ERR(ume_reader_open(missing, "rw", &r), UME_ERR_NOT_FOUND, OPEN,
             "does_not_exist.zarr");
  CHECK(r == NULL);

  /* an existing directory that is not a dataset */
  const char *empty = scratch_path("empty_dir");
  CHECK(ume_t_mkdir_p(empty) == 0);
  EXPECT_ERR(ume_reader_open(empty, "rw", &r), UME_ERR_NOT_FOUND, OPEN, "empty_dir");
  CHECK(r == NULL);

  /* existing dataset, missing world: the message names the world */
  EXPECT_ERR(ume_reader_open(path, "no_such_world", &r), UME_ERR_NOT_FOUND, OPEN,
             "no_such_world");
  CHECK(r == NULL);

  /* a world whose metadata is garbage is a FORMAT error, not a crash */
  const char *broken = scratch_path("broken.zarr");
  {
    ume_world_desc d = tiny_world("bw", 2);
    ume_writer_options o = opts_with(0, 1, 0);
    ume_writer *w = NULL;
    if (EXPECT_OK(ume_writer_create(broken, &d, &o, &w))) {
      EXPECT_OK(ume_writer_finalize(w, NULL));
      ume_writer_free(w);
    }
    char meta[1400];
    snprintf(meta, sizeof meta, "%s/bw/theta/zarr.json", broken);
    FILE *f = fopen(meta, "w");
    CHECK(f != NULL);
    if (f) {
      fputs("{ this is not json", f);
      fclose(f);
    }
    EXPECT_ERR(ume_reader_open(broken, "bw", &r), UME_ERR_FORMAT, OPEN);
    ume_reader_free(r); /* NULL if the open failed as it should */
    r = NULL;
  }
}

static void query_errors(const ume_reader *r) {
  ume_world_shape shape;
  memset(&shape, 0, sizeof shape);
  EXPECT_OK(ume_reader_shape(r, &shape));
  CHECK(shape.n_samples == N);
  CHECK(shape.chunk_samples == 4);
  CHECK(shape.T == TW_T && shape.H == TW_H && shape.n_params == TW_P);
  CHECK(shape.n_shocks == TW_S && shape.n_obs == TW_O);
  EXPECT_ERR(ume_reader_shape(NULL, &shape), UME_ERR_NULL_ARGUMENT, "ume_reader_shape");
  EXPECT_ERR(ume_reader_shape(r, NULL), UME_ERR_NULL_ARGUMENT, "ume_reader_shape", "out");

  uint64_t n_written = 0;
  EXPECT_OK(ume_reader_samples_written(r, &n_written));
  CHECK(n_written == N_WRITTEN);
  EXPECT_ERR(ume_reader_samples_written(NULL, &n_written), UME_ERR_NULL_ARGUMENT,
             "ume_reader_samples_written");
  EXPECT_ERR(ume_reader_samples_written(r, NULL), UME_ERR_NULL_ARGUMENT,
             "ume_reader_samples_written", "out");

  uint8_t flag = 7;
  EXPECT_OK(ume_reader_is_written(r, 0, &flag));
  CHECK(flag == 1);
  EXPECT_OK(ume_reader_is_written(r, 8, &flag));
  CHECK(flag == 1);
  EXPECT_OK(ume_reader_is_written(r, 9, &flag));
  CHECK(flag == 0);
  EXPECT_ERR(ume_reader_is_written(r, 11, &flag), UME_ERR_OUT_OF_RANGE,
             "ume_reader_is_written", "11");
  EXPECT_ERR(ume_reader_is_written(r, 4242, &flag), UME_ERR_OUT_OF_RANGE,
             "ume_reader_is_written", "4242", "11");
  EXPECT_ERR(ume_reader_is_written(NULL, 0, &flag), UME_ERR_NULL_ARGUMENT,
             "ume_reader_is_written");
  EXPECT_ERR(ume_reader_is_written(r, 0, NULL), UME_ERR_NULL_ARGUMENT,
             "ume_reader_is_written", "out");
}

static void read_errors(const ume_reader *r) {
  /* buffers for 2 samples */
  double th[2 * TW_THETA], tr[2 * TW_TRAJ], ir[2 * TW_IRFS], sh[2 * TW_SHOCKS];
  const uint32_t C = UME_LAYOUT_C;

  EXPECT_ERR(ume_reader_read_f64(NULL, 0, 1, C, th, TW_THETA, tr, TW_TRAJ, ir, TW_IRFS, sh,
                                 TW_SHOCKS),
             UME_ERR_NULL_ARGUMENT, READ64);

  /* ranges outside [0, n) */
  EXPECT_ERR(ume_reader_read_f64(r, 11, 1, C, th, TW_THETA, tr, TW_TRAJ, ir, TW_IRFS, sh,
                                 TW_SHOCKS),
             UME_ERR_OUT_OF_RANGE, READ64, "11");
  EXPECT_ERR(ume_reader_read_f64(r, 10, 2, C, th, 2 * TW_THETA, tr, 2 * TW_TRAJ, ir,
                                 2 * TW_IRFS, sh, 2 * TW_SHOCKS),
             UME_ERR_OUT_OF_RANGE, READ64, "10", "11");
  EXPECT_ERR(ume_reader_read_f64(r, 5000, 1, C, th, TW_THETA, tr, TW_TRAJ, ir, TW_IRFS, sh,
                                 TW_SHOCKS),
             UME_ERR_OUT_OF_RANGE, READ64, "5000", "11");
  /* start + count overflows uint64: still a clean OUT_OF_RANGE */
  EXPECT_ERR(ume_reader_read_f64(r, UINT64_MAX, 2, C, th, 2 * TW_THETA, tr, 2 * TW_TRAJ, ir,
                                 2 * TW_IRFS, sh, 2 * TW_SHOCKS),
             UME_ERR_OUT_OF_RANGE, READ64);

  /* samples never written */
  EXPECT_ERR(ume_reader_read_f64(r, 9, 1, C, th, TW_THETA, tr, TW_TRAJ, ir, TW_IRFS, sh,
                                 TW_SHOCKS),
             UME_ERR_NOT_WRITTEN, READ64, "9");
  EXPECT_ERR(ume_reader_read_f64(r, 8, 2, C, th, 2 * TW_THETA, tr, 2 * TW_TRAJ, ir,
                                 2 * TW_IRFS, sh, 2 * TW_SHOCKS),
             UME_ERR_NOT_WRITTEN, READ64, "9");

  /* layout flag */
  EXPECT_ERR(ume_reader_read_f64(r, 0, 1, 7, th, TW_THETA, tr, TW_TRAJ, ir, TW_IRFS, sh,
                                 TW_SHOCKS),
             UME_ERR_INVALID_ARGUMENT, READ64, "layout", "7");

  /* lengths are count * per-sample length */
  EXPECT_ERR(ume_reader_read_f64(r, 0, 2, C, th, 2 * TW_THETA, tr, TW_TRAJ, ir, 2 * TW_IRFS,
                                 sh, 2 * TW_SHOCKS),
             UME_ERR_LENGTH_MISMATCH, READ64, "traj", "18", "36");
  EXPECT_ERR(ume_reader_read_f64(r, 0, 1, C, th, TW_THETA - 1, tr, TW_TRAJ, ir, TW_IRFS, sh,
                                 TW_SHOCKS),
             UME_ERR_LENGTH_MISMATCH, READ64, "theta", "3", "4");
  EXPECT_ERR(ume_reader_read_f64(r, 0, 1, C, th, TW_THETA, tr, TW_TRAJ, ir, TW_IRFS, sh,
                                 TW_SHOCKS + 1),
             UME_ERR_LENGTH_MISMATCH, READ64, "shocks", "13", "12");

  /* NULL buffer with a non-zero length */
  EXPECT_ERR(ume_reader_read_f64(r, 0, 1, C, th, TW_THETA, tr, TW_TRAJ, NULL, TW_IRFS, sh,
                                 TW_SHOCKS),
             UME_ERR_NULL_ARGUMENT, READ64, "irfs");

  /* the f32 entry point */
  float f[2 * TW_TRAJ];
  EXPECT_ERR(ume_reader_read_f32(r, 11, 1, C, NULL, 0, f, TW_TRAJ, NULL, 0, NULL, 0),
             UME_ERR_OUT_OF_RANGE, READ32, "11");
  EXPECT_ERR(ume_reader_read_f32(r, 0, 1, C, NULL, 0, f, TW_TRAJ + 1, NULL, 0, NULL, 0),
             UME_ERR_LENGTH_MISMATCH, READ32, "traj", "19", "18");
  EXPECT_ERR(ume_reader_read_f32(r, 10, 1, C, NULL, 0, f, TW_TRAJ, NULL, 0, NULL, 0),
             UME_ERR_NOT_WRITTEN, READ32, "10");
  EXPECT_ERR(ume_reader_read_f32(NULL, 0, 1, C, NULL, 0, f, TW_TRAJ, NULL, 0, NULL, 0),
             UME_ERR_NULL_ARGUMENT, READ32);
}

/* Successful reads: values, skipped arrays, layouts. */
static void read_values(const ume_reader *r) {
  tiny_sample expect, got;
  int all_equal = 1;
  for (uint64_t i = 0; i < N_WRITTEN; i++) {
    tiny_fill(&expect, i, 0);
    EXPECT_OK(tiny_read(r, i, &got));
    all_equal &= tiny_equal(&expect, &got);
  }
  CHECK(all_equal);

  /* a range across a chunk boundary (chunk_samples = 4): samples 2..6 */
  enum { CNT = 5 };
  double tr[CNT * TW_TRAJ];
  if (EXPECT_OK(ume_reader_read_f64(r, 2, CNT, UME_LAYOUT_C, NULL, 0, tr, CNT * TW_TRAJ, NULL,
                                    0, NULL, 0))) {
    int ok = 1;
    for (int c = 0; c < CNT; c++) {
      tiny_fill(&expect, 2 + (uint64_t)c, 0);
      ok &= memcmp(&tr[c * TW_TRAJ], expect.traj, sizeof expect.traj) == 0;
    }
    CHECK(ok);
  }

  /* only theta, as float */
  float th32[TW_THETA];
  tiny_fill(&expect, 5, 0);
  if (EXPECT_OK(ume_reader_read_f32(r, 5, 1, UME_LAYOUT_C, th32, TW_THETA, NULL, 0, NULL, 0,
                                    NULL, 0))) {
    int ok = 1;
    for (int j = 0; j < TW_THETA; j++) ok &= (double)th32[j] == expect.theta[j];
    CHECK(ok);
  }

  /* all four skipped is a no-op that succeeds */
  EXPECT_OK(ume_reader_read_f64(r, 0, 1, UME_LAYOUT_C, NULL, 0, NULL, 0, NULL, 0, NULL, 0));

  /* Fortran layout: traj(t, o) at t + T*o within each sample block; irfs(k, h, o) at
   * k + S*(h + (H+1)*o) */
  double trF[2 * TW_TRAJ], irF[2 * TW_IRFS];
  if (EXPECT_OK(ume_reader_read_f64(r, 3, 2, UME_LAYOUT_F, NULL, 0, trF, 2 * TW_TRAJ, irF,
                                    2 * TW_IRFS, NULL, 0))) {
    int ok = 1;
    for (int c = 0; c < 2; c++) {
      tiny_fill(&expect, 3 + (uint64_t)c, 0);
      for (int t = 0; t < TW_T; t++)
        for (int o = 0; o < TW_O; o++)
          ok &= trF[c * TW_TRAJ + t + TW_T * o] == expect.traj[t * TW_O + o];
      for (int k = 0; k < TW_S; k++)
        for (int h = 0; h <= TW_H; h++)
          for (int o = 0; o < TW_O; o++)
            ok &= irF[c * TW_IRFS + k + TW_S * (h + (TW_H + 1) * o)] ==
                  expect.irfs[(k * (TW_H + 1) + h) * TW_O + o];
    }
    CHECK(ok);
  }
}

/* Overwrites `n` bytes at `offset` of a file (or truncates it to `offset` if n == 0). */
static int damage_file(const char *file, long offset, size_t n) {
  FILE *f = fopen(file, "r+b");
  if (!f) {
    fprintf(stderr, "  cannot open %s to damage it\n", file);
    return 0;
  }
  int ok = 1;
  if (n == 0) {
    ok = ftruncate(fileno(f), offset) == 0;
  } else {
    ok = fseek(f, offset, SEEK_SET) == 0;
    for (size_t k = 0; ok && k < n; k++) ok = fputc(0x5A, f) != EOF;
  }
  fclose(f);
  return ok;
}

/* A damaged chunk (bytes flipped, or truncated) is a FORMAT error on read, not garbage
 * values or a crash. Chunk files follow Zarr v3's default key encoding: c/<i>/<j>. */
static void corrupt_chunks(void) {
  const char *path = scratch_path("corrupt.zarr");
  char ds[1200];
  snprintf(ds, sizeof ds, "%s", path);
  ume_world_desc d = tiny_world("cw", 8);
  ume_writer_options o = opts_with(4, 1, 0); /* two chunks: samples 0-3 and 4-7 */
  ume_writer *w = NULL;
  if (!EXPECT_OK(ume_writer_create(ds, &d, &o, &w))) return;
  tiny_sample s;
  for (uint64_t i = 0; i < 8; i++) {
    tiny_fill(&s, i, 0);
    EXPECT_OK(tiny_write(w, i, &s));
  }
  EXPECT_OK(ume_writer_finalize(w, NULL));
  ume_writer_free(w);

  char chunk[1400];
  snprintf(chunk, sizeof chunk, "%s/cw/theta/c.0.0", ds);
  CHECK(damage_file(chunk, 20, 4));
  snprintf(chunk, sizeof chunk, "%s/cw/trajectories/c.1.0.0", ds);
  CHECK(damage_file(chunk, 10, 0));

  ume_reader *r = NULL;
  if (!EXPECT_OK(ume_reader_open(ds, "cw", &r))) return;
  /* bytes 20..23 of the theta chunk hold theta[1] of sample 0 (after blosc's 16-byte
   * header): a single-sample read of sample 0, of sample 1 (same chunk) and a read of
   * the whole chunk must all notice the bad checksum */
  EXPECT_ERR(tiny_read(r, 0, &s), UME_ERR_FORMAT, READ64, "theta");
  EXPECT_ERR(tiny_read(r, 1, &s), UME_ERR_FORMAT, READ64, "theta");
  double th[4 * TW_THETA];
  EXPECT_ERR(ume_reader_read_f64(r, 0, 4, UME_LAYOUT_C, th, 4 * TW_THETA, NULL, 0, NULL, 0,
                                 NULL, 0),
             UME_ERR_FORMAT, READ64, "theta");
  EXPECT_ERR(tiny_read(r, 6, &s), UME_ERR_FORMAT, READ64, "trajectories");
  /* arrays that are not damaged still read fine */
  double sh[TW_SHOCKS];
  tiny_sample expect;
  tiny_fill(&expect, 6, 0);
  if (EXPECT_OK(ume_reader_read_f64(r, 6, 1, UME_LAYOUT_C, NULL, 0, NULL, 0, NULL, 0, sh,
                                    TW_SHOCKS)))
    CHECK(memcmp(sh, expect.shocks, sizeof sh) == 0);
  ume_reader_free(r);
}

int main(int argc, char **argv) {
  ume_test_init(argc, argv);
  const char *path = scratch_path("reader.zarr");
  char path_copy[1200];
  snprintf(path_copy, sizeof path_copy, "%s", path);

  if (make_dataset(path_copy)) {
    open_errors(path_copy);
    ume_reader *r = NULL;
    if (EXPECT_OK(ume_reader_open(path_copy, "rw", &r))) {
      CHECK(r != NULL);
      query_errors(r);
      read_errors(r);
      read_values(r);
      ume_reader_free(r);
    }
  }
  corrupt_chunks();
  ume_reader_free(NULL);
  return ume_test_report("test_errors_reader");
}
