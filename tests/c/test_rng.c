/* ume_rng and ume_sample_seed against the checked-in vectors (tests/vectors/rng_chacha20.txt,
 * generated and checked by the Rust unit tests): the same (global_seed, i) gives the same
 * bits from C as from Rust, including the first 1,000 normals. */
#include "ume_test.h"

#include <inttypes.h>

static void vectors_path(char *buf, size_t n) {
  /* CMake compiles with the absolute source path in __FILE__. */
  snprintf(buf, n, "%s", __FILE__);
  char *slash = strrchr(buf, '/');
  if (slash) *slash = '\0';
  size_t len = strlen(buf);
  snprintf(buf + len, n - len, "/../vectors/rng_chacha20.txt");
}

static uint64_t bits(double x) {
  uint64_t u;
  memcpy(&u, &x, sizeof u);
  return u;
}

int main(int argc, char **argv) {
  ume_test_init(argc, argv);
  char path[2048];
  vectors_path(path, sizeof path);
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    return 1;
  }
  char line[256];
  int n_lines = 0, n_normals = 0, mismatches = 0;
  uint64_t cur_g = 1, cur_i = 1;
  char cur_kind[32] = "";
  ume_rng *rng = NULL;
  while (fgets(line, sizeof line, f)) {
    if (line[0] == '#') continue;
    uint64_t g, i, want;
    unsigned k;
    char kind[32];
    if (sscanf(line, "%" SCNu64 " %" SCNu64 " %31s %u %" SCNx64, &g, &i, kind, &k, &want) != 5) {
      fprintf(stderr, "bad line: %s", line);
      mismatches++;
      continue;
    }
    n_lines++;
    uint64_t got = 0;
    if (strncmp(kind, "seed_", 5) == 0) {
      uint32_t d = strcmp(kind, "seed_add") == 0 ? UME_SEED_ADD : UME_SEED_SPLITMIX64;
      EXPECT_OK(ume_sample_seed(g, i, d, &got));
    } else {
      /* A fresh generator at the start of each (seed, index, kind) block. */
      if (k == 0 || !rng || g != cur_g || i != cur_i || strcmp(kind, cur_kind) != 0) {
        ume_rng_free(rng);
        rng = NULL;
        CHECK(ume_rng_new(g, i, &rng) == UME_OK);
        cur_g = g;
        cur_i = i;
        snprintf(cur_kind, sizeof cur_kind, "%s", kind);
      }
      if (strcmp(kind, "u64") == 0) {
        ume_rng_next_u64(rng, &got);
      } else if (strcmp(kind, "uniform") == 0) {
        double u;
        ume_rng_uniform(rng, &u);
        got = bits(u);
      } else {
        double z;
        ume_rng_normal(rng, &z);
        got = bits(z);
        n_normals++;
      }
    }
    if (got != want) {
      if (mismatches < 5)
        fprintf(stderr, "mismatch: %s  got %016" PRIx64 "\n", line, got);
      mismatches++;
    }
  }
  fclose(f);
  ume_rng_free(rng);
  printf("rng vectors: %d values compared, %d normals, %d mismatches\n", n_lines, n_normals,
         mismatches);
  CHECK(n_lines == 4 * (16 + 16 + 1000 + 2));
  CHECK(n_normals == 4000);
  CHECK(mismatches == 0);

  /* fill_* give the same values as single draws. */
  ume_rng *a = NULL, *b = NULL;
  EXPECT_OK(ume_rng_new(42, 7, &a));
  EXPECT_OK(ume_rng_new(42, 7, &b));
  double buf[1001], one;
  EXPECT_OK(ume_rng_fill_normal(a, buf, 1001));
  int same = 1;
  for (int j = 0; j < 1001; j++) {
    ume_rng_normal(b, &one);
    same &= bits(one) == bits(buf[j]);
  }
  CHECK(same);
  EXPECT_OK(ume_rng_fill_uniform(a, buf, 10));
  for (int j = 0; j < 10; j++) CHECK(buf[j] >= 0.0 && buf[j] < 1.0);
  EXPECT_OK(ume_rng_fill_uniform(a, NULL, 0));

  /* Errors. */
  EXPECT_ERR(ume_rng_new(1, 2, NULL), UME_ERR_NULL_ARGUMENT, "ume_rng_new", "out");
  EXPECT_ERR(ume_rng_normal(NULL, &one), UME_ERR_NULL_ARGUMENT, "rng");
  EXPECT_ERR(ume_rng_uniform(a, NULL), UME_ERR_NULL_ARGUMENT, "out");
  EXPECT_ERR(ume_rng_fill_normal(a, NULL, 5), UME_ERR_NULL_ARGUMENT, "buf");
  uint64_t s;
  EXPECT_ERR(ume_sample_seed(1, 2, 7, &s), UME_ERR_INVALID_ARGUMENT, "derivation 7");
  EXPECT_ERR(ume_sample_seed(1, 2, UME_SEED_CHACHA20, &s), UME_ERR_INVALID_ARGUMENT,
             "ume_rng_new");
  EXPECT_OK(ume_sample_seed(42, 3, UME_SEED_ADD, &s));
  CHECK(s == 45);
  CHECK(strcmp(ume_seed_derivation_name(UME_SEED_ADD), "global_seed + sample_index") == 0);
  CHECK(strcmp(ume_seed_derivation_name(99), "") == 0);
  ume_rng_free(a);
  ume_rng_free(b);
  ume_rng_free(NULL);
  return ume_test_report("test_rng");
}
