! umedata — Fortran 2008 module over the umedata C API (include/umedata.h), iso_c_binding.
!
!   use umedata
!   type(ume_writer) :: w
!   real(c_double) :: theta(8), traj(200, 3), irfs(3, 41, 3), shocks(200, 3)
!   integer :: stat
!   call ume_writer_create(w, "runs/v1.zarr", "nk", n_samples=100000, T=200, H=40, &
!                          n_params=8, n_shocks=3, n_obs=3, param_names=names, &
!                          chunk_samples=512, overwrite=.true., stat=stat)
!   if (stat /= UME_OK) print *, ume_error_message()
!   do i = 0, 99999                          ! sample ids start at 0, as stored
!     call simulate(i, theta, traj, irfs, shocks)
!     call ume_writer_write_sample(w, i, theta, traj, irfs, shocks)   ! no stat: stops on error
!   end do
!   call ume_writer_finalize(w, summary)
!   call ume_writer_free(w)
!
! Conventions
! - Options are optional arguments of ume_writer_create. The module passes them to C
!   through the opaque, growable ume_writer_config (ume_writer_config_new, one
!   ume_writer_config_set_* call per option given, ume_writer_create_with_config), never
!   through the frozen by-value ume_writer_options struct; a bad value fails with the
!   setter's message (e.g. "ume_writer_config_set_codec: codec 9 is not valid ...").
! - ume_writer_create and ume_reader_open first check that the library loaded at run time
!   serves this module: same major version, minor >= UME_VERSION_MINOR (README, "ABI
!   policy"); otherwise UME_ERR_INVALID_ARGUMENT naming both versions.
! - Arrays are passed as they are, column-major, with no transpose: per sample
!   theta(n_params), traj(T, n_obs), irfs(n_shocks, H+1, n_obs), shocks(T, n_shocks)
!   (the module passes UME_LAYOUT_F). real(c_double) or real(c_float); storage is float32.
!   Shapes are checked here against the world (a transposed traj(n_obs, T) is rejected
!   with UME_ERR_LENGTH_MISMATCH, not silently stored); non-contiguous actual arguments
!   (array sections) are copied by the compiler.
! - Sample ids are the dataset's: 0 .. n_samples-1 (they are the samples' identities, and
!   the demo's seeds are global_seed + id). Integer arguments (n_samples, sample ids,
!   chunk_samples) may be of any integer kind.
! - Errors: every procedure has an optional `stat` (integer). Present: it receives UME_OK
!   (0) or the error code, and ume_error_message() returns the message of the calling
!   thread. Absent: an error prints the message on error_unit and stops (error stop).
! - Handles: ume_writer / ume_reader hold a C handle; release them with ume_writer_free /
!   ume_reader_free (like nf90_close). Do not copy a handle variable and free both copies.
! - Threads (OpenMP): one ume_writer may be used by many threads at once for
!   ume_writer_write_sample (it is intent(in)). The module keeps no shared state: its own
!   error message (shape errors) is threadprivate; compile this file with -fopenmp (the
!   CMake build does when OpenMP is found) for it to be per thread, and with -frecursive.
! - Compile this file with the same compiler as your program (.mod files are
!   compiler-specific); it is installed as share/umedata/fortran/umedata.f90 for that.
module umedata
  use, intrinsic :: iso_c_binding, only: c_ptr, c_null_ptr, c_char, c_null_char, c_int, &
      c_int8_t, c_int32_t, c_int64_t, c_size_t, c_double, c_float, c_loc, c_f_pointer, &
      c_associated, c_funptr, c_null_funptr
  use, intrinsic :: iso_fortran_env, only: error_unit, int8, int16, int32, int64
  implicit none
  private

  ! ---- status codes (ume_status) ---------------------------------------------------------
  integer, parameter, public :: UME_OK = 0
  integer, parameter, public :: UME_ERR_NULL_ARGUMENT = 7001
  integer, parameter, public :: UME_ERR_INVALID_ARGUMENT = 7002
  integer, parameter, public :: UME_ERR_OUT_OF_RANGE = 7003
  integer, parameter, public :: UME_ERR_LENGTH_MISMATCH = 7004
  integer, parameter, public :: UME_ERR_ALREADY_EXISTS = 7005
  integer, parameter, public :: UME_ERR_ALREADY_WRITTEN = 7006
  integer, parameter, public :: UME_ERR_FINALIZED = 7007
  integer, parameter, public :: UME_ERR_NOT_FOUND = 7008
  integer, parameter, public :: UME_ERR_IO = 7009
  integer, parameter, public :: UME_ERR_FORMAT = 7010
  integer, parameter, public :: UME_ERR_NON_FINITE = 7011
  integer, parameter, public :: UME_ERR_NOT_WRITTEN = 7012
  integer, parameter, public :: UME_ERR_PANIC = 7098
  integer, parameter, public :: UME_ERR_INTERNAL = 7099

  ! ---- layouts and codecs ------------------------------------------------------------------
  integer(c_int32_t), parameter, public :: UME_LAYOUT_C = 1
  integer(c_int32_t), parameter, public :: UME_LAYOUT_F = 2
  integer, parameter, public :: UME_CODEC_BLOSC_LZ4 = 0
  integer, parameter, public :: UME_CODEC_BLOSC_ZSTD = 1
  integer, parameter, public :: UME_CODEC_ZSTD = 2
  integer, parameter, public :: UME_CODEC_NONE = 3
  ! theta designs of the generation engine (ume_gen_config_set_design)
  integer(c_int32_t), parameter, public :: UME_DESIGN_UNIFORM = 0
  integer(c_int32_t), parameter, public :: UME_DESIGN_SOBOL = 1

  ! ---- the header this module was written against, and ume_writer_config's on/off options ---
  integer, parameter, public :: UME_VERSION_MAJOR = 0
  integer, parameter, public :: UME_VERSION_MINOR = 4
  integer(c_int32_t), parameter :: UME_CONFIG_OVERWRITE = 1
  integer(c_int32_t), parameter :: UME_CONFIG_ALLOW_NONFINITE = 2
  integer(c_int32_t), parameter :: UME_CONFIG_CHECKSUM = 3
  integer(c_int32_t), parameter :: UME_CONFIG_FSYNC = 4
  integer(c_int32_t), parameter :: UME_CONFIG_REWRITE = 5

  ! ---- C structs (same fields, same order as include/umedata.h) ----------------------------
  !> Dimensions of a world (ume_world_shape).
  type, bind(C), public :: ume_world_shape  ! C: ume_world_shape
    integer(c_int64_t) :: n_samples = 0
    integer(c_int64_t) :: chunk_samples = 0
    integer(c_int32_t) :: T = 0
    integer(c_int32_t) :: H = 0
    integer(c_int32_t) :: n_params = 0
    integer(c_int32_t) :: n_shocks = 0
    integer(c_int32_t) :: n_obs = 0
  end type ume_world_shape

  !> Raw and stored bytes of one array (ume_array_stats).
  type, bind(C), public :: ume_array_stats  ! C: ume_array_stats
    integer(c_int64_t) :: raw_bytes = 0
    integer(c_int64_t) :: stored_bytes = 0
    real(c_double) :: ratio = 0
  end type ume_array_stats

  !> What a finalized writer stored (ume_summary).
  type, bind(C), public :: ume_summary  ! C: ume_summary
    integer(c_int64_t) :: n_samples = 0
    integer(c_int64_t) :: samples_written = 0
    type(ume_array_stats) :: theta
    type(ume_array_stats) :: trajectories
    type(ume_array_stats) :: irfs
    type(ume_array_stats) :: shocks
    integer(c_int64_t) :: chunks_stored_early = 0
  end type ume_summary

  type, bind(C) :: world_desc_c  ! C: ume_world_desc
    type(c_ptr) :: world_id = c_null_ptr
    integer(c_int64_t) :: n_samples = 0
    integer(c_int32_t) :: T = 0
    integer(c_int32_t) :: H = 0
    integer(c_int32_t) :: n_params = 0
    integer(c_int32_t) :: n_shocks = 0
    integer(c_int32_t) :: n_obs = 0
    type(c_ptr) :: param_names = c_null_ptr
    type(c_ptr) :: shock_names = c_null_ptr
    type(c_ptr) :: obs_names = c_null_ptr
  end type world_desc_c

  ! ---- handles --------------------------------------------------------------------------------
  !> A writer for one dataset world. Create with ume_writer_create, release with ume_writer_free.
  type, public :: ume_writer
    private
    type(c_ptr) :: ptr = c_null_ptr
    integer :: T = 0, H = 0, n_params = 0, n_shocks = 0, n_obs = 0
  end type ume_writer

  !> A dataset world open for reading. Open with ume_reader_open, release with ume_reader_free.
  type, public :: ume_reader
    private
    type(c_ptr) :: ptr = c_null_ptr
    type(ume_world_shape) :: shape
  end type ume_reader

  public :: ume_writer_create, ume_writer_write_sample, ume_writer_finalize, ume_writer_free
  public :: ume_reader_open, ume_reader_shape, ume_reader_samples_written, ume_reader_is_written
  public :: ume_reader_read, ume_reader_free, ume_reader_set_threads, ume_reader_read_ids
  public :: ume_error_message, ume_status_string, ume_version, ume_check_version
  public :: ume_version_compatible

  !> Writes one sample: theta(n_params), traj(T, n_obs), irfs(n_shocks, H+1, n_obs),
  !> shocks(T, n_shocks), all real(c_double) or all real(c_float).
  interface ume_writer_write_sample
    module procedure write_sample_f64, write_sample_f32
  end interface ume_writer_write_sample

  !> Reads one sample (arrays shaped as for writing) or, with one more dimension of extent
  !> count (theta(n_params, count), traj(T, n_obs, count), ...), samples start..start+count-1.
  interface ume_reader_read
    module procedure read_sample_f64, read_sample_f32, read_range_f64, read_range_f32
  end interface ume_reader_read

  !> Reads the samples ids(1..n) (0-based sample ids, any order, repeats allowed: a shuffled
  !> mini-batch) into theta(n_params, n), traj(T, n_obs, n), irfs(n_shocks, H+1, n_obs, n),
  !> shocks(T, n_shocks, n): column k holds sample ids(k). Each inner chunk is decoded once,
  !> on up to n_threads threads (optional; 0 = automatic).
  interface ume_reader_read_ids
    module procedure read_ids_f64, read_ids_f32
  end interface ume_reader_read_ids

  ! The message of the last error detected in this module (not in C) on this thread.
  character(len=512) :: local_msg = ''
  logical :: local_set = .false.
  !$omp threadprivate(local_msg, local_set)

  ! ---- the C functions ------------------------------------------------------------------------
  interface
    function c_last_error_message() bind(C, name='ume_last_error_message') result(p)
      import :: c_ptr
      type(c_ptr) :: p
    end function c_last_error_message

    function c_status_string(st) bind(C, name='ume_status_string') result(p)
      import :: c_ptr, c_int32_t
      integer(c_int32_t), value :: st
      type(c_ptr) :: p
    end function c_status_string

    function c_version() bind(C, name='ume_version') result(p)
      import :: c_ptr
      type(c_ptr) :: p
    end function c_version

    function c_strlen(p) bind(C, name='strlen') result(n)
      import :: c_ptr, c_size_t
      type(c_ptr), value :: p
      integer(c_size_t) :: n
    end function c_strlen

    ! ume_writer_config: the options handle (uint32_t/uint64_t arguments as c_int32_t/
    ! c_int64_t of the same size; the module never passes a negative value to them).
    function c_config_new(out) bind(C, name='ume_writer_config_new') result(st)
      import :: c_ptr, c_int
      type(c_ptr), intent(out) :: out
      integer(c_int) :: st
    end function c_config_new

    subroutine c_config_free(config) bind(C, name='ume_writer_config_free')
      import :: c_ptr
      type(c_ptr), value :: config
    end subroutine c_config_free

    function c_config_set_codec(config, codec, clevel) bind(C, name='ume_writer_config_set_codec') &
        result(st)
      import :: c_ptr, c_int32_t, c_int
      type(c_ptr), value :: config
      integer(c_int32_t), value :: codec, clevel
      integer(c_int) :: st
    end function c_config_set_codec

    function c_config_set_chunking(config, chunk_samples, inner_chunk_samples) &
        bind(C, name='ume_writer_config_set_chunking') result(st)
      import :: c_ptr, c_int64_t, c_int
      type(c_ptr), value :: config
      integer(c_int64_t), value :: chunk_samples, inner_chunk_samples
      integer(c_int) :: st
    end function c_config_set_chunking

    function c_config_set_threads(config, n_threads, max_open_chunks) &
        bind(C, name='ume_writer_config_set_threads') result(st)
      import :: c_ptr, c_int32_t, c_int
      type(c_ptr), value :: config
      integer(c_int32_t), value :: n_threads, max_open_chunks
      integer(c_int) :: st
    end function c_config_set_threads

    function c_config_set_flag(config, option, on) bind(C, name='ume_writer_config_set_flag') &
        result(st)
      import :: c_ptr, c_int32_t, c_int8_t, c_int
      type(c_ptr), value :: config
      integer(c_int32_t), value :: option
      integer(c_int8_t), value :: on
      integer(c_int) :: st
    end function c_config_set_flag

    function c_config_set_zarr_format(config, zarr_format) &
        bind(C, name='ume_writer_config_set_zarr_format') result(st)
      import :: c_ptr, c_int32_t, c_int
      type(c_ptr), value :: config
      integer(c_int32_t), value :: zarr_format
      integer(c_int) :: st
    end function c_config_set_zarr_format

    function c_config_set_claim_lease(config, seconds) &
        bind(C, name='ume_writer_config_set_claim_lease') result(st)
      import :: c_ptr, c_int64_t, c_int
      type(c_ptr), value :: config
      integer(c_int64_t), value :: seconds
      integer(c_int) :: st
    end function c_config_set_claim_lease

    function c_writer_create_with_config(path, world, config, out) &
        bind(C, name='ume_writer_create_with_config') result(st)
      import :: c_char, world_desc_c, c_ptr, c_int
      character(kind=c_char), intent(in) :: path(*)
      type(world_desc_c), intent(in) :: world
      type(c_ptr), value :: config
      type(c_ptr), intent(out) :: out
      integer(c_int) :: st
    end function c_writer_create_with_config

    function c_write_f64(w, i, layout, theta, theta_len, traj, traj_len, irfs, irfs_len, &
                         shocks, shocks_len) bind(C, name='ume_writer_write_sample_f64') result(st)
      import :: c_ptr, c_int64_t, c_int32_t, c_double, c_size_t, c_int
      type(c_ptr), value :: w
      integer(c_int64_t), value :: i
      integer(c_int32_t), value :: layout
      real(c_double), intent(in) :: theta(*), traj(*), irfs(*), shocks(*)
      integer(c_size_t), value :: theta_len, traj_len, irfs_len, shocks_len
      integer(c_int) :: st
    end function c_write_f64

    function c_write_f32(w, i, layout, theta, theta_len, traj, traj_len, irfs, irfs_len, &
                         shocks, shocks_len) bind(C, name='ume_writer_write_sample_f32') result(st)
      import :: c_ptr, c_int64_t, c_int32_t, c_float, c_size_t, c_int
      type(c_ptr), value :: w
      integer(c_int64_t), value :: i
      integer(c_int32_t), value :: layout
      real(c_float), intent(in) :: theta(*), traj(*), irfs(*), shocks(*)
      integer(c_size_t), value :: theta_len, traj_len, irfs_len, shocks_len
      integer(c_int) :: st
    end function c_write_f32

    function c_writer_finalize(w, summary) bind(C, name='ume_writer_finalize') result(st)
      import :: c_ptr, ume_summary, c_int
      type(c_ptr), value :: w
      type(ume_summary), intent(out) :: summary
      integer(c_int) :: st
    end function c_writer_finalize

    subroutine c_writer_free(w) bind(C, name='ume_writer_free')
      import :: c_ptr
      type(c_ptr), value :: w
    end subroutine c_writer_free

    function c_reader_open(path, world_id, out) bind(C, name='ume_reader_open') result(st)
      import :: c_char, c_ptr, c_int
      character(kind=c_char), intent(in) :: path(*), world_id(*)
      type(c_ptr), intent(out) :: out
      integer(c_int) :: st
    end function c_reader_open

    function c_reader_shape(r, out) bind(C, name='ume_reader_shape') result(st)
      import :: c_ptr, ume_world_shape, c_int
      type(c_ptr), value :: r
      type(ume_world_shape), intent(out) :: out
      integer(c_int) :: st
    end function c_reader_shape

    function c_reader_samples_written(r, out) bind(C, name='ume_reader_samples_written') result(st)
      import :: c_ptr, c_int64_t, c_int
      type(c_ptr), value :: r
      integer(c_int64_t), intent(out) :: out
      integer(c_int) :: st
    end function c_reader_samples_written

    function c_reader_is_written(r, i, out) bind(C, name='ume_reader_is_written') result(st)
      import :: c_ptr, c_int64_t, c_int8_t, c_int
      type(c_ptr), value :: r
      integer(c_int64_t), value :: i
      integer(c_int8_t), intent(out) :: out
      integer(c_int) :: st
    end function c_reader_is_written

    function c_read_f64(r, start, count, layout, theta, theta_len, traj, traj_len, irfs, &
                        irfs_len, shocks, shocks_len) bind(C, name='ume_reader_read_f64') result(st)
      import :: c_ptr, c_int64_t, c_int32_t, c_double, c_size_t, c_int
      type(c_ptr), value :: r
      integer(c_int64_t), value :: start, count
      integer(c_int32_t), value :: layout
      real(c_double), intent(out) :: theta(*), traj(*), irfs(*), shocks(*)
      integer(c_size_t), value :: theta_len, traj_len, irfs_len, shocks_len
      integer(c_int) :: st
    end function c_read_f64

    function c_read_f32(r, start, count, layout, theta, theta_len, traj, traj_len, irfs, &
                        irfs_len, shocks, shocks_len) bind(C, name='ume_reader_read_f32') result(st)
      import :: c_ptr, c_int64_t, c_int32_t, c_float, c_size_t, c_int
      type(c_ptr), value :: r
      integer(c_int64_t), value :: start, count
      integer(c_int32_t), value :: layout
      real(c_float), intent(out) :: theta(*), traj(*), irfs(*), shocks(*)
      integer(c_size_t), value :: theta_len, traj_len, irfs_len, shocks_len
      integer(c_int) :: st
    end function c_read_f32

    function c_read_ids_f64(r, ids, n_ids, layout, theta, theta_len, traj, traj_len, irfs, &
                            irfs_len, shocks, shocks_len, n_threads) &
        bind(C, name='ume_reader_read_ids_f64') result(st)
      import :: c_ptr, c_int64_t, c_int32_t, c_double, c_size_t, c_int
      type(c_ptr), value :: r
      integer(c_int64_t), intent(in) :: ids(*)
      integer(c_size_t), value :: n_ids
      integer(c_int32_t), value :: layout
      real(c_double), intent(out) :: theta(*), traj(*), irfs(*), shocks(*)
      integer(c_size_t), value :: theta_len, traj_len, irfs_len, shocks_len
      integer(c_int32_t), value :: n_threads
      integer(c_int) :: st
    end function c_read_ids_f64

    function c_read_ids_f32(r, ids, n_ids, layout, theta, theta_len, traj, traj_len, irfs, &
                            irfs_len, shocks, shocks_len, n_threads) &
        bind(C, name='ume_reader_read_ids_f32') result(st)
      import :: c_ptr, c_int64_t, c_int32_t, c_float, c_size_t, c_int
      type(c_ptr), value :: r
      integer(c_int64_t), intent(in) :: ids(*)
      integer(c_size_t), value :: n_ids
      integer(c_int32_t), value :: layout
      real(c_float), intent(out) :: theta(*), traj(*), irfs(*), shocks(*)
      integer(c_size_t), value :: theta_len, traj_len, irfs_len, shocks_len
      integer(c_int32_t), value :: n_threads
      integer(c_int) :: st
    end function c_read_ids_f32

    function c_reader_set_threads(r, n_threads) bind(C, name='ume_reader_set_threads') result(st)
      import :: c_ptr, c_int32_t, c_int
      type(c_ptr), value :: r
      integer(c_int32_t), value :: n_threads
      integer(c_int) :: st
    end function c_reader_set_threads

    subroutine c_reader_free(r) bind(C, name='ume_reader_free')
      import :: c_ptr
      type(c_ptr), value :: r
    end subroutine c_reader_free
  end interface


  ! ---- the generation engine (issue 13): the C functions as they are --------------------------
  ! Strings are NUL-terminated (pass 'ar1'//c_null_char); status codes as above; the handles
  ! (sim, config, rng) are type(c_ptr). The simulate callback is a bind(C) function passed
  ! with c_funloc, of the C type ume_simulate_fn (include/umedata.h):
  !   integer(c_int32_t) function simulate(user, sample, theta, rng, traj, irfs, shocks) bind(C)
  !     type(c_ptr), value :: user, rng;  integer(c_int64_t), value :: sample
  !     real(c_double), intent(in) :: theta(n_params)
  !     real(c_double), intent(inout) :: traj(n_obs, T), irfs(n_obs, 0:H, n_shocks), shocks(n_shocks, T)
  ! (the buffers are row-major in C, so the fastest index comes first here); it returns 0 to
  ! accept, a reason code > 0 to reject the draw (redrawn), < 0 to abort. It is called from
  ! the engine's threads at once: compile it with -frecursive (or -fopenmp) and keep no
  ! shared state. Ownership, thread safety and errors: as documented in include/umedata.h.
  public :: ume_sim_new, ume_sim_free, ume_sim_add_param, ume_sim_add_shock, ume_sim_add_obs
  public :: ume_sim_set_reject_reason, ume_gen_config_new, ume_gen_config_free
  public :: ume_gen_config_set_seed, ume_gen_config_set_samples, ume_gen_config_set_threads
  public :: ume_gen_config_set_resume, ume_gen_config_set_design, ume_generate
  public :: ume_rng_uniform, ume_rng_normal
  public :: ume_rng_fill_normal
  interface
    function ume_sim_new(name, version, t, h, out) bind(C, name='ume_sim_new') result(st)
      import :: c_ptr, c_char, c_int32_t, c_int
      character(kind=c_char), intent(in) :: name(*), version(*)
      integer(c_int32_t), value :: t, h
      type(c_ptr), intent(out) :: out
      integer(c_int) :: st
    end function ume_sim_new
    subroutine ume_sim_free(sim) bind(C, name='ume_sim_free')
      import :: c_ptr
      type(c_ptr), value :: sim
    end subroutine ume_sim_free
    function ume_sim_add_param(sim, name, lo, hi, default_value, unit) &
        bind(C, name='ume_sim_add_param') result(st)
      import :: c_ptr, c_char, c_double, c_int
      type(c_ptr), value :: sim
      character(kind=c_char), intent(in) :: name(*), unit(*)
      real(c_double), value :: lo, hi, default_value
      integer(c_int) :: st
    end function ume_sim_add_param
    function ume_sim_add_shock(sim, name, sigma) bind(C, name='ume_sim_add_shock') result(st)
      import :: c_ptr, c_char, c_double, c_int
      type(c_ptr), value :: sim
      character(kind=c_char), intent(in) :: name(*)
      real(c_double), value :: sigma
      integer(c_int) :: st
    end function ume_sim_add_shock
    function ume_sim_add_obs(sim, name) bind(C, name='ume_sim_add_obs') result(st)
      import :: c_ptr, c_char, c_int
      type(c_ptr), value :: sim
      character(kind=c_char), intent(in) :: name(*)
      integer(c_int) :: st
    end function ume_sim_add_obs
    function ume_sim_set_reject_reason(sim, code, name) &
        bind(C, name='ume_sim_set_reject_reason') result(st)
      import :: c_ptr, c_char, c_int32_t, c_int
      type(c_ptr), value :: sim
      integer(c_int32_t), value :: code
      character(kind=c_char), intent(in) :: name(*)
      integer(c_int) :: st
    end function ume_sim_set_reject_reason
    function ume_gen_config_new(out) bind(C, name='ume_gen_config_new') result(st)
      import :: c_ptr, c_int
      type(c_ptr), intent(out) :: out
      integer(c_int) :: st
    end function ume_gen_config_new
    subroutine ume_gen_config_free(config) bind(C, name='ume_gen_config_free')
      import :: c_ptr
      type(c_ptr), value :: config
    end subroutine ume_gen_config_free
    function ume_gen_config_set_seed(config, seed) bind(C, name='ume_gen_config_set_seed') &
        result(st)
      import :: c_ptr, c_int64_t, c_int
      type(c_ptr), value :: config
      integer(c_int64_t), value :: seed
      integer(c_int) :: st
    end function ume_gen_config_set_seed
    function ume_gen_config_set_samples(config, n) bind(C, name='ume_gen_config_set_samples') &
        result(st)
      import :: c_ptr, c_int64_t, c_int
      type(c_ptr), value :: config
      integer(c_int64_t), value :: n
      integer(c_int) :: st
    end function ume_gen_config_set_samples
    function ume_gen_config_set_threads(config, k) bind(C, name='ume_gen_config_set_threads') &
        result(st)
      import :: c_ptr, c_int32_t, c_int
      type(c_ptr), value :: config
      integer(c_int32_t), value :: k
      integer(c_int) :: st
    end function ume_gen_config_set_threads
    function ume_gen_config_set_resume(config, on) bind(C, name='ume_gen_config_set_resume') &
        result(st)
      import :: c_ptr, c_int32_t, c_int
      type(c_ptr), value :: config
      integer(c_int32_t), value :: on
      integer(c_int) :: st
    end function ume_gen_config_set_resume
    !> design: UME_DESIGN_UNIFORM (default) or UME_DESIGN_SOBOL.
    function ume_gen_config_set_design(config, design) &
        bind(C, name='ume_gen_config_set_design') result(st)
      import :: c_ptr, c_int32_t, c_int
      type(c_ptr), value :: config
      integer(c_int32_t), value :: design
      integer(c_int) :: st
    end function ume_gen_config_set_design
    !> progress and summary_out may be c_null_funptr / c_null_ptr.
    function ume_generate(path, sim, config, simulate, user, progress, progress_user, &
                          summary_out) bind(C, name='ume_generate') result(st)
      import :: c_ptr, c_char, c_funptr, c_int
      character(kind=c_char), intent(in) :: path(*)
      type(c_ptr), value :: sim, config, user, progress_user, summary_out
      type(c_funptr), value :: simulate, progress
      integer(c_int) :: st
    end function ume_generate
    function ume_rng_uniform(rng, out) bind(C, name='ume_rng_uniform') result(st)
      import :: c_ptr, c_double, c_int
      type(c_ptr), value :: rng
      real(c_double), intent(out) :: out
      integer(c_int) :: st
    end function ume_rng_uniform
    function ume_rng_normal(rng, out) bind(C, name='ume_rng_normal') result(st)
      import :: c_ptr, c_double, c_int
      type(c_ptr), value :: rng
      real(c_double), intent(out) :: out
      integer(c_int) :: st
    end function ume_rng_normal
    function ume_rng_fill_normal(rng, buf, n) bind(C, name='ume_rng_fill_normal') result(st)
      import :: c_ptr, c_double, c_size_t, c_int
      type(c_ptr), value :: rng
      real(c_double), intent(out) :: buf(*)
      integer(c_size_t), value :: n
      integer(c_int) :: st
    end function ume_rng_fill_normal
  end interface

  ! ---- simulator plugins (`umedata generate --sim libmysim.so`, README "Bring your own
  ! simulator"): a shared library exporting
  !   integer(c_int32_t) function entry(p) bind(C, name='umedata_plugin_v1')
  !     type(ume_plugin_v1), intent(inout) :: p
  ! that checks p%struct_size >= c_sizeof(p) and p%abi_version == UME_PLUGIN_ABI_VERSION
  ! (else returns nonzero), keeps the lent generator functions (c_f_procpointer on
  ! p%rng_fill_normal with procedure(ume_plugin_rng_fill_fn)) and fills the "out" fields
  ! with c_loc of module-level `target, save` data (NUL-terminated strings, arrays of
  ! c_ptr) and c_funloc of its bind(C) simulate callback. It uses this module for the type
  ! and the interfaces only: it does not link libumedata (nor umedata_fortran), and draws
  ! only through the lent functions. Example: examples_c/plugin_ar1_fortran.f90.
  integer(c_int32_t), parameter, public :: UME_PLUGIN_ABI_VERSION = 1

  !> What a simulator plugin declares (ume_plugin_v1, ABI version 1): "in" fields set by
  !> the host (struct_size, abi_version, rng_*), "out" fields filled by the plugin; the
  !> field documentation is in include/umedata.h. Strings are C strings (c_ptr to
  !> NUL-terminated character(kind=c_char) data), name lists c_ptr to arrays of such c_ptr.
  type, bind(C), public :: ume_plugin_v1  ! C: ume_plugin_v1
    integer(c_int32_t) :: struct_size = 0
    integer(c_int32_t) :: abi_version = 0
    type(c_funptr) :: rng_uniform = c_null_funptr
    type(c_funptr) :: rng_normal = c_null_funptr
    type(c_funptr) :: rng_fill_normal = c_null_funptr
    type(c_ptr) :: name = c_null_ptr
    type(c_ptr) :: version = c_null_ptr
    integer(c_int32_t) :: T = 0
    integer(c_int32_t) :: H = 0
    integer(c_int32_t) :: n_params = 0
    type(c_ptr) :: param_names = c_null_ptr
    type(c_ptr) :: param_lo = c_null_ptr
    type(c_ptr) :: param_hi = c_null_ptr
    type(c_ptr) :: param_default = c_null_ptr
    type(c_ptr) :: param_units = c_null_ptr
    integer(c_int32_t) :: n_shocks = 0
    type(c_ptr) :: shock_names = c_null_ptr
    type(c_ptr) :: shock_sigma = c_null_ptr
    integer(c_int32_t) :: n_obs = 0
    type(c_ptr) :: obs_names = c_null_ptr
    integer(c_int32_t) :: n_reject_reasons = 0
    type(c_ptr) :: reject_reason_names = c_null_ptr
    type(c_funptr) :: simulate = c_null_funptr
    type(c_ptr) :: user = c_null_ptr
  end type ume_plugin_v1

  ! The generator functions the host lends a plugin (p%rng_uniform, p%rng_normal: one
  ! draw; p%rng_fill_normal: n draws into buf), as procedure interfaces for
  ! c_f_procpointer. They return UME_OK.
  public :: ume_plugin_rng_fn, ume_plugin_rng_fill_fn
  abstract interface
    function ume_plugin_rng_fn(rng, out) bind(C) result(st)  ! C: ume_plugin_rng_fn
      import :: c_ptr, c_double, c_int
      type(c_ptr), value :: rng
      real(c_double), intent(out) :: out
      integer(c_int) :: st
    end function ume_plugin_rng_fn
    function ume_plugin_rng_fill_fn(rng, buf, n) bind(C) result(st)  ! C: ume_plugin_rng_fill_fn
      import :: c_ptr, c_double, c_size_t, c_int
      type(c_ptr), value :: rng
      real(c_double), intent(out) :: buf(*)
      integer(c_size_t), value :: n
      integer(c_int) :: st
    end function ume_plugin_rng_fill_fn
  end interface

contains

  ! ---- strings and errors -----------------------------------------------------------------------

  !> A NUL-terminated C string as a Fortran string (copied).
  function from_c(p) result(s)
    type(c_ptr), intent(in) :: p
    character(len=:), allocatable :: s
    character(kind=c_char), pointer :: chars(:)
    integer :: n, k
    if (.not. c_associated(p)) then
      s = ''
      return
    end if
    n = int(c_strlen(p))
    call c_f_pointer(p, chars, [n])
    allocate (character(len=n) :: s)
    do k = 1, n
      s(k:k) = chars(k)
    end do
  end function from_c

  !> trim(s) // NUL, for the C side.
  pure function to_c(s) result(c)
    character(len=*), intent(in) :: s
    character(kind=c_char, len=len_trim(s) + 1) :: c
    c = trim(s)//c_null_char
  end function to_c

  pure function itoa(i) result(s)
    integer(int64), intent(in) :: i
    character(len=:), allocatable :: s
    character(len=24) :: buf
    write (buf, '(i0)') i
    s = trim(buf)
  end function itoa

  !> The message of the most recent failed umedata call on the calling thread ("" if none).
  function ume_error_message() result(msg)
    character(len=:), allocatable :: msg
    if (local_set) then
      msg = trim(local_msg)
    else
      msg = from_c(c_last_error_message())
    end if
  end function ume_error_message

  !> A short description of a status code ("length mismatch", ...).
  function ume_status_string(st) result(s)
    integer, intent(in) :: st
    character(len=:), allocatable :: s
    s = from_c(c_status_string(int(st, c_int32_t)))
  end function ume_status_string

  !> The library version, "MAJOR.MINOR.PATCH".
  function ume_version() result(s)
    character(len=:), allocatable :: s
    s = from_c(c_version())
  end function ume_version

  !> True if a library of version `version` ("MAJOR.MINOR.PATCH") serves a program written
  !> against header version major.minor: the same major, a minor >= the header's.
  pure logical function ume_version_compatible(version, major, minor) result(ok)
    character(len=*), intent(in) :: version
    integer, intent(in) :: major, minor
    integer :: p1, p2, lib_major, lib_minor
    ok = .false.
    p1 = index(version, '.')
    if (p1 < 2) return
    p2 = index(version(p1 + 1:), '.')
    if (p2 == 0) then
      p2 = len(version) + 1
    else
      p2 = p1 + p2
    end if
    if (.not. all_digits(version(1:p1 - 1)) .or. .not. all_digits(version(p1 + 1:p2 - 1))) return
    read (version(1:p1 - 1), '(i9)') lib_major
    read (version(p1 + 1:p2 - 1), '(i9)') lib_minor
    ok = lib_major == major .and. lib_minor >= minor
  contains
    pure logical function all_digits(x)
      character(len=*), intent(in) :: x
      all_digits = len(x) > 0 .and. len(x) <= 9 .and. verify(x, '0123456789') == 0
    end function all_digits
  end function ume_version_compatible

  !> Checks that the library loaded at run time serves this module (same major version,
  !> minor >= UME_VERSION_MINOR); else UME_ERR_INVALID_ARGUMENT naming both versions.
  !> ume_writer_create and ume_reader_open call it.
  subroutine ume_check_version(stat)
    integer, intent(out), optional :: stat
    if (version_ok('ume_check_version', stat)) then
      if (present(stat)) stat = UME_OK
    end if
  end subroutine ume_check_version

  !> The version check: true if the library serves this module; else the error (its
  !> message prefixed with the calling procedure `fn`) goes to stat or stops.
  logical function version_ok(fn, stat) result(ok)
    character(len=*), intent(in) :: fn
    integer, intent(out), optional :: stat
    character(len=:), allocatable :: v
    v = ume_version()
    ok = ume_version_compatible(v, UME_VERSION_MAJOR, UME_VERSION_MINOR)
    if (.not. ok) then
      call local_error(UME_ERR_INVALID_ARGUMENT, fn//': umedata library version '//v// &
                       ' does not serve this module, written for '//itoa(int(UME_VERSION_MAJOR, int64)) &
                       //'.'//itoa(int(UME_VERSION_MINOR, int64))//' (expected major ' &
                       //itoa(int(UME_VERSION_MAJOR, int64))//' and minor >= ' &
                       //itoa(int(UME_VERSION_MINOR, int64))//')', stat)
    end if
  end function version_ok

  !> Hands a status from C to the caller: into stat if present, else stop on error.
  subroutine finish(st, stat)
    integer(c_int), intent(in) :: st
    integer, intent(out), optional :: stat
    if (st /= UME_OK) local_set = .false.
    call report(int(st), stat)
  end subroutine finish

  !> An error detected in this module: records the message (this thread's) and reports it.
  subroutine local_error(st, msg, stat)
    integer, intent(in) :: st
    character(len=*), intent(in) :: msg
    integer, intent(out), optional :: stat
    local_msg = msg
    local_set = .true.
    call report(st, stat)
  end subroutine local_error

  subroutine report(st, stat)
    integer, intent(in) :: st
    integer, intent(out), optional :: stat
    if (present(stat)) then
      stat = st
    else if (st /= UME_OK) then
      write (error_unit, '(a, i0, a)') 'umedata: error ', st, ': '//ume_error_message()
      error stop 'umedata: unhandled error (pass stat= to handle errors yourself)'
    end if
  end subroutine report

  !> An integer of any kind as int64; ok = .false. for anything else.
  subroutine as_int64(x, v, ok)
    class(*), intent(in) :: x
    integer(int64), intent(out) :: v
    logical, intent(out) :: ok
    ok = .true.
    v = 0
    select type (x)
    type is (integer(int8))
      v = int(x, int64)
    type is (integer(int16))
      v = int(x, int64)
    type is (integer(int32))
      v = int(x, int64)
    type is (integer(int64))
      v = x
    class default
      ok = .false.
    end select
  end subroutine as_int64

  !> Copies trimmed names into one NUL-separated buffer and points ptrs(k) at name k.
  subroutine pack_names(names, buf, ptrs)
    character(len=*), intent(in) :: names(:)
    character(kind=c_char), allocatable, target, intent(inout) :: buf(:)
    type(c_ptr), allocatable, intent(inout) :: ptrs(:)
    integer :: k, j, pos, total
    total = 0
    do k = 1, size(names)
      total = total + len_trim(names(k)) + 1
    end do
    allocate (buf(max(total, 1)), ptrs(size(names)))
    pos = 1
    do k = 1, size(names)
      ptrs(k) = c_loc(buf(pos))
      do j = 1, len_trim(names(k))
        buf(pos) = names(k)(j:j)
        pos = pos + 1
      end do
      buf(pos) = c_null_char
      pos = pos + 1
    end do
  end subroutine pack_names

  ! ---- writer ---------------------------------------------------------------------------------

  !> Creates world `world_id` in the dataset directory `path` (created if missing). Names
  !> default to p0.., s0.., y0... Options left out keep the defaults of ume_writer_config_new
  !> (blosc-lz4, automatic chunking and threads, checksums, fsync, no overwrite, non-finite
  !> rejected, no rewrite, Zarr v3, claim lease from UME_CLAIM_LEASE_SECONDS or 600 s); the
  !> ones given are set on a ume_writer_config, each checked by its C setter, and the world
  !> is created with ume_writer_create_with_config. chunk_samples and inner_chunk_samples
  !> may be of any integer kind; claim_lease is in seconds (3 .. 31536000).
  subroutine ume_writer_create(w, path, world_id, n_samples, T, H, n_params, n_shocks, n_obs, &
                               param_names, shock_names, obs_names, chunk_samples, codec, &
                               clevel, n_threads, max_open_chunks, overwrite, allow_nonfinite, &
                               checksum, fsync, stat, inner_chunk_samples, rewrite, zarr_format, &
                               claim_lease)
    type(ume_writer), intent(inout) :: w
    character(len=*), intent(in) :: path, world_id
    class(*), intent(in) :: n_samples
    integer, intent(in) :: T, H, n_params, n_shocks, n_obs
    character(len=*), intent(in), optional :: param_names(:), shock_names(:), obs_names(:)
    class(*), intent(in), optional :: chunk_samples
    integer, intent(in), optional :: codec, clevel, n_threads, max_open_chunks
    logical, intent(in), optional :: overwrite, allow_nonfinite, checksum, fsync
    integer, intent(out), optional :: stat
    class(*), intent(in), optional :: inner_chunk_samples
    logical, intent(in), optional :: rewrite
    integer, intent(in), optional :: zarr_format, claim_lease

    type(world_desc_c) :: desc
    character(kind=c_char), allocatable, target :: ibuf(:), pbuf(:), sbuf(:), obuf(:)
    type(c_ptr), allocatable, target :: iptr(:), pptr(:), sptr(:), optr(:)
    integer(int64) :: n64, chunk64, inner64
    integer :: cd, cl, nt, moc
    logical :: ok
    type(c_ptr) :: hnd, cfg
    integer(c_int) :: st

    if (.not. version_ok('ume_writer_create', stat)) return
    call as_int64(n_samples, n64, ok)
    if (.not. ok) then
      call local_error(UME_ERR_INVALID_ARGUMENT, &
                       'ume_writer_create: n_samples must be an integer', stat)
      return
    end if
    if (any([T, H, n_params, n_shocks, n_obs] < 0) .or. n64 < 0) then
      call local_error(UME_ERR_INVALID_ARGUMENT, 'ume_writer_create: negative dimension', stat)
      return
    end if
    call pack_names([world_id], ibuf, iptr)
    desc%world_id = iptr(1)
    desc%n_samples = n64
    desc%T = int(T, c_int32_t)
    desc%H = int(H, c_int32_t)
    desc%n_params = int(n_params, c_int32_t)
    desc%n_shocks = int(n_shocks, c_int32_t)
    desc%n_obs = int(n_obs, c_int32_t)
    if (present(param_names)) then
      if (size(param_names) /= n_params) then
        call local_error(UME_ERR_INVALID_ARGUMENT, 'ume_writer_create: param_names has ' &
                         //itoa(size(param_names, kind=int64))//' names, expected n_params = ' &
                         //itoa(int(n_params, int64)), stat)
        return
      end if
      call pack_names(param_names, pbuf, pptr)
      if (n_params > 0) desc%param_names = c_loc(pptr(1))
    end if
    if (present(shock_names)) then
      if (size(shock_names) /= n_shocks) then
        call local_error(UME_ERR_INVALID_ARGUMENT, 'ume_writer_create: shock_names has ' &
                         //itoa(size(shock_names, kind=int64))//' names, expected n_shocks = ' &
                         //itoa(int(n_shocks, int64)), stat)
        return
      end if
      call pack_names(shock_names, sbuf, sptr)
      if (n_shocks > 0) desc%shock_names = c_loc(sptr(1))
    end if
    if (present(obs_names)) then
      if (size(obs_names) /= n_obs) then
        call local_error(UME_ERR_INVALID_ARGUMENT, 'ume_writer_create: obs_names has ' &
                         //itoa(size(obs_names, kind=int64))//' names, expected n_obs = ' &
                         //itoa(int(n_obs, int64)), stat)
        return
      end if
      call pack_names(obs_names, obuf, optr)
      if (n_obs > 0) desc%obs_names = c_loc(optr(1))
    end if

    ! Arguments C takes as unsigned: a negative value is refused here, naming it (C would
    ! see it as a huge number).
    chunk64 = 0
    if (present(chunk_samples)) then
      call as_int64(chunk_samples, chunk64, ok)
      if (.not. ok .or. chunk64 < 0) then
        call local_error(UME_ERR_INVALID_ARGUMENT, &
                         'ume_writer_create: chunk_samples must be an integer >= 0', stat)
        return
      end if
    end if
    inner64 = 0
    if (present(inner_chunk_samples)) then
      call as_int64(inner_chunk_samples, inner64, ok)
      if (.not. ok .or. inner64 < 0) then
        call local_error(UME_ERR_INVALID_ARGUMENT, &
                         'ume_writer_create: inner_chunk_samples must be an integer >= 0', stat)
        return
      end if
    end if
    cd = UME_CODEC_BLOSC_LZ4
    cl = -1
    nt = 0
    moc = 0
    if (present(codec)) cd = codec
    if (present(clevel)) cl = clevel
    if (present(n_threads)) nt = n_threads
    if (present(max_open_chunks)) moc = max_open_chunks
    if (.not. nonnegative('codec', cd, stat)) return
    if (.not. nonnegative('n_threads', nt, stat)) return
    if (.not. nonnegative('max_open_chunks', moc, stat)) return
    if (present(zarr_format)) then
      if (.not. nonnegative('zarr_format', zarr_format, stat)) return
    end if
    if (present(claim_lease)) then
      if (.not. nonnegative('claim_lease', claim_lease, stat)) return
    end if

    ! The options: a ume_writer_config, one setter per option given (each checks its value).
    hnd = c_null_ptr
    cfg = c_null_ptr
    st = c_config_new(cfg)
    if (st == UME_OK .and. (present(codec) .or. present(clevel))) &
      st = c_config_set_codec(cfg, int(cd, c_int32_t), int(cl, c_int32_t))
    if (st == UME_OK .and. (present(chunk_samples) .or. present(inner_chunk_samples))) &
      st = c_config_set_chunking(cfg, chunk64, inner64)
    if (st == UME_OK .and. (present(n_threads) .or. present(max_open_chunks))) &
      st = c_config_set_threads(cfg, int(nt, c_int32_t), int(moc, c_int32_t))
    if (st == UME_OK .and. present(overwrite)) st = set_flag(UME_CONFIG_OVERWRITE, overwrite)
    if (st == UME_OK .and. present(allow_nonfinite)) &
      st = set_flag(UME_CONFIG_ALLOW_NONFINITE, allow_nonfinite)
    if (st == UME_OK .and. present(checksum)) st = set_flag(UME_CONFIG_CHECKSUM, checksum)
    if (st == UME_OK .and. present(fsync)) st = set_flag(UME_CONFIG_FSYNC, fsync)
    if (st == UME_OK .and. present(rewrite)) st = set_flag(UME_CONFIG_REWRITE, rewrite)
    if (st == UME_OK .and. present(zarr_format)) &
      st = c_config_set_zarr_format(cfg, int(zarr_format, c_int32_t))
    if (st == UME_OK .and. present(claim_lease)) &
      st = c_config_set_claim_lease(cfg, int(claim_lease, c_int64_t))
    if (st == UME_OK) st = c_writer_create_with_config(to_c(path), desc, cfg, hnd)
    call c_config_free(cfg)  ! the writer copied it; a success keeps the thread's message
    call finish(st, stat)
    w%ptr = hnd
    w%T = T
    w%H = H
    w%n_params = n_params
    w%n_shocks = n_shocks
    w%n_obs = n_obs
  contains
    integer(c_int) function set_flag(option, on) result(r)
      integer(c_int32_t), intent(in) :: option
      logical, intent(in) :: on
      r = c_config_set_flag(cfg, option, merge(1_c_int8_t, 0_c_int8_t, on))
    end function set_flag
  end subroutine ume_writer_create

  !> True if `value` of the argument `name` is >= 0; else the error goes to stat or stops.
  logical function nonnegative(name, value, stat) result(ok)
    character(len=*), intent(in) :: name
    integer, intent(in) :: value
    integer, intent(out), optional :: stat
    ok = value >= 0
    if (.not. ok) call local_error(UME_ERR_INVALID_ARGUMENT, 'ume_writer_create: '//name//' is ' &
                                   //itoa(int(value, int64))//', expected a value >= 0', stat)
  end function nonnegative

  !> Checks the shapes of one sample's arrays against the world: true if they fit.
  logical function sample_shapes_ok(fn, T, H, n_params, n_shocks, n_obs, s_theta, s_traj, &
                                    s_irfs, s_shocks, stat) result(ok)
    character(len=*), intent(in) :: fn
    integer, intent(in) :: T, H, n_params, n_shocks, n_obs
    integer(int64), intent(in) :: s_theta(:), s_traj(:), s_irfs(:), s_shocks(:)
    integer, intent(out), optional :: stat
    integer(int64) :: e_theta(1), e_traj(2), e_irfs(3), e_shocks(2)
    e_theta = [int(n_params, int64)]
    e_traj = [int(T, int64), int(n_obs, int64)]
    e_irfs = [int(n_shocks, int64), int(H, int64) + 1, int(n_obs, int64)]
    e_shocks = [int(T, int64), int(n_shocks, int64)]
    ok = .false.
    if (any(s_theta /= e_theta(1:size(s_theta)))) then
      call local_error(UME_ERR_LENGTH_MISMATCH, fn//': theta has shape '//shape_str(s_theta) &
                       //', expected (n_params) = '//shape_str(e_theta), stat)
    else if (any(s_traj /= e_traj(1:size(s_traj)))) then
      call local_error(UME_ERR_LENGTH_MISMATCH, fn//': traj has shape '//shape_str(s_traj) &
                       //', expected (T, n_obs) = '//shape_str(e_traj), stat)
    else if (any(s_irfs /= e_irfs(1:size(s_irfs)))) then
      call local_error(UME_ERR_LENGTH_MISMATCH, fn//': irfs has shape '//shape_str(s_irfs) &
                       //', expected (n_shocks, H+1, n_obs) = '//shape_str(e_irfs), stat)
    else if (any(s_shocks /= e_shocks(1:size(s_shocks)))) then
      call local_error(UME_ERR_LENGTH_MISMATCH, fn//': shocks has shape '//shape_str(s_shocks) &
                       //', expected (T, n_shocks) = '//shape_str(e_shocks), stat)
    else
      ok = .true.
    end if
  end function sample_shapes_ok

  pure function shape_str(s) result(r)
    integer(int64), intent(in) :: s(:)
    character(len=:), allocatable :: r
    integer :: k
    r = '('
    do k = 1, size(s)
      r = r//itoa(s(k))
      if (k < size(s)) r = r//', '
    end do
    r = r//')'
  end function shape_str

  subroutine write_sample_f64(w, sample, theta, traj, irfs, shocks, stat)
    type(ume_writer), intent(in) :: w
    class(*), intent(in) :: sample
    real(c_double), intent(in), contiguous :: theta(:), traj(:, :), irfs(:, :, :), shocks(:, :)
    integer, intent(out), optional :: stat
    integer(int64) :: i
    logical :: ok
    call as_int64(sample, i, ok)
    if (.not. ok) then
      call local_error(UME_ERR_INVALID_ARGUMENT, &
                       'ume_writer_write_sample: the sample id must be an integer', stat)
      return
    end if
    if (.not. sample_shapes_ok('ume_writer_write_sample', w%T, w%H, w%n_params, w%n_shocks, &
                               w%n_obs, shape(theta, int64), shape(traj, int64), &
                               shape(irfs, int64), shape(shocks, int64), stat)) return
    call finish(c_write_f64(w%ptr, i, UME_LAYOUT_F, theta, size(theta, kind=c_size_t), traj, &
                            size(traj, kind=c_size_t), irfs, size(irfs, kind=c_size_t), shocks, &
                            size(shocks, kind=c_size_t)), stat)
  end subroutine write_sample_f64

  subroutine write_sample_f32(w, sample, theta, traj, irfs, shocks, stat)
    type(ume_writer), intent(in) :: w
    class(*), intent(in) :: sample
    real(c_float), intent(in), contiguous :: theta(:), traj(:, :), irfs(:, :, :), shocks(:, :)
    integer, intent(out), optional :: stat
    integer(int64) :: i
    logical :: ok
    call as_int64(sample, i, ok)
    if (.not. ok) then
      call local_error(UME_ERR_INVALID_ARGUMENT, &
                       'ume_writer_write_sample: the sample id must be an integer', stat)
      return
    end if
    if (.not. sample_shapes_ok('ume_writer_write_sample', w%T, w%H, w%n_params, w%n_shocks, &
                               w%n_obs, shape(theta, int64), shape(traj, int64), &
                               shape(irfs, int64), shape(shocks, int64), stat)) return
    call finish(c_write_f32(w%ptr, i, UME_LAYOUT_F, theta, size(theta, kind=c_size_t), traj, &
                            size(traj, kind=c_size_t), irfs, size(irfs, kind=c_size_t), shocks, &
                            size(shocks, kind=c_size_t)), stat)
  end subroutine write_sample_f32

  !> Stores everything buffered; `summary` receives samples written and bytes per array.
  !> Call once, when no other thread writes. The handle must still be freed.
  subroutine ume_writer_finalize(w, summary, stat)
    type(ume_writer), intent(inout) :: w
    type(ume_summary), intent(out), optional :: summary
    integer, intent(out), optional :: stat
    type(ume_summary) :: s
    call finish(c_writer_finalize(w%ptr, s), stat)
    if (present(summary)) summary = s
  end subroutine ume_writer_finalize

  !> Releases the writer (a writer not finalized stores its buffered samples first, and
  !> its errors are lost). Freeing a released or never-created writer does nothing.
  subroutine ume_writer_free(w)
    type(ume_writer), intent(inout) :: w
    call c_writer_free(w%ptr)
    w%ptr = c_null_ptr
  end subroutine ume_writer_free

  ! ---- reader ---------------------------------------------------------------------------------

  !> Opens world `world_id` of the dataset at `path`.
  subroutine ume_reader_open(r, path, world_id, stat)
    type(ume_reader), intent(inout) :: r
    character(len=*), intent(in) :: path, world_id
    integer, intent(out), optional :: stat
    type(c_ptr) :: hnd
    integer(c_int) :: st
    if (.not. version_ok('ume_reader_open', stat)) return
    st = c_reader_open(to_c(path), to_c(world_id), hnd)
    if (st == UME_OK) then
      st = c_reader_shape(hnd, r%shape)
      if (st /= UME_OK) then
        call c_reader_free(hnd)
        hnd = c_null_ptr
      end if
    end if
    r%ptr = hnd
    call finish(st, stat)
  end subroutine ume_reader_open

  !> The world's dimensions.
  subroutine ume_reader_shape(r, shape, stat)
    type(ume_reader), intent(in) :: r
    type(ume_world_shape), intent(out) :: shape
    integer, intent(out), optional :: stat
    call finish(c_reader_shape(r%ptr, shape), stat)
  end subroutine ume_reader_shape

  !> How many threads a range read (ume_reader_read with count > 1) decodes on: 0 (the
  !> default) = automatic, one per core for reads of more than about 1 MB and the calling
  !> thread for one sample; 1 = the calling thread only (e.g. inside an OpenMP region).
  subroutine ume_reader_set_threads(r, n_threads, stat)
    type(ume_reader), intent(in) :: r
    integer, intent(in) :: n_threads
    integer, intent(out), optional :: stat
    if (n_threads < 0) then
      call local_error(UME_ERR_INVALID_ARGUMENT, 'ume_reader_set_threads: n_threads '// &
                       itoa(int(n_threads, int64))//' is negative, expected 0 or more', stat)
      return
    end if
    call finish(c_reader_set_threads(r%ptr, int(n_threads, c_int32_t)), stat)
  end subroutine ume_reader_set_threads

  !> How many samples the `written` mask marks as stored.
  subroutine ume_reader_samples_written(r, n, stat)
    type(ume_reader), intent(in) :: r
    integer(int64), intent(out) :: n
    integer, intent(out), optional :: stat
    integer(c_int64_t) :: c
    c = 0
    call finish(c_reader_samples_written(r%ptr, c), stat)
    n = c
  end subroutine ume_reader_samples_written

  !> written = .true. if sample `sample` (0-based id) is stored.
  subroutine ume_reader_is_written(r, sample, written, stat)
    type(ume_reader), intent(in) :: r
    class(*), intent(in) :: sample
    logical, intent(out) :: written
    integer, intent(out), optional :: stat
    integer(int64) :: i
    integer(c_int8_t) :: c
    logical :: ok
    written = .false.
    call as_int64(sample, i, ok)
    if (.not. ok) then
      call local_error(UME_ERR_INVALID_ARGUMENT, &
                       'ume_reader_is_written: the sample id must be an integer', stat)
      return
    end if
    c = 0
    call finish(c_reader_is_written(r%ptr, i, c), stat)
    written = c /= 0
  end subroutine ume_reader_is_written

  subroutine read_sample_f64(r, sample, theta, traj, irfs, shocks, stat)
    type(ume_reader), intent(in) :: r
    class(*), intent(in) :: sample
    real(c_double), intent(out), contiguous :: theta(:), traj(:, :), irfs(:, :, :), shocks(:, :)
    integer, intent(out), optional :: stat
    integer(int64) :: i
    logical :: ok
    call as_int64(sample, i, ok)
    if (.not. ok) then
      call local_error(UME_ERR_INVALID_ARGUMENT, 'ume_reader_read: the sample id must be an integer', stat)
      return
    end if
    if (.not. sample_shapes_ok('ume_reader_read', int(r%shape%T), int(r%shape%H), &
                               int(r%shape%n_params), int(r%shape%n_shocks), int(r%shape%n_obs), &
                               shape(theta, int64), shape(traj, int64), shape(irfs, int64), &
                               shape(shocks, int64), stat)) return
    call finish(c_read_f64(r%ptr, i, 1_c_int64_t, UME_LAYOUT_F, theta, size(theta, kind=c_size_t), &
                           traj, size(traj, kind=c_size_t), irfs, size(irfs, kind=c_size_t), &
                           shocks, size(shocks, kind=c_size_t)), stat)
  end subroutine read_sample_f64

  subroutine read_sample_f32(r, sample, theta, traj, irfs, shocks, stat)
    type(ume_reader), intent(in) :: r
    class(*), intent(in) :: sample
    real(c_float), intent(out), contiguous :: theta(:), traj(:, :), irfs(:, :, :), shocks(:, :)
    integer, intent(out), optional :: stat
    integer(int64) :: i
    logical :: ok
    call as_int64(sample, i, ok)
    if (.not. ok) then
      call local_error(UME_ERR_INVALID_ARGUMENT, 'ume_reader_read: the sample id must be an integer', stat)
      return
    end if
    if (.not. sample_shapes_ok('ume_reader_read', int(r%shape%T), int(r%shape%H), &
                               int(r%shape%n_params), int(r%shape%n_shocks), int(r%shape%n_obs), &
                               shape(theta, int64), shape(traj, int64), shape(irfs, int64), &
                               shape(shocks, int64), stat)) return
    call finish(c_read_f32(r%ptr, i, 1_c_int64_t, UME_LAYOUT_F, theta, size(theta, kind=c_size_t), &
                           traj, size(traj, kind=c_size_t), irfs, size(irfs, kind=c_size_t), &
                           shocks, size(shocks, kind=c_size_t)), stat)
  end subroutine read_sample_f32

  !> Checks a range read: every array's last extent is count, the others the world's.
  logical function range_shapes_ok(r, s_theta, s_traj, s_irfs, s_shocks, stat) result(ok)
    type(ume_reader), intent(in) :: r
    integer(int64), intent(in) :: s_theta(:), s_traj(:), s_irfs(:), s_shocks(:)
    integer, intent(out), optional :: stat
    integer(int64) :: count
    count = s_theta(size(s_theta))
    ok = .false.
    if (s_traj(size(s_traj)) /= count .or. s_irfs(size(s_irfs)) /= count .or. &
        s_shocks(size(s_shocks)) /= count) then
      call local_error(UME_ERR_LENGTH_MISMATCH, 'ume_reader_read: the last extents of theta, ' &
                       //'traj, irfs, shocks differ ('//itoa(count)//', ' &
                       //itoa(s_traj(size(s_traj)))//', '//itoa(s_irfs(size(s_irfs)))//', ' &
                       //itoa(s_shocks(size(s_shocks)))//'): they are the sample count', stat)
      return
    end if
    ok = sample_shapes_ok('ume_reader_read', int(r%shape%T), int(r%shape%H), &
                          int(r%shape%n_params), int(r%shape%n_shocks), int(r%shape%n_obs), &
                          s_theta(1:size(s_theta) - 1), s_traj(1:size(s_traj) - 1), &
                          s_irfs(1:size(s_irfs) - 1), s_shocks(1:size(s_shocks) - 1), stat)
  end function range_shapes_ok

  subroutine read_range_f64(r, start, theta, traj, irfs, shocks, stat)
    type(ume_reader), intent(in) :: r
    class(*), intent(in) :: start
    real(c_double), intent(out), contiguous :: theta(:, :), traj(:, :, :), irfs(:, :, :, :), &
                                               shocks(:, :, :)
    integer, intent(out), optional :: stat
    integer(int64) :: i
    logical :: ok
    call as_int64(start, i, ok)
    if (.not. ok) then
      call local_error(UME_ERR_INVALID_ARGUMENT, 'ume_reader_read: start must be an integer', stat)
      return
    end if
    if (.not. range_shapes_ok(r, shape(theta, int64), shape(traj, int64), shape(irfs, int64), &
                              shape(shocks, int64), stat)) return
    call finish(c_read_f64(r%ptr, i, size(theta, 2, kind=c_int64_t), UME_LAYOUT_F, theta, &
                           size(theta, kind=c_size_t), traj, size(traj, kind=c_size_t), irfs, &
                           size(irfs, kind=c_size_t), shocks, size(shocks, kind=c_size_t)), stat)
  end subroutine read_range_f64

  subroutine read_range_f32(r, start, theta, traj, irfs, shocks, stat)
    type(ume_reader), intent(in) :: r
    class(*), intent(in) :: start
    real(c_float), intent(out), contiguous :: theta(:, :), traj(:, :, :), irfs(:, :, :, :), &
                                              shocks(:, :, :)
    integer, intent(out), optional :: stat
    integer(int64) :: i
    logical :: ok
    call as_int64(start, i, ok)
    if (.not. ok) then
      call local_error(UME_ERR_INVALID_ARGUMENT, 'ume_reader_read: start must be an integer', stat)
      return
    end if
    if (.not. range_shapes_ok(r, shape(theta, int64), shape(traj, int64), shape(irfs, int64), &
                              shape(shocks, int64), stat)) return
    call finish(c_read_f32(r%ptr, i, size(theta, 2, kind=c_int64_t), UME_LAYOUT_F, theta, &
                           size(theta, kind=c_size_t), traj, size(traj, kind=c_size_t), irfs, &
                           size(irfs, kind=c_size_t), shocks, size(shocks, kind=c_size_t)), stat)
  end subroutine read_range_f32

  subroutine read_ids_f64(r, ids, theta, traj, irfs, shocks, n_threads, stat)
    type(ume_reader), intent(in) :: r
    integer(int64), intent(in), contiguous :: ids(:)
    real(c_double), intent(out), contiguous :: theta(:, :), traj(:, :, :), irfs(:, :, :, :), &
                                               shocks(:, :, :)
    integer, intent(in), optional :: n_threads
    integer, intent(out), optional :: stat
    integer(c_int32_t) :: nt
    if (.not. ids_args_ok(r, size(ids, kind=int64), shape(theta, int64), shape(traj, int64), &
                          shape(irfs, int64), shape(shocks, int64), n_threads, nt, stat)) return
    call finish(c_read_ids_f64(r%ptr, ids, size(ids, kind=c_size_t), UME_LAYOUT_F, theta, &
                               size(theta, kind=c_size_t), traj, size(traj, kind=c_size_t), irfs, &
                               size(irfs, kind=c_size_t), shocks, size(shocks, kind=c_size_t), &
                               nt), stat)
  end subroutine read_ids_f64

  subroutine read_ids_f32(r, ids, theta, traj, irfs, shocks, n_threads, stat)
    type(ume_reader), intent(in) :: r
    integer(int64), intent(in), contiguous :: ids(:)
    real(c_float), intent(out), contiguous :: theta(:, :), traj(:, :, :), irfs(:, :, :, :), &
                                              shocks(:, :, :)
    integer, intent(in), optional :: n_threads
    integer, intent(out), optional :: stat
    integer(c_int32_t) :: nt
    if (.not. ids_args_ok(r, size(ids, kind=int64), shape(theta, int64), shape(traj, int64), &
                          shape(irfs, int64), shape(shocks, int64), n_threads, nt, stat)) return
    call finish(c_read_ids_f32(r%ptr, ids, size(ids, kind=c_size_t), UME_LAYOUT_F, theta, &
                               size(theta, kind=c_size_t), traj, size(traj, kind=c_size_t), irfs, &
                               size(irfs, kind=c_size_t), shocks, size(shocks, kind=c_size_t), &
                               nt), stat)
  end subroutine read_ids_f32

  ! The thread count (default 0 = automatic) and the arrays' last extent = number of ids; the
  ! other extents are checked by range_shapes_ok, the ids by the library.
  logical function ids_args_ok(r, n, s_theta, s_traj, s_irfs, s_shocks, n_threads, nt, stat)
    type(ume_reader), intent(in) :: r
    integer(int64), intent(in) :: n, s_theta(2), s_traj(3), s_irfs(4), s_shocks(3)
    integer, intent(in), optional :: n_threads
    integer(c_int32_t), intent(out) :: nt
    integer, intent(out), optional :: stat
    ids_args_ok = .false.
    nt = 0
    if (present(n_threads)) then
      if (n_threads < 0) then
        call local_error(UME_ERR_INVALID_ARGUMENT, 'ume_reader_read_ids: n_threads '// &
                         itoa(int(n_threads, int64))//' is negative, expected 0 or more', stat)
        return
      end if
      nt = int(n_threads, c_int32_t)
    end if
    if (s_theta(2) /= n) then
      call local_error(UME_ERR_LENGTH_MISMATCH, 'ume_reader_read_ids: theta has '// &
                       itoa(s_theta(2))//' columns, expected one per id ('//itoa(n)//')', stat)
      return
    end if
    ids_args_ok = range_shapes_ok(r, s_theta, s_traj, s_irfs, s_shocks, stat)
  end function ids_args_ok

  !> Releases the reader. Freeing a released or never-opened reader does nothing.
  subroutine ume_reader_free(r)
    type(ume_reader), intent(inout) :: r
    call c_reader_free(r%ptr)
    r%ptr = c_null_ptr
  end subroutine ume_reader_free

end module umedata
