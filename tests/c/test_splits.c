/* ume_splits: compute train/val/test + OOD splits from the stored theta, store them as the
 * world's uint8 `split` array, record them in the manifest, load and query them. */
#include "ume_test.h"

enum { N = 1000, CS = 64 };

/* theta of sample i: p0 = i (a ramp), p1 = (i * 7) % 1000, p2, p3 = small patterns. */
static void fill(tiny_sample *s, uint64_t i) {
  tiny_fill(s, i, 0);
  s->theta[0] = (double)i;
  s->theta[1] = (double)((i * 7) % N);
  s->theta[2] = (double)((i * 13) % N);
  s->theta[3] = (double)(i % 10);
}

int main(int argc, char **argv) {
  ume_test_init(argc, argv);
  const char *ds = scratch_path("splits.zarr");
  ume_world_desc d = tiny_world("nk", N);
  ume_writer_options o = opts_with(CS, 1, 0);
  ume_writer *w = NULL;
  EXPECT_OK(ume_writer_create(ds, &d, &o, &w));
  tiny_sample s;
  for (uint64_t i = 0; i < N; i++) {
    if (i == 5) continue; /* one sample never written */
    fill(&s, i);
    EXPECT_OK(tiny_write(w, i, &s));
  }
  EXPECT_OK(ume_writer_finalize(w, NULL));
  ume_writer_free(w);

  const char *rule =
      "{\"fractions\": {\"train\": 0.7, \"val\": 0.2, \"test\": 0.1}, \"seed\": 42, \"ood\": ["
      " {\"kind\": \"slice\", \"param\": \"p0\", \"units\": \"natural\", \"range\": [900, 999]},"
      " {\"kind\": \"corner\", \"params\": [\"p1\", \"p2\"], \"k\": 2, \"q\": 0.05},"
      " {\"kind\": \"interpolation\", \"params\": [\"p3\"], \"units\": \"natural\","
      "  \"box\": [[4, 5]]}]}";
  ume_splits *sp = NULL;
  EXPECT_OK(ume_splits_compute(ds, "nk", rule, &sp));
  uint64_t n = 0, c[7];
  const uint8_t codes[7] = {UME_SPLIT_TRAIN,      UME_SPLIT_VAL,        UME_SPLIT_TEST,
                            UME_SPLIT_OOD_SLICE,  UME_SPLIT_OOD_CORNER, UME_SPLIT_OOD_INTERPOLATION,
                            UME_SPLIT_NOT_WRITTEN};
  EXPECT_OK(ume_splits_n_samples(sp, &n));
  CHECK(n == N);
  uint64_t total = 0;
  for (int k = 0; k < 7; k++) {
    EXPECT_OK(ume_splits_count(sp, codes[k], &c[k]));
    total += c[k];
  }
  CHECK(total == N);
  CHECK(c[3] == 100);  /* p0 in [900, 999] */
  CHECK(c[6] == 1);    /* sample 5 */
  uint8_t code = 0;
  EXPECT_OK(ume_splits_get(sp, 5, &code));
  CHECK(code == UME_SPLIT_NOT_WRITTEN);
  EXPECT_OK(ume_splits_get(sp, 950, &code));
  CHECK(code == UME_SPLIT_OOD_SLICE);
  /* Samples with p3 in {4, 5} and not taken by the earlier rules: interpolation. */
  EXPECT_OK(ume_splits_get(sp, 14, &code));
  CHECK(code == UME_SPLIT_OOD_INTERPOLATION || code == UME_SPLIT_OOD_CORNER);
  uint64_t m_in = c[0] + c[1] + c[2];
  CHECK(c[0] * 10 >= m_in * 7 - 10 && c[0] * 10 <= m_in * 7 + 10); /* within 1 of 0.7 m */
  CHECK(c[1] * 10 >= m_in * 2 - 10 && c[1] * 10 <= m_in * 2 + 10);

  /* Index lists: ask for the size, then fill; disjoint and ascending. */
  size_t n_val = 0;
  EXPECT_OK(ume_splits_indices(sp, UME_SPLIT_VAL, NULL, 0, &n_val));
  CHECK(n_val == c[1]);
  uint64_t *idx = malloc(sizeof(uint64_t) * (n_val + 1));
  EXPECT_ERR(ume_splits_indices(sp, UME_SPLIT_VAL, idx, n_val - 1, &n_val),
             UME_ERR_LENGTH_MISMATCH, "buf_len");
  EXPECT_OK(ume_splits_indices(sp, UME_SPLIT_VAL, idx, n_val + 1, &n_val));
  int ok = 1;
  for (size_t k = 0; k < n_val; k++) {
    uint8_t cc = 9;
    ume_splits_get(sp, idx[k], &cc);
    ok &= cc == UME_SPLIT_VAL && (k == 0 || idx[k] > idx[k - 1]);
  }
  CHECK(ok);
  free(idx);

  /* Deterministic for a seed. */
  ume_splits *again = NULL;
  EXPECT_OK(ume_splits_compute(ds, "nk", rule, &again));
  char *j1 = NULL, *j2 = NULL;
  EXPECT_OK(ume_splits_to_json(sp, &j1));
  EXPECT_OK(ume_splits_to_json(again, &j2));
  CHECK(j1 && j2 && strcmp(j1, j2) == 0);
  CHECK(j1 && strstr(j1, "\"resolved\"") != NULL);
  ume_string_free(j1);
  ume_string_free(j2);
  ume_splits_free(again);

  /* Store, record in a manifest, save, load back, check against the disk. */
  EXPECT_OK(ume_splits_store(sp, ds));
  ume_manifest *m = NULL;
  EXPECT_OK(ume_manifest_new("0.1.0", 42, UME_SEED_CHACHA20, &m));
  ume_reader *r = NULL;
  EXPECT_OK(ume_reader_open(ds, "nk", &r));
  EXPECT_OK(ume_manifest_add_world_from_reader(m, r));
  ume_reader_free(r);
  const double bounds[] = {0, 1000, 0, 1000, 0, 1000, 0, 10};
  const double defaults[] = {500, 500, 500, 5};
  const double sigma[] = {1, 1};
  EXPECT_OK(ume_manifest_set_parameters(m, "nk", NULL, 0, bounds, 8, defaults, 4));
  EXPECT_OK(ume_manifest_set_shock_sigma(m, "nk", sigma, 2));
  EXPECT_OK(ume_manifest_set_splits(m, sp));
  EXPECT_OK(ume_manifest_save(m, ds));
  EXPECT_OK(ume_manifest_check_dataset(m, ds));
  ume_splits *loaded = NULL;
  EXPECT_OK(ume_splits_load(ds, "nk", &loaded));
  int same = 1;
  for (uint64_t i = 0; i < N; i++) {
    uint8_t a = 0, b = 1;
    ume_splits_get(sp, i, &a);
    ume_splits_get(loaded, i, &b);
    same &= a == b;
  }
  CHECK(same);
  ume_splits_free(loaded);

  /* A split stored from another rule no longer matches the manifest's hash. */
  ume_splits *other = NULL;
  EXPECT_OK(ume_splits_compute(
      ds, "nk", "{\"fractions\": {\"train\": 0.5, \"val\": 0.25, \"test\": 0.25}, \"seed\": 1}",
      &other));
  EXPECT_OK(ume_splits_store(other, ds));
  EXPECT_ERR(ume_manifest_check_dataset(m, ds), UME_ERR_FORMAT, "split", "SHA-256");
  EXPECT_ERR(ume_splits_load(ds, "nk", &loaded), UME_ERR_FORMAT, "SHA-256");
  CHECK(loaded == NULL);
  ume_splits_free(other);

  /* Errors name the rule field. */
  ume_splits *bad = NULL;
  EXPECT_ERR(ume_splits_compute(ds, "nk",
                                "{\"fractions\": {\"train\": 0.7, \"val\": 0.2, \"test\": 0.2}, \"seed\": 1}",
                                &bad),
             UME_ERR_INVALID_ARGUMENT, "fractions sum to");
  EXPECT_ERR(ume_splits_compute(ds, "nk",
                                "{\"fractions\": {\"train\": 1, \"val\": 0, \"test\": 0}, \"seed\": 1,"
                                " \"ood\": [{\"kind\": \"slice\", \"param\": \"beta\", \"units\":"
                                " \"natural\", \"range\": [0, 1]}]}",
                                &bad),
             UME_ERR_INVALID_ARGUMENT, "rule.ood[0].param 'beta'", "p0");
  EXPECT_ERR(ume_splits_compute(ds, "nk", "{\"seed\": 1}", &bad), UME_ERR_INVALID_ARGUMENT,
             "fractions");
  EXPECT_ERR(ume_splits_compute(ds, "zz", rule, &bad), UME_ERR_NOT_FOUND, "zz");
  CHECK(bad == NULL);
  EXPECT_ERR(ume_splits_get(sp, N, &code), UME_ERR_OUT_OF_RANGE, "1000");
  EXPECT_ERR(ume_splits_count(sp, 7, &n), UME_ERR_INVALID_ARGUMENT, "split code 7");
  EXPECT_ERR(ume_splits_get(NULL, 0, &code), UME_ERR_NULL_ARGUMENT, "splits");

  ume_manifest_free(m);
  ume_splits_free(sp);
  ume_splits_free(NULL);
  return ume_test_report("test_splits");
}
