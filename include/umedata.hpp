/*
 * umedata.hpp — header-only C++ wrapper of the umedata C API (include/umedata.h).
 *
 * Needs C++17. Link the C library as usual (CMake: umedata::umedata; pkg-config: umedata).
 *
 *   #include "umedata.hpp"
 *   umedata::World world("nk", 100000, 200, 40, 8, 3, 3);
 *   world.param_names = {"beta", "sigma", "phi_pi", "phi_y", "rho_i", "rho_a", "sigma_a", "sigma_m"};
 *   umedata::Writer w = umedata::Writer::create("runs/v1.zarr", world);   // throws umedata::Error
 *   std::vector<double> theta(8), traj(200 * 3), irfs(3 * 41 * 3), shocks(200 * 3);
 *   w.write_sample(i, theta, traj, irfs, shocks);          // C (row-major) layout by default
 *   umedata::Summary s = w.finalize();                     // the destructor frees the handle
 *
 * What it adds to the C API, and nothing else:
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

/// Writer options: ume_writer_options_default(), fields changed as needed.
struct Options : ume_writer_options {
  Options() : ume_writer_options(ume_writer_options_default()) {}
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

  /// ume_writer_create: creates world.world_id in the dataset directory `path`.
  static Writer create(const std::string &path, const World &world,
                       const Options &options = Options()) {
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
    detail::check(ume_writer_create(path.c_str(), &desc, &options, &h));
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
