/* ume_dataset_validate: a complete dataset with its manifest passes every check; a chunk
 * file damaged on disk fails the check that reads it, named in the JSON report; a path
 * that is no dataset is a failed report, not an error; NULL arguments are errors. */
#include "ume_test.h"

/* Overwrites `n` bytes at `offset` of a file. */
static int damage_file(const char *file, long offset, size_t n) {
  FILE *f = fopen(file, "r+b");
  if (!f) {
    fprintf(stderr, "  cannot open %s to damage it\n", file);
    return 0;
  }
  int ok = fseek(f, offset, SEEK_SET) == 0;
  for (size_t k = 0; ok && k < n; k++) ok = fputc(0x5A, f) != EOF;
  fclose(f);
  return ok;
}

/* The status ("PASS", "FAIL", "SKIP") of check `name` in a report, or "" if absent. */
static const char *status_of(const char *json, const char *name, char *buf, size_t len) {
  char key[256];
  snprintf(key, sizeof key, "\"check\": \"%s\"", name);
  buf[0] = '\0';
  const char *c = json ? strstr(json, key) : NULL;
  if (!c) return buf;
  const char *end = strstr(c + 1, "\"check\":");
  const char *s = strstr(c, "\"status\": \"");
  if (!s || (end && s > end)) return buf;
  s += strlen("\"status\": \"");
  snprintf(buf, len, "%.4s", s);
  return buf;
}

/* A 40-sample world "nk" in 16-sample chunks, finalized with a valid manifest. */
static int make_dataset(const char *ds) {
  const char *params[] = {"beta", "sigma", "phi_pi", "rho"};
  const char *shocks[] = {"monetary", "technology"};
  const char *obs[] = {"output", "inflation", "rate"};
  ume_world_desc d = tiny_world("nk", 40);
  d.param_names = params;
  d.shock_names = shocks;
  d.obs_names = obs;
  ume_writer_options o = opts_with(16, 1, 0);
  ume_writer *w = NULL;
  if (!EXPECT_OK(ume_writer_create(ds, &d, &o, &w))) return 0;
  ume_manifest *m = NULL;
  EXPECT_OK(ume_manifest_new("1.0.0", 42, UME_SEED_SPLITMIX64, &m));
  EXPECT_OK(ume_manifest_add_world_from_writer(m, w));
  const char *units[] = {"-", "-", "-", "-"};
  const double bounds[] = {0.985, 0.995, 0.5, 2.5, 1.05, 3.5, 0.125, 0.875};
  const double defaults[] = {0.99, 1.0, 1.5, 0.5};
  const double sigma[] = {0.005, 0.01};
  EXPECT_OK(ume_manifest_set_parameters(m, "nk", units, 4, bounds, 8, defaults, 4));
  EXPECT_OK(ume_manifest_set_shock_sigma(m, "nk", sigma, 2));
  tiny_sample s;
  for (uint64_t i = 0; i < 40; i++) {
    tiny_fill(&s, i, 0);
    EXPECT_OK(tiny_write(w, i, &s));
  }
  ume_summary sum;
  int ok = EXPECT_OK(ume_writer_finalize_with_manifest(w, m, &sum));
  ume_writer_free(w);
  ume_manifest_free(m);
  return ok;
}

int main(int argc, char **argv) {
  ume_test_init(argc, argv);
  char ds[1200];
  snprintf(ds, sizeof ds, "%s", scratch_path("valid.zarr"));
  if (!make_dataset(ds)) return ume_test_report("test_validate");
  char st[8];

  /* Valid: every check passes; the report is JSON owned by the caller. */
  char *json = NULL;
  int32_t passed = -1;
  EXPECT_OK(ume_dataset_validate(ds, 0, 0, 2, &json, &passed));
  CHECK(passed == 1);
  CHECK(json && strstr(json, "\"passed\": true") != NULL);
  CHECK(json && strstr(json, "\"failed\": 0") != NULL);
  CHECK(strcmp(status_of(json, "manifest matches arrays", st, sizeof st), "PASS") == 0);
  CHECK(strcmp(status_of(json, "nk: chunks decode", st, sizeof st), "PASS") == 0);
  CHECK(strcmp(status_of(json, "nk: written mask complete", st, sizeof st), "PASS") == 0);
  CHECK(strcmp(status_of(json, "nk: splits", st, sizeof st), "SKIP") == 0);
  /* --reproduce on a world that is not built in: skipped, not failed. */
  ume_string_free(json);
  json = NULL;
  EXPECT_OK(ume_dataset_validate(ds, 3, 7, 0, &json, &passed));
  CHECK(passed == 1);
  CHECK(strcmp(status_of(json, "nk: reproduce 3", st, sizeof st), "SKIP") == 0);
  ume_string_free(json);

  /* The verdict alone: report_json_out may be NULL. */
  passed = -1;
  EXPECT_OK(ume_dataset_validate(ds, 0, 0, 1, NULL, &passed));
  CHECK(passed == 1);

  /* A damaged theta chunk (samples 16..31): the decode check fails and says which. */
  char chunk[1400];
  snprintf(chunk, sizeof chunk, "%s/nk/theta/c.1.0", ds);
  CHECK(damage_file(chunk, 20, 4));
  json = NULL;
  passed = -1;
  EXPECT_OK(ume_dataset_validate(ds, 0, 0, 1, &json, &passed));
  CHECK(passed == 0);
  CHECK(json && strstr(json, "\"passed\": false") != NULL);
  CHECK(strcmp(status_of(json, "nk: chunks decode", st, sizeof st), "FAIL") == 0);
  CHECK(json && strstr(json, "theta chunk 1 (samples 16..32)") != NULL);
  CHECK(strcmp(status_of(json, "manifest schema", st, sizeof st), "PASS") == 0);
  if (json && getenv("UME_TEST_VERBOSE")) fprintf(stderr, "%s\n", json);
  ume_string_free(json);

  /* Not a dataset: a failed report naming the problem, not an error. */
  json = NULL;
  EXPECT_OK(ume_dataset_validate(scratch_path("nowhere"), 0, 0, 0, &json, &passed));
  CHECK(passed == 0);
  CHECK(strcmp(status_of(json, "dataset", st, sizeof st), "FAIL") == 0);
  CHECK(strcmp(status_of(json, "worlds", st, sizeof st), "FAIL") == 0);
  ume_string_free(json);

  /* NULL arguments: errors naming them; the outputs are cleared. */
  json = (char *)1;
  passed = -1;
  EXPECT_ERR(ume_dataset_validate(NULL, 0, 0, 0, &json, &passed), UME_ERR_NULL_ARGUMENT,
             "ume_dataset_validate", "'path'");
  CHECK(json == NULL && passed == 0);
  EXPECT_ERR(ume_dataset_validate(ds, 0, 0, 0, &json, NULL), UME_ERR_NULL_ARGUMENT,
             "'passed_out'");
  ume_string_free(NULL);
  return ume_test_report("test_validate");
}
