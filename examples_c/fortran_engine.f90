! fortran_engine — a Fortran simulator driven by the generation engine (issue 13) through a
! bind(C) callback: the AR(1) economy of examples_c/plugin_ar1.c, y_t = rho y_{t-1} + sigma e_t
! (T = 100, H = 20; draws with rho > 0.98 rejected and redrawn), under the same name,
! version, description and seed, so that its dataset must equal, value for value, the one
! `umedata generate --sim libar1.so` writes (CTest fortran_engine_matches_plugin).
!
!   fortran_engine OUT.zarr N [THREADS=2] [DESIGN=uniform|sobol]
module ar1_model
  use, intrinsic :: iso_c_binding
  use umedata, only: UME_OK, ume_rng_fill_normal
  implicit none
  private
  integer, parameter, public :: NT = 100, NH = 20
  public :: simulate
contains
  ! The simulate callback (C type ume_simulate_fn), called from the engine's threads: no
  ! saved state, locals on the stack. C buffers are row-major: traj is T x 1, irfs 1 x (H+1) x 1.
  integer(c_int32_t) function simulate(user, sample, theta, rng, traj, irfs, eps) bind(C)
    type(c_ptr), value :: user, rng
    integer(c_int64_t), value :: sample
    real(c_double), intent(in) :: theta(2)
    real(c_double), intent(inout) :: traj(NT), irfs(0:NH), eps(NT)
    real(c_double) :: rho, sigma, y
    integer :: t, h
    if (.false.) print *, c_associated(user), sample
    rho = theta(1)
    sigma = theta(2)
    if (rho > 0.98_c_double) then
      simulate = 1                         ! reject: redrawn from the same stream, counted
      return
    end if
    if (ume_rng_fill_normal(rng, eps, int(NT, c_size_t)) /= UME_OK) then
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
    simulate = 0
  end function simulate
end module ar1_model

program fortran_engine
  use, intrinsic :: iso_c_binding
  use umedata
  use ar1_model
  implicit none
  type(c_ptr) :: sim, cfg
  character(len=4096) :: out, arg
  integer(c_int64_t) :: n
  integer(c_int32_t) :: threads, design
  integer :: st

  if (command_argument_count() < 2) then
    write (*, '(a)') 'usage: fortran_engine OUT.zarr N [THREADS=2] [DESIGN=uniform|sobol]'
    error stop 2
  end if
  call get_command_argument(1, out)
  call get_command_argument(2, arg)
  read (arg, *) n
  threads = 2
  if (command_argument_count() >= 3) then
    call get_command_argument(3, arg)
    read (arg, *) threads
  end if
  design = UME_DESIGN_UNIFORM
  if (command_argument_count() >= 4) then
    call get_command_argument(4, arg)
    if (trim(arg) == 'sobol') design = UME_DESIGN_SOBOL
  end if

  call check(ume_sim_new('ar1'//c_null_char, '1.0'//c_null_char, int(NT, c_int32_t), &
                         int(NH, c_int32_t), sim), 'ume_sim_new')
  call check(ume_sim_add_param(sim, 'rho'//c_null_char, 0.0_c_double, 0.99_c_double, &
                               0.495_c_double, '-'//c_null_char), 'add_param rho')
  call check(ume_sim_add_param(sim, 'sigma'//c_null_char, 0.1_c_double, 1.0_c_double, &
                               0.55_c_double, '-'//c_null_char), 'add_param sigma')
  call check(ume_sim_add_shock(sim, 'eps'//c_null_char, 1.0_c_double), 'add_shock')
  call check(ume_sim_add_obs(sim, 'y'//c_null_char), 'add_obs')
  call check(ume_sim_set_reject_reason(sim, 1_c_int32_t, 'near_unit_root'//c_null_char), &
             'set_reject_reason')
  call check(ume_gen_config_new(cfg), 'ume_gen_config_new')
  call check(ume_gen_config_set_seed(cfg, 42_c_int64_t), 'set_seed')
  call check(ume_gen_config_set_samples(cfg, n), 'set_samples')
  call check(ume_gen_config_set_threads(cfg, threads), 'set_threads')
  call check(ume_gen_config_set_design(cfg, design), 'set_design')
  st = ume_generate(trim(out)//c_null_char, sim, cfg, c_funloc(simulate), c_null_ptr, &
                    c_null_funptr, c_null_ptr, c_null_ptr)
  call check(st, 'ume_generate')
  write (*, '(a,i0,a,a)') 'fortran_engine: wrote ', n, ' samples of ar1 to ', trim(out)
  call ume_gen_config_free(cfg)
  call ume_sim_free(sim)

contains

  subroutine check(st, what)
    integer, intent(in) :: st
    character(len=*), intent(in) :: what
    if (st /= UME_OK) then
      write (*, '(a,a,a,a)') 'fortran_engine: ', what, ': ', ume_error_message()
      error stop 1
    end if
  end subroutine check

end program fortran_engine
