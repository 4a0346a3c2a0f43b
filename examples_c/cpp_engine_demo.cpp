// cpp_engine_demo — the whole C API through include/umedata.hpp, every handle type:
// Simulator, GenConfig, generate (a C++ lambda through the ume_simulate_fn trampoline),
// GenSummary, Rng / RngRef / sample_seed, Splits, Manifest, validate, and Config, Writer,
// Reader (see cpp_demo.cpp for the writer's overloads).
//
//   cpp_engine_demo OUT_DIR
//
// Writes datasets under OUT_DIR (replaced) and checks, printing one line per check:
//  - the same seed gives the same stored samples for 1 and 2 threads (read back by Reader);
//  - rejections (explosive AR(2) draws) are counted per reason;
//  - an exception thrown inside the lambda does not cross the C boundary: generate()
//    rethrows the lambda's own exception object, and the run resumes to the same data;
//  - a progress lambda can stop the run (stopped(), resumable), its exception is rethrown;
//  - Rng draws, sample_seed, Splits (load, count, indices, compute, store), Manifest (load,
//    check_dataset, build one for a hand-written world, finalize with it), validate();
//  - a short name list or a name with a NUL throws umedata::Error instead of letting C read
//    past the list.
// Exit status 0 when every check passed.
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "umedata.hpp"

namespace {

constexpr std::uint32_t T = 20, H = 6;
constexpr std::uint64_t N = 256, CHUNK = 32, SEED = 2024;
constexpr std::int32_t EXPLOSIVE = 1;

int failures = 0;
void check(bool ok, const std::string &what) {
  std::printf("%s: %s\n", ok ? "ok  " : "FAIL", what.c_str());
  if (!ok) failures++;
}

umedata::Simulator make_sim() {
  umedata::Simulator sim("ar2", "1.0.0", T, H);
  sim.param("a1", -0.5, 1.5, 0.5)
      .param("a2", -0.9, 0.5, 0.1)
      .param("sigma", 0.1, 1.0, 0.5)
      .shock("eps", 1.0)
      .obs("y")
      .obs("dy")
      .reject_reason(EXPLOSIVE, "explosive");
  return sim;
}

umedata::GenConfig make_cfg(std::uint32_t threads) {
  umedata::GenConfig cfg;
  cfg.seed(SEED).samples(N).threads(threads).writer_config(
      umedata::Config().chunking(CHUNK, CHUNK).overwrite());
  return cfg;
}

// y_t = a1 y_{t-1} + a2 y_{t-2} + sigma eps_t; observables y and dy. Explosive draws are
// rejected. Thread-safe (no shared state but an atomic counter).
struct Ar2 {
  std::atomic<std::uint64_t> *calls;
  std::int32_t operator()(std::uint64_t, const double *theta, umedata::RngRef rng, double *traj,
                          double *irfs, double *shocks) const {
    calls->fetch_add(1);
    const double a1 = theta[0], a2 = theta[1], sigma = theta[2];
    if (!(a1 + a2 < 1 && a2 - a1 < 1 && a2 > -1)) return EXPLOSIVE;
    rng.fill_normal(shocks, T);
    double y1 = 0, y2 = 0;
    for (std::uint32_t t = 0; t < T; t++) {
      const double y = a1 * y1 + a2 * y2 + sigma * shocks[t];
      traj[t * 2] = y;
      traj[t * 2 + 1] = y - y1;
      y2 = y1;
      y1 = y;
    }
    y1 = y2 = 0;
    for (std::uint32_t h = 0; h <= H; h++) {
      const double y = a1 * y1 + a2 * y2 + (h == 0 ? sigma : 0);
      irfs[h * 2] = y;
      irfs[h * 2 + 1] = y - y1;
      y2 = y1;
      y1 = y;
    }
    return 0;
  }
};

struct Data {
  std::vector<double> theta, traj, irfs, shocks;
  bool operator==(const Data &o) const {
    return theta == o.theta && traj == o.traj && irfs == o.irfs && shocks == o.shocks;
  }
};

Data read_all(const std::string &path) {
  umedata::Reader r = umedata::Reader::open(path, "ar2");
  Data d;
  r.read(0, N, d.theta, d.traj, d.irfs, d.shocks);
  return d;
}

struct SimFailed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void engine(const std::string &out) {
  const umedata::Simulator sim = make_sim();
  check(sim.n_params() == 3 && sim.trajectories_len() == T * 2 && sim.irfs_len() == (H + 1) * 2 &&
            sim.shocks_len() == T,
        "Simulator: counts and buffer lengths");
  std::atomic<std::uint64_t> calls{0};

  // 1 thread, a lambda; then 2 threads, a function object and a progress lambda.
  const std::string p1 = out + "/gen_t1.zarr", p2 = out + "/gen_t2.zarr";
  umedata::GenSummary s1 = umedata::generate(
      p1, sim, make_cfg(1),
      [&calls](std::uint64_t i, const double *theta, umedata::RngRef rng, double *traj,
               double *irfs, double *shocks) {
        return Ar2{&calls}(i, theta, rng, traj, irfs, shocks);
      });
  check(s1.written() == N && s1.samples_written() == N && s1.missing() == 0 && !s1.stopped(),
        "generate (1 thread): " + std::to_string(s1.written()) + " samples written");
  check(s1.rejected() > 0 && s1.rejections(EXPLOSIVE) == s1.rejected() &&
            s1.rejections(7) == 0 && calls.load() == N + s1.rejected(),
        "rejections counted per reason: " + std::to_string(s1.rejections(EXPLOSIVE)) +
            " explosive, " + std::to_string(calls.load()) + " calls");

  std::uint64_t last_done = 0, progress_calls = 0;
  umedata::GenSummary s2 = umedata::generate(
      p2, sim, make_cfg(2), Ar2{&calls},
      [&](std::uint64_t done, std::uint64_t total, double) {
        progress_calls++;
        last_done = done;
        return total != N;  // never stops here
      });
  check(s2.written() == N && progress_calls == N && last_done == N,
        "generate (2 threads) with a progress lambda: " + std::to_string(progress_calls) +
            " progress calls");
  const Data ref = read_all(p1);
  check(read_all(p2) == ref, "1 and 2 threads store the same samples, bit for bit");

  // The Sobol design: thread-independent too, and other theta than the uniform design.
  {
    const std::string q1 = out + "/gen_sobol_t1.zarr", q2 = out + "/gen_sobol_t2.zarr";
    umedata::generate(q1, sim, make_cfg(1).design(umedata::Design::Sobol), Ar2{&calls});
    umedata::generate(q2, sim, make_cfg(2).design(umedata::Design::Sobol), Ar2{&calls});
    const Data sob = read_all(q1);
    check(read_all(q2) == sob && sob.theta != ref.theta,
          "GenConfig::design(Sobol): 1 and 2 threads identical, theta unlike the uniform design's");
  }

  // A std::function works as well; it throws inside the engine's thread at sample 100.
  const std::string p3 = out + "/gen_throw.zarr";
  std::function<int(std::uint64_t, const double *, umedata::RngRef, double *, double *,
                    double *)>
      throwing = [&calls](std::uint64_t i, const double *theta, umedata::RngRef rng,
                          double *traj, double *irfs, double *shocks) -> int {
    if (i == 100) throw SimFailed("solver diverged at sample 100");
    return Ar2{&calls}(i, theta, rng, traj, irfs, shocks);
  };
  bool caught = false;
  try {
    umedata::generate(p3, sim, make_cfg(2), throwing);
  } catch (const SimFailed &e) {
    caught = std::string(e.what()) == "solver diverged at sample 100";
  } catch (const std::exception &e) {
    std::printf("      unexpected exception: %s\n", e.what());
  }
  check(caught, "an exception in the simulate lambda is rethrown by generate() as itself");
  {
    umedata::GenSummary r = umedata::generate(p3, sim, make_cfg(2).resume(), Ar2{&calls});
    check(r.already() + r.written() == N && r.samples_written() == N,
          "the aborted run resumes: " + std::to_string(r.already()) + " kept, " +
              std::to_string(r.written()) + " simulated");
    check(read_all(p3) == ref, "aborted + resumed run equals the uninterrupted one");
  }

  // The progress lambda stops the run; then it throws; both runs stay resumable.
  const std::string p4 = out + "/gen_stop.zarr";
  umedata::GenSummary st = umedata::generate(
      p4, sim, make_cfg(2), Ar2{&calls},
      [](std::uint64_t done, std::uint64_t, double) { return done >= 40; });
  check(st.stopped() && st.written() < N, "progress returning true stops the run (" +
                                              std::to_string(st.written()) + " stored)");
  caught = false;
  try {
    umedata::generate(p4, sim, make_cfg(2).resume(), Ar2{&calls},
                      [](std::uint64_t done, std::uint64_t, double) -> bool {
                        if (done >= 10) throw std::logic_error("progress bar broke");
                        return false;
                      });
  } catch (const std::logic_error &e) {
    caught = std::string(e.what()) == "progress bar broke";
  }
  check(caught, "an exception in the progress lambda is rethrown by generate()");
  umedata::generate(p4, sim, make_cfg(1).resume(), Ar2{&calls});
  check(read_all(p4) == ref, "stopped + failed + resumed run equals the uninterrupted one");

  // A negative return without an exception: umedata::Error naming the sample.
  try {
    umedata::generate(out + "/gen_neg.zarr", sim, make_cfg(1),
                      [](std::uint64_t i, const double *, umedata::RngRef, double *, double *,
                         double *) { return i == 5 ? -3 : 0; });
    check(false, "a negative return fails");
  } catch (const umedata::Error &e) {
    check(e.status() == UME_ERR_INVALID_ARGUMENT &&
              std::string(e.what()).find("5") != std::string::npos,
          std::string("a negative return throws umedata::Error: ") + e.what());
  }

  // Bad options throw at the setter.
  try {
    umedata::GenConfig().split(0.5, 0.5, 0.5, 1);
    check(false, "a bad split throws");
  } catch (const umedata::Error &e) {
    check(e.status() == UME_ERR_INVALID_ARGUMENT, std::string("bad split: ") + e.what());
  }

  // ---- Rng and seeds: sample i's theta comes from Rng(SEED, i) ----
  {
    umedata::Rng rng(SEED, 0);
    std::vector<double> u(3);
    rng.fill_uniform(u);
    const double lo[3] = {-0.5, -0.9, 0.1}, hi[3] = {1.5, 0.5, 1.0};
    bool same = true;
    for (int k = 0; k < 3; k++) same = same && (lo[k] + (hi[k] - lo[k]) * u[k] == ref.theta[k]);
    // (sample 0's first draw may have been rejected: then its theta is a later draw)
    const double a1 = lo[0] + (hi[0] - lo[0]) * u[0], a2 = lo[1] + (hi[1] - lo[1]) * u[1];
    const bool accepted = a1 + a2 < 1 && a2 - a1 < 1 && a2 > -1;
    check(!accepted || same, "Rng(seed, 0) reproduces sample 0's theta draw");
    umedata::Rng a(7, 3), b(7, 3);
    const double n1 = a.normal();
    std::vector<double> nb(1);
    b.fill_normal(nb);
    check(n1 == nb[0] && a.next_u64() == b.next_u64() && a.uniform() == b.uniform(),
          "Rng: single draws equal fills");
    umedata::Rng moved = std::move(a);
    bool threw = false;
    try {
      a.uniform();  // NOLINT: use after move on purpose
    } catch (const umedata::Error &e) {
      threw = e.status() == UME_ERR_NULL_ARGUMENT;
    }
    check(threw && static_cast<bool>(moved), "a moved-from Rng throws UME_ERR_NULL_ARGUMENT");
    check(umedata::sample_seed(42, 7, umedata::SeedDerivation::Add) == 49 &&
              umedata::sample_seed(42, 7) != 49 &&
              !umedata::seed_derivation_name(umedata::SeedDerivation::Add).empty(),
          "sample_seed: add and splitmix64");
    threw = false;
    try {
      umedata::sample_seed(42, 7, umedata::SeedDerivation::ChaCha20);
    } catch (const umedata::Error &e) {
      threw = e.status() == UME_ERR_INVALID_ARGUMENT;
    }
    check(threw, "sample_seed(ChaCha20) throws (no integer seed)");
  }

  // ---- Splits and Manifest of the generated dataset ----
  {
    umedata::Splits sp = umedata::Splits::load(p1, "ar2");
    const std::uint64_t tr = sp.count(umedata::SplitCode::Train),
                        va = sp.count(umedata::SplitCode::Val),
                        te = sp.count(umedata::SplitCode::Test);
    const std::vector<std::uint64_t> idx = sp.indices(umedata::SplitCode::Val);
    check(sp.n_samples() == N && tr + va + te == N && idx.size() == va &&
              (idx.empty() || sp.get(idx[0]) == umedata::SplitCode::Val) &&
              sp.to_json().find("sha256") != std::string::npos,
          "Splits::load: " + std::to_string(tr) + "/" + std::to_string(va) + "/" +
              std::to_string(te));
    umedata::Splits ood = umedata::Splits::compute(
        p1, "ar2",
        R"({"fractions": {"train": 0.8, "val": 0.1, "test": 0.1}, "seed": 3, "ood": [)"
        R"({"kind": "slice", "param": "sigma", "units": "quantile", "range": [0.9, 1.0]}]})");
    check(ood.count(umedata::SplitCode::OodSlice) > 0, "Splits::compute with an OOD slice");
    umedata::Manifest m = umedata::Manifest::load(p1);
    check(m.to_json().find("\"ar2\"") != std::string::npos, "Manifest::load + to_json");
    m.check_dataset(p1);
    m.validate();
    ood.store(p1);
    m.set_splits(ood).save(p1);
    check(umedata::Splits::load(p1, "ar2").count(umedata::SplitCode::OodSlice) ==
              ood.count(umedata::SplitCode::OodSlice),
          "Splits::store + Manifest::set_splits + save, loaded back");
    const umedata::Validation v = umedata::validate(p1);
    check(v.passed && v.report_json.find("\"checks\"") != std::string::npos,
          "validate(generated dataset) passes");
    const umedata::Validation bad = umedata::validate(out + "/no_such_dataset");
    check(!bad.passed && !bad.report_json.empty(), "validate(missing dataset) is a failed report");
  }
}

void manifest_by_hand(const std::string &out) {
  const std::string path = out + "/by_hand.zarr";
  umedata::World world("w", 8, 4, 2, 2, 1, 1);
  world.param_names = {"alpha", "beta"};
  umedata::Writer w = umedata::Writer::create(path, world, umedata::Config().chunking(8, 8));
  umedata::Manifest m("1.0.0", 5, umedata::SeedDerivation::ChaCha20);
  m.set_config_json(R"({"model": "by hand"})", true).set_git(".").add_world(w);
  try {
    m.set_parameters("w", {"-", "-"}, {0.0, 1.0, 0.0}, {});
    check(false, "set_parameters with 3 bounds fails");
  } catch (const umedata::Error &e) {
    check(e.status() == UME_ERR_LENGTH_MISMATCH,
          std::string("Manifest::set_parameters checks lengths: ") + e.what());
  }
  bool threw = false;
  try {
    w.finalize(m);  // bounds and sigma not set: refused, the writer stays open
  } catch (const umedata::Error &e) {
    threw = e.status() == UME_ERR_INVALID_ARGUMENT;
  }
  check(threw, "Writer::finalize(manifest) refuses an incomplete manifest");
  m.set_parameters("w", {"-", "-"}, {0.0, 1.0, 0.0, 2.0}, {0.5, 1.0})
      .set_shock_sigma("w", {0.1})
      .set_n_canonical_obs("w", 1);
  umedata::Rng rng(5, 0);
  std::vector<double> theta(2), traj(4), irfs(3), shocks(4);
  for (std::uint64_t i = 0; i < 8; i++) {
    rng.fill_uniform(theta);
    rng.fill_normal(traj);
    w.write_sample(i, theta, traj, irfs, shocks);
  }
  const umedata::Summary s = w.finalize(m);
  umedata::Reader r = umedata::Reader::open(path, "w");
  umedata::Manifest loaded = umedata::Manifest::load(path);
  loaded.add_world(r).check_dataset(path);
  check(s.samples_written == 8 && r.samples_written() == 8,
        "Manifest built by hand, Writer::finalize(manifest), Manifest::load + add_world(Reader)");
}

void name_lists(const std::string &out) {
  umedata::World world("short", 8, 4, 2, 3, 1, 1);
  world.param_names = {"a", "b"};  // n_params = 3: C would read a third pointer
  try {
    umedata::Writer::create(out + "/short.zarr", world);
    check(false, "a short name list throws");
  } catch (const umedata::Error &e) {
    check(e.status() == UME_ERR_LENGTH_MISMATCH &&
              std::string(e.what()).find("param_names has 2 names, expected n_params = 3") !=
                  std::string::npos,
          std::string("a short name list throws: ") + e.what());
  }
  world.param_names = {"a", "b", std::string("c\0d", 3)};
  try {
    umedata::Writer::create(out + "/short.zarr", world);
    check(false, "a name with a NUL throws");
  } catch (const umedata::Error &e) {
    check(e.status() == UME_ERR_INVALID_ARGUMENT, std::string("a name with NUL: ") + e.what());
  }
  check(!std::filesystem::exists(out + "/short.zarr/short"), "nothing was created");
}

}  // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: cpp_engine_demo OUT_DIR\n");
    return 2;
  }
  const std::string out = argv[1];
  try {
    std::filesystem::remove_all(out);
    std::filesystem::create_directories(out);
    umedata::check_version();
    engine(out);
    manifest_by_hand(out);
    name_lists(out);
  } catch (const umedata::Error &e) {
    std::fprintf(stderr, "cpp_engine_demo: umedata error %d (%s): %s\n",
                 static_cast<int>(e.status()), e.status_string(), e.what());
    return 1;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "cpp_engine_demo: %s\n", e.what());
    return 1;
  }
  std::printf("cpp_engine_demo: %d failed check(s)\n", failures);
  return failures == 0 ? 0 : 1;
}
