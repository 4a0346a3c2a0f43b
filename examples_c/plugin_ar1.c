/* A simulator plugin for `umedata generate --sim`: an AR(1) economy y_t = rho y_{t-1} + sigma e_t.
 * Build: cc -shared -fPIC -I include examples_c/plugin_ar1.c -o libar1.so   (no -lumedata needed)
 * Run:   umedata generate --sim ./libar1.so -n 10000 -o ar1.zarr && umedata validate ar1.zarr --reproduce 100 */
#include "umedata.h"

#define NT 100
#define NH 20
static const char *params[] = {"rho", "sigma"}, *units[] = {"-", "-"}, *shocks[] = {"eps"}, *obs[] = {"y"};
static const double lo[] = {0.0, 0.1}, hi[] = {0.99, 1.0}, sd[] = {1.0};
static const char *reasons[] = {"near_unit_root"};
static ume_plugin_rng_fill_fn fill_normal;   /* the host's generator, lent at load time */

static int32_t simulate(void *user, uint64_t i, const double *theta, ume_rng *rng,
                        double *traj, double *irfs, double *eps) {
  (void)user; (void)i;
  double rho = theta[0], sigma = theta[1], y = 0.0;
  if (rho > 0.98) return 1;                  /* reject: redrawn from the same stream, counted */
  if (fill_normal(rng, eps, NT) != UME_OK) return -1;
  for (int t = 0; t < NT; t++) traj[t] = y = rho * y + sigma * eps[t];
  for (int h = 0; h <= NH; h++) irfs[h] = h ? irfs[h - 1] * rho : sigma;
  return 0;                                  /* accept */
}

int32_t umedata_plugin_v1(ume_plugin_v1 *p) {
  if (p->abi_version != UME_PLUGIN_ABI_VERSION || p->struct_size < sizeof *p) return 1;
  fill_normal = p->rng_fill_normal;
  p->name = "ar1"; p->version = "1.0"; p->T = NT; p->H = NH;
  p->n_params = 2; p->param_names = params; p->param_lo = lo; p->param_hi = hi; p->param_units = units;
  p->n_shocks = 1; p->shock_names = shocks; p->shock_sigma = sd; p->n_obs = 1; p->obs_names = obs;
  p->n_reject_reasons = 1; p->reject_reason_names = reasons;
  p->simulate = simulate;
  return 0;
}
