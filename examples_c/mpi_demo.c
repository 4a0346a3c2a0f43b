/* mpi_demo — many processes write one dataset world: the MPI pattern.
 *
 *   mpirun -np 4 mpi_demo OUT_DIR [N=1000] [CHUNK_SAMPLES=128] [--overwrite]
 *
 * 1. Rank 0 creates the world "nk" (and finalizes it empty: metadata only).
 * 2. Barrier. Every rank opens its own chunk-aligned share of the samples with
 *    ume_writer_open_range — ranges never share a chunk, so no two processes ever write
 *    the same file; an overlapping range would be refused — simulates those samples with
 *    the serial demo's simulator (demo_sim.h) and finalizes, which releases its range.
 * 3. Barrier. Rank 0 reopens the world and checks that every sample is stored.
 * The stored data are identical, value for value, to write_demo's (a CTest test compares).
 * A pre-empted job is resumed the same way: each rank reopens its range and writes what
 * ume_writer_missing lists.
 */
#include <inttypes.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umedata.h"

#include "demo_sim.h"

static int rank_fail(int rank, const char *what, ume_status st) {
  fprintf(stderr, "mpi_demo[rank %d]: %s failed: %s (%d): %s\n", rank, what,
          ume_status_string(st), (int)st, ume_last_error_message());
  MPI_Abort(MPI_COMM_WORLD, 1);
  return 1;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);

  const char *out_dir = NULL;
  uint64_t n = 1000, chunk = 128;
  int overwrite = 0, positional = 0;
  for (int a = 1; a < argc; a++) {
    if (strcmp(argv[a], "--overwrite") == 0) overwrite = 1;
    else if (positional == 0) out_dir = argv[a], positional++;
    else if (positional == 1) n = strtoull(argv[a], NULL, 10), positional++;
    else if (positional == 2) chunk = strtoull(argv[a], NULL, 10), positional++;
  }
  if (!out_dir || n == 0 || chunk == 0) {
    if (rank == 0) fprintf(stderr, "usage: mpi_demo OUT_DIR [N=1000] [CHUNK_SAMPLES=128] [--overwrite]\n");
    MPI_Finalize();
    return 2;
  }

  /* 1. rank 0 creates the world */
  if (rank == 0) {
    ume_world_desc world = demo_world(n);
    ume_writer_options opts = ume_writer_options_default();
    opts.chunk_samples = chunk;
    opts.overwrite = (uint8_t)overwrite;
    ume_writer *w = NULL;
    ume_status st = ume_writer_create(out_dir, &world, &opts, &w);
    if (st != UME_OK) return rank_fail(rank, "ume_writer_create", st);
    if ((st = ume_writer_finalize(w, NULL)) != UME_OK) return rank_fail(rank, "finalize", st);
    ume_writer_free(w);
  }
  MPI_Barrier(MPI_COMM_WORLD);

  /* 2. every rank writes its share: whole chunks, split as evenly as possible */
  uint64_t n_chunks = (n + chunk - 1) / chunk;
  uint64_t c0 = n_chunks * (uint64_t)rank / (uint64_t)size;
  uint64_t c1 = n_chunks * (uint64_t)(rank + 1) / (uint64_t)size;
  uint64_t start = c0 * chunk, end = c1 * chunk < n ? c1 * chunk : n;
  uint64_t written = 0;
  if (end > start) {
    ume_writer *w = NULL;
    ume_status st = ume_writer_open_range(out_dir, "nk", start, end - start, NULL, &w);
    if (st != UME_OK) return rank_fail(rank, "ume_writer_open_range", st);
    static sample_t s;
    for (uint64_t i = start; i < end; i++) {
      simulate_sample(i, &s);
      st = ume_writer_write_sample_f64(w, i, UME_LAYOUT_C, s.theta, THETA_LEN, &s.traj[0][0],
                                       TRAJ_LEN, &s.irfs[0][0][0], IRFS_LEN, &s.shocks[0][0],
                                       SHOCKS_LEN);
      if (st != UME_OK) return rank_fail(rank, "ume_writer_write_sample_f64", st);
    }
    ume_summary sum;
    if ((st = ume_writer_finalize(w, &sum)) != UME_OK) return rank_fail(rank, "finalize", st);
    ume_writer_free(w);
    written = end - start;
  }
  printf("rank %d/%d wrote samples [%" PRIu64 ", %" PRIu64 ")\n", rank, size, start, end);
  fflush(stdout);
  uint64_t total = 0;
  MPI_Reduce(&written, &total, 1, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
  MPI_Barrier(MPI_COMM_WORLD);

  /* 3. rank 0 checks the whole world */
  int status = 0;
  if (rank == 0) {
    ume_reader *r = NULL;
    ume_status st = ume_reader_open(out_dir, "nk", &r);
    if (st != UME_OK) return rank_fail(rank, "ume_reader_open", st);
    uint64_t stored = 0;
    if ((st = ume_reader_samples_written(r, &stored)) != UME_OK)
      return rank_fail(rank, "samples_written", st);
    ume_reader_free(r);
    printf("mpi_demo: %d ranks wrote %" PRIu64 " samples, %" PRIu64 "/%" PRIu64 " stored\n",
           size, total, stored, n);
    status = (stored == n && total == n) ? 0 : 1;
  }
  MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
  MPI_Finalize();
  return status;
}
