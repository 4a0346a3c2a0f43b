/*
 * umedata.hpp — header-only C++ wrapper of the umedata C API (include/umedata.h).
 *
 * Needs C++17. Link the C library as usual (CMake: umedata::umedata; pkg-config: umedata).
 *
 *   #include "umedata.hpp"
 *   umedata::World world("nk", 100000, 200, 40, 8, 3, 3);
 *   world.param_names = {"beta", "sigma", "phi_pi", "phi_y", "rho_i", "rho_a", "sigma_a", "sigma_m"};
 *   umedata::Config cfg;                                   // ume_writer_config, the defaults
 *   cfg.chunking(512).overwrite();                         // each setter checks at once (throws)
 *   umedata::Writer w = umedata::Writer::create("runs/v1.zarr", world, cfg);   // throws umedata::Error
 *   std::vector<double> theta(8), traj(200 * 3), irfs(3 * 41 * 3), shocks(200 * 3);
 *   w.write_sample(i, theta, traj, irfs, shocks);          // C (row-major) layout by default
 *   umedata::Summary s = w.finalize();                     // the destructor frees the handle
 *
 * What it adds to the C API, and nothing else:
 *  - Options go through the opaque, growable ume_writer_config (umedata::Config, one
 *    chainable setter per option, checked at once) and the ume_writer_*_with_config
 *    functions. The older umedata::Options (the frozen by-value ume_writer_options, 0.2's
 *    fields only) still compiles: Writer::create converts it to a Config.
 *  - The first Config, Writer or Reader checks (once per process) that the library
 *    loaded at run time serves this header: same major version, minor at least
 *    UME_VERSION_MINOR (umedata::check_version(); README, "ABI policy").
 *  - Writer and Reader own their handle: move-only, released in the destructor
 *    (ume_writer_free / ume_reader_free). A Writer destroyed without finalize() still
 *    stores what it buffered (as ume_writer_free does) but cannot report errors: call
 *    finalize() to see them.
 *  - Every failing call throws umedata::Error (a std::runtime_error) carrying the
 *    ume_status (status()) and the library's message for this thread (what()).
 *  - Overloads for float and double, and for raw pointer + element count, std::vector and,
 *    when the standard library has it (__cpp_lib_span, C++20), std::span. Lengths are the
 *    containers' sizes; the library checks them against the world's shapes.
 *  - Thread safety is that of the C handles: one Writer may be used by many threads at
 *    once (write_sample), a Reader likewise for reads; moving or destroying a handle while
 *    another thread uses it is not allowed.
 *  - World name lists are checked before C sees them: empty (the defaults) or exactly
 *    n_params / n_shocks / n_obs names (UME_ERR_LENGTH_MISMATCH), none with a NUL
 *    (UME_ERR_INVALID_ARGUMENT).
 *
 * The rest of the C API, each handle a move-only RAII class that throws umedata::Error:
 *  - Manifest (ume_manifest_*), Writer::finalize(Manifest &) (ume_writer_finalize_with_manifest);
 *  - Rng (owns a ume_rng) and RngRef (a view: what the simulate callback gets),
 *    sample_seed(), seed_derivation_name(), SeedDerivation;
 *  - Splits (ume_splits_*), SplitCode; validate(path, ...) -> {passed, report_json};
 *  - the generation engine: Simulator (ume_sim), GenConfig (ume_gen_config), GenSummary
 *    (ume_gen_summary), generate(path, sim, config, simulate[, progress]) with any C++
 *    callable (lambda, function object, std::function) called through a ume_simulate_fn /
 *    ume_progress_fn trampoline; an exception thrown by a callback never crosses the C
 *    boundary: the trampoline keeps it and aborts (simulate) or stops (progress) the run,
 *    and generate() rethrows it once ume_generate returned. generate_prepare() and
 *    generate_finish() for runs split into parts.
 *
 *   umedata::Simulator sim("ar1", "1.0.0", 200, 40);      // name = world id, version, T, H
 *   sim.param("rho", 0.0, 0.95, 0.5).param("sigma", 0.1, 1.0, 0.5).shock("eps", 1.0).obs("y");
 *   umedata::GenSummary s = umedata::generate("runs/ar1.zarr", sim,
 *       umedata::GenConfig().seed(7).samples(10000).threads(8),
 *       [](std::uint64_t i, const double *theta, umedata::RngRef rng, double *traj,
 *          double *irfs, double *shocks) -> int {        // called from 8 threads at once
 *         rng.fill_normal(shocks, 200);                  // the sample's own ChaCha20 stream
 *         ...                                            // fill traj, irfs (row-major)
 *         return 0;                                      // > 0 rejects theta (redrawn)
 *       });
 */
#ifndef UMEDATA_HPP
#define UMEDATA_HPP

#include <cstddef>
#include <cstdint>
#include <atomic>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__has_include)
#if __has_include(<version>)
#include <version>
#endif
#endif
#if defined(__cpp_lib_span) && __cpp_lib_span >= 202002L
#include <span>
#define UMEDATA_HPP_HAS_SPAN 1
#else
#define UMEDATA_HPP_HAS_SPAN 0
#endif

#include "umedata.h"

namespace umedata {

/// Memory order of the per-sample buffers.
enum class Layout : std::uint32_t {
  C = UME_LAYOUT_C,  ///< row-major: traj[t][o] at t * n_obs + o
  F = UME_LAYOUT_F,  ///< column-major: Fortran traj(T, n_obs), Eigen's default, ...
};

/// Compression codecs (ume_writer_config_set_codec).
enum class Codec : std::uint32_t {
  BloscLz4 = UME_CODEC_BLOSC_LZ4,    ///< the default
  BloscZstd = UME_CODEC_BLOSC_ZSTD,
  Zstd = UME_CODEC_ZSTD,
  None = UME_CODEC_NONE,
};

/// How the generation engine draws theta (GenConfig::design); a table is set with
/// GenConfig::theta_table.
enum class Design : std::uint32_t {
  Uniform = UME_DESIGN_UNIFORM,  ///< uniform within the bounds, per sample's stream (default)
  Sobol = UME_DESIGN_SOBOL,      ///< point i of an Owen-scrambled Sobol sequence for sample i
};

/// A failed umedata call: the status and the library's message.
class Error : public std::runtime_error {
 public:
  Error(ume_status status, const std::string &message)
      : std::runtime_error(message), status_(status) {}
  /// The ume_status of the failing call (never UME_OK).
  ume_status status() const noexcept { return status_; }
  /// ume_status_string(status()): "length mismatch", ...
  const char *status_string() const noexcept {
    return ume_status_string(static_cast<std::uint32_t>(status_));
  }

 private:
  ume_status status_;
};

namespace detail {
/// Throws Error if st is not UME_OK; the message is copied from this thread's
/// ume_last_error_message() right away, before any other umedata call.
inline void check(ume_status st) {
  if (st != UME_OK) throw Error(st, std::string(ume_last_error_message()));
}

template <typename V>
struct ConstView {
  const V *data;
  std::size_t size;
};
template <typename V>
struct MutView {
  V *data;
  std::size_t size;
};

inline ume_status write_raw(ume_writer *w, std::uint64_t i, Layout l, ConstView<double> th,
                            ConstView<double> tr, ConstView<double> ir, ConstView<double> sh) {
  return ume_writer_write_sample_f64(w, i, static_cast<std::uint32_t>(l), th.data, th.size,
                                     tr.data, tr.size, ir.data, ir.size, sh.data, sh.size);
}
inline ume_status write_raw(ume_writer *w, std::uint64_t i, Layout l, ConstView<float> th,
                            ConstView<float> tr, ConstView<float> ir, ConstView<float> sh) {
  return ume_writer_write_sample_f32(w, i, static_cast<std::uint32_t>(l), th.data, th.size,
                                     tr.data, tr.size, ir.data, ir.size, sh.data, sh.size);
}
inline ume_status read_raw(const ume_reader *r, std::uint64_t start, std::uint64_t count,
                           Layout l, MutView<double> th, MutView<double> tr,
                           MutView<double> ir, MutView<double> sh) {
  return ume_reader_read_f64(r, start, count, static_cast<std::uint32_t>(l), th.data, th.size,
                             tr.data, tr.size, ir.data, ir.size, sh.data, sh.size);
}
inline ume_status read_raw(const ume_reader *r, std::uint64_t start, std::uint64_t count,
                           Layout l, MutView<float> th, MutView<float> tr, MutView<float> ir,
                           MutView<float> sh) {
  return ume_reader_read_f32(r, start, count, static_cast<std::uint32_t>(l), th.data, th.size,
                             tr.data, tr.size, ir.data, ir.size, sh.data, sh.size);
}
inline ume_status read_ids_raw(const ume_reader *r, const std::uint64_t *ids, std::size_t n,
                               Layout l, MutView<double> th, MutView<double> tr,
                               MutView<double> ir, MutView<double> sh, std::uint32_t threads) {
  return ume_reader_read_ids_f64(r, ids, n, static_cast<std::uint32_t>(l), th.data, th.size,
                                 tr.data, tr.size, ir.data, ir.size, sh.data, sh.size, threads);
}
inline ume_status read_ids_raw(const ume_reader *r, const std::uint64_t *ids, std::size_t n,
                               Layout l, MutView<float> th, MutView<float> tr,
                               MutView<float> ir, MutView<float> sh, std::uint32_t threads) {
  return ume_reader_read_ids_f32(r, ids, n, static_cast<std::uint32_t>(l), th.data, th.size,
                                 tr.data, tr.size, ir.data, ir.size, sh.data, sh.size, threads);
}
}  // namespace detail

/// The library version ("MAJOR.MINOR.PATCH").
inline std::string version() { return std::string(ume_version()); }

namespace detail {
/// Parses "MAJOR.MINOR[.anything]" into major and minor; false if `v` is not of that form.
inline bool parse_version(const char *v, unsigned long &major, unsigned long &minor) {
  if (v == nullptr || *v < '0' || *v > '9') return false;
  char *end = nullptr;
  major = std::strtoul(v, &end, 10);
  if (*end != '.' || end[1] < '0' || end[1] > '9') return false;
  minor = std::strtoul(end + 1, &end, 10);
  return *end == '\0' || *end == '.';
}

/// True if a library of version `library` ("MAJOR.MINOR.PATCH") serves a program compiled
/// against header version header_major.header_minor: the same major, a minor at least the
/// header's (a minor version only adds; README, "ABI policy").
inline bool version_compatible(const char *library, unsigned long header_major,
                               unsigned long header_minor) {
  unsigned long major = 0, minor = 0;
  return parse_version(library, major, minor) && major == header_major && minor >= header_minor;
}

inline void check_version_now() {
  const char *lib = ume_version();
  if (!version_compatible(lib, UME_VERSION_MAJOR, UME_VERSION_MINOR))
    throw Error(UME_ERR_INVALID_ARGUMENT,
                std::string("umedata library version ") + (lib ? lib : "(null)") +
                    " does not serve the header umedata.h " UME_VERSION_STRING
                    " this program was compiled with (expected major " +
                    std::to_string(UME_VERSION_MAJOR) + " and minor >= " +
                    std::to_string(UME_VERSION_MINOR) + ")");
}
}  // namespace detail

/// Checks that the library loaded at run time serves the header this program was compiled
/// with: the same major version and a minor version at least UME_VERSION_MINOR. Throws
/// umedata::Error (UME_ERR_INVALID_ARGUMENT, both versions in the message) otherwise.
/// Config, Writer and Reader call it; the check runs once per process (thread-safe), a
/// failed check runs again (and throws again) at the next call.
inline void check_version() {
  static const bool checked = (detail::check_version_now(), true);
  (void)checked;
}

/// Writer options as the frozen by-value ume_writer_options struct (0.2's fields), kept for
/// source compatibility: Writer::create converts it to a Config. Options added after 0.2
/// (e.g. the claim lease) exist only on umedata::Config, which new code should use.
struct Options : ume_writer_options {
  Options() : ume_writer_options(ume_writer_options_default()) {}
};

/// Writer options: owns an opaque ume_writer_config handle (the ABI's growable options).
/// Starts at the defaults (those of ume_writer_options_default()); every setter calls the
/// C setter at once and throws umedata::Error on a bad value, leaving the config as it
/// was. Setters chain: `cfg.chunking(512, 64).overwrite().claim_lease(120)`, also on a
/// temporary: `Writer::create(path, world, Config().chunking(512))`.
/// Move-only (the C API has no copy); a moved-from Config holds no handle and every use
/// of it throws UME_ERR_NULL_ARGUMENT. Writers copy the config: it may be changed or
/// destroyed right after Writer::create / open. Not thread-safe while being changed; a
/// Config no thread changes may be passed to any number of creates at once.
class Config {
 public:
  /// ume_writer_config_new: the defaults. Checks the library version first.
  Config() {
    check_version();
    detail::check(ume_writer_config_new(&h_));
  }
  /// The options of the frozen struct, field by field through the setters (each field is
  /// checked as its setter checks it).
  explicit Config(const ume_writer_options &o) : Config() {
    codec(o.codec, o.clevel);
    chunking(o.chunk_samples, o.inner_chunk_samples);
    threads(o.n_threads, o.max_open_chunks);
    flag_raw(UME_CONFIG_OVERWRITE, o.overwrite);
    flag_raw(UME_CONFIG_ALLOW_NONFINITE, o.allow_nonfinite);
    flag_raw(UME_CONFIG_CHECKSUM, o.checksum);
    flag_raw(UME_CONFIG_FSYNC, o.fsync);
    flag_raw(UME_CONFIG_REWRITE, o.rewrite);
    zarr_format(o.zarr_format);
  }

  Config(const Config &) = delete;
  Config &operator=(const Config &) = delete;
  Config(Config &&other) noexcept : h_(std::exchange(other.h_, nullptr)) {}
  Config &operator=(Config &&other) noexcept {
    if (this != &other) {
      ume_writer_config_free(h_);
      h_ = std::exchange(other.h_, nullptr);
    }
    return *this;
  }
  ~Config() { ume_writer_config_free(h_); }

  /// Compression: a UME_CODEC_* value and its level (-1 = the codec's default; blosc
  /// 0..=9, zstd -7..=22).
  Config &codec(std::uint32_t codec, int clevel = -1) & {
    detail::check(ume_writer_config_set_codec(h_, codec, clevel));
    return *this;
  }
  Config &codec(Codec c, int clevel = -1) & { return codec(static_cast<std::uint32_t>(c), clevel); }
  /// Samples per chunk (0 = about 1 MiB of trajectories) and per inner chunk of a Zarr v3
  /// shard (0 = about 64 KiB; equal to chunk_samples = no sharding; else a divisor of it).
  Config &chunking(std::uint64_t chunk_samples, std::uint64_t inner_chunk_samples = 0) & {
    detail::check(ume_writer_config_set_chunking(h_, chunk_samples, inner_chunk_samples));
    return *this;
  }
  /// Compression threads (0 = one per core) and partially filled chunks kept in memory
  /// (0 = about 8 MiB worth).
  Config &threads(std::uint32_t n_threads, std::uint32_t max_open_chunks = 0) & {
    detail::check(ume_writer_config_set_threads(h_, n_threads, max_open_chunks));
    return *this;
  }
  /// Turns the on/off option `option` (a UME_CONFIG_* constant) on or off.
  Config &flag(std::uint32_t option, bool on = true) & { return flag_raw(option, on ? 1 : 0); }
  /// Replace an existing world of the same id (default off).
  Config &overwrite(bool on = true) & { return flag(UME_CONFIG_OVERWRITE, on); }
  /// Store NaN and infinities instead of rejecting them (default off).
  Config &allow_nonfinite(bool on = true) & { return flag(UME_CONFIG_ALLOW_NONFINITE, on); }
  /// A crc32c checksum on every (inner) chunk (default on).
  Config &checksum(bool on = true) & { return flag(UME_CONFIG_CHECKSUM, on); }
  /// fsync every chunk before the `written` mask claims it (default on).
  Config &fsync(bool on = true) & { return flag(UME_CONFIG_FSYNC, on); }
  /// Writing a sample already stored replaces it (default off).
  Config &rewrite(bool on = true) & { return flag(UME_CONFIG_REWRITE, on); }
  /// Zarr format of a new world: 3 (default) or 2.
  Config &zarr_format(std::uint32_t format) & {
    detail::check(ume_writer_config_set_zarr_format(h_, format));
    return *this;
  }
  /// Lease of the writer's hold and claims in seconds, 3..=31536000 (0 = the environment
  /// variable UME_CLAIM_LEASE_SECONDS, else 600).
  Config &claim_lease(std::uint64_t seconds) & {
    detail::check(ume_writer_config_set_claim_lease(h_, seconds));
    return *this;
  }

  // The same setters on a temporary (Config().chunking(512).overwrite()), so that
  // `Config c = Config().chunking(512);` moves instead of failing to copy.
  Config &&codec(std::uint32_t c, int clevel = -1) && { return std::move(codec(c, clevel)); }
  Config &&codec(Codec c, int clevel = -1) && { return std::move(codec(c, clevel)); }
  Config &&chunking(std::uint64_t c, std::uint64_t inner = 0) && {
    return std::move(chunking(c, inner));
  }
  Config &&threads(std::uint32_t n, std::uint32_t max_open = 0) && {
    return std::move(threads(n, max_open));
  }
  Config &&flag(std::uint32_t option, bool on = true) && { return std::move(flag(option, on)); }
  Config &&overwrite(bool on = true) && { return std::move(overwrite(on)); }
  Config &&allow_nonfinite(bool on = true) && { return std::move(allow_nonfinite(on)); }
  Config &&checksum(bool on = true) && { return std::move(checksum(on)); }
  Config &&fsync(bool on = true) && { return std::move(fsync(on)); }
  Config &&rewrite(bool on = true) && { return std::move(rewrite(on)); }
  Config &&zarr_format(std::uint32_t f) && { return std::move(zarr_format(f)); }
  Config &&claim_lease(std::uint64_t s) && { return std::move(claim_lease(s)); }

  /// The C handle (still owned by this Config); NULL after a move.
  const ume_writer_config *get() const noexcept { return h_; }
  /// The handle for a C call; throws UME_ERR_NULL_ARGUMENT for a moved-from Config
  /// (passing NULL to C would silently mean "the defaults").
  const ume_writer_config *checked() const {
    if (h_ == nullptr)
      throw Error(UME_ERR_NULL_ARGUMENT,
                  "umedata::Config: this Config was moved from and holds no ume_writer_config");
    return h_;
  }

 private:
  Config &flag_raw(std::uint32_t option, std::uint8_t on) {
    detail::check(ume_writer_config_set_flag(h_, option, on));
    return *this;
  }
  ume_writer_config *h_ = nullptr;
};

/// Dimensions of a world (what a Reader reports).
using Shape = ume_world_shape;
/// What Writer::finalize() stored.
using Summary = ume_summary;

/// What a simulator produces per sample (ume_world_desc with owned strings). Empty name
/// lists mean the library's defaults "p0", "s0", "y0", ...
struct World {
  std::string world_id;
  std::uint64_t n_samples = 0;
  std::uint32_t T = 0, H = 0, n_params = 0, n_shocks = 0, n_obs = 0;
  std::vector<std::string> param_names, shock_names, obs_names;

  World() = default;
  World(std::string id, std::uint64_t n, std::uint32_t T_, std::uint32_t H_,
        std::uint32_t n_params_, std::uint32_t n_shocks_, std::uint32_t n_obs_)
      : world_id(std::move(id)), n_samples(n), T(T_), H(H_), n_params(n_params_),
        n_shocks(n_shocks_), n_obs(n_obs_) {}

  /// Per-sample element counts of the four arrays.
  std::size_t theta_len() const { return n_params; }
  std::size_t trajectories_len() const { return std::size_t(T) * n_obs; }
  std::size_t irfs_len() const { return std::size_t(n_shocks) * (std::size_t(H) + 1) * n_obs; }
  std::size_t shocks_len() const { return std::size_t(T) * n_shocks; }
};

namespace detail {
/// The name pointers of one list, checked: empty (the defaults) or exactly `n` names, none
/// with an embedded NUL (C would read `n` pointers past a short list, and cut a name at
/// its first NUL).
inline std::vector<const char *> c_names(const std::string &world_id, const char *field,
                                         const char *count_field, std::uint32_t n,
                                         const std::vector<std::string> &names) {
  std::vector<const char *> out;
  if (names.empty()) return out;
  if (names.size() != n)
    throw Error(UME_ERR_LENGTH_MISMATCH, "umedata::World '" + world_id + "': " + field +
                                             " has " + std::to_string(names.size()) +
                                             " names, expected " + count_field + " = " +
                                             std::to_string(n) + " (or none for the defaults)");
  out.reserve(names.size());
  for (std::size_t k = 0; k < names.size(); k++) {
    if (names[k].find('\0') != std::string::npos)
      throw Error(UME_ERR_INVALID_ARGUMENT, "umedata::World '" + world_id + "': " + field +
                                                "[" + std::to_string(k) +
                                                "] contains a NUL character, expected a "
                                                "name without NUL");
    out.push_back(names[k].c_str());
  }
  return out;
}

/// A ume_world_desc pointing into a World (valid while the World lives and is unchanged).
class WorldDesc {
 public:
  explicit WorldDesc(const World &w)
      : params_(c_names(w.world_id, "param_names", "n_params", w.n_params, w.param_names)),
        shocks_(c_names(w.world_id, "shock_names", "n_shocks", w.n_shocks, w.shock_names)),
        obs_(c_names(w.world_id, "obs_names", "n_obs", w.n_obs, w.obs_names)) {
    if (w.world_id.find('\0') != std::string::npos)
      throw Error(UME_ERR_INVALID_ARGUMENT,
                  "umedata::World: world_id contains a NUL character, expected a name "
                  "without NUL");
    desc_.world_id = w.world_id.c_str();
    desc_.n_samples = w.n_samples;
    desc_.T = w.T;
    desc_.H = w.H;
    desc_.n_params = w.n_params;
    desc_.n_shocks = w.n_shocks;
    desc_.n_obs = w.n_obs;
    desc_.param_names = params_.empty() ? nullptr : params_.data();
    desc_.shock_names = shocks_.empty() ? nullptr : shocks_.data();
    desc_.obs_names = obs_.empty() ? nullptr : obs_.data();
  }
  WorldDesc(const WorldDesc &) = delete;
  WorldDesc &operator=(const WorldDesc &) = delete;
  const ume_world_desc *get() const noexcept { return &desc_; }

 private:
  std::vector<const char *> params_, shocks_, obs_;
  ume_world_desc desc_{};
};
}  // namespace detail

class Manifest;

/// A writer for one dataset world; owns a ume_writer handle.
class Writer {
 public:
  /// An empty writer (no handle); assign a Writer::create(...) result to it.
  Writer() noexcept = default;

  /// ume_writer_create_with_config: creates world.world_id in the dataset directory `path`
  /// with the options of `config` (copied; the defaults if omitted).
  static Writer create(const std::string &path, const World &world,
                       const Config &config = Config()) {
    check_version();
    const detail::WorldDesc desc(world);
    ume_writer *h = nullptr;
    detail::check(
        ume_writer_create_with_config(path.c_str(), desc.get(), config.checked(), &h));
    return Writer(h);
  }
  /// The same with the frozen by-value options (source compatibility; converted to a
  /// Config, so a bad field throws from its setter, e.g. ume_writer_config_set_codec).
  static Writer create(const std::string &path, const World &world, const Options &options) {
    return create(path, world, Config(options));
  }

  /// ume_writer_open_with_config: reopens world `world_id` of the dataset at `path` to write
  /// the samples it lacks (resume). Only threads, max_open_chunks, allow_nonfinite, rewrite,
  /// fsync and the claim lease of `config` apply to a world that exists.
  static Writer open(const std::string &path, const std::string &world_id,
                     const Config &config = Config()) {
    check_version();
    ume_writer *h = nullptr;
    detail::check(
        ume_writer_open_with_config(path.c_str(), world_id.c_str(), config.checked(), &h));
    return Writer(h);
  }

  /// ume_writer_open_range_with_config: samples [start, start + count) of an existing world
  /// for this process only (MPI ranks, Slurm array tasks); chunk-aligned.
  static Writer open_range(const std::string &path, const std::string &world_id,
                           std::uint64_t start, std::uint64_t count,
                           const Config &config = Config()) {
    check_version();
    ume_writer *h = nullptr;
    detail::check(ume_writer_open_range_with_config(path.c_str(), world_id.c_str(), start, count,
                                                    config.checked(), &h));
    return Writer(h);
  }

  Writer(const Writer &) = delete;
  Writer &operator=(const Writer &) = delete;
  Writer(Writer &&other) noexcept : h_(std::exchange(other.h_, nullptr)) {}
  Writer &operator=(Writer &&other) noexcept {
    if (this != &other) {
      ume_writer_free(h_);
      h_ = std::exchange(other.h_, nullptr);
    }
    return *this;
  }
  /// ume_writer_free: stores what is still buffered (errors are lost; see finalize()).
  ~Writer() { ume_writer_free(h_); }

  /// Sample i from raw pointers and element counts (float or double).
  template <typename V>
  void write_sample(std::uint64_t i, const V *theta, std::size_t theta_len, const V *traj,
                    std::size_t traj_len, const V *irfs, std::size_t irfs_len, const V *shocks,
                    std::size_t shocks_len, Layout layout = Layout::C) {
    static_assert(std::is_same_v<V, double> || std::is_same_v<V, float>,
                  "umedata writes float or double buffers");
    detail::check(detail::write_raw(h_, i, layout, {theta, theta_len}, {traj, traj_len},
                                    {irfs, irfs_len}, {shocks, shocks_len}));
  }
  /// Sample i from std::vector<double> or std::vector<float>.
  template <typename V>
  void write_sample(std::uint64_t i, const std::vector<V> &theta, const std::vector<V> &traj,
                    const std::vector<V> &irfs, const std::vector<V> &shocks,
                    Layout layout = Layout::C) {
    write_sample(i, theta.data(), theta.size(), traj.data(), traj.size(), irfs.data(),
                 irfs.size(), shocks.data(), shocks.size(), layout);
  }
#if UMEDATA_HPP_HAS_SPAN
  /// Sample i from spans (C++20), e.g. views into an Eigen matrix or a larger buffer.
  void write_sample(std::uint64_t i, std::span<const double> theta, std::span<const double> traj,
                    std::span<const double> irfs, std::span<const double> shocks,
                    Layout layout = Layout::C) {
    write_sample(i, theta.data(), theta.size(), traj.data(), traj.size(), irfs.data(),
                 irfs.size(), shocks.data(), shocks.size(), layout);
  }
  void write_sample(std::uint64_t i, std::span<const float> theta, std::span<const float> traj,
                    std::span<const float> irfs, std::span<const float> shocks,
                    Layout layout = Layout::C) {
    write_sample(i, theta.data(), theta.size(), traj.data(), traj.size(), irfs.data(),
                 irfs.size(), shocks.data(), shocks.size(), layout);
  }
#endif

  /// ume_writer_finalize: stores everything buffered and returns the summary. Call once,
  /// when no other thread writes. The handle is still owned (and freed by the destructor).
  Summary finalize() {
    Summary s{};
    detail::check(ume_writer_finalize(h_, &s));
    return s;
  }

  /// ume_writer_finalize_with_manifest: checks `manifest` first (on an invalid one this
  /// throws UME_ERR_INVALID_ARGUMENT and the writer stays open: fix it and call again),
  /// then finalizes, records this world with its samples written in `manifest` and saves
  /// `<dataset>/manifest.json` atomically. Defined after umedata::Manifest.
  Summary finalize(Manifest &manifest);

  /// The C handle (still owned by this Writer), e.g. to hand to C code.
  ume_writer *get() const noexcept { return h_; }
  /// Gives up ownership: the caller must ume_writer_free() the returned handle.
  ume_writer *release() noexcept { return std::exchange(h_, nullptr); }
  explicit operator bool() const noexcept { return h_ != nullptr; }

 private:
  explicit Writer(ume_writer *h) noexcept : h_(h) {}
  ume_writer *h_ = nullptr;
};

/// A dataset world opened for reading; owns a ume_reader handle.
class Reader {
 public:
  Reader() noexcept = default;

  /// ume_reader_open: world `world_id` of the dataset at `path`.
  static Reader open(const std::string &path, const std::string &world_id) {
    check_version();
    ume_reader *h = nullptr;
    detail::check(ume_reader_open(path.c_str(), world_id.c_str(), &h));
    return Reader(h);
  }

  Reader(const Reader &) = delete;
  Reader &operator=(const Reader &) = delete;
  Reader(Reader &&other) noexcept : h_(std::exchange(other.h_, nullptr)) {}
  Reader &operator=(Reader &&other) noexcept {
    if (this != &other) {
      ume_reader_free(h_);
      h_ = std::exchange(other.h_, nullptr);
    }
    return *this;
  }
  ~Reader() { ume_reader_free(h_); }

  Shape shape() const {
    Shape s{};
    detail::check(ume_reader_shape(h_, &s));
    return s;
  }
  std::uint64_t samples_written() const {
    std::uint64_t n = 0;
    detail::check(ume_reader_samples_written(h_, &n));
    return n;
  }
  bool is_written(std::uint64_t i) const {
    std::uint8_t w = 0;
    detail::check(ume_reader_is_written(h_, i, &w));
    return w != 0;
  }
  /// ume_reader_set_threads: how many threads a range read decodes on (0 = automatic:
  /// one per core for reads of more than about 1 MB, the calling thread for one sample;
  /// 1 = the calling thread only). Safe while other threads read.
  void set_threads(std::uint32_t n) const { detail::check(ume_reader_set_threads(h_, n)); }
  /// ume_reader_threads: the count set by set_threads (0 = automatic, the default).
  std::uint32_t threads() const {
    std::uint32_t n = 0;
    detail::check(ume_reader_threads(h_, &n));
    return n;
  }

  /// Samples [start, start + count) into raw buffers (float or double); a buffer may be
  /// nullptr with length 0 to skip that array.
  template <typename V>
  void read(std::uint64_t start, std::uint64_t count, V *theta, std::size_t theta_len, V *traj,
            std::size_t traj_len, V *irfs, std::size_t irfs_len, V *shocks,
            std::size_t shocks_len, Layout layout = Layout::C) const {
    static_assert(std::is_same_v<V, double> || std::is_same_v<V, float>,
                  "umedata reads into float or double buffers");
    detail::check(detail::read_raw(h_, start, count, layout, {theta, theta_len},
                                   {traj, traj_len}, {irfs, irfs_len}, {shocks, shocks_len}));
  }
  /// Samples [start, start + count) into vectors, resized to fit (count blocks each).
  template <typename V>
  void read(std::uint64_t start, std::uint64_t count, std::vector<V> &theta,
            std::vector<V> &traj, std::vector<V> &irfs, std::vector<V> &shocks,
            Layout layout = Layout::C) const {
    const Shape s = shape();
    const std::size_t c = static_cast<std::size_t>(count);
    theta.resize(c * s.n_params);
    traj.resize(c * s.T * s.n_obs);
    irfs.resize(c * s.n_shocks * (std::size_t(s.H) + 1) * s.n_obs);
    shocks.resize(c * s.T * s.n_shocks);
    read(start, count, theta.data(), theta.size(), traj.data(), traj.size(), irfs.data(),
         irfs.size(), shocks.data(), shocks.size(), layout);
  }
  /// ume_reader_read_ids_*: the samples `ids` (any order, repeats allowed: a shuffled
  /// mini-batch) into raw buffers, block j holding sample ids[j]; each inner chunk is
  /// decoded once, on up to `n_threads` threads (0 = automatic). A buffer may be nullptr
  /// with length 0 to skip that array.
  template <typename V>
  void read_ids(const std::uint64_t *ids, std::size_t n_ids, V *theta, std::size_t theta_len,
                V *traj, std::size_t traj_len, V *irfs, std::size_t irfs_len, V *shocks,
                std::size_t shocks_len, Layout layout = Layout::C,
                std::uint32_t n_threads = 0) const {
    static_assert(std::is_same_v<V, double> || std::is_same_v<V, float>,
                  "umedata reads into float or double buffers");
    detail::check(detail::read_ids_raw(h_, ids, n_ids, layout, {theta, theta_len},
                                       {traj, traj_len}, {irfs, irfs_len}, {shocks, shocks_len},
                                       n_threads));
  }
  /// The samples `ids` into vectors, resized to fit (ids.size() blocks each).
  template <typename V>
  void read_ids(const std::vector<std::uint64_t> &ids, std::vector<V> &theta,
                std::vector<V> &traj, std::vector<V> &irfs, std::vector<V> &shocks,
                Layout layout = Layout::C, std::uint32_t n_threads = 0) const {
    const Shape s = shape();
    const std::size_t c = ids.size();
    theta.resize(c * s.n_params);
    traj.resize(c * s.T * s.n_obs);
    irfs.resize(c * s.n_shocks * (std::size_t(s.H) + 1) * s.n_obs);
    shocks.resize(c * s.T * s.n_shocks);
    read_ids(ids.data(), c, theta.data(), theta.size(), traj.data(), traj.size(), irfs.data(),
             irfs.size(), shocks.data(), shocks.size(), layout, n_threads);
  }
#if UMEDATA_HPP_HAS_SPAN
  /// Samples [start, start + count) into spans of exactly the right sizes (C++20).
  void read(std::uint64_t start, std::uint64_t count, std::span<double> theta,
            std::span<double> traj, std::span<double> irfs, std::span<double> shocks,
            Layout layout = Layout::C) const {
    read(start, count, theta.data(), theta.size(), traj.data(), traj.size(), irfs.data(),
         irfs.size(), shocks.data(), shocks.size(), layout);
  }
  void read(std::uint64_t start, std::uint64_t count, std::span<float> theta,
            std::span<float> traj, std::span<float> irfs, std::span<float> shocks,
            Layout layout = Layout::C) const {
    read(start, count, theta.data(), theta.size(), traj.data(), traj.size(), irfs.data(),
         irfs.size(), shocks.data(), shocks.size(), layout);
  }
#endif

  const ume_reader *get() const noexcept { return h_; }
  ume_reader *release() noexcept { return std::exchange(h_, nullptr); }
  explicit operator bool() const noexcept { return h_ != nullptr; }

 private:
  explicit Reader(ume_reader *h) noexcept : h_(h) {}
  ume_reader *h_ = nullptr;
};


// ---- strings owned by the library ----------------------------------------------------

namespace detail {
/// Copies a string the library allocated (ume_manifest_to_json, ume_splits_to_json,
/// ume_dataset_validate) and releases it with ume_string_free, also when copying throws.
inline std::string take_string(char *s) {
  std::unique_ptr<char, void (*)(char *)> owned(s, ume_string_free);
  return owned ? std::string(owned.get()) : std::string();
}
}  // namespace detail

// ---- seeds and random numbers -----------------------------------------------------------

/// How a sample's seed derives from the global seed (UME_SEED_*; recorded in manifests).
enum class SeedDerivation : std::uint32_t {
  Add = UME_SEED_ADD,                ///< global_seed + sample_index
  SplitMix64 = UME_SEED_SPLITMIX64,  ///< splitmix64 of the two
  ChaCha20 = UME_SEED_CHACHA20,      ///< one ChaCha20 stream per sample (umedata::Rng); no integer seed
};

/// ume_sample_seed: the integer seed of sample `sample_index` (0-based) under `derivation`.
/// Throws umedata::Error (UME_ERR_INVALID_ARGUMENT) for SeedDerivation::ChaCha20, which has
/// no integer seed (use umedata::Rng). Thread-safe.
inline std::uint64_t sample_seed(std::uint64_t global_seed, std::uint64_t sample_index,
                                 SeedDerivation derivation = SeedDerivation::SplitMix64) {
  std::uint64_t out = 0;
  detail::check(ume_sample_seed(global_seed, sample_index,
                                static_cast<std::uint32_t>(derivation), &out));
  return out;
}

/// ume_seed_derivation_name: the name of `derivation` in manifests ("" if unknown).
inline std::string seed_derivation_name(SeedDerivation derivation) {
  return std::string(ume_seed_derivation_name(static_cast<std::uint32_t>(derivation)));
}

/// A non-owning view of a ume_rng: the generator the engine hands to a simulate callback
/// (valid only during that call), or an umedata::Rng's (valid while the Rng lives). Not
/// thread-safe: one generator per thread. Every draw throws umedata::Error on failure (a
/// NULL view: UME_ERR_NULL_ARGUMENT).
class RngRef {
 public:
  explicit RngRef(ume_rng *rng) noexcept : r_(rng) {}
  /// The next raw 64-bit output.
  std::uint64_t next_u64() {
    std::uint64_t v = 0;
    detail::check(ume_rng_next_u64(r_, &v));
    return v;
  }
  /// The next uniform draw in [0, 1).
  double uniform() {
    double v = 0;
    detail::check(ume_rng_uniform(r_, &v));
    return v;
  }
  /// The next standard normal draw.
  double normal() {
    double v = 0;
    detail::check(ume_rng_normal(r_, &v));
    return v;
  }
  /// buf[0, n) with uniforms (the same values as n calls of uniform()).
  void fill_uniform(double *buf, std::size_t n) { detail::check(ume_rng_fill_uniform(r_, buf, n)); }
  /// buf[0, n) with standard normals (the same values as n calls of normal()).
  void fill_normal(double *buf, std::size_t n) { detail::check(ume_rng_fill_normal(r_, buf, n)); }
  void fill_uniform(std::vector<double> &buf) { fill_uniform(buf.data(), buf.size()); }
  void fill_normal(std::vector<double> &buf) { fill_normal(buf.data(), buf.size()); }
  /// The C handle (not owned by the view).
  ume_rng *get() const noexcept { return r_; }
  explicit operator bool() const noexcept { return r_ != nullptr; }

 protected:
  ume_rng *r_ = nullptr;
};

/// The ChaCha20 stream of sample `sample_index` (0-based) under `global_seed`
/// (ume_rng_new): the same numbers on every machine, the same the engine gives sample
/// `sample_index`'s theta draws and simulate callback. Owns its handle (ume_rng_free in the
/// destructor), move-only; a moved-from Rng throws UME_ERR_NULL_ARGUMENT on use. A RngRef
/// copied from it is valid while it lives. Not thread-safe: one generator per thread.
class Rng : public RngRef {
 public:
  Rng(std::uint64_t global_seed, std::uint64_t sample_index) : RngRef(nullptr) {
    check_version();
    detail::check(ume_rng_new(global_seed, sample_index, &r_));
  }
  Rng(const Rng &) = delete;
  Rng &operator=(const Rng &) = delete;
  Rng(Rng &&other) noexcept : RngRef(std::exchange(other.r_, nullptr)) {}
  Rng &operator=(Rng &&other) noexcept {
    if (this != &other) {
      ume_rng_free(r_);
      r_ = std::exchange(other.r_, nullptr);
    }
    return *this;
  }
  ~Rng() { ume_rng_free(r_); }
  /// Gives up ownership: the caller must ume_rng_free() the returned handle.
  ume_rng *release() noexcept { return std::exchange(r_, nullptr); }
};

// ---- splits ---------------------------------------------------------------------------

/// Split codes of a sample (UME_SPLIT_*).
enum class SplitCode : std::uint8_t {
  Train = UME_SPLIT_TRAIN,
  Val = UME_SPLIT_VAL,
  Test = UME_SPLIT_TEST,
  OodSlice = UME_SPLIT_OOD_SLICE,
  OodCorner = UME_SPLIT_OOD_CORNER,
  OodInterpolation = UME_SPLIT_OOD_INTERPOLATION,
  NotWritten = UME_SPLIT_NOT_WRITTEN,  ///< the sample was never stored
};

/// The split of one world (owns a ume_splits): one code per sample plus its record (rule,
/// counts, SHA-256). Move-only; read-only after creation, so the query functions may be
/// called from many threads at once. A moved-from Splits throws UME_ERR_NULL_ARGUMENT.
class Splits {
 public:
  Splits() noexcept = default;
  /// ume_splits_compute: the split of world `world_id` of `dataset` by `rule_json`
  /// ("umedata-splits-v1", see ume_splits in umedata.h). Nothing is stored: call store()
  /// and Manifest::set_splits().
  static Splits compute(const std::string &dataset, const std::string &world_id,
                        const std::string &rule_json) {
    check_version();
    ume_splits *h = nullptr;
    detail::check(ume_splits_compute(dataset.c_str(), world_id.c_str(), rule_json.c_str(), &h));
    return Splits(h);
  }
  /// ume_splits_load: the stored split of `world_id` with its record from the manifest
  /// (checked against each other: UME_ERR_FORMAT when they differ).
  static Splits load(const std::string &dataset, const std::string &world_id) {
    check_version();
    ume_splits *h = nullptr;
    detail::check(ume_splits_load(dataset.c_str(), world_id.c_str(), &h));
    return Splits(h);
  }
  Splits(const Splits &) = delete;
  Splits &operator=(const Splits &) = delete;
  Splits(Splits &&other) noexcept : h_(std::exchange(other.h_, nullptr)) {}
  Splits &operator=(Splits &&other) noexcept {
    if (this != &other) {
      ume_splits_free(h_);
      h_ = std::exchange(other.h_, nullptr);
    }
    return *this;
  }
  ~Splits() { ume_splits_free(h_); }

  /// ume_splits_store: stores the assignment as `<world_id>/split` of `dataset`.
  void store(const std::string &dataset) const {
    detail::check(ume_splits_store(h_, dataset.c_str()));
  }
  /// Number of samples (length of the assignment).
  std::uint64_t n_samples() const {
    std::uint64_t n = 0;
    detail::check(ume_splits_n_samples(h_, &n));
    return n;
  }
  /// The code of sample `i` (0-based; UME_ERR_OUT_OF_RANGE outside [0, n_samples())).
  SplitCode get(std::uint64_t i) const {
    std::uint8_t c = 0;
    detail::check(ume_splits_get(h_, i, &c));
    return static_cast<SplitCode>(c);
  }
  /// How many samples have `code`.
  std::uint64_t count(SplitCode code) const {
    std::uint64_t n = 0;
    detail::check(ume_splits_count(h_, static_cast<std::uint8_t>(code), &n));
    return n;
  }
  /// The 0-based indices of the samples with `code`, ascending.
  std::vector<std::uint64_t> indices(SplitCode code) const {
    std::size_t n = 0;
    detail::check(ume_splits_indices(h_, static_cast<std::uint8_t>(code), nullptr, 0, &n));
    std::vector<std::uint64_t> out(n);
    if (n == 0) return out;
    detail::check(
        ume_splits_indices(h_, static_cast<std::uint8_t>(code), out.data(), out.size(), &n));
    out.resize(n);
    return out;
  }
  /// The record (rule with resolved thresholds, counts, SHA-256) as JSON.
  std::string to_json() const {
    char *s = nullptr;
    detail::check(ume_splits_to_json(h_, &s));
    return detail::take_string(s);
  }

  const ume_splits *get() const noexcept { return h_; }
  ume_splits *release() noexcept { return std::exchange(h_, nullptr); }
  explicit operator bool() const noexcept { return h_ != nullptr; }

 private:
  explicit Splits(ume_splits *h) noexcept : h_(h) {}
  ume_splits *h_ = nullptr;
};

// ---- manifests ------------------------------------------------------------------------

/// A dataset manifest being built or loaded (owns a ume_manifest). Move-only. The C handle
/// serializes calls, so one Manifest may be used by several threads; moving or destroying
/// it while another thread uses it is not allowed. A moved-from Manifest throws
/// UME_ERR_NULL_ARGUMENT.
class Manifest {
 public:
  Manifest() noexcept = default;
  /// ume_manifest_new: dataset version `version` (semver, "1.0.0"), samples seeded from
  /// `global_seed` by `derivation`.
  Manifest(const std::string &version, std::uint64_t global_seed,
           SeedDerivation derivation = SeedDerivation::SplitMix64) {
    check_version();
    detail::check(ume_manifest_new(version.c_str(), global_seed,
                                   static_cast<std::uint32_t>(derivation), &h_));
  }
  /// ume_manifest_load: `<path>/manifest.json` (or `path` itself if it is a file),
  /// validated (UME_ERR_FORMAT lists each violation).
  static Manifest load(const std::string &path) {
    check_version();
    ume_manifest *h = nullptr;
    detail::check(ume_manifest_load(path.c_str(), &h));
    return Manifest(h);
  }
  Manifest(const Manifest &) = delete;
  Manifest &operator=(const Manifest &) = delete;
  Manifest(Manifest &&other) noexcept : h_(std::exchange(other.h_, nullptr)) {}
  Manifest &operator=(Manifest &&other) noexcept {
    if (this != &other) {
      ume_manifest_free(h_);
      h_ = std::exchange(other.h_, nullptr);
    }
    return *this;
  }
  ~Manifest() { ume_manifest_free(h_); }

  /// The run configuration as JSON text (an object); kept in the manifest if `store`.
  Manifest &set_config_json(const std::string &json, bool store = false) {
    detail::check(ume_manifest_set_config_json(h_, json.c_str(), store ? 1 : 0));
    return *this;
  }
  /// The git commit and dirty flag of the repository containing `repo_path`.
  Manifest &set_git(const std::string &repo_path) {
    detail::check(ume_manifest_set_git(h_, repo_path.c_str()));
    return *this;
  }
  /// Adds (or refreshes) the world of an open writer (call right after Writer::create).
  Manifest &add_world(const Writer &writer) {
    detail::check(ume_manifest_add_world_from_writer(h_, writer.get()));
    return *this;
  }
  /// Adds (or refreshes) the world of an open reader.
  Manifest &add_world(const Reader &reader) {
    detail::check(ume_manifest_add_world_from_reader(h_, reader.get()));
    return *this;
  }
  /// Adds (or refreshes) a world by description (names checked as Writer::create does).
  Manifest &add_world(const World &world, std::uint64_t chunk_samples, Codec codec,
                      std::uint64_t samples_written) {
    const detail::WorldDesc desc(world);
    detail::check(ume_manifest_add_world(h_, desc.get(), chunk_samples,
                                         static_cast<std::uint32_t>(codec), samples_written));
    return *this;
  }
  /// Units (n_params), bounds (2 * n_params: lo0, hi0, lo1, hi1, ...) and defaults
  /// (n_params) of world `world_id`; an empty vector leaves that part unchanged.
  /// Lengths are checked by the library (UME_ERR_LENGTH_MISMATCH names the argument).
  Manifest &set_parameters(const std::string &world_id, const std::vector<std::string> &units,
                           const std::vector<double> &bounds,
                           const std::vector<double> &defaults) {
    std::vector<const char *> u;
    u.reserve(units.size());
    for (std::size_t k = 0; k < units.size(); k++) {
      if (units[k].find('\0') != std::string::npos)
        throw Error(UME_ERR_INVALID_ARGUMENT, "umedata::Manifest::set_parameters: units[" +
                                                  std::to_string(k) +
                                                  "] contains a NUL character");
      u.push_back(units[k].c_str());
    }
    detail::check(ume_manifest_set_parameters(
        h_, world_id.c_str(), u.empty() ? nullptr : u.data(), u.size(),
        bounds.empty() ? nullptr : bounds.data(), bounds.size(),
        defaults.empty() ? nullptr : defaults.data(), defaults.size()));
    return *this;
  }
  /// Standard deviation of each shock of world `world_id` (n_shocks values, > 0).
  Manifest &set_shock_sigma(const std::string &world_id, const std::vector<double> &sigma) {
    detail::check(
        ume_manifest_set_shock_sigma(h_, world_id.c_str(), sigma.data(), sigma.size()));
    return *this;
  }
  /// The first `n_canonical` observables of `world_id` are canonical, the rest extra.
  Manifest &set_n_canonical_obs(const std::string &world_id, std::uint32_t n_canonical) {
    detail::check(ume_manifest_set_n_canonical_obs(h_, world_id.c_str(), n_canonical));
    return *this;
  }
  /// Records a split (its world must be in the manifest). Store it with Splits::store.
  Manifest &set_splits(const Splits &splits) {
    detail::check(ume_manifest_set_splits(h_, splits.get()));
    return *this;
  }
  /// ume_manifest_validate: throws UME_ERR_INVALID_ARGUMENT listing every violation.
  void validate() const { detail::check(ume_manifest_validate(h_)); }
  /// ume_manifest_save: validates and saves `<dataset>/manifest.json` atomically.
  void save(const std::string &dataset) const {
    detail::check(ume_manifest_save(h_, dataset.c_str()));
  }
  /// ume_manifest_check_dataset: throws UME_ERR_FORMAT listing every difference between
  /// the manifest and the dataset at `dataset`.
  void check_dataset(const std::string &dataset) const {
    detail::check(ume_manifest_check_dataset(h_, dataset.c_str()));
  }
  /// The manifest as pretty-printed JSON (not validated).
  std::string to_json() const {
    char *s = nullptr;
    detail::check(ume_manifest_to_json(h_, &s));
    return detail::take_string(s);
  }

  const ume_manifest *get() const noexcept { return h_; }
  ume_manifest *get() noexcept { return h_; }
  ume_manifest *release() noexcept { return std::exchange(h_, nullptr); }
  explicit operator bool() const noexcept { return h_ != nullptr; }

 private:
  explicit Manifest(ume_manifest *h) noexcept : h_(h) {}
  ume_manifest *h_ = nullptr;
};

inline Summary Writer::finalize(Manifest &manifest) {
  Summary s{};
  detail::check(ume_writer_finalize_with_manifest(h_, manifest.get(), &s));
  return s;
}

// ---- validation -----------------------------------------------------------------------

/// What validate() found: `passed` (no check failed) and the report as JSON
/// ({"dataset", "passed", "failed", "checks": [{"check", "status", "detail"}]}).
struct Validation {
  bool passed = false;
  std::string report_json;
};

/// ume_dataset_validate: checks the dataset at `path` as `umedata validate` does, with
/// `reproduce` written samples of built-in worlds re-simulated (chosen with
/// `reproduce_seed`) and `n_threads` reading threads (0 = one per core). An invalid
/// dataset is a report (passed == false), not an exception; umedata::Error only when the
/// checks could not run (UME_ERR_IO, ...). Thread-safe; only reads the dataset.
inline Validation validate(const std::string &path, std::uint64_t reproduce = 0,
                           std::uint64_t reproduce_seed = 0, std::uint32_t n_threads = 0) {
  check_version();
  char *report = nullptr;
  std::int32_t passed = 0;
  const ume_status st =
      ume_dataset_validate(path.c_str(), reproduce, reproduce_seed, n_threads, &report, &passed);
  Validation v;
  v.report_json = detail::take_string(report);  // freed before a throw, too
  detail::check(st);
  v.passed = passed == 1;
  return v;
}

// ---- the generation engine ------------------------------------------------------------

/// A simulator description (owns a ume_sim): name (the world id), version, T, H, then
/// parameters, shocks and observables in the order of theta, shocks and observables in the
/// arrays. Setters chain and throw umedata::Error at once on a bad value (the description
/// is then unchanged). Move-only; not thread-safe while being changed; generate() only
/// reads it. A moved-from Simulator throws UME_ERR_NULL_ARGUMENT.
class Simulator {
 public:
  Simulator() noexcept = default;
  Simulator(const std::string &name, const std::string &version, std::uint32_t T,
            std::uint32_t H)
      : T_(T), H_(H) {
    check_version();
    detail::check(ume_sim_new(name.c_str(), version.c_str(), T, H, &h_));
  }
  Simulator(const Simulator &) = delete;
  Simulator &operator=(const Simulator &) = delete;
  Simulator(Simulator &&o) noexcept
      : h_(std::exchange(o.h_, nullptr)), T_(o.T_), H_(o.H_), n_params_(o.n_params_),
        n_shocks_(o.n_shocks_), n_obs_(o.n_obs_) {}
  Simulator &operator=(Simulator &&o) noexcept {
    if (this != &o) {
      ume_sim_free(h_);
      h_ = std::exchange(o.h_, nullptr);
      T_ = o.T_;
      H_ = o.H_;
      n_params_ = o.n_params_;
      n_shocks_ = o.n_shocks_;
      n_obs_ = o.n_obs_;
    }
    return *this;
  }
  ~Simulator() { ume_sim_free(h_); }

  /// The next parameter (entry of theta): drawn uniformly in [lo, hi], default in
  /// [lo, hi], unit ("-" for dimensionless).
  Simulator &param(const std::string &name, double lo, double hi, double default_value,
                   const std::string &unit = "-") {
    detail::check(ume_sim_add_param(h_, name.c_str(), lo, hi, default_value, unit.c_str()));
    n_params_++;
    return *this;
  }
  /// The next shock, with standard deviation `sigma` (> 0).
  Simulator &shock(const std::string &name, double sigma) {
    detail::check(ume_sim_add_shock(h_, name.c_str(), sigma));
    n_shocks_++;
    return *this;
  }
  /// The next observable.
  Simulator &obs(const std::string &name) {
    detail::check(ume_sim_add_obs(h_, name.c_str()));
    n_obs_++;
    return *this;
  }
  /// Names rejection reason `code` (>= 1) for the manifest.
  Simulator &reject_reason(std::int32_t code, const std::string &name) {
    detail::check(ume_sim_set_reject_reason(h_, code, name.c_str()));
    return *this;
  }

  std::uint32_t T() const noexcept { return T_; }
  std::uint32_t H() const noexcept { return H_; }
  std::uint32_t n_params() const noexcept { return n_params_; }
  std::uint32_t n_shocks() const noexcept { return n_shocks_; }
  std::uint32_t n_obs() const noexcept { return n_obs_; }
  /// Element counts of the callback's buffers: traj (T x n_obs), irfs (n_shocks x (H+1)
  /// x n_obs), shocks (T x n_shocks), all row-major.
  std::size_t trajectories_len() const { return std::size_t(T_) * n_obs_; }
  std::size_t irfs_len() const { return std::size_t(n_shocks_) * (std::size_t(H_) + 1) * n_obs_; }
  std::size_t shocks_len() const { return std::size_t(T_) * n_shocks_; }

  const ume_sim *get() const noexcept { return h_; }
  explicit operator bool() const noexcept { return h_ != nullptr; }

 private:
  ume_sim *h_ = nullptr;
  std::uint32_t T_ = 0, H_ = 0, n_params_ = 0, n_shocks_ = 0, n_obs_ = 0;
};

/// How to generate (owns a ume_gen_config): starts at the defaults (seed 42, threads one
/// per core, uniform design, whole world, no resume, split 0.8/0.1/0.1, writer defaults,
/// max_attempts 1000); every setter checks at once and throws umedata::Error, leaving the
/// config unchanged. Setters chain, also on a temporary. Move-only; generate() copies what
/// it needs. Not thread-safe while being changed.
class GenConfig {
 public:
  GenConfig() {
    check_version();
    detail::check(ume_gen_config_new(&h_));
  }
  GenConfig(const GenConfig &) = delete;
  GenConfig &operator=(const GenConfig &) = delete;
  GenConfig(GenConfig &&o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  GenConfig &operator=(GenConfig &&o) noexcept {
    if (this != &o) {
      ume_gen_config_free(h_);
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  ~GenConfig() { ume_gen_config_free(h_); }

  /// Global seed: sample i draws from Rng(seed, i).
  GenConfig &seed(std::uint64_t s) & { return call(ume_gen_config_set_seed(h_, s)); }
  /// Samples of the world (0 = the dataset's, for resume, parts and finish).
  GenConfig &samples(std::uint64_t n) & { return call(ume_gen_config_set_samples(h_, n)); }
  /// Simulation threads (0 = one per core, at most 1024); the result does not depend on it.
  GenConfig &threads(std::uint32_t n) & { return call(ume_gen_config_set_threads(h_, n)); }
  /// Attempts per sample before the run fails naming the sample.
  GenConfig &max_attempts(std::uint32_t n) & {
    return call(ume_gen_config_set_max_attempts(h_, n));
  }
  /// Only samples [start, start + count) (chunk-aligned): one of many processes.
  GenConfig &part(std::uint64_t start, std::uint64_t count) & {
    return call(ume_gen_config_set_part(h_, start, count));
  }
  /// Continue an existing dataset made by the engine, simulating only what it lacks.
  GenConfig &resume(bool on = true) & { return call(ume_gen_config_set_resume(h_, on ? 1 : 0)); }
  /// Train/val/test fractions (summing to 1) and the seed of the assignment.
  GenConfig &split(double train, double val, double test, std::uint64_t split_seed) & {
    return call(ume_gen_config_set_split(h_, train, val, test, split_seed));
  }
  /// How theta is drawn: Design::Uniform (default) or Design::Sobol (replaces a table).
  GenConfig &design(Design d) & {
    return call(ume_gen_config_set_design(h_, static_cast<std::uint32_t>(d)));
  }
  /// Theta from a table (n_samples x n_params, row-major; copied); empty = uniform design.
  GenConfig &theta_table(const std::vector<double> &values) & {
    return call(ume_gen_config_set_theta_table(h_, values.empty() ? nullptr : values.data(),
                                               values.size()));
  }
  /// Storage options (codec, chunking, ...) from a writer Config (copied).
  GenConfig &writer_config(const Config &config) & {
    return call(ume_gen_config_set_writer_config(h_, config.checked()));
  }

  GenConfig &&seed(std::uint64_t s) && { return std::move(seed(s)); }
  GenConfig &&samples(std::uint64_t n) && { return std::move(samples(n)); }
  GenConfig &&threads(std::uint32_t n) && { return std::move(threads(n)); }
  GenConfig &&max_attempts(std::uint32_t n) && { return std::move(max_attempts(n)); }
  GenConfig &&part(std::uint64_t start, std::uint64_t count) && {
    return std::move(part(start, count));
  }
  GenConfig &&resume(bool on = true) && { return std::move(resume(on)); }
  GenConfig &&split(double tr, double va, double te, std::uint64_t s) && {
    return std::move(split(tr, va, te, s));
  }
  GenConfig &&design(Design d) && { return std::move(design(d)); }
  GenConfig &&theta_table(const std::vector<double> &v) && { return std::move(theta_table(v)); }
  GenConfig &&writer_config(const Config &c) && { return std::move(writer_config(c)); }

  const ume_gen_config *get() const noexcept { return h_; }

 private:
  GenConfig &call(ume_status st) {
    detail::check(st);
    return *this;
  }
  ume_gen_config *h_ = nullptr;
};

/// What one generate() call did (owns a ume_gen_summary). Move-only; read-only.
class GenSummary {
 public:
  GenSummary() noexcept = default;
  explicit GenSummary(ume_gen_summary *h) noexcept : h_(h) {}
  GenSummary(const GenSummary &) = delete;
  GenSummary &operator=(const GenSummary &) = delete;
  GenSummary(GenSummary &&o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  GenSummary &operator=(GenSummary &&o) noexcept {
    if (this != &o) {
      ume_gen_summary_free(h_);
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  ~GenSummary() { ume_gen_summary_free(h_); }

  /// Samples this call stored.
  std::uint64_t written() const { return get(UME_GEN_WRITTEN); }
  /// Samples already stored before this call (resume).
  std::uint64_t already() const { return get(UME_GEN_ALREADY); }
  /// Samples of the range still missing after this call.
  std::uint64_t missing() const { return get(UME_GEN_MISSING); }
  /// True if the progress callback stopped the run (resumable).
  bool stopped() const { return get(UME_GEN_STOPPED) != 0; }
  /// Samples the world holds now.
  std::uint64_t samples_written() const { return get(UME_GEN_SAMPLES_WRITTEN); }
  /// Rejected draws of this call, all reasons.
  std::uint64_t rejected() const { return get(UME_GEN_REJECTED); }
  /// Rejected draws of this call with reason `code`.
  std::uint64_t rejections(std::int32_t code) const {
    std::uint64_t v = 0;
    detail::check(ume_gen_summary_rejections(h_, code, &v));
    return v;
  }
  /// One number by its UME_GEN_* constant.
  std::uint64_t get(std::uint32_t what) const {
    std::uint64_t v = 0;
    detail::check(ume_gen_summary_get(h_, what, &v));
    return v;
  }
  const ume_gen_summary *handle() const noexcept { return h_; }

 private:
  ume_gen_summary *h_ = nullptr;
};

namespace detail {
/// The first exception a callback threw (from any of the engine's threads); the others
/// are dropped. Rethrown by generate() once the engine returned.
class CallbackError {
 public:
  void capture(std::exception_ptr e) noexcept {
    std::lock_guard<std::mutex> lock(m_);
    if (!e_) e_ = std::move(e);
    failed_.store(true, std::memory_order_release);
  }
  bool failed() const noexcept { return failed_.load(std::memory_order_acquire); }
  void rethrow_if_any() {
    std::lock_guard<std::mutex> lock(m_);
    if (e_) std::rethrow_exception(e_);
  }

 private:
  std::mutex m_;
  std::exception_ptr e_;
  std::atomic<bool> failed_{false};
};

template <typename Sim, typename Progress>
struct GenContext {
  Sim *simulate;
  Progress *progress;
  CallbackError error;
};

/// The ume_simulate_fn handed to ume_generate: calls the C++ callable; an exception
/// never crosses into C: it is kept and the trampoline returns -1 (abort the run).
template <typename Ctx>
std::int32_t simulate_trampoline(void *user, std::uint64_t sample, const double *theta,
                                 ume_rng *rng, double *traj, double *irfs,
                                 double *shocks) noexcept {
  Ctx *ctx = static_cast<Ctx *>(user);
  if (ctx->error.failed()) return -1;  // the run is aborting: do not call again
  try {
    return static_cast<std::int32_t>(
        (*ctx->simulate)(sample, theta, RngRef(rng), traj, irfs, shocks));
  } catch (...) {
    ctx->error.capture(std::current_exception());
    return -1;
  }
}

/// The ume_progress_fn: calls the C++ callable (true = stop); an exception stops the run
/// cleanly (resumable) and is rethrown by generate().
template <typename Ctx>
std::int32_t progress_trampoline(void *user, std::uint64_t done, std::uint64_t total,
                                 double rate) noexcept {
  Ctx *ctx = static_cast<Ctx *>(user);
  if (ctx->error.failed()) return 1;
  try {
    return (*ctx->progress)(done, total, rate) ? 1 : 0;
  } catch (...) {
    ctx->error.capture(std::current_exception());
    return 1;
  }
}

struct NoProgress {
  bool operator()(std::uint64_t, std::uint64_t, double) const noexcept { return false; }
};

template <typename Sim, typename Progress>
GenSummary generate_impl(const std::string &path, const Simulator &sim, const GenConfig &config,
                         Sim &simulate, Progress *progress) {
  static_assert(std::is_invocable_r_v<std::int32_t, Sim &, std::uint64_t, const double *, RngRef,
                                      double *, double *, double *>,
                "umedata::generate: the simulate callable must be callable as "
                "int(std::uint64_t sample, const double *theta, umedata::RngRef rng, "
                "double *traj, double *irfs, double *shocks)");
  check_version();
  using Ctx = GenContext<Sim, Progress>;
  Ctx ctx{&simulate, progress, {}};
  ume_gen_summary *s = nullptr;
  const ume_status st = ume_generate(
      path.c_str(), sim.get(), config.get(), &simulate_trampoline<Ctx>, &ctx,
      progress ? &progress_trampoline<Ctx> : nullptr, progress ? &ctx : nullptr, &s);
  GenSummary summary(s);  // owned from here on, whatever is thrown below
  // A callback's own exception says more than the engine's "callback returned -1".
  ctx.error.rethrow_if_any();
  check(st);
  return summary;
}
}  // namespace detail

/// ume_generate with C++ callables. For each sample of the range `config` asks for, theta
/// is drawn from the sample's own stream Rng(seed, i) (or taken from the theta table) and
/// `simulate` is called as
///   int simulate(std::uint64_t sample, const double *theta, umedata::RngRef rng,
///                double *traj, double *irfs, double *shocks)
/// (a lambda, a function object or a std::function): theta has sim.n_params() values;
/// traj (sim.trajectories_len()), irfs (sim.irfs_len()) and shocks (sim.shocks_len()) are
/// row-major, zero on entry, and are what gets stored; `rng` is valid only during the call
/// (draw the shocks from it). Return 0 to accept, a reason code > 0 to reject this theta
/// (counted and redrawn), < 0 to abort the run with umedata::Error.
///
/// Threads: `simulate` is called from the engine's threads, several at once, so it must
/// be safe to call concurrently (or use GenConfig::threads(1)); `progress` is called one
/// call at a time. Both are used only during this call (taken by reference, not copied).
///
/// Exceptions: nothing thrown by a callback crosses the C boundary. An exception from
/// `simulate` aborts the run (the trampoline returns -1); one from `progress` stops it
/// cleanly; either way what was stored stays valid and resumable (GenConfig::resume()),
/// and generate() rethrows the first such exception (the original object, e.g. your own
/// std::domain_error) once the engine returned. Other failures throw umedata::Error.
template <typename Sim>
GenSummary generate(const std::string &path, const Simulator &sim, const GenConfig &config,
                    Sim &&simulate) {
  return detail::generate_impl<std::remove_reference_t<Sim>, detail::NoProgress>(
      path, sim, config, simulate, nullptr);
}

/// The same with a progress callable `bool progress(std::uint64_t done, std::uint64_t
/// total, double rate)`, called after every stored sample; return true to stop (the run
/// finalizes cleanly, GenSummary::stopped() is true and it can be resumed).
template <typename Sim, typename Progress>
GenSummary generate(const std::string &path, const Simulator &sim, const GenConfig &config,
                    Sim &&simulate, Progress &&progress) {
  static_assert(std::is_invocable_r_v<bool, Progress &, std::uint64_t, std::uint64_t, double>,
                "umedata::generate: the progress callable must be callable as "
                "bool(std::uint64_t done, std::uint64_t total, double rate)");
  return detail::generate_impl<std::remove_reference_t<Sim>, std::remove_reference_t<Progress>>(
      path, sim, config, simulate, &progress);
}

/// ume_generate_prepare: creates the world of `sim` and its manifest, no sample (the first
/// step of a run split into parts; once, before the parts).
inline void generate_prepare(const std::string &path, const Simulator &sim,
                             const GenConfig &config) {
  check_version();
  detail::check(ume_generate_prepare(path.c_str(), sim.get(), config.get()));
}

/// ume_generate_finish: after every part returned: rejections, splits, final manifest.
inline void generate_finish(const std::string &path, const Simulator &sim,
                            const GenConfig &config) {
  check_version();
  detail::check(ume_generate_finish(path.c_str(), sim.get(), config.get()));
}

}  // namespace umedata

#endif /* UMEDATA_HPP */
