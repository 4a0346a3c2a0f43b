/* The Sobol design of the generation engine (issue 13) from C, through the real shared
 * library: ume_gen_config_set_design(UME_DESIGN_SOBOL) gives identical samples for 1 and 8
 * threads and after a stop and a resume; the thetas of a run that rejects nothing are
 * stratified (one point per interval of width 1/128 in each parameter for the first 128
 * samples); redraws keep theta inside the accepted region; resuming with the uniform design,
 * a bad design value and too many samples are refused with a message. */
#include "ume_test.h"

#include "ar2_model.h"

enum { N = 256, T = 12, H = 4, P = AR2_PARAMS, CHUNK = 32 };
enum { LEN_TRAJ = T * AR2_OBS, LEN_IRFS = (H + 1) * AR2_OBS, LEN_SHOCKS = T };

static const double LO[P] = {-0.5, -0.9, 0.1}, HI[P] = {1.5, 0.5, 1.0};

static int32_t ar2(void *user, uint64_t sample, const double *theta, ume_rng *rng,
                   double *traj, double *irfs, double *shocks) {
  (void)user;
  (void)sample;
  return ar2_simulate(T, H, theta, rng, traj, irfs, shocks);
}

/* Accepts every draw and keeps its theta (each sample is simulated by one thread). */
static double seen[N][P];
static int32_t keep(void *user, uint64_t sample, const double *theta, ume_rng *rng,
                    double *traj, double *irfs, double *shocks) {
  (void)user;
  (void)rng;
  (void)traj;
  (void)irfs;
  (void)shocks;
  for (int j = 0; j < P; j++) seen[sample][j] = theta[j];
  return 0;
}

static ume_gen_config *make_cfg(uint32_t threads, uint32_t design) {
  ume_gen_config *cfg = NULL;
  EXPECT_OK(ume_gen_config_new(&cfg));
  EXPECT_OK(ume_gen_config_set_seed(cfg, 99));
  EXPECT_OK(ume_gen_config_set_samples(cfg, N));
  EXPECT_OK(ume_gen_config_set_threads(cfg, threads));
  EXPECT_OK(ume_gen_config_set_design(cfg, design));
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

static int32_t stop_at_50(void *user, uint64_t done, uint64_t total, double rate) {
  (void)user;
  (void)total;
  (void)rate;
  return done >= 50;
}

int main(int argc, char **argv) {
  ume_test_init(argc, argv);
  ume_sim *sim = NULL;
  EXPECT_OK(ume_sim_new("ar2", "1.0.0", T, H, &sim));
  EXPECT_OK(ar2_describe(sim));
  static stored ref, other;

  /* 1 and 8 threads: identical; redraws happened; theta inside the stationary region. */
  {
    ume_gen_config *c1 = make_cfg(1, UME_DESIGN_SOBOL), *c8 = make_cfg(8, UME_DESIGN_SOBOL);
    ume_gen_summary *s = NULL;
    EXPECT_OK(ume_generate(scratch_path("one.zarr"), sim, c1, ar2, NULL, NULL, NULL, &s));
    uint64_t rejected = 0;
    EXPECT_OK(ume_gen_summary_get(s, UME_GEN_REJECTED, &rejected));
    CHECK(rejected > 0);
    ume_gen_summary_free(s);
    EXPECT_OK(ume_generate(scratch_path("eight.zarr"), sim, c8, ar2, NULL, NULL, NULL, NULL));
    read_all(scratch_path("one.zarr"), &ref);
    read_all(scratch_path("eight.zarr"), &other);
    CHECK(memcmp(&ref, &other, sizeof ref) == 0);
    int inside = 1;
    for (int i = 0; i < N; i++) {
      float a1 = ref.theta[i * P], a2 = ref.theta[i * P + 1], sg = ref.theta[i * P + 2];
      if (!(a1 >= -0.5f && a1 <= 1.5f && a2 >= -0.9f && a2 <= 0.5f && sg >= 0.1f && sg <= 1.0f &&
            a1 + a2 < 1.0001f && a2 - a1 < 1.0001f))
        inside = 0;
    }
    CHECK(inside);
    /* Not the uniform design's draws. */
    ume_gen_config *u = make_cfg(2, UME_DESIGN_UNIFORM);
    EXPECT_OK(ume_generate(scratch_path("uniform.zarr"), sim, u, ar2, NULL, NULL, NULL, NULL));
    read_all(scratch_path("uniform.zarr"), &other);
    CHECK(memcmp(ref.theta, other.theta, sizeof ref.theta) != 0);
    ume_gen_config_free(u);
    ume_gen_config_free(c1);
    ume_gen_config_free(c8);
  }

  /* Stopped at 50, resumed on 2 threads: identical; resuming with the uniform design is
   * refused, naming the recorded design. */
  {
    const char *path = scratch_path("stopped.zarr");
    ume_gen_config *cfg = make_cfg(2, UME_DESIGN_SOBOL);
    EXPECT_OK(ume_generate(path, sim, cfg, ar2, NULL, stop_at_50, NULL, NULL));
    EXPECT_OK(ume_gen_config_set_resume(cfg, 1));
    EXPECT_OK(ume_gen_config_set_design(cfg, UME_DESIGN_UNIFORM));
    EXPECT_ERR(ume_generate(path, sim, cfg, ar2, NULL, NULL, NULL, NULL),
               UME_ERR_INVALID_ARGUMENT, "the design is", "\"kind\":\"sobol\"");
    EXPECT_OK(ume_gen_config_set_design(cfg, UME_DESIGN_SOBOL));
    EXPECT_OK(ume_generate(path, sim, cfg, ar2, NULL, NULL, NULL, NULL));
    read_all(path, &other);
    CHECK(memcmp(&ref, &other, sizeof ref) == 0);
    ume_gen_config_free(cfg);
  }

  /* Nothing rejected: the first 128 thetas put one point in each interval of width 1/128
   * of every parameter's range (the scrambled Sobol net). */
  {
    ume_gen_config *cfg = make_cfg(4, UME_DESIGN_SOBOL);
    EXPECT_OK(ume_generate(scratch_path("keep.zarr"), sim, cfg, keep, NULL, NULL, NULL, NULL));
    for (int j = 0; j < P; j++) {
      int cells[128] = {0}, ok = 1;
      for (int i = 0; i < 128; i++) {
        int k = (int)((seen[i][j] - LO[j]) / (HI[j] - LO[j]) * 128.0);
        if (k < 0 || k >= 128 || cells[k]++) ok = 0;
      }
      CHECK(ok);
    }
    ume_gen_config_free(cfg);
  }

  /* Bad values are refused with the value and what is expected; the config is unchanged. */
  {
    ume_gen_config *cfg = make_cfg(1, UME_DESIGN_SOBOL);
    EXPECT_ERR(ume_gen_config_set_design(cfg, 7), UME_ERR_INVALID_ARGUMENT,
               "ume_gen_config_set_design", "design 7 is not valid", "UME_DESIGN_SOBOL");
    EXPECT_ERR(ume_gen_config_set_design(NULL, UME_DESIGN_SOBOL), UME_ERR_NULL_ARGUMENT,
               "config");
    EXPECT_OK(ume_gen_config_set_samples(cfg, (UINT64_C(1) << 32) + 1));
    EXPECT_ERR(ume_generate(scratch_path("big.zarr"), sim, cfg, ar2, NULL, NULL, NULL, NULL),
               UME_ERR_INVALID_ARGUMENT, "n_samples 4294967297",
               "Sobol design's limit of 4294967296");
    ume_gen_config_free(cfg);
  }

  ume_sim_free(sim);
  return ume_test_report("test_engine_sobol");
}
