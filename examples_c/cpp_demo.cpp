// cpp_demo — the demo economy of write_demo.c, written through the C++ wrapper umedata.hpp.
//
//   cpp_demo OUT_DIR [N=1000] [CHUNK_SAMPLES=0] [--overwrite]
//
// Same simulator, seeds, world ("nk"), names and shapes as examples_c/write_demo.c (the
// model is specified in docs/c-api-draft.md, "Demo simulator"), so the dataset it writes
// is value for value the one write_demo writes (CTest compares them with
// compare_datasets). It uses every overload of Writer::write_sample on purpose:
//   sample i % 3 == 0: std::vector<double>
//   sample i % 3 == 1: std::span<const double> (C++20; raw double pointers without <span>)
//   sample i % 3 == 2: raw float pointers, the doubles rounded to float here (round to
//                      nearest, exactly what the library does with double input)
// The options go through umedata::Config (the opaque, growable ume_writer_config and
// ume_writer_create_with_config). It then checks that errors arrive as umedata::Error with
// the right status (bad Config values at the setter, not at create), the library version
// check, and reads every sample back through umedata::Reader.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "umedata.hpp"

namespace {

constexpr int T = 200, H = 40, N_PARAMS = 8, N_SHOCKS = 3, N_OBS = 3;
constexpr std::uint64_t GLOBAL_SEED = 42;
constexpr double PI = 3.14159265358979323846;
constexpr double LO[N_PARAMS] = {0.985, 0.5, 1.05, 0.0, 0.0, 0.0, 0.001, 0.001};
constexpr double HI[N_PARAMS] = {0.995, 2.5, 3.5, 1.0, 0.9, 0.95, 0.02, 0.01};

// splitmix64, as in write_demo.c
struct Rng {
  std::uint64_t state;
  std::uint64_t next() {
    state += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double normal() {
    double u1 = uniform();
    double u2 = uniform();
    return std::sqrt(-2.0 * std::log(1.0 - u1)) * std::cos(2.0 * PI * u2);
  }
};

// One sample in C layout: traj[t*N_OBS+o], irfs[(k*(H+1)+h)*N_OBS+o], shocks[t*N_SHOCKS+k].
struct Sample {
  std::vector<double> theta = std::vector<double>(N_PARAMS);
  std::vector<double> traj = std::vector<double>(T * N_OBS);
  std::vector<double> irfs = std::vector<double>(N_SHOCKS * (H + 1) * N_OBS);
  std::vector<double> shocks = std::vector<double>(T * N_SHOCKS);
};

using Mat3 = double[3][3];

// y_t = A y_{t-1} + B e_t from y_{-1} = 0; sums in index order p, then k, from 0.0.
void simulate_path(const Mat3 &A, const Mat3 &B, const double *e, int n_steps, double *y_out) {
  double y[3] = {0.0, 0.0, 0.0};
  for (int t = 0; t < n_steps; t++) {
    double next[3];
    for (int o = 0; o < 3; o++) {
      double acc = 0.0;
      for (int p = 0; p < 3; p++) acc = acc + A[o][p] * y[p];
      for (int k = 0; k < 3; k++) acc = acc + B[o][k] * e[t * N_SHOCKS + k];
      next[o] = acc;
    }
    for (int o = 0; o < 3; o++) {
      y[o] = next[o];
      y_out[t * N_OBS + o] = next[o];
    }
  }
}

void simulate_sample(std::uint64_t i, Sample &s) {
  Rng rng{GLOBAL_SEED + i};
  for (int j = 0; j < N_PARAMS; j++) s.theta[j] = LO[j] + (HI[j] - LO[j]) * rng.uniform();
  for (int t = 0; t < T; t++)
    for (int k = 0; k < N_SHOCKS; k++) s.shocks[t * N_SHOCKS + k] = rng.normal();

  const double sigma = s.theta[1], phi_pi = s.theta[2], phi_y = s.theta[3];
  const double rho_i = s.theta[4], rho_a = s.theta[5];
  const double sigma_a = s.theta[6], sigma_m = s.theta[7];
  const Mat3 A = {
      {0.9 * rho_a, 0.0, -0.05 / sigma},
      {0.02 * phi_y, 0.3 + 0.4 * rho_i, 0.0},
      {0.0, 0.02 * (phi_pi - 1.0), rho_i},
  };
  const Mat3 B = {
      {-0.5 * sigma_m, sigma_a, 0.0},
      {0.0, -0.3 * sigma_a, 0.005},
      {sigma_m, 0.0, 0.0},
  };
  simulate_path(A, B, s.shocks.data(), T, s.traj.data());

  std::vector<double> baseline((H + 1) * N_OBS), shocked((H + 1) * N_OBS);
  simulate_path(A, B, s.shocks.data(), H + 1, baseline.data());
  for (int k = 0; k < N_SHOCKS; k++) {
    std::vector<double> e(s.shocks.begin(), s.shocks.begin() + (H + 1) * N_SHOCKS);
    e[k] = e[k] + 1.0;
    simulate_path(A, B, e.data(), H + 1, shocked.data());
    for (int h = 0; h <= H; h++)
      for (int o = 0; o < N_OBS; o++)
        s.irfs[(k * (H + 1) + h) * N_OBS + o] = shocked[h * N_OBS + o] - baseline[h * N_OBS + o];
  }
}

std::vector<float> to_f32(const std::vector<double> &v) {
  std::vector<float> out(v.size());
  for (std::size_t j = 0; j < v.size(); j++) out[j] = static_cast<float>(v[j]);
  return out;
}

void usage() {
  std::fprintf(stderr, "usage: cpp_demo OUT_DIR [N=1000] [CHUNK_SAMPLES=0] [--overwrite]\n");
}

bool parse_u64(const char *s, std::uint64_t &out) {
  char *end = nullptr;
  if (s[0] == '-' || s[0] == '\0') return false;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (*end != '\0') return false;
  out = v;
  return true;
}

// Runs `f`, which must throw umedata::Error with status `expected`.
template <typename F>
bool expect_error(const char *what, ume_status expected, F &&f) {
  try {
    f();
  } catch (const umedata::Error &e) {
    if (e.status() != expected) {
      std::fprintf(stderr, "cpp_demo: %s: status %d (%s), expected %d: %s\n", what,
                   static_cast<int>(e.status()), e.status_string(), static_cast<int>(expected),
                   e.what());
      return false;
    }
    std::printf("  %s -> umedata::Error %d (%s): %s\n", what, static_cast<int>(e.status()),
                e.status_string(), e.what());
    return true;
  }
  std::fprintf(stderr, "cpp_demo: %s did not throw\n", what);
  return false;
}

// umedata::Config: bad values throw at the setter (naming the value), a moved-from Config
// is refused instead of meaning "the defaults", the frozen Options still work (converted
// to a Config), and the library version check accepts this library and refuses others.
bool check_config(const std::string &out_dir, const umedata::World &world) {
  std::printf("cpp_demo: umedata::Config checks its values at once\n");
  bool ok = true;
  umedata::Config c;
  ok &= expect_error("Config::chunking(16, 5)", UME_ERR_INVALID_ARGUMENT,
                     [&] { c.chunking(16, 5); });
  ok &= expect_error("Config::codec(9)", UME_ERR_INVALID_ARGUMENT, [&] { c.codec(9); });
  ok &= expect_error("Config::codec(Codec::Zstd, 42)", UME_ERR_INVALID_ARGUMENT,
                     [&] { c.codec(umedata::Codec::Zstd, 42); });
  ok &= expect_error("Config::zarr_format(4)", UME_ERR_INVALID_ARGUMENT,
                     [&] { c.zarr_format(4); });
  ok &= expect_error("Config::claim_lease(1)", UME_ERR_INVALID_ARGUMENT,
                     [&] { c.claim_lease(1); });
  ok &= expect_error("Config::flag(99)", UME_ERR_INVALID_ARGUMENT, [&] { c.flag(99); });
  c.chunking(16, 4).claim_lease(60).zarr_format(2).threads(1, 4);  // good values chain

  umedata::Config moved = std::move(c);
  if (c.get() != nullptr || moved.get() == nullptr) {
    std::fprintf(stderr, "cpp_demo: moving a Config did not transfer the handle\n");
    ok = false;
  }
  // Never reached C: the message is the wrapper's, and nothing is created.
  ok &= expect_error("Writer::create with a moved-from Config", UME_ERR_NULL_ARGUMENT,
                     [&] { (void)umedata::Writer::create(out_dir, world, c); });
  ok &= expect_error("a setter of a moved-from Config", UME_ERR_NULL_ARGUMENT,
                     [&] { c.overwrite(); });

  // The 0.2 struct still compiles and is converted field by field through the setters.
  umedata::Options old;
  old.codec = 9;
  ok &= expect_error("Writer::create with Options{codec = 9}", UME_ERR_INVALID_ARGUMENT,
                     [&] { (void)umedata::Writer::create(out_dir, world, old); });

  // The version rule of the README ("ABI policy"): same major, minor >= the header's.
  struct Case {
    const char *lib;
    bool want;
  };
  const Case cases[] = {{"0.3.0", true},  {"0.3.7", true},   {"0.4.0", true},  {"0.12.1", true},
                        {"0.3", true},    {"0.2.9", false},  {"1.3.0", false}, {"", false},
                        {"x.3.0", false}, {"0.x.0", false},  {"03", false},    {nullptr, false}};
  for (const Case &k : cases) {
    if (umedata::detail::version_compatible(k.lib, 0, 3) != k.want) {
      std::fprintf(stderr, "cpp_demo: version_compatible(\"%s\", 0, 3) is not %d\n",
                   k.lib ? k.lib : "(null)", k.want);
      ok = false;
    }
  }
  umedata::check_version();  // this library serves this header (throws otherwise)
  std::printf("  version check: library %s serves header %s\n", umedata::version().c_str(),
              UME_VERSION_STRING);
  return ok;
}

int run(const std::string &out_dir, std::uint64_t n, std::uint64_t chunk, bool overwrite) {
  umedata::World world("nk", n, T, H, N_PARAMS, N_SHOCKS, N_OBS);
  world.param_names = {"beta", "sigma", "phi_pi", "phi_y", "rho_i", "rho_a", "sigma_a", "sigma_m"};
  world.shock_names = {"monetary", "technology", "cost_push"};
  world.obs_names = {"output", "inflation", "rate"};
  // A chain on a temporary, moved into `config` (Config is move-only).
  umedata::Config config = umedata::Config().chunking(chunk).overwrite(overwrite);
  config.codec(umedata::Codec::BloscLz4, -1).checksum().fsync();  // the defaults, said aloud

  umedata::Writer created = umedata::Writer::create(out_dir, world, config);
  umedata::Writer w = std::move(created);  // move-only: `created` is now empty
  if (created || !w) {
    std::fprintf(stderr, "cpp_demo: moving a Writer did not transfer the handle\n");
    return 1;
  }

  Sample s;
  for (std::uint64_t i = 0; i < n; i++) {
    simulate_sample(i, s);
    switch (i % 3) {
      case 0:
        w.write_sample(i, s.theta, s.traj, s.irfs, s.shocks);
        break;
      case 1:
#if UMEDATA_HPP_HAS_SPAN
        w.write_sample(i, std::span<const double>(s.theta), std::span<const double>(s.traj),
                       std::span<const double>(s.irfs), std::span<const double>(s.shocks));
#else
        w.write_sample(i, s.theta.data(), s.theta.size(), s.traj.data(), s.traj.size(),
                       s.irfs.data(), s.irfs.size(), s.shocks.data(), s.shocks.size());
#endif
        break;
      default: {
        const std::vector<float> th = to_f32(s.theta), tr = to_f32(s.traj),
                                 ir = to_f32(s.irfs), sh = to_f32(s.shocks);
        w.write_sample(i, th.data(), th.size(), tr.data(), tr.size(), ir.data(), ir.size(),
                       sh.data(), sh.size(), umedata::Layout::C);
      }
    }
  }

  std::printf("cpp_demo: errors are exceptions\n");
  bool ok = true;
  simulate_sample(0, s);
  ok &= expect_error("write_sample(N, ...)", UME_ERR_OUT_OF_RANGE,
                     [&] { w.write_sample(n, s.theta, s.traj, s.irfs, s.shocks); });
  ok &= expect_error("write_sample(0, ...) again", UME_ERR_ALREADY_WRITTEN,
                     [&] { w.write_sample(0, s.theta, s.traj, s.irfs, s.shocks); });
  std::vector<double> short_traj(T * N_OBS - 1);
  ok &= expect_error("write_sample with a short trajectory", UME_ERR_LENGTH_MISMATCH,
                     [&] { w.write_sample(0, s.theta, short_traj, s.irfs, s.shocks); });
  ok &= expect_error("Reader::open of a missing world", UME_ERR_NOT_FOUND,
                     [&] { (void)umedata::Reader::open(out_dir, "no_such_world"); });
  ok &= expect_error("Writer::open of a missing world", UME_ERR_NOT_FOUND,
                     [&] { (void)umedata::Writer::open(out_dir, "no_such_world", config); });
  ok &= check_config(out_dir, world);

  const umedata::Summary sum = w.finalize();
  std::printf("cpp_demo: wrote %s/nk (umedata %s): %llu of %llu samples, trajectories "
              "stored/raw %.3f\n",
              out_dir.c_str(), umedata::version().c_str(),
              static_cast<unsigned long long>(sum.samples_written),
              static_cast<unsigned long long>(sum.n_samples), sum.trajectories.ratio);
  ok &= expect_error("finalize() twice", UME_ERR_FINALIZED, [&] { (void)w.finalize(); });
  if (sum.samples_written != n) {
    std::fprintf(stderr, "cpp_demo: summary says %llu samples written, expected %llu\n",
                 static_cast<unsigned long long>(sum.samples_written),
                 static_cast<unsigned long long>(n));
    return 1;
  }

  // Read everything back (vector overload, C layout) and compare with float32 of the model.
  const umedata::Reader r = umedata::Reader::open(out_dir, "nk");
  const umedata::Shape shape = r.shape();
  if (shape.n_samples != n || shape.T != T || shape.H != H || r.samples_written() != n ||
      !r.is_written(n - 1)) {
    std::fprintf(stderr, "cpp_demo: the reader reports other shapes or counts than written\n");
    return 1;
  }
  std::vector<float> th, tr, ir, sh;
  std::uint64_t mismatches = 0;
  for (std::uint64_t i = 0; i < n; i++) {
    r.read(i, 1, th, tr, ir, sh);
    simulate_sample(i, s);
    const std::vector<double> *want[4] = {&s.theta, &s.traj, &s.irfs, &s.shocks};
    const std::vector<float> *got[4] = {&th, &tr, &ir, &sh};
    for (int a = 0; a < 4; a++)
      for (std::size_t j = 0; j < want[a]->size(); j++)
        if ((*got[a])[j] != static_cast<float>((*want[a])[j])) mismatches++;
  }
  // All samples as one range, decoded on 2 of the library's threads: the same values.
  r.set_threads(2);
  if (r.threads() != 2) mismatches++;
  std::vector<float> rth, rtr, rir, rsh;
  r.read(0, n, rth, rtr, rir, rsh);
  for (std::uint64_t i = 0; i < n; i++) {
    simulate_sample(i, s);
    const std::vector<double> *want[4] = {&s.theta, &s.traj, &s.irfs, &s.shocks};
    const std::vector<float> *got[4] = {&rth, &rtr, &rir, &rsh};
    for (int a = 0; a < 4; a++) {
      const std::size_t per = want[a]->size();
      for (std::size_t j = 0; j < per; j++)
        if ((*got[a])[i * per + j] != static_cast<float>((*want[a])[j])) mismatches++;
    }
  }
  // A shuffled batch (reversed, with a repeat) through read_ids, in double, on 2 threads.
  std::vector<std::uint64_t> ids;
  for (std::uint64_t i = n; i-- > 0;) ids.push_back(i);
  ids.push_back(0);
  std::vector<double> ith, itr, iir, ish;
  r.read_ids(ids, ith, itr, iir, ish, umedata::Layout::C, 2);
  for (std::size_t j = 0; j < ids.size(); j++) {
    simulate_sample(ids[j], s);
    const std::vector<double> *want[4] = {&s.theta, &s.traj, &s.irfs, &s.shocks};
    const std::vector<double> *got[4] = {&ith, &itr, &iir, &ish};
    for (int a = 0; a < 4; a++) {
      const std::size_t per = want[a]->size();
      for (std::size_t k = 0; k < per; k++)
        if ((*got[a])[j * per + k] != static_cast<double>(static_cast<float>((*want[a])[k])))
          mismatches++;
    }
  }
  if (mismatches != 0) {
    std::fprintf(stderr, "cpp_demo: %llu values read back differ from float32 of the model\n",
                 static_cast<unsigned long long>(mismatches));
    return 1;
  }
  std::printf("  read back all %llu samples (one by one, as one range on 2 threads, and as a reversed batch of ids): equal to float32 of the simulated values\n",
              static_cast<unsigned long long>(n));
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char **argv) {
  std::string out_dir;
  std::uint64_t n = 1000, chunk = 0;
  bool overwrite = false;
  int n_positional = 0;
  for (int a = 1; a < argc; a++) {
    if (std::strcmp(argv[a], "--overwrite") == 0) {
      overwrite = true;
    } else if (n_positional == 0) {
      out_dir = argv[a];
      n_positional++;
    } else if (n_positional == 1 && parse_u64(argv[a], n) && n > 0) {
      n_positional++;
    } else if (n_positional == 2 && parse_u64(argv[a], chunk)) {
      n_positional++;
    } else {
      std::fprintf(stderr, "cpp_demo: bad argument '%s'\n", argv[a]);
      usage();
      return 2;
    }
  }
  if (out_dir.empty()) {
    usage();
    return 2;
  }
  try {
    return run(out_dir, n, chunk, overwrite);
  } catch (const umedata::Error &e) {
    std::fprintf(stderr, "cpp_demo: %s (status %d, %s)\n", e.what(), static_cast<int>(e.status()),
                 e.status_string());
    return 1;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "cpp_demo: %s\n", e.what());
    return 1;
  }
}
