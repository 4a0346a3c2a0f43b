/*
 * bench_gen: write the benchmark pool (P distinct samples, formula in bench_common.h) to a
 * raw float32 file that bench_write, bench_read and peers.py all use.
 *
 * usage: bench_gen FILE [P=1024]
 */
#include "bench_common.h"

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE [P=1024]\n", argv[0]);
    return 2;
  }
  uint64_t P = argc > 2 ? strtoull(argv[2], NULL, 10) : 1024;
  bc_pool pl;
  if (P == 0 || bc_pool_generate(&pl, P) || bc_pool_write(&pl, argv[1])) {
    fprintf(stderr, "bench_gen: cannot write %llu samples to %s\n", (unsigned long long)P, argv[1]);
    return 1;
  }
  printf("{\"pool_file\": \"%s\", \"pool\": %llu, \"bytes\": %llu}\n", argv[1],
         (unsigned long long)P, (unsigned long long)(P * SAMPLE_LEN * 4));
  bc_pool_free(&pl);
  return 0;
}
