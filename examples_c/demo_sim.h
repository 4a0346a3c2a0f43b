/* demo_sim.h — the demo simulator shared by the example programs (write_demo,
 * openmp_demo, mpi_demo): a small New-Keynesian-flavoured linear economy
 *     y_t = A(theta) y_{t-1} + B(theta) e_t,   y_{-1} = 0,
 * with parameters and shocks drawn from a splitmix64 stream seeded with 42 + i.
 *
 * The model is specified exactly in docs/c-api-draft.md ("Demo simulator");
 * tests/python/demo_sim.py recomputes it bit for bit, so any change to the draws, their
 * order or the order of the sums here must be made there as well. Compile with
 * -ffp-contract=off so that no multiply-add is fused and the values stay reproducible.
 */
#ifndef UMEDATA_DEMO_SIM_H
#define UMEDATA_DEMO_SIM_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "umedata.h"

/* ---- shapes of the demo world ------------------------------------------------------ */

enum { T = 200, H = 40, N_PARAMS = 8, N_SHOCKS = 3, N_OBS = 3 };

/* Per-sample element counts of the four arrays (C layout). */
enum {
  THETA_LEN = N_PARAMS,                      /* theta[p]            */
  TRAJ_LEN = T * N_OBS,                      /* traj[t][o]          */
  IRFS_LEN = N_SHOCKS * (H + 1) * N_OBS,     /* irfs[k][h][o]       */
  SHOCKS_LEN = T * N_SHOCKS                  /* shocks[t][k]        */
};

static const uint64_t GLOBAL_SEED = 42;
static const double PI = 3.14159265358979323846;

static const char *const PARAM_NAMES[N_PARAMS] = {
    "beta", "sigma", "phi_pi", "phi_y", "rho_i", "rho_a", "sigma_a", "sigma_m"};
static const char *const SHOCK_NAMES[N_SHOCKS] = {"monetary", "technology", "cost_push"};
static const char *const OBS_NAMES[N_OBS] = {"output", "inflation", "rate"};

/* Uniform prior bounds, in PARAM_NAMES order. */
static const double LO[N_PARAMS] = {0.985, 0.5, 1.05, 0.0, 0.0, 0.0, 0.001, 0.001};
static const double HI[N_PARAMS] = {0.995, 2.5, 3.5, 1.0, 0.9, 0.95, 0.02, 0.01};

/* ---- random numbers: splitmix64 ---------------------------------------------------- */

typedef struct {
  uint64_t state;
} rng_t;

static inline uint64_t rng_next(rng_t *r) {
  r->state += 0x9E3779B97F4A7C15ULL; /* wraps mod 2^64 */
  uint64_t z = r->state;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/* Double in [0, 1) from the top 53 bits. */
static inline double rng_uniform(rng_t *r) {
  return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Standard normal (Box-Muller, cosine branch only: one draw per two uniforms). */
static inline double rng_normal(rng_t *r) {
  double u1 = rng_uniform(r);
  double u2 = rng_uniform(r);
  return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * PI * u2);
}

/* ---- the economy --------------------------------------------------------------------- */

/* One sample, in double precision, C layout. */
typedef struct {
  double theta[THETA_LEN];
  double traj[T][N_OBS];
  double irfs[N_SHOCKS][H + 1][N_OBS];
  double shocks[T][N_SHOCKS];
} sample_t;

/* y_t for t = 0..n_steps-1 from y_{-1} = 0, driven by e[t]. Sums run in index order,
 * first over p (A y_{t-1}), then over k (B e_t), starting from 0.0. */
static inline void simulate_path(const double A[3][3], const double B[3][3],
                          const double (*e)[N_SHOCKS], int n_steps, double (*y_out)[N_OBS]) {
  double y[3] = {0.0, 0.0, 0.0};
  for (int t = 0; t < n_steps; t++) {
    double next[3];
    for (int o = 0; o < 3; o++) {
      double acc = 0.0;
      for (int p = 0; p < 3; p++) acc = acc + A[o][p] * y[p];
      for (int k = 0; k < 3; k++) acc = acc + B[o][k] * e[t][k];
      next[o] = acc;
    }
    for (int o = 0; o < 3; o++) {
      y[o] = next[o];
      y_out[t][o] = next[o];
    }
  }
}

/* Computes sample i of the demo world. */
static inline void simulate_sample(uint64_t i, sample_t *s) {
  rng_t rng = {GLOBAL_SEED + i};

  /* 1. parameters: 8 uniforms, theta_j = lo_j + (hi_j - lo_j) * u */
  for (int j = 0; j < N_PARAMS; j++) s->theta[j] = LO[j] + (HI[j] - LO[j]) * rng_uniform(&rng);

  /* 2. shocks: e[t][k] for t = 0..T-1, k = 0..2 */
  for (int t = 0; t < T; t++)
    for (int k = 0; k < N_SHOCKS; k++) s->shocks[t][k] = rng_normal(&rng);

  const double sigma = s->theta[1], phi_pi = s->theta[2], phi_y = s->theta[3];
  const double rho_i = s->theta[4], rho_a = s->theta[5];
  const double sigma_a = s->theta[6], sigma_m = s->theta[7];

  /* rows: output, inflation, rate */
  const double A[3][3] = {
      {0.9 * rho_a, 0.0, -0.05 / sigma},
      {0.02 * phi_y, 0.3 + 0.4 * rho_i, 0.0},
      {0.0, 0.02 * (phi_pi - 1.0), rho_i},
  };
  /* columns: monetary, technology, cost_push */
  const double B[3][3] = {
      {-0.5 * sigma_m, sigma_a, 0.0},
      {0.0, -0.3 * sigma_a, 0.005},
      {sigma_m, 0.0, 0.0},
  };

  /* 3. trajectories */
  simulate_path(A, B, (const double(*)[N_SHOCKS])s->shocks, T, s->traj);

  /* 4. impulse responses: shocked minus baseline path over h = 0..H, same noise,
   *    shocked path has e[0][k] + 1 */
  double baseline[H + 1][N_OBS], shocked[H + 1][N_OBS], e_shocked[H + 1][N_SHOCKS];
  simulate_path(A, B, (const double(*)[N_SHOCKS])s->shocks, H + 1, baseline);
  for (int k = 0; k < N_SHOCKS; k++) {
    memcpy(e_shocked, s->shocks, sizeof e_shocked);
    e_shocked[0][k] = e_shocked[0][k] + 1.0;
    simulate_path(A, B, (const double(*)[N_SHOCKS])e_shocked, H + 1, shocked);
    for (int h = 0; h <= H; h++)
      for (int o = 0; o < N_OBS; o++) s->irfs[k][h][o] = shocked[h][o] - baseline[h][o];
  }
}

/* The demo world "nk" with n samples: shapes and names as every demo writes them. */
static inline ume_world_desc demo_world(uint64_t n) {
  ume_world_desc world;
  memset(&world, 0, sizeof world);
  world.world_id = "nk";
  world.n_samples = n;
  world.T = T;
  world.H = H;
  world.n_params = N_PARAMS;
  world.n_shocks = N_SHOCKS;
  world.n_obs = N_OBS;
  world.param_names = PARAM_NAMES;
  world.shock_names = SHOCK_NAMES;
  world.obs_names = OBS_NAMES;
  return world;
}

#endif /* UMEDATA_DEMO_SIM_H */
