/*
 * bench_common.h: the benchmark dataset shared by every writer and reader in bench/.
 *
 * Seed shapes: T=200, H=40, 8 params, 3 shocks, 3 observables. Sample q of the pool is
 * drawn from a splitmix64 stream seeded with 42 + q (Box-Muller normals), in double:
 *
 *   theta[p] ~ U(LO[p], HI[p])           (8 parameters, prior bounds BC_LO/BC_HI)
 *   A(theta), B(theta): a stable 3x3 VAR(1) with cross-coupling, see bc_var_matrices()
 *   y_t = A y_{t-1} + B e_t,  e_t ~ N(0, I_3),  y_{-1} = 0    (trajectories, T x 3)
 *   shocks[t] = e_t                                          (T x 3, in sd units)
 *   irfs[k][h] = A^h B[:, k]                                 (3 x (H+1) x 3, decaying)
 *
 * then rounded to float32. The pool is written once to a raw file (bench_gen) so that
 * umedata (bench_write), zarr-python, h5py and tensorstore (peers.py) write the same
 * bytes: sample i of a run is pool sample i % P. Pool file layout, little-endian float32,
 * no header, the four arrays one after the other:
 *   theta[P][8] | trajectories[P][200][3] | irfs[P][3][41][3] | shocks[P][200][3]
 */
#ifndef UME_BENCH_COMMON_H
#define UME_BENCH_COMMON_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { T = 200, H = 40, NP = 8, NS = 3, NO = 3 };
enum {
  THETA_LEN = NP,
  TRAJ_LEN = T * NO,
  IRFS_LEN = NS * (H + 1) * NO,
  SHOCKS_LEN = T * NS,
  SAMPLE_LEN = THETA_LEN + TRAJ_LEN + IRFS_LEN + SHOCKS_LEN /* 1577 floats = 6308 bytes */
};

static inline uint64_t bc_splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static inline double bc_unif(uint64_t *s) { return (double)(bc_splitmix(s) >> 11) * 0x1.0p-53; }
static inline double bc_normal(uint64_t *s) {
  double u1 = bc_unif(s), u2 = bc_unif(s);
  return sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586 * u2);
}

/* Prior bounds: beta, sigma, phi_pi, phi_y, rho_i, rho_a, sigma_a, sigma_m. */
static const double BC_LO[NP] = {0.985, 0.5, 1.05, 0.0, 0.0, 0.0, 0.001, 0.001};
static const double BC_HI[NP] = {0.995, 2.5, 3.5, 1.0, 0.9, 0.95, 0.02, 0.01};

/* A stable VAR(1) y_t = A y_{t-1} + B e_t from theta (spectral radius < 1). */
static inline void bc_var_matrices(const double *th, double A[NO][NO], double B[NO][NS]) {
  double rho_y = 0.3 + 0.6 * th[5], rho_p = 0.3 + 0.6 * th[4], rho_r = 0.2 + 0.7 * th[4];
  double kappa = 0.05 * th[1], phi_pi = th[2], phi_y = th[3];
  double a[NO][NO] = {{rho_y, -0.05, -0.10},
                      {kappa, rho_p, -0.02},
                      {0.05 * phi_y, 0.05 * phi_pi, rho_r}};
  double b[NO][NS] = {{-0.5 * th[7], th[6], 0.1 * th[6]},
                      {-0.2 * th[7], -0.3 * th[6], th[6]},
                      {th[7], 0.1 * th[6], 0.2 * th[6]}};
  memcpy(A, a, sizeof a);
  memcpy(B, b, sizeof b);
}

/* Pool sample q in float32, C layout, into the four buffers. */
static inline void bc_make_sample(uint64_t q, float *theta, float *traj, float *irfs,
                                  float *shocks) {
  uint64_t s = 42 + q;
  double th[NP], A[NO][NO], B[NO][NS];
  for (int p = 0; p < NP; p++) th[p] = BC_LO[p] + (BC_HI[p] - BC_LO[p]) * bc_unif(&s);
  bc_var_matrices(th, A, B);
  double y[NO] = {0}, e[NS], z[NO];
  for (int t = 0; t < T; t++) {
    for (int k = 0; k < NS; k++) e[k] = bc_normal(&s);
    for (int o = 0; o < NO; o++) {
      double v = 0;
      for (int j = 0; j < NO; j++) v += A[o][j] * y[j];
      for (int k = 0; k < NS; k++) v += B[o][k] * e[k];
      z[o] = v;
    }
    for (int o = 0; o < NO; o++) {
      y[o] = z[o];
      traj[t * NO + o] = (float)y[o];
    }
    for (int k = 0; k < NS; k++) shocks[t * NS + k] = (float)e[k];
  }
  for (int k = 0; k < NS; k++) {
    double x[NO];
    for (int o = 0; o < NO; o++) x[o] = B[o][k];
    for (int h = 0; h <= H; h++) {
      for (int o = 0; o < NO; o++) irfs[(k * (H + 1) + h) * NO + o] = (float)x[o];
      for (int o = 0; o < NO; o++) {
        double v = 0;
        for (int j = 0; j < NO; j++) v += A[o][j] * x[j];
        z[o] = v;
      }
      memcpy(x, z, sizeof x);
    }
  }
  for (int p = 0; p < NP; p++) theta[p] = (float)th[p];
}

/* A pool of P samples, each array contiguous ([P][len]). */
typedef struct {
  uint64_t P;
  float *theta, *traj, *irfs, *shocks;
} bc_pool;

static inline int bc_pool_alloc(bc_pool *pl, uint64_t P) {
  pl->P = P;
  pl->theta = malloc(P * THETA_LEN * sizeof(float));
  pl->traj = malloc(P * TRAJ_LEN * sizeof(float));
  pl->irfs = malloc(P * IRFS_LEN * sizeof(float));
  pl->shocks = malloc(P * SHOCKS_LEN * sizeof(float));
  return pl->theta && pl->traj && pl->irfs && pl->shocks ? 0 : -1;
}

static inline void bc_pool_free(bc_pool *pl) {
  free(pl->theta);
  free(pl->traj);
  free(pl->irfs);
  free(pl->shocks);
}

static inline int bc_pool_generate(bc_pool *pl, uint64_t P) {
  if (bc_pool_alloc(pl, P)) return -1;
  for (uint64_t q = 0; q < P; q++)
    bc_make_sample(q, pl->theta + q * THETA_LEN, pl->traj + q * TRAJ_LEN,
                   pl->irfs + q * IRFS_LEN, pl->shocks + q * SHOCKS_LEN);
  return 0;
}

/* Reads a pool file (layout above); P is derived from its size. */
static inline int bc_pool_read(bc_pool *pl, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  fseek(f, 0, SEEK_END);
  long sz = ftell(f);
  fseek(f, 0, SEEK_SET);
  if (sz <= 0 || sz % (SAMPLE_LEN * 4) != 0) {
    fclose(f);
    return -1;
  }
  uint64_t P = (uint64_t)sz / (SAMPLE_LEN * 4);
  if (bc_pool_alloc(pl, P)) {
    fclose(f);
    return -1;
  }
  int ok = fread(pl->theta, sizeof(float) * THETA_LEN, P, f) == P &&
           fread(pl->traj, sizeof(float) * TRAJ_LEN, P, f) == P &&
           fread(pl->irfs, sizeof(float) * IRFS_LEN, P, f) == P &&
           fread(pl->shocks, sizeof(float) * SHOCKS_LEN, P, f) == P;
  fclose(f);
  return ok ? 0 : -1;
}

static inline int bc_pool_write(const bc_pool *pl, const char *path) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  uint64_t P = pl->P;
  int ok = fwrite(pl->theta, sizeof(float) * THETA_LEN, P, f) == P &&
           fwrite(pl->traj, sizeof(float) * TRAJ_LEN, P, f) == P &&
           fwrite(pl->irfs, sizeof(float) * IRFS_LEN, P, f) == P &&
           fwrite(pl->shocks, sizeof(float) * SHOCKS_LEN, P, f) == P;
  return (fclose(f) == 0 && ok) ? 0 : -1;
}

static inline double bc_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Resident set size now, MiB (from /proc/self/statm), or -1. */
static inline double bc_rss_now_MiB(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return -1;
  unsigned long size = 0, res = 0;
  int n = fscanf(f, "%lu %lu", &size, &res);
  fclose(f);
  return n == 2 ? (double)res * 4096.0 / 1048576.0 : -1;
}

#endif
