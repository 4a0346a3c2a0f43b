/* ume_manifest: build a manifest alongside a writer, finalize both with
 * ume_writer_finalize_with_manifest, load it back, check it against the arrays, and
 * reject corrupted manifests on load and invalid ones on save, naming the field. */
#include "ume_test.h"

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  size_t got = fread(buf, 1, (size_t)n, f);
  buf[got] = '\0';
  fclose(f);
  return buf;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  if (!f) return;
  fputs(text, f);
  fclose(f);
}

/* A copy of `text` with the first `from` replaced by `to` (or NULL if absent). */
static char *replace_first(const char *text, const char *from, const char *to) {
  const char *p = strstr(text, from);
  if (!p) return NULL;
  size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
  char *out = malloc(n);
  size_t pre = (size_t)(p - text);
  memcpy(out, text, pre);
  strcpy(out + pre, to);
  strcat(out, p + strlen(from));
  return out;
}

/* A copy of `text` without the line that contains `needle`. */
static char *drop_line(const char *text, const char *needle) {
  const char *p = strstr(text, needle);
  if (!p) return NULL;
  const char *start = p;
  while (start > text && start[-1] != '\n') start--;
  const char *end = strchr(p, '\n');
  end = end ? end + 1 : p + strlen(p);
  char *out = malloc(strlen(text) + 1);
  memcpy(out, text, (size_t)(start - text));
  strcpy(out + (start - text), end);
  return out;
}

static void expect_load_rejects(const char *good, char *bad, const char *what,
                                const char *field, const char *rule) {
  (void)good;
  CHECK(bad != NULL);
  if (!bad) return;
  const char *path = scratch_path("corrupt_manifest.json");
  write_file(path, bad);
  ume_manifest *m = (ume_manifest *)1;
  if (!EXPECT_ERR(ume_manifest_load(path, &m), UME_ERR_FORMAT, "ume_manifest_load", field, rule))
    fprintf(stderr, "    (case: %s)\n", what);
  CHECK(m == NULL);
  free(bad);
}

int main(int argc, char **argv) {
  ume_test_init(argc, argv);
  const char *ds = scratch_path("with_manifest.zarr");
  const char *params[] = {"beta", "sigma", "phi_pi", "rho"};
  const char *shocks[] = {"monetary", "technology"};
  const char *obs[] = {"output", "inflation", "rate"};
  ume_world_desc d = tiny_world("nk", 40);
  d.param_names = params;
  d.shock_names = shocks;
  d.obs_names = obs;
  ume_writer_options o = opts_with(16, 1, 0);
  ume_writer *w = NULL;
  EXPECT_OK(ume_writer_create(ds, &d, &o, &w));

  ume_manifest *m = NULL;
  EXPECT_ERR(ume_manifest_new("1.0", 42, UME_SEED_ADD, &m), UME_ERR_INVALID_ARGUMENT,
             "version '1.0'", "semantic version");
  CHECK(m == NULL);
  EXPECT_ERR(ume_manifest_new("1.0.0", 42, 9, &m), UME_ERR_INVALID_ARGUMENT, "derivation 9");
  EXPECT_OK(ume_manifest_new("1.0.0", 42, UME_SEED_SPLITMIX64, &m));
  EXPECT_OK(ume_manifest_set_config_json(m, "{\"model\": \"nk\", \"grid\": [1, 2.5]}", 1));
  EXPECT_ERR(ume_manifest_set_config_json(m, "[1, 2]", 0), UME_ERR_INVALID_ARGUMENT,
             "config_json", "array", "object");
  EXPECT_ERR(ume_manifest_set_config_json(m, "{nope", 0), UME_ERR_INVALID_ARGUMENT,
             "not valid JSON");
  EXPECT_OK(ume_manifest_set_git(m, "/"));  /* outside any repository: "unknown", no error */

  /* Setting a world's fields before it is added names the world. */
  const double sigma[] = {0.005, 0.01};
  EXPECT_ERR(ume_manifest_set_shock_sigma(m, "nk", sigma, 2), UME_ERR_NOT_FOUND,
             "world_id 'nk' is not in the manifest");
  EXPECT_OK(ume_manifest_add_world_from_writer(m, w));

  /* Without bounds/defaults/sigma the finalize refuses before finalizing the writer. */
  ume_summary s;
  EXPECT_ERR(ume_writer_finalize_with_manifest(w, m, &s), UME_ERR_INVALID_ARGUMENT,
             "/simulators/nk/parameters", "bounds", "sigma");

  const char *units[] = {"-", "-", "-", "-"};
  const double bounds[] = {0.985, 0.995, 0.5, 2.5, 1.05, 3.5, 0.125, 0.875};
  const double bad_bounds[] = {0.985, 0.995, 0.5, 2.5, 3.5, 1.05, 0.125, 0.875};
  const double defaults[] = {0.99, 1.0, 1.5, 0.5};
  EXPECT_ERR(ume_manifest_set_parameters(m, "nk", units, 4, bounds, 6, defaults, 4),
             UME_ERR_LENGTH_MISMATCH, "bounds", "6", "8");
  EXPECT_ERR(ume_manifest_set_parameters(m, "nk", units, 3, bounds, 8, defaults, 4),
             UME_ERR_LENGTH_MISMATCH, "units", "3", "4");
  EXPECT_ERR(ume_manifest_set_parameters(m, "nk", units, 4, bad_bounds, 8, defaults, 4),
             UME_ERR_INVALID_ARGUMENT, "bounds/2", "phi_pi", "lo < hi");
  EXPECT_ERR(ume_manifest_set_parameters(m, "nk", NULL, 0, NULL, 0, NULL, 4),
             UME_ERR_NULL_ARGUMENT, "defaults");
  EXPECT_OK(ume_manifest_set_parameters(m, "nk", units, 4, bounds, 8, defaults, 4));
  EXPECT_ERR(ume_manifest_set_shock_sigma(m, "nk", sigma, 3), UME_ERR_LENGTH_MISMATCH,
             "sigma", "3", "2");
  const double neg_sigma[] = {0.005, -1.0};
  EXPECT_ERR(ume_manifest_set_shock_sigma(m, "nk", neg_sigma, 2), UME_ERR_INVALID_ARGUMENT,
             "sigma[1]");
  EXPECT_OK(ume_manifest_set_shock_sigma(m, "nk", sigma, 2));
  EXPECT_ERR(ume_manifest_set_n_canonical_obs(m, "nk", 4), UME_ERR_INVALID_ARGUMENT,
             "n_canonical is 4");
  EXPECT_OK(ume_manifest_set_n_canonical_obs(m, "nk", 2));
  EXPECT_OK(ume_manifest_validate(m));

  tiny_sample smp;
  for (uint64_t i = 0; i < 40; i++) {
    tiny_fill(&smp, i, 0);
    EXPECT_OK(tiny_write(w, i, &smp));
  }
  EXPECT_OK(ume_writer_finalize_with_manifest(w, m, &s));
  CHECK(s.samples_written == 40);
  ume_writer_free(w);

  /* Load it back: same JSON, consistent with the arrays. */
  ume_manifest *back = NULL;
  EXPECT_OK(ume_manifest_load(ds, &back));
  char *j1 = NULL, *j2 = NULL;
  EXPECT_OK(ume_manifest_to_json(m, &j1));
  EXPECT_OK(ume_manifest_to_json(back, &j2));
  CHECK(j1 && j2 && strcmp(j1, j2) == 0);
  CHECK(j2 && strstr(j2, "\"samples_written\": 40") != NULL);
  CHECK(j2 && strstr(j2, "\"git_hash\": \"unknown\"") != NULL);
  {
    const char *e = j2 ? strstr(j2, "\"extra_names\"") : NULL;
    const char *close = e ? strchr(e, ']') : NULL;
    const char *rate = e ? strstr(e, "\"rate\"") : NULL;
    CHECK(e && close && rate && rate < close); /* rate is the extra observable */
  }
  CHECK(j2 && strstr(j2, "splitmix64(global_seed, sample_index)") != NULL);
  EXPECT_OK(ume_manifest_check_dataset(back, ds));

  /* The consistency check reports what differs. */
  const char *ds2 = scratch_path("other.zarr");
  ume_world_desc d2 = tiny_world("nk", 41);
  d2.param_names = params;
  d2.shock_names = shocks;
  d2.obs_names = obs;
  ume_writer *w2 = NULL;
  EXPECT_OK(ume_writer_create(ds2, &d2, &o, &w2));
  EXPECT_OK(ume_writer_finalize(w2, NULL));
  ume_writer_free(w2);
  EXPECT_ERR(ume_manifest_check_dataset(back, ds2), UME_ERR_FORMAT, "n_samples is 40",
             "41 on disk", "samples_written is 40");

  /* Corrupted manifests are rejected on load with the field named. */
  char *good = read_file(scratch_path("with_manifest.zarr/manifest.json"));
  CHECK(good != NULL);
  if (good) {
    expect_load_rejects(good, replace_first(good, "\"T\": 6", "\"T\": \"6\""), "wrong type",
                        "/T", "type");
    expect_load_rejects(good, drop_line(good, "\"git_hash\""), "missing field", "git_hash",
                        "required");
    expect_load_rejects(good, replace_first(good, "\"version\": \"1.0.0\"", "\"version\": \"1.0\""),
                        "bad semver", "/version", "pattern");
    expect_load_rejects(good, replace_first(good, "0.125", "0.9375"), "bounds lo > hi",
                        "/simulators/nk/parameters/bounds/3", "lo < hi");
    expect_load_rejects(good, replace_first(good, "\"samples_written\": 40", "\"samples_written\": 41"),
                        "more written than samples", "samples_written", "exceeds");
    expect_load_rejects(good, replace_first(good, "{", "{,"), "not JSON", "not valid JSON", "");
    free(good);
  }
  ume_manifest *none = NULL;
  EXPECT_ERR(ume_manifest_load(scratch_path("nowhere"), &none), UME_ERR_NOT_FOUND, "nowhere");

  /* Invalid manifests are rejected on save, naming the field, and nothing is written. */
  ume_manifest *m3 = NULL;
  EXPECT_OK(ume_manifest_new("2.0.0-rc.1", 7, UME_SEED_ADD, &m3));
  EXPECT_ERR(ume_manifest_save(m3, ds2), UME_ERR_INVALID_ARGUMENT, "simulators",
             "minProperties");
  EXPECT_OK(ume_manifest_add_world(m3, &d2, 16, UME_CODEC_ZSTD, 0));
  EXPECT_ERR(ume_manifest_save(m3, ds2), UME_ERR_INVALID_ARGUMENT,
             "/simulators/nk/parameters", "bounds");
  CHECK(access(scratch_path("other.zarr/manifest.json"), F_OK) != 0);
  EXPECT_ERR(ume_manifest_add_world(m3, &d2, 16, 17, 0), UME_ERR_INVALID_ARGUMENT, "codec 17");
  EXPECT_ERR(ume_manifest_add_world(m3, &d2, 16, UME_CODEC_ZSTD, 42), UME_ERR_INVALID_ARGUMENT,
             "samples_written 42");

  /* NULL handling. */
  EXPECT_ERR(ume_manifest_validate(NULL), UME_ERR_NULL_ARGUMENT, "manifest");
  EXPECT_ERR(ume_manifest_save(m3, NULL), UME_ERR_NULL_ARGUMENT, "dataset");
  EXPECT_ERR(ume_writer_finalize_with_manifest(NULL, m3, NULL), UME_ERR_NULL_ARGUMENT, "writer");

  ume_string_free(j1);
  ume_string_free(j2);
  ume_string_free(NULL);
  ume_manifest_free(m);
  ume_manifest_free(back);
  ume_manifest_free(m3);
  ume_manifest_free(NULL);
  return ume_test_report("test_manifest");
}
