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
 */
#ifndef UMEDATA_HPP
#define UMEDATA_HPP

#include <cstddef>
#include <cstdint>
#include <cstdlib>
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
    std::vector<const char *> params = c_names(world.param_names);
    std::vector<const char *> shocks = c_names(world.shock_names);
    std::vector<const char *> obs = c_names(world.obs_names);
    ume_world_desc desc{};
    desc.world_id = world.world_id.c_str();
    desc.n_samples = world.n_samples;
    desc.T = world.T;
    desc.H = world.H;
    desc.n_params = world.n_params;
    desc.n_shocks = world.n_shocks;
    desc.n_obs = world.n_obs;
    desc.param_names = params.empty() ? nullptr : params.data();
    desc.shock_names = shocks.empty() ? nullptr : shocks.data();
    desc.obs_names = obs.empty() ? nullptr : obs.data();
    ume_writer *h = nullptr;
    detail::check(ume_writer_create_with_config(path.c_str(), &desc, config.checked(), &h));
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

  /// The C handle (still owned by this Writer), e.g. to hand to C code.
  ume_writer *get() const noexcept { return h_; }
  /// Gives up ownership: the caller must ume_writer_free() the returned handle.
  ume_writer *release() noexcept { return std::exchange(h_, nullptr); }
  explicit operator bool() const noexcept { return h_ != nullptr; }

 private:
  explicit Writer(ume_writer *h) noexcept : h_(h) {}
  static std::vector<const char *> c_names(const std::vector<std::string> &names) {
    std::vector<const char *> out;
    out.reserve(names.size());
    for (const std::string &n : names) out.push_back(n.c_str());
    return out;
  }
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

}  // namespace umedata

#endif /* UMEDATA_HPP */
