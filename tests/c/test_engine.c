/* The generation engine from C (issue 13) with a second small model, an AR(2) economy,
 * through the real shared library: the same seed gives identical stored samples for 1, 2
 * and 8 threads, for a run stopped by the progress callback and resumed, and for a run
 * split into parts; rejections (non-stationary draws) are counted; a negative return
 * aborts with an error naming the sample; bad descriptions and options are refused. */
#include "ume_test.h"

#include <stdatomic.h>

#include "ar2_model.h"

enum { N = 200, T = 20, H = 6, P = 3, S = 1, O = 2, CHUNK = 32 };
enum { LEN_TRAJ = T * O, LEN_IRFS = S * (H + 1) * O, LEN_SHOCKS = T * S };
enum { REASON_EXPLOSIVE = AR2_EXPLOSIVE };

static atomic_uint_fast64_t calls;

/* The AR(2) of ar2_model.h; `user` may name a sample whose call aborts the run. */
static int32_t ar2(void *user, uint64_t sample, const double *theta, ume_rng *rng,
                   double *traj, double *irfs, double *shocks) {
  const uint64_t *abort_at = user;
  if (abort_at && sample == *abort_at) return -5;
  atomic_fetch_add(&calls, 1);
  return ar2_simulate(T, H, theta, rng, traj, irfs, shocks);
}

/* A callback that (wrongly) frees the generator the engine lent it, then simulates with
 * it: the free must be refused, leaving the handle valid and the data unchanged. */
static atomic_int free_refused;
static int32_t ar2_freeing(void *user, uint64_t sample, const double *theta, ume_rng *rng,
                           double *traj, double *irfs, double *shocks) {
  (void)user;
  (void)sample;
  ume_rng_free(rng);
  if (strstr(ume_last_error_message(), "lent to the simulate callback"))
    atomic_fetch_add(&free_refused, 1);
  return ar2_simulate(T, H, theta, rng, traj, irfs, shocks);
}

static ume_sim *make_sim(void) {
  ume_sim *sim = NULL;
  EXPECT_OK(ume_sim_new("ar2", "1.0.0", T, H, &sim));
  EXPECT_OK(ar2_describe(sim));
  return sim;
}

static ume_gen_config *make_cfg(uint32_t threads) {
  ume_gen_config *cfg = NULL;
  EXPECT_OK(ume_gen_config_new(&cfg));
  EXPECT_OK(ume_gen_config_set_seed(cfg, 2024));
  EXPECT_OK(ume_gen_config_set_samples(cfg, N));
  EXPECT_OK(ume_gen_config_set_threads(cfg, threads));
  ume_writer_config *w = NULL;
  EXPECT_OK(ume_writer_config_new(&w));
  EXPECT_OK(ume_writer_config_set_chunking(w, CHUNK, 0));
  EXPECT_OK(ume_gen_config_set_writer_config(cfg, w));
  ume_writer_config_free(w);
  return cfg;
}

typedef struct {
  float theta[N * P], traj[N * LEN_TRAJ], irfs[N * LEN_IRFS], shocks[N * LEN_SHOCKS];
} stored;

static void read_all(const char *path, stored *s) {
  ume_reader *r = NULL;
  memset(s, 0, sizeof *s);
  if (!EXPECT_OK(ume_reader_open(path, "ar2", &r))) return;
  EXPECT_OK(ume_reader_read_f32(r, 0, N, UME_LAYOUT_C, s->theta, N * P, s->traj, N * LEN_TRAJ,
                                s->irfs, N * LEN_IRFS, s->shocks, N * LEN_SHOCKS));
  ume_reader_free(r);
}

static int same(const stored *a, const stored *b) { return memcmp(a, b, sizeof *a) == 0; }

static uint64_t get(const ume_gen_summary *s, uint32_t what) {
  uint64_t v = UINT64_MAX;
  EXPECT_OK(ume_gen_summary_get(s, what, &v));
  return v;
}

static int32_t stop_at_60(void *user, uint64_t done, uint64_t total, double rate) {
  (void)rate;
  (void)total;
  *(uint64_t *)user += 1;
  return done >= 60;
}

int main(int argc, char **argv) {
  ume_test_init(argc, argv);
  ume_sim *sim = make_sim();
  static stored ref, other;

  /* 1, 2 and 8 threads: identical samples, identical rejection counts. */
  uint64_t rejected_ref = 0;
  const uint32_t threads[] = {1, 2, 8};
  for (int k = 0; k < 3; k++) {
    char name[32];
    snprintf(name, sizeof name, "threads%u.zarr", threads[k]);
    ume_gen_config *cfg = make_cfg(threads[k]);
    ume_gen_summary *s = NULL;
    EXPECT_OK(ume_generate(scratch_path(name), sim, cfg, ar2, NULL, NULL, NULL, &s));
    CHECK(get(s, UME_GEN_WRITTEN) == N);
    CHECK(get(s, UME_GEN_MISSING) == 0);
    CHECK(get(s, UME_GEN_STOPPED) == 0);
    CHECK(get(s, UME_GEN_SAMPLES_WRITTEN) == N);
    uint64_t explosive = 0, none = 99;
    EXPECT_OK(ume_gen_summary_rejections(s, REASON_EXPLOSIVE, &explosive));
    EXPECT_OK(ume_gen_summary_rejections(s, 7, &none));
    CHECK(explosive > 0 && explosive == get(s, UME_GEN_REJECTED));
    CHECK(none == 0);
    if (k == 0) {
      rejected_ref = explosive;
      read_all(scratch_path(name), &ref);
    } else {
      CHECK(explosive == rejected_ref);
      read_all(scratch_path(name), &other);
      CHECK(same(&ref, &other));
    }
    ume_gen_summary_free(s);
    ume_gen_config_free(cfg);
  }
  /* Theta within the bounds and stationary (rejected draws never stored). */
  int inside = 1;
  for (int i = 0; i < N; i++) {
    float a1 = ref.theta[i * P], a2 = ref.theta[i * P + 1];
    if (!(a1 >= -0.5f && a1 <= 1.5f && a2 >= -0.9f && a2 <= 0.5f && a1 + a2 < 1.0001f))
      inside = 0;
  }
  CHECK(inside);

  /* ume_rng_free on the lent generator is refused; the run is unchanged (0.3.0 freed the
   * engine's handle: the callback's next draw failed with "not a live handle", the run
   * aborted, and the engine swapped the generator back into freed memory). */
  {
    ume_gen_config *cfg = make_cfg(2);
    ume_gen_summary *s = NULL;
    EXPECT_OK(ume_generate(scratch_path("freeing.zarr"), sim, cfg, ar2_freeing, NULL, NULL, NULL, &s));
    CHECK(get(s, UME_GEN_WRITTEN) == N);
    CHECK((uint64_t)atomic_load(&free_refused) == N + rejected_ref);
    read_all(scratch_path("freeing.zarr"), &other);
    CHECK(same(&ref, &other));
    ume_gen_summary_free(s);
    ume_gen_config_free(cfg);
  }

  /* Stopped by the progress callback at 60, then resumed on 2 threads: identical. */
  {
    ume_gen_config *cfg = make_cfg(2);
    ume_gen_summary *s = NULL;
    uint64_t progress_calls = 0;
    const char *path = scratch_path("stopped.zarr");
    EXPECT_OK(ume_generate(path, sim, cfg, ar2, NULL, stop_at_60, &progress_calls, &s));
    uint64_t first = get(s, UME_GEN_WRITTEN);
    CHECK(get(s, UME_GEN_STOPPED) == 1);
    CHECK(first >= 60 && first < N);
    CHECK(get(s, UME_GEN_MISSING) == N - first);
    CHECK(progress_calls >= 60);
    ume_gen_summary_free(s);
    /* A stopped dataset opens and holds exactly what was reported. */
    ume_reader *r = NULL;
    uint64_t written = 0;
    EXPECT_OK(ume_reader_open(path, "ar2", &r));
    EXPECT_OK(ume_reader_samples_written(r, &written));
    CHECK(written == first);
    ume_reader_free(r);
    EXPECT_OK(ume_gen_config_set_resume(cfg, 1));
    EXPECT_OK(ume_generate(path, sim, cfg, ar2, NULL, NULL, NULL, &s));
    CHECK(get(s, UME_GEN_ALREADY) == first);
    CHECK(get(s, UME_GEN_WRITTEN) == N - first);
    ume_gen_summary_free(s);
    read_all(path, &other);
    CHECK(same(&ref, &other));
    /* Resume with another seed is refused, naming both seeds. */
    EXPECT_OK(ume_gen_config_set_seed(cfg, 7));
    EXPECT_ERR(ume_generate(path, sim, cfg, ar2, NULL, NULL, NULL, NULL),
               UME_ERR_INVALID_ARGUMENT, "ume_generate", "seed is 7", "2024");
    ume_gen_config_free(cfg);
  }

  /* Parts: prepare, three chunk-aligned parts (out of order), finish: identical. */
  {
    const char *path = scratch_path("parts.zarr");
    ume_gen_config *cfg = make_cfg(1);
    EXPECT_OK(ume_generate_prepare(path, sim, cfg));
    const uint64_t parts[3][2] = {{128, N - 128}, {0, 64}, {64, 64}};
    for (int p = 0; p < 3; p++) {
      EXPECT_OK(ume_gen_config_set_part(cfg, parts[p][0], parts[p][1]));
      EXPECT_OK(ume_gen_config_set_threads(cfg, (uint32_t)(p * 3 + 1)));
      EXPECT_OK(ume_generate(path, sim, cfg, ar2, NULL, NULL, NULL, NULL));
    }
    EXPECT_OK(ume_gen_config_set_part(cfg, 10, 20));
    EXPECT_ERR(ume_generate(path, sim, cfg, ar2, NULL, NULL, NULL, NULL),
               UME_ERR_INVALID_ARGUMENT, "chunk-aligned");
    EXPECT_OK(ume_gen_config_set_part(cfg, 0, 0));
    EXPECT_OK(ume_generate_finish(path, sim, cfg));
    read_all(path, &other);
    CHECK(same(&ref, &other));
    ume_gen_config_free(cfg);
  }

  /* A negative return aborts with an error naming the sample; the run resumes. */
  {
    const char *path = scratch_path("abort.zarr");
    ume_gen_config *cfg = make_cfg(2);
    uint64_t abort_at = 150;
    EXPECT_ERR(ume_generate(path, sim, cfg, ar2, &abort_at, NULL, NULL, NULL),
               UME_ERR_INVALID_ARGUMENT, "sample 150", "returned -5");
    EXPECT_OK(ume_gen_config_set_resume(cfg, 1));
    EXPECT_OK(ume_generate(path, sim, cfg, ar2, NULL, NULL, NULL, NULL));
    read_all(path, &other);
    CHECK(same(&ref, &other));
    ume_gen_config_free(cfg);
  }

  /* Bad input is refused with the argument, the value and what is expected. */
  {
    ume_gen_config *cfg = make_cfg(1);
    EXPECT_ERR(ume_sim_add_param(sim, "b", 1.0, 0.0, 0.5, "-"), UME_ERR_INVALID_ARGUMENT,
               "bounds of parameter 'b' are [1, 0]", "lo < hi");
    EXPECT_ERR(ume_sim_add_shock(sim, "e2", -1.0), UME_ERR_INVALID_ARGUMENT,
               "sigma of shock 'e2' is -1");
    EXPECT_ERR(ume_sim_add_param(sim, NULL, 0, 1, 0.5, "-"), UME_ERR_NULL_ARGUMENT, "name");
    EXPECT_ERR(ume_sim_set_reject_reason(sim, 0, "ok"), UME_ERR_INVALID_ARGUMENT, "code 0");
    EXPECT_ERR(ume_generate(scratch_path("x.zarr"), sim, cfg, NULL, NULL, NULL, NULL, NULL),
               UME_ERR_NULL_ARGUMENT, "simulate");
    EXPECT_ERR(ume_gen_config_set_threads(cfg, 100000), UME_ERR_INVALID_ARGUMENT,
               "threads 100000");
    EXPECT_ERR(ume_gen_config_set_split(cfg, 0.5, 0.5, 0.5, 1), UME_ERR_INVALID_ARGUMENT);
    EXPECT_ERR(ume_gen_config_set_part(cfg, UINT64_MAX, 2), UME_ERR_OUT_OF_RANGE, "overflows");
    double table[5] = {0};
    EXPECT_OK(ume_gen_config_set_theta_table(cfg, table, 5));
    EXPECT_ERR(ume_generate(scratch_path("t.zarr"), sim, cfg, ar2, NULL, NULL, NULL, NULL),
               UME_ERR_LENGTH_MISMATCH, "theta table has 5 values");
    EXPECT_OK(ume_gen_config_set_theta_table(cfg, NULL, 0));
    ume_sim *empty = NULL;
    EXPECT_OK(ume_sim_new("empty", "1", T, H, &empty));
    EXPECT_ERR(ume_generate(scratch_path("e.zarr"), empty, cfg, ar2, NULL, NULL, NULL, NULL),
               UME_ERR_INVALID_ARGUMENT, "no parameters");
    ume_sim_free(empty);
    ume_gen_config_free(cfg);
  }

  ume_sim_free(sim);
  return ume_test_report("test_engine");
}
