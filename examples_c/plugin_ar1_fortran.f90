! plugin_ar1_fortran — the simulator plugin of examples_c/plugin_ar1.c written in Fortran: the
! AR(1) economy y_t = rho y_{t-1} + sigma e_t (T = 100, H = 20; draws with rho > 0.98
! rejected and redrawn), with the same name, version, description and draw order, so that
! `umedata generate --sim libar1f.so` stores, value for value, what libar1.so stores (CTest
! plugin_ar1_fortran_cli).
!
! It uses the umedata module (bindings/fortran/umedata.f90) for the type ume_plugin_v1 and
! the interfaces of the lent generator functions only; it does not link libumedata: the
! shocks are drawn through the functions the host lends in the struct.
!
! Build: gfortran -shared -fPIC -ffp-contract=off -I<dir of umedata.mod> \
!          examples_c/plugin_ar1_fortran.f90 -o libar1f.so
! Run:   umedata generate --sim ./libar1f.so -n 10000 -o ar1.zarr
!        umedata validate ar1.zarr --reproduce 100
module plugin_ar1_fortran
  ! (c_funptr is not used by name: gfortran wants it in scope for c_f_procpointer on
  ! p%rng_fill_normal, a component of a type from another module.)
  use, intrinsic :: iso_c_binding, only: c_int32_t, c_int64_t, c_size_t, c_double, c_char, &
      c_null_char, c_ptr, c_null_ptr, c_funptr, c_associated, c_loc, c_funloc, &
      c_f_procpointer, c_sizeof
  use umedata, only: UME_OK, UME_PLUGIN_ABI_VERSION, ume_plugin_v1, ume_plugin_rng_fill_fn
  implicit none
  private
  public :: umedata_plugin_v1

  integer, parameter :: NT = 100, NH = 20

  ! Everything the host is given a pointer to lives as long as the library: module data.
  character(kind=c_char, len=4), target, save :: s_name = 'ar1'//c_null_char
  character(kind=c_char, len=4), target, save :: s_version = '1.0'//c_null_char
  character(kind=c_char, len=4), target, save :: s_rho = 'rho'//c_null_char
  character(kind=c_char, len=6), target, save :: s_sigma = 'sigma'//c_null_char
  character(kind=c_char, len=2), target, save :: s_unit = '-'//c_null_char
  character(kind=c_char, len=4), target, save :: s_eps = 'eps'//c_null_char
  character(kind=c_char, len=2), target, save :: s_y = 'y'//c_null_char
  character(kind=c_char, len=15), target, save :: s_reason = 'near_unit_root'//c_null_char
  real(c_double), target, save :: lo(2) = [0.0_c_double, 0.1_c_double]
  real(c_double), target, save :: hi(2) = [0.99_c_double, 1.0_c_double]
  real(c_double), target, save :: sd(1) = [1.0_c_double]
  ! Arrays of C strings (const char *const *), filled by the entry point (c_loc is not a
  ! constant expression).
  type(c_ptr), target, save :: params(2) = c_null_ptr, units(2) = c_null_ptr
  type(c_ptr), target, save :: shocks(1) = c_null_ptr, obs(1) = c_null_ptr
  type(c_ptr), target, save :: reasons(1) = c_null_ptr

  ! The host's generator, lent at load time (p%rng_fill_normal).
  procedure(ume_plugin_rng_fill_fn), pointer, save :: fill_normal => null()

contains

  ! The simulate callback (C type ume_simulate_fn), called from the engine's threads at
  ! once: no saved state written, locals on the stack (-frecursive). The C buffers are
  ! row-major: traj is T x 1, irfs 1 x (H+1) x 1, eps T x 1.
  integer(c_int32_t) function simulate(user, sample, theta, rng, traj, irfs, eps) &
      bind(C, name='ar1f_simulate')
    type(c_ptr), value :: user, rng
    integer(c_int64_t), value :: sample
    real(c_double), intent(in) :: theta(2)
    real(c_double), intent(inout) :: traj(NT), irfs(0:NH), eps(NT)
    real(c_double) :: rho, sigma, y
    integer :: t, h
    if (.false.) print *, sample, c_associated(user)
    rho = theta(1)
    sigma = theta(2)
    if (rho > 0.98_c_double) then
      simulate = 1                         ! reject: redrawn from the same stream, counted
      return
    end if
    if (fill_normal(rng, eps, int(NT, c_size_t)) /= UME_OK) then
      simulate = -1
      return
    end if
    y = 0
    do t = 1, NT
      y = rho * y + sigma * eps(t)
      traj(t) = y
    end do
    irfs(0) = sigma
    do h = 1, NH
      irfs(h) = irfs(h - 1) * rho
    end do
    simulate = 0                           ! accept
  end function simulate

  ! The entry point the host looks up: refuses (returns 1) a host whose struct is smaller
  ! than this one or whose ABI version it does not know, like the C plugin.
  integer(c_int32_t) function umedata_plugin_v1(p) bind(C, name='umedata_plugin_v1')
    type(ume_plugin_v1), intent(inout) :: p
    if (p%abi_version /= UME_PLUGIN_ABI_VERSION .or. &
        int(p%struct_size, c_size_t) < c_sizeof(p)) then
      umedata_plugin_v1 = 1
      return
    end if
    call c_f_procpointer(p%rng_fill_normal, fill_normal)
    params = [c_loc(s_rho), c_loc(s_sigma)]
    units = [c_loc(s_unit), c_loc(s_unit)]
    shocks = [c_loc(s_eps)]
    obs = [c_loc(s_y)]
    reasons = [c_loc(s_reason)]
    p%name = c_loc(s_name)
    p%version = c_loc(s_version)
    p%T = NT
    p%H = NH
    p%n_params = 2
    p%param_names = c_loc(params)
    p%param_lo = c_loc(lo)
    p%param_hi = c_loc(hi)
    p%param_default = c_null_ptr           ! the midpoints
    p%param_units = c_loc(units)
    p%n_shocks = 1
    p%shock_names = c_loc(shocks)
    p%shock_sigma = c_loc(sd)
    p%n_obs = 1
    p%obs_names = c_loc(obs)
    p%n_reject_reasons = 1
    p%reject_reason_names = c_loc(reasons)
    p%simulate = c_funloc(simulate)
    p%user = c_null_ptr
    umedata_plugin_v1 = 0
  end function umedata_plugin_v1

end module plugin_ar1_fortran
