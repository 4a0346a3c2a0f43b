! fortran_demo — the demo economy of write_demo.c, in Fortran, through the umedata module.
!
!   fortran_demo OUT_DIR [N=1000] [CHUNK_SAMPLES=0] [--overwrite]
!
! Same simulator, seeds, world ("nk"), names and shapes as examples_c/write_demo.c (the
! model is specified in docs/c-api-draft.md, "Demo simulator"), but with Fortran arrays,
! passed to umedata as they are (column-major, no transpose):
!   theta(n_params), traj(T, n_obs), irfs(n_shocks, H+1, n_obs), shocks(T, n_shocks).
! Even samples are written from real(c_double) arrays, odd ones from real(c_float) copies
! (rounded to nearest here, as the library rounds doubles), so both overloads are used; the
! stored float32 values must equal the C demo's bit for bit (CTest compares the datasets).
! The options go through the module to the opaque ume_writer_config (checked option by
! option); the demo checks that bad options fail at their C setter and the version check.
!
! Reproducibility: compile with -ffp-contract=off (no fused multiply-add, as the C demo)
! and -fwrapv (splitmix64 needs wrapping 64-bit integer arithmetic; Fortran has no
! unsigned integers, so the uint64 constants are written as their two's complement).
! Every expression below is evaluated in the C demo's order: Fortran compilers may
! reorder mathematically equivalent expressions, gfortran does not without -ffast-math
! (and -fprotect-parens is its default), so no parentheses are needed beyond the C ones.
program fortran_demo
  use, intrinsic :: iso_c_binding, only: c_double, c_float
  use, intrinsic :: iso_fortran_env, only: int32, int64, error_unit
  use umedata
  implicit none

  integer, parameter :: dp = c_double
  integer, parameter :: T = 200, H = 40, NP = 8, NS = 3, NO = 3
  integer(int64), parameter :: GLOBAL_SEED = 42
  ! splitmix64 constants 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
  integer(int64), parameter :: GAMMA = -7046029254386353131_int64
  integer(int64), parameter :: MUL1 = -4658895280553007687_int64
  integer(int64), parameter :: MUL2 = -7723592293110705685_int64
  real(dp), parameter :: TWO_M53 = 2.0_dp**(-53)
  real(dp), parameter :: PI = 3.14159265358979323846_dp
  real(dp), parameter :: LO(NP) = [0.985_dp, 0.5_dp, 1.05_dp, 0.0_dp, 0.0_dp, 0.0_dp, 0.001_dp, 0.001_dp]
  real(dp), parameter :: HI(NP) = [0.995_dp, 2.5_dp, 3.5_dp, 1.0_dp, 0.9_dp, 0.95_dp, 0.02_dp, 0.01_dp]
  character(len=*), parameter :: PARAM_NAMES(NP) = [character(len=7) :: 'beta', 'sigma', &
      'phi_pi', 'phi_y', 'rho_i', 'rho_a', 'sigma_a', 'sigma_m']
  character(len=*), parameter :: SHOCK_NAMES(NS) = [character(len=10) :: 'monetary', &
      'technology', 'cost_push']
  character(len=*), parameter :: OBS_NAMES(NO) = [character(len=9) :: 'output', 'inflation', 'rate']

  character(len=4096) :: out_dir, arg
  integer(int64) :: n, chunk, i
  integer :: a, n_positional, stat, ios, n_bad
  logical :: overwrite, written
  type(ume_writer) :: w
  type(ume_reader) :: r
  type(ume_summary) :: summary
  type(ume_world_shape) :: shp
  real(dp) :: theta(NP), traj(T, NO), irfs(NS, H + 1, NO), shocks(T, NS)
  real(dp) :: bad_traj(NO, T)
  real(c_float) :: th32(NP), tr32(T, NO), ir32(NS, H + 1, NO), sh32(T, NS)
  real(c_float), allocatable :: rth(:, :), rtr(:, :, :), rir(:, :, :, :), rsh(:, :, :)
  integer(int64), allocatable :: ids(:)
  integer :: k
  integer(int64) :: n_written, n_range

  ! ---- command line ----
  n = 1000
  chunk = 0
  overwrite = .false.
  n_positional = 0
  out_dir = ''
  do a = 1, command_argument_count()
    call get_command_argument(a, arg)
    if (trim(arg) == '--overwrite') then
      overwrite = .true.
    else if (n_positional == 0) then
      out_dir = arg
      n_positional = 1
    else if (n_positional == 1) then
      read (arg, *, iostat=ios) n
      if (ios /= 0 .or. n < 1) call usage('bad N '//trim(arg))
      n_positional = 2
    else if (n_positional == 2) then
      read (arg, *, iostat=ios) chunk
      if (ios /= 0 .or. chunk < 0) call usage('bad CHUNK_SAMPLES '//trim(arg))
      n_positional = 3
    else
      call usage('bad argument '//trim(arg))
    end if
  end do
  if (n_positional == 0) call usage('OUT_DIR missing')

  ! ---- create the writer (errors through stat) ----
  call ume_writer_create(w, trim(out_dir), 'nk', n_samples=n, T=T, H=H, n_params=NP, &
                         n_shocks=NS, n_obs=NO, param_names=PARAM_NAMES, &
                         shock_names=SHOCK_NAMES, obs_names=OBS_NAMES, chunk_samples=chunk, &
                         overwrite=overwrite, claim_lease=600, rewrite=.false., stat=stat)
  if (stat /= UME_OK) then
    write (error_unit, '(a)') 'fortran_demo: '//ume_error_message()
    error stop 1
  end if

  ! ---- simulate and write; sample ids are 0-based, as stored ----
  do i = 0, n - 1
    call simulate_sample(i, theta, traj, irfs, shocks)
    if (mod(i, 2_int64) == 0) then
      call ume_writer_write_sample(w, i, theta, traj, irfs, shocks)    ! no stat: stops on error
    else
      th32 = real(theta, c_float)
      tr32 = real(traj, c_float)
      ir32 = real(irfs, c_float)
      sh32 = real(shocks, c_float)
      call ume_writer_write_sample(w, i, th32, tr32, ir32, sh32, stat=stat)
      if (stat /= UME_OK) then
        write (error_unit, '(a)') 'fortran_demo: '//ume_error_message()
        error stop 1
      end if
    end if
  end do

  ! ---- errors come back in stat, with a message ----
  write (*, '(a)') 'fortran_demo: errors through stat='
  call simulate_sample(0_int64, theta, traj, irfs, shocks)
  call ume_writer_write_sample(w, n, theta, traj, irfs, shocks, stat=stat)
  call expect(stat, UME_ERR_OUT_OF_RANGE, 'sample id N')
  bad_traj = transpose(traj)
  call ume_writer_write_sample(w, 0, theta, bad_traj, irfs, shocks, stat=stat)
  call expect(stat, UME_ERR_LENGTH_MISMATCH, 'traj(n_obs, T), transposed')
  call ume_writer_write_sample(w, 0, theta, traj, irfs, shocks, stat=stat)
  call expect(stat, UME_ERR_ALREADY_WRITTEN, 'sample 0 again')

  ! ---- options go through ume_writer_config: a bad one fails at its setter ----
  write (*, '(a)') 'fortran_demo: options are checked by the ume_writer_config setters'
  call create_bad(stat, codec=9)
  call expect(stat, UME_ERR_INVALID_ARGUMENT, 'codec=9')
  call expect_message('ume_writer_config_set_codec: codec 9')
  call create_bad(stat, chunk_samples=16, inner_chunk_samples=5)
  call expect(stat, UME_ERR_INVALID_ARGUMENT, 'chunk_samples=16, inner_chunk_samples=5')
  call expect_message('ume_writer_config_set_chunking: inner_chunk_samples 5')
  call create_bad(stat, zarr_format=4)
  call expect(stat, UME_ERR_INVALID_ARGUMENT, 'zarr_format=4')
  call expect_message('ume_writer_config_set_zarr_format: zarr_format is 4')
  call create_bad(stat, claim_lease=1)
  call expect(stat, UME_ERR_INVALID_ARGUMENT, 'claim_lease=1')
  call expect_message('ume_writer_config_set_claim_lease: claim_lease_seconds is 1')
  call create_bad(stat, n_threads=-1)
  call expect(stat, UME_ERR_INVALID_ARGUMENT, 'n_threads=-1')
  call expect_message('ume_writer_create: n_threads is -1, expected a value >= 0')

  ! ---- the version check (README, "ABI policy"): same major, minor >= the module's ----
  call ume_check_version(stat)
  call expect(stat, UME_OK, 'ume_check_version')
  if (.not. ume_version_compatible(ume_version(), UME_VERSION_MAJOR, UME_VERSION_MINOR)) &
    error stop 'fortran_demo: this library does not pass its own version check'
  if (.not. (ume_version_compatible('0.3.0', 0, 3) .and. ume_version_compatible('0.4.1', 0, 3) &
             .and. ume_version_compatible('0.12', 0, 3)) .or. &
      ume_version_compatible('0.2.9', 0, 3) .or. ume_version_compatible('1.3.0', 0, 3) .or. &
      ume_version_compatible('', 0, 3) .or. ume_version_compatible('0.x.0', 0, 3) .or. &
      ume_version_compatible('.3.0', 0, 3) .or. ume_version_compatible('03', 0, 3)) &
    error stop 'fortran_demo: ume_version_compatible does not follow the ABI policy'
  write (*, '(a)') '  version check: library '//ume_version()//' serves this module'

  call ume_writer_finalize(w, summary, stat=stat)
  if (stat /= UME_OK) then
    write (error_unit, '(a)') 'fortran_demo: '//ume_error_message()
    error stop 1
  end if
  call ume_writer_free(w)
  write (*, '(a, a, a, a, a, i0, a, i0, a, f6.3)') 'fortran_demo: wrote ', trim(out_dir), &
      '/nk (umedata ', ume_version(), '): ', summary%samples_written, ' of ', &
      summary%n_samples, ' samples, trajectories stored/raw ', summary%trajectories%ratio
  if (summary%samples_written /= n) error stop 'fortran_demo: not every sample was written'

  ! ---- read back: every sample, one by one (float32, as stored) and as a range ----
  call ume_reader_open(r, trim(out_dir), 'nk')
  call ume_reader_shape(r, shp)
  call ume_reader_samples_written(r, n_written)
  call ume_reader_is_written(r, n - 1, written)
  if (shp%n_samples /= n .or. shp%T /= T .or. shp%H /= H .or. n_written /= n .or. .not. written) &
    error stop 'fortran_demo: the reader reports other shapes or counts than written'
  n_bad = 0
  do i = 0, n - 1
    call ume_reader_read(r, i, th32, tr32, ir32, sh32)
    call simulate_sample(i, theta, traj, irfs, shocks)
    n_bad = n_bad + count(bits(th32) /= bits(real(theta, c_float))) &
            + count(bits(reshape(tr32, [T * NO])) /= bits(real(reshape(traj, [T * NO]), c_float))) &
            + count(bits(reshape(ir32, [NS * (H + 1) * NO])) /= &
                    bits(real(reshape(irfs, [NS * (H + 1) * NO]), c_float))) &
            + count(bits(reshape(sh32, [T * NS])) /= bits(real(reshape(shocks, [T * NS]), c_float)))
  end do
  ! A range: samples 0..n_range-1 at once, each block shaped like a single sample.
  n_range = min(n, 10_int64)
  allocate (rth(NP, n_range), rtr(T, NO, n_range), rir(NS, H + 1, NO, n_range), rsh(T, NS, n_range))
  call ume_reader_set_threads(r, 2)   ! the range decoded on 2 of the library's threads
  call ume_reader_read(r, 0, rth, rtr, rir, rsh)
  do i = 0, n_range - 1
    call simulate_sample(i, theta, traj, irfs, shocks)
    n_bad = n_bad + count(bits(rth(:, i + 1)) /= bits(real(theta, c_float))) &
            + count(bits(reshape(rtr(:, :, i + 1), [T * NO])) /= &
                    bits(real(reshape(traj, [T * NO]), c_float))) &
            + count(bits(reshape(rir(:, :, :, i + 1), [NS * (H + 1) * NO])) /= &
                    bits(real(reshape(irfs, [NS * (H + 1) * NO]), c_float)))
  end do
  ! A shuffled batch: the same samples in reverse order plus a repeat, by 0-based id.
  ids = [(n_range - 1 - i, i = 0, n_range - 1), 0_int64]
  deallocate (rth, rtr, rir, rsh)
  allocate (rth(NP, n_range + 1), rtr(T, NO, n_range + 1), rir(NS, H + 1, NO, n_range + 1), &
            rsh(T, NS, n_range + 1))
  call ume_reader_read_ids(r, ids, rth, rtr, rir, rsh, n_threads=2)
  do k = 1, size(ids)
    call simulate_sample(ids(k), theta, traj, irfs, shocks)
    n_bad = n_bad + count(bits(rth(:, k)) /= bits(real(theta, c_float))) &
            + count(bits(reshape(rtr(:, :, k), [T * NO])) /= &
                    bits(real(reshape(traj, [T * NO]), c_float))) &
            + count(bits(reshape(rsh(:, :, k), [T * NS])) /= &
                    bits(real(reshape(shocks, [T * NS]), c_float)))
  end do
  call ume_reader_free(r)
  if (n_bad /= 0) then
    write (error_unit, '(a, i0, a)') 'fortran_demo: ', n_bad, &
        ' values read back differ from float32 of the simulated values'
    error stop 1
  end if
  write (*, '(a, i0, a, i0, a)') '  read back all ', n, ' samples (and 0..', n_range - 1, &
      ' as a range): equal to float32 of the simulated values'

contains

  subroutine usage(why)
    character(len=*), intent(in) :: why
    write (error_unit, '(a)') 'fortran_demo: '//why
    write (error_unit, '(a)') 'usage: fortran_demo OUT_DIR [N=1000] [CHUNK_SAMPLES=0] [--overwrite]'
    error stop 2
  end subroutine usage

  subroutine expect(got, want, what)
    integer, intent(in) :: got, want
    character(len=*), intent(in) :: what
    if (got /= want) then
      write (error_unit, '(a, i0, a, i0, a)') 'fortran_demo: '//what//': stat ', got, &
          ', expected ', want, ': '//ume_error_message()
      error stop 1
    end if
    write (*, '(a, i0, a)') '  '//what//' -> stat ', got, ' ('//ume_status_string(got)//'): ' &
        //ume_error_message()
  end subroutine expect

  !> ume_writer_create of a world 'bad' with one bad option: must fail before anything is
  !> created.
  subroutine create_bad(stat, codec, chunk_samples, inner_chunk_samples, zarr_format, &
                        claim_lease, n_threads)
    integer, intent(out) :: stat
    integer, intent(in), optional :: codec, chunk_samples, inner_chunk_samples, zarr_format, &
                                     claim_lease, n_threads
    type(ume_writer) :: bad
    call ume_writer_create(bad, trim(out_dir), 'bad', n_samples=16, T=T, H=H, n_params=NP, &
                           n_shocks=NS, n_obs=NO, codec=codec, chunk_samples=chunk_samples, &
                           inner_chunk_samples=inner_chunk_samples, zarr_format=zarr_format, &
                           claim_lease=claim_lease, n_threads=n_threads, stat=stat)
    call ume_writer_free(bad)
  end subroutine create_bad

  !> The last error message must start with `want`.
  subroutine expect_message(want)
    character(len=*), intent(in) :: want
    if (index(ume_error_message(), want) /= 1) then
      write (error_unit, '(a)') 'fortran_demo: message "'//ume_error_message()// &
          '", expected it to start with "'//want//'"'
      error stop 1
    end if
  end subroutine expect_message

  !> The bit patterns of float32 values (exact comparison, no -Wcompare-reals).
  elemental integer(int32) function bits(x)
    real(c_float), intent(in) :: x
    bits = transfer(x, 0_int32)
  end function bits

  ! ---- splitmix64 (wrapping int64 arithmetic, logical shifts) ----
  integer(int64) function rng_next(state) result(z)
    integer(int64), intent(inout) :: state
    state = state + GAMMA
    z = state
    z = ieor(z, shiftr(z, 30)) * MUL1
    z = ieor(z, shiftr(z, 27)) * MUL2
    z = ieor(z, shiftr(z, 31))
  end function rng_next

  !> Double in [0, 1) from the top 53 bits.
  real(dp) function rng_uniform(state)
    integer(int64), intent(inout) :: state
    rng_uniform = real(shiftr(rng_next(state), 11), dp) * TWO_M53
  end function rng_uniform

  !> Box-Muller, cosine branch only.
  real(dp) function rng_normal(state)
    integer(int64), intent(inout) :: state
    real(dp) :: u1, u2
    u1 = rng_uniform(state)
    u2 = rng_uniform(state)
    rng_normal = sqrt(-2.0_dp * log(1.0_dp - u1)) * cos(2.0_dp * PI * u2)
  end function rng_normal

  !> y(t, :) for t = 1..n_steps from y_0 = 0 driven by e(t, :); sums in index order p, then k.
  subroutine simulate_path(am, bm, e, n_steps, y_out)
    real(dp), intent(in) :: am(3, 3), bm(3, 3), e(:, :)
    integer, intent(in) :: n_steps
    real(dp), intent(out) :: y_out(:, :)
    real(dp) :: y(3), next(3), acc
    integer :: tt, o, p, k
    y = 0.0_dp
    do tt = 1, n_steps
      do o = 1, 3
        acc = 0.0_dp
        do p = 1, 3
          acc = acc + am(o, p) * y(p)
        end do
        do k = 1, 3
          acc = acc + bm(o, k) * e(tt, k)
        end do
        next(o) = acc
      end do
      y = next
      y_out(tt, :) = next
    end do
  end subroutine simulate_path

  !> Sample `id` of the demo world, in Fortran layout.
  subroutine simulate_sample(id, theta, traj, irfs, shocks)
    integer(int64), intent(in) :: id
    real(dp), intent(out) :: theta(NP), traj(T, NO), irfs(NS, H + 1, NO), shocks(T, NS)
    integer(int64) :: state
    real(dp) :: am(3, 3), bm(3, 3), baseline(H + 1, NO), shocked(H + 1, NO), e(H + 1, NS)
    real(dp) :: sigma, phi_pi, phi_y, rho_i, rho_a, sigma_a, sigma_m
    integer :: j, tt, k, hh
    state = GLOBAL_SEED + id
    do j = 1, NP
      theta(j) = LO(j) + (HI(j) - LO(j)) * rng_uniform(state)
    end do
    do tt = 1, T
      do k = 1, NS
        shocks(tt, k) = rng_normal(state)
      end do
    end do
    sigma = theta(2)
    phi_pi = theta(3)
    phi_y = theta(4)
    rho_i = theta(5)
    rho_a = theta(6)
    sigma_a = theta(7)
    sigma_m = theta(8)
    ! rows: output, inflation, rate
    am(1, :) = [0.9_dp * rho_a, 0.0_dp, -0.05_dp / sigma]
    am(2, :) = [0.02_dp * phi_y, 0.3_dp + 0.4_dp * rho_i, 0.0_dp]
    am(3, :) = [0.0_dp, 0.02_dp * (phi_pi - 1.0_dp), rho_i]
    ! columns: monetary, technology, cost_push
    bm(1, :) = [-0.5_dp * sigma_m, sigma_a, 0.0_dp]
    bm(2, :) = [0.0_dp, -0.3_dp * sigma_a, 0.005_dp]
    bm(3, :) = [sigma_m, 0.0_dp, 0.0_dp]

    call simulate_path(am, bm, shocks, T, traj)
    call simulate_path(am, bm, shocks(1:H + 1, :), H + 1, baseline)
    do k = 1, NS
      e = shocks(1:H + 1, :)
      e(1, k) = e(1, k) + 1.0_dp
      call simulate_path(am, bm, e, H + 1, shocked)
      do hh = 1, H + 1
        irfs(k, hh, :) = shocked(hh, :) - baseline(hh, :)
      end do
    end do
  end subroutine simulate_sample

end program fortran_demo
