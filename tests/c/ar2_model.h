/* The AR(2) economy the engine tests drive through `ume_generate` (test_engine.c,
 * test_engine_kill.c): y_t = a1 y_{t-1} + a2 y_{t-2} + sigma eps_t, observables y and
 * y - y_{-1}, one shock; draws outside the stationarity triangle are rejected with reason
 * AR2_EXPLOSIVE, so redraws are part of every run. Safe to call from many threads.
 * Include after ume_test.h. */
#ifndef UME_AR2_MODEL_H
#define UME_AR2_MODEL_H

enum { AR2_PARAMS = 3, AR2_OBS = 2, AR2_EXPLOSIVE = 1 };

/* Simulates T periods and H+1 impulse-response steps; 0 = accepted, AR2_EXPLOSIVE =
 * rejected, -1 = the generator failed. */
static inline int32_t ar2_simulate(int T, int H, const double *theta, ume_rng *rng,
                                   double *traj, double *irfs, double *shocks) {
  double a1 = theta[0], a2 = theta[1], sigma = theta[2];
  if (!(a1 + a2 < 1 && a2 - a1 < 1 && a2 > -1)) return AR2_EXPLOSIVE;
  if (ume_rng_fill_normal(rng, shocks, (size_t)T) != UME_OK) return -1;
  double y1 = 0, y2 = 0;
  for (int t = 0; t < T; t++) {
    double y = a1 * y1 + a2 * y2 + sigma * shocks[t];
    traj[t * AR2_OBS + 0] = y;
    traj[t * AR2_OBS + 1] = y - y1;
    y2 = y1;
    y1 = y;
  }
  /* impulse response to a one-sigma shock */
  y1 = 0, y2 = 0;
  for (int h = 0; h <= H; h++) {
    double y = a1 * y1 + a2 * y2 + (h == 0 ? sigma : 0);
    irfs[h * AR2_OBS + 0] = y;
    irfs[h * AR2_OBS + 1] = y - y1;
    y2 = y1;
    y1 = y;
  }
  return 0;
}

/* Adds the model's parameters (with bounds, defaults, units), shock, observables and
 * rejection reason to a new `ume_sim`; the first failing call's status. */
static inline ume_status ar2_describe(ume_sim *sim) {
  ume_status st;
  if ((st = ume_sim_add_param(sim, "a1", -0.5, 1.5, 0.5, "-")) != UME_OK) return st;
  if ((st = ume_sim_add_param(sim, "a2", -0.9, 0.5, 0.1, "-")) != UME_OK) return st;
  if ((st = ume_sim_add_param(sim, "sigma", 0.1, 1.0, 0.5, "-")) != UME_OK) return st;
  if ((st = ume_sim_add_shock(sim, "eps", 1.0)) != UME_OK) return st;
  if ((st = ume_sim_add_obs(sim, "y")) != UME_OK) return st;
  if ((st = ume_sim_add_obs(sim, "dy")) != UME_OK) return st;
  return ume_sim_set_reject_reason(sim, AR2_EXPLOSIVE, "explosive");
}

#endif
