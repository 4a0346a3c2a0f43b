! The same as consumer.c through the Fortran module.
program consumer_fortran
  use, intrinsic :: iso_c_binding, only: c_double
  use umedata
  implicit none
  type(ume_writer) :: w
  type(ume_reader) :: r
  type(ume_summary) :: s
  character(len=4096) :: out
  real(c_double) :: theta(2), traj(4, 2), irfs(1, 3, 2), shocks(4, 1)
  integer :: i, k, stat
  call get_command_argument(1, out)
  call ume_writer_create(w, trim(out), 'tiny', n_samples=6, T=4, H=2, n_params=2, &
                         n_shocks=1, n_obs=2, overwrite=.true., stat=stat)
  if (stat /= UME_OK) error stop 'ume_writer_create failed'
  do i = 0, 5
    theta = i
    traj = reshape([(real(100 * i + k, c_double), k = 0, 7)], [4, 2])
    irfs = 0.5_c_double
    shocks = -1.0_c_double
    call ume_writer_write_sample(w, i, theta, traj, irfs, shocks)
  end do
  call ume_writer_finalize(w, s)
  call ume_writer_free(w)
  call ume_reader_open(r, trim(out), 'tiny')
  call ume_reader_read(r, 5, theta, traj, irfs, shocks)
  call ume_reader_free(r)
  ! traj(t, o) = 500 + (t-1) + 4*(o-1): column-major round trip
  if (nint(traj(4, 2)) /= 507 .or. nint(traj(1, 2)) /= 504) error stop 'wrong data read back'
  print '(a, a, a, i0, a)', 'consumer_fortran: umedata ', ume_version(), ', ', &
      s%samples_written, ' samples'
end program consumer_fortran
