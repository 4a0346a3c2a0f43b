/*
 * bench_limits: what this machine allows, measured with the benchmark's own data.
 *
 *  - memcpy bandwidth (one thread, 64 MiB buffers);
 *  - blosc-lz4 (clevel 5, byte shuffle, typesize 4, automatic blocksize) compression of
 *    one chunk of the pool (chunk_samples samples, the four arrays compressed separately
 *    as the writer does): 1 thread; 2 blosc-internal threads on one chunk; 2 threads each
 *    compressing its own chunk (how the writer parallelises). Plus 1-thread decompression.
 *    The blosc is the one linked into libumedata (c-blosc from the blosc-src crate);
 *  - the floor of a random single-sample read with whole-chunk decoding (decompress the four
 *    compressed chunk arrays of one chunk, 1 thread, no I/O) and with blosc_getitem
 *    (decode only the blosc blocks that hold one sample's items);
 *  - sequential disk write: SIZE_MiB in 1 MiB write() calls then one fdatasync, and the
 *    writer's pattern: per chunk one file per array (temp file, write, fsync, rename).
 *
 * Every figure is the best of REPEAT measurements (default 3): on a shared machine the
 * best is the closest to what the hardware allows.
 *
 * usage: bench_limits DIR POOL_FILE [CHUNK_SAMPLES=512] [DISK_MiB=512] [REPEAT=3]
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_common.h"

int blosc_compress_ctx(int clevel, int doshuffle, size_t typesize, size_t nbytes, const void *src,
                       void *dest, size_t destsize, const char *compressor, size_t blocksize,
                       int numinternalthreads);
int blosc_decompress_ctx(const void *src, void *dest, size_t destsize, int numinternalthreads);
int blosc_getitem(const void *src, int start, int nitems, void *dest);

typedef struct {
  const float *src[4];
  size_t bytes[4];
  unsigned char *dst[4];
  size_t out[4];
  int internal_threads;
  double seconds;
  int reps;
} cjob;

static void *compress_job(void *arg) {
  cjob *j = arg;
  double t0 = bc_now();
  for (int r = 0; r < j->reps; r++)
    for (int a = 0; a < 4; a++) {
      int c = blosc_compress_ctx(5, 1, 4, j->bytes[a], j->src[a], j->dst[a], j->bytes[a] + 64,
                                 "lz4", 0, j->internal_threads);
      if (c <= 0) {
        fprintf(stderr, "blosc_compress_ctx failed\n");
        exit(1);
      }
      j->out[a] = (size_t)c;
    }
  j->seconds = bc_now() - t0;
  return NULL;
}

static void init_job(cjob *j, const bc_pool *pl, uint64_t first, uint64_t cs, int reps, int nt) {
  const float *base[4] = {pl->theta, pl->traj, pl->irfs, pl->shocks};
  const size_t len[4] = {THETA_LEN, TRAJ_LEN, IRFS_LEN, SHOCKS_LEN};
  for (int a = 0; a < 4; a++) {
    j->bytes[a] = cs * len[a] * 4;
    /* private copy of samples [first, first + cs) of the pool (wrapping) */
    float *copy = malloc(j->bytes[a]);
    for (uint64_t k = 0; k < cs; k++)
      memcpy(copy + k * len[a], base[a] + ((first + k) % pl->P) * len[a], len[a] * 4);
    j->src[a] = copy;
    j->dst[a] = malloc(j->bytes[a] + 64);
  }
  j->internal_threads = nt;
  j->reps = reps;
}

static double raw_of(const cjob *j) { return (double)(j->bytes[0] + j->bytes[1] + j->bytes[2] + j->bytes[3]); }
static double out_of(const cjob *j) { return (double)(j->out[0] + j->out[1] + j->out[2] + j->out[3]); }

static double disk_seq(const char *dir, size_t mib, unsigned char *buf) {
  char path[4096];
  snprintf(path, sizeof path, "%s/limits-seq.bin", dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return -1;
  double t0 = bc_now();
  for (size_t k = 0; k < mib; k++)
    if (write(fd, buf + (k % 8) * 1048576, 1048576) != 1048576) return -1;
  fdatasync(fd);
  double dt = bc_now() - t0;
  close(fd);
  unlink(path);
  return (double)mib * 1048576.0 / dt / 1e6;
}

/* The writer's pattern: per chunk, one file per array of the compressed sizes `sizes`
 * (temp file, write, fsync, rename), until about `mib` MiB are written. */
static double disk_files(const char *dir, size_t mib, const size_t sizes[4], unsigned char *buf) {
  size_t per_chunk = sizes[0] + sizes[1] + sizes[2] + sizes[3];
  size_t nchunks = mib * 1048576 / per_chunk + 1, nfiles = 0, bytes = 0;
  char tmp[4096], fin[4096];
  double t0 = bc_now();
  for (size_t c = 0; c < nchunks; c++)
    for (int a = 0; a < 4; a++, nfiles++) {
      snprintf(tmp, sizeof tmp, "%s/limits-f%zu.tmp", dir, nfiles);
      snprintf(fin, sizeof fin, "%s/limits-f%zu", dir, nfiles);
      int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0) return -1;
      if (write(fd, buf + (nfiles % 4) * 1048576, sizes[a]) != (ssize_t)sizes[a]) return -1;
      fsync(fd);
      close(fd);
      rename(tmp, fin);
      bytes += sizes[a];
    }
  double dt = bc_now() - t0;
  for (size_t k = 0; k < nfiles; k++) {
    snprintf(fin, sizeof fin, "%s/limits-f%zu", dir, k);
    unlink(fin);
  }
  return (double)bytes / dt / 1e6;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s DIR POOL_FILE [CHUNK_SAMPLES=512] [DISK_MiB=512]\n", argv[0]);
    return 2;
  }
  uint64_t cs = argc > 3 ? strtoull(argv[3], NULL, 10) : 512;
  size_t disk_mib = argc > 4 ? strtoull(argv[4], NULL, 10) : 512;
  int rep = argc > 5 ? atoi(argv[5]) : 3;
  if (rep < 1) rep = 1;
  bc_pool pl;
  if (bc_pool_read(&pl, argv[2])) {
    fprintf(stderr, "cannot read pool %s\n", argv[2]);
    return 1;
  }

  /* memcpy */
  size_t mb = 64u << 20;
  unsigned char *a = malloc(mb), *b = malloc(mb);
  memset(a, 1, mb);
  memset(b, 2, mb);
  int reps = 10;
  double memcpy_GBs = 0;
  for (int k = 0; k < rep; k++) {
    double t0 = bc_now();
    for (int r = 0; r < reps; r++) {
      a[r] = (unsigned char)r;
      memcpy(b, a, mb);
    }
    double g = (double)mb * reps / (bc_now() - t0) / 1e9;
    if (g > memcpy_GBs) memcpy_GBs = g;
  }
  if (b[100] != 1) return 1;

  /* blosc: enough repetitions for ~0.5 s of work on one thread */
  cjob j1, j2, jt[2];
  init_job(&j1, &pl, 0, cs, 1, 1);
  compress_job(&j1); /* warm-up and size the repetitions */
  int creps = (int)(0.5 / (j1.seconds > 1e-4 ? j1.seconds : 1e-4)) + 1;
  j1.reps = creps;
  init_job(&j2, &pl, 0, cs, creps, 2);
  pthread_t tid[2];
  for (int k = 0; k < 2; k++) init_job(&jt[k], &pl, (uint64_t)k * cs, cs, creps, 1);
  double c1 = 0, c2_internal = 0, c2_chunks = 0;
  for (int k = 0; k < rep; k++) {
    compress_job(&j1);
    double v = raw_of(&j1) * creps / j1.seconds / 1e6;
    if (v > c1) c1 = v;
    compress_job(&j2);
    v = raw_of(&j2) * creps / j2.seconds / 1e6;
    if (v > c2_internal) c2_internal = v;
    double tp = bc_now();
    for (int q = 0; q < 2; q++) pthread_create(&tid[q], NULL, compress_job, &jt[q]);
    for (int q = 0; q < 2; q++) pthread_join(tid[q], NULL);
    v = (raw_of(&jt[0]) + raw_of(&jt[1])) * creps / (bc_now() - tp) / 1e6;
    if (v > c2_chunks) c2_chunks = v;
  }
  double ratio = out_of(&j1) / raw_of(&j1);

  /* decompression, one thread */
  unsigned char *back = malloc(j1.bytes[2] > j1.bytes[1] ? j1.bytes[2] : j1.bytes[1]);
  double d1 = 0;
  for (int q = 0; q < rep; q++) {
    double td = bc_now();
    for (int r = 0; r < creps; r++)
      for (int k = 0; k < 4; k++)
        if (blosc_decompress_ctx(j1.dst[k], back, j1.bytes[k], 1) <= 0) {
          fprintf(stderr, "blosc_decompress_ctx failed\n");
          return 1;
        }
    double v = raw_of(&j1) * creps / (bc_now() - td) / 1e6;
    if (v > d1) d1 = v;
  }

  /* random single-sample read floors: whole chunk vs blosc_getitem of one sample */
  const size_t len[4] = {THETA_LEN, TRAJ_LEN, IRFS_LEN, SHOCKS_LEN};
  float item[TRAJ_LEN + IRFS_LEN];
  int nsamp = 200;
  double whole = 0, getitem = 0;
  uint64_t rs = 11;
  for (int q = 0; q < nsamp; q++) {
    int k = (int)(bc_splitmix(&rs) % cs);
    double ta = bc_now();
    for (int a = 0; a < 4; a++)
      if (blosc_decompress_ctx(j1.dst[a], back, j1.bytes[a], 1) <= 0) return 1;
    double tb = bc_now();
    for (int a = 0; a < 4; a++)
      if (blosc_getitem(j1.dst[a], k * (int)len[a], (int)len[a], item) < 0) return 1;
    double tc = bc_now();
    whole += tb - ta;
    getitem += tc - tb;
  }

  /* disk: incompressible-looking bytes (8 MiB pattern of splitmix output) */
  unsigned char *buf = malloc(8u << 20);
  uint64_t s = 1;
  for (size_t k = 0; k < (8u << 20) / 8; k++) ((uint64_t *)buf)[k] = bc_splitmix(&s);
  double seq = 0, files = 0;
  for (int q = 0; q < rep; q++) {
    double v = disk_seq(argv[1], disk_mib, buf);
    if (v > seq) seq = v;
    double w = disk_files(argv[1], disk_mib, j1.out, buf);
    if (w > files) files = w;
    if (v < 0 || w < 0) {
      fprintf(stderr, "bench_limits: cannot write files in %s\n", argv[1]);
      return 1;
    }
  }

  printf("{\"memcpy_GB_per_s\": %.2f, \"chunk_samples\": %llu, \"chunk_raw_MB\": %.3f, "
         "\"blosc_lz4_ratio\": %.3f, \"blosc_lz4_1t_MB_per_s\": %.1f, "
         "\"blosc_lz4_2t_internal_MB_per_s\": %.1f, \"blosc_lz4_2t_chunks_MB_per_s\": %.1f, "
         "\"blosc_lz4_decompress_1t_MB_per_s\": %.1f, \"disk_seq_fdatasync_MB_per_s\": %.1f, "
         "\"disk_MiB\": %zu, \"disk_file_per_chunk_fsync_MB_per_s\": %.1f, \"chunk_stored_MB\": %.3f, \"repeat\": %d, "
         "\"read_floor_whole_chunk_ms\": %.3f, \"read_floor_getitem_ms\": %.4f}\n",
         memcpy_GBs, (unsigned long long)cs, raw_of(&j1) / 1e6, ratio, c1, c2_internal, c2_chunks,
         d1, seq, disk_mib, files, out_of(&j1) / 1e6, rep, 1e3 * whole / nsamp,
         1e3 * getitem / nsamp);
  return 0;
}
