/* compare_datasets — are two umedata worlds equal, value for value?
 *
 *   compare_datasets DATASET_A DATASET_B [WORLD=nk] [WORLD_B=WORLD]
 *
 * Opens both worlds with the reader API and compares their dimensions (n_samples, T, H,
 * n_params, n_shocks, n_obs; the chunking may differ), the `written` mask sample by
 * sample, and every stored float32 of theta, trajectories, irfs and shocks bit for bit.
 * Prints what it compared and, on a difference, the first differing values and the
 * largest difference in units in the last place (ulp). Exit status 0 = equal, 1 =
 * different, 2 = usage or read error.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umedata.h"

static int fail(const char *what, ume_status st) {
  fprintf(stderr, "compare_datasets: %s failed: %s (%d): %s\n", what, ume_status_string(st),
          (int)st, ume_last_error_message());
  return 2;
}

/* Position of a float32 on the number line as an integer, so that adjacent floats differ
 * by 1 (and -0 == +0). */
static int64_t ordered(float f) {
  int32_t b;
  memcpy(&b, &f, sizeof b);
  return b < 0 ? -(int64_t)(b & 0x7fffffff) : (int64_t)b;
}

typedef struct {
  const char *name;
  size_t per_sample;
  float *a, *b;
  uint64_t n_values, n_different, max_ulp;
} array_cmp;

static void compare_block(array_cmp *c, uint64_t first_sample, uint64_t count) {
  size_t n = c->per_sample * (size_t)count;
  for (size_t j = 0; j < n; j++) {
    uint32_t x, y;
    memcpy(&x, &c->a[j], sizeof x);
    memcpy(&y, &c->b[j], sizeof y);
    c->n_values++;
    if (x == y) continue;
    int64_t d = ordered(c->a[j]) - ordered(c->b[j]);
    uint64_t ulp = (uint64_t)(d < 0 ? -d : d);
    if (ulp > c->max_ulp) c->max_ulp = ulp;
    if (c->n_different < 5)
      fprintf(stderr,
              "  %s: sample %" PRIu64 ", element %zu: %.9g (0x%08" PRIx32 ") vs %.9g (0x%08" PRIx32
              "), %" PRIu64 " ulp\n",
              c->name, first_sample + j / c->per_sample, j % c->per_sample, (double)c->a[j], x,
              (double)c->b[j], y, ulp);
    c->n_different++;
  }
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 5) {
    fprintf(stderr, "usage: compare_datasets DATASET_A DATASET_B [WORLD=nk] [WORLD_B=WORLD]\n");
    return 2;
  }
  const char *world_a = argc > 3 ? argv[3] : "nk";
  const char *world_b = argc > 4 ? argv[4] : world_a;

  ume_reader *ra = NULL, *rb = NULL;
  ume_status st = ume_reader_open(argv[1], world_a, &ra);
  if (st != UME_OK) return fail("ume_reader_open(DATASET_A)", st);
  st = ume_reader_open(argv[2], world_b, &rb);
  if (st != UME_OK) {
    ume_reader_free(ra);
    return fail("ume_reader_open(DATASET_B)", st);
  }

  int rc = 2;
  ume_world_shape sa, sb;
  array_cmp arr[4];
  memset(arr, 0, sizeof arr);
  if ((st = ume_reader_shape(ra, &sa)) != UME_OK || (st = ume_reader_shape(rb, &sb)) != UME_OK) {
    rc = fail("ume_reader_shape", st);
    goto done;
  }
  printf("compare_datasets: %s/%s (chunk %" PRIu64 ") vs %s/%s (chunk %" PRIu64 ")\n", argv[1],
         world_a, sa.chunk_samples, argv[2], world_b, sb.chunk_samples);
  if (sa.n_samples != sb.n_samples || sa.T != sb.T || sa.H != sb.H ||
      sa.n_params != sb.n_params || sa.n_shocks != sb.n_shocks || sa.n_obs != sb.n_obs) {
    fprintf(stderr,
            "compare_datasets: dimensions differ: n_samples %" PRIu64 "/%" PRIu64
            ", T %u/%u, H %u/%u, n_params %u/%u, n_shocks %u/%u, n_obs %u/%u\n",
            sa.n_samples, sb.n_samples, sa.T, sb.T, sa.H, sb.H, sa.n_params, sb.n_params,
            sa.n_shocks, sb.n_shocks, sa.n_obs, sb.n_obs);
    rc = 1;
    goto done;
  }

  /* Blocks of whole chunks of A; a block with an unwritten sample is read per sample. */
  const uint64_t n = sa.n_samples;
  const uint64_t block = sa.chunk_samples > 0 ? sa.chunk_samples : 1;
  const char *names[4] = {"theta", "trajectories", "irfs", "shocks"};
  const size_t per[4] = {sa.n_params, (size_t)sa.T * sa.n_obs,
                         (size_t)sa.n_shocks * ((size_t)sa.H + 1) * sa.n_obs,
                         (size_t)sa.T * sa.n_shocks};
  for (int k = 0; k < 4; k++) {
    arr[k].name = names[k];
    arr[k].per_sample = per[k];
    arr[k].a = malloc(sizeof(float) * per[k] * (size_t)block);
    arr[k].b = malloc(sizeof(float) * per[k] * (size_t)block);
    if (arr[k].a == NULL || arr[k].b == NULL) {
      fprintf(stderr, "compare_datasets: out of memory\n");
      goto done;
    }
  }

  uint64_t mask_different = 0, n_written = 0;
  for (uint64_t start = 0; start < n; start += block) {
    uint64_t count = n - start < block ? n - start : block;
    uint64_t all_written = 1;
    for (uint64_t i = start; i < start + count; i++) {
      uint8_t wa = 0, wb = 0;
      if ((st = ume_reader_is_written(ra, i, &wa)) != UME_OK ||
          (st = ume_reader_is_written(rb, i, &wb)) != UME_OK) {
        rc = fail("ume_reader_is_written", st);
        goto done;
      }
      if (wa != wb) {
        if (mask_different < 5)
          fprintf(stderr, "  written[%" PRIu64 "]: %u vs %u\n", i, wa, wb);
        mask_different++;
      }
      n_written += wa && wb;
      all_written &= wa && wb;
    }
    /* Read [start, start+count) at once when all are written, else sample by sample. */
    uint64_t step = all_written ? count : 1;
    for (uint64_t i = start; i < start + count; i += step) {
      if (!all_written) {
        uint8_t wa = 0, wb = 0;
        ume_reader_is_written(ra, i, &wa);
        ume_reader_is_written(rb, i, &wb);
        if (!(wa && wb)) continue;
      }
      if ((st = ume_reader_read_f32(ra, i, step, UME_LAYOUT_C, arr[0].a, per[0] * step, arr[1].a,
                                    per[1] * step, arr[2].a, per[2] * step, arr[3].a,
                                    per[3] * step)) != UME_OK ||
          (st = ume_reader_read_f32(rb, i, step, UME_LAYOUT_C, arr[0].b, per[0] * step, arr[1].b,
                                    per[1] * step, arr[2].b, per[2] * step, arr[3].b,
                                    per[3] * step)) != UME_OK) {
        rc = fail("ume_reader_read_f32", st);
        goto done;
      }
      for (int k = 0; k < 4; k++) compare_block(&arr[k], i, step);
    }
  }

  uint64_t total_different = mask_different;
  printf("  written: %" PRIu64 " samples written in both, %" PRIu64 " mask entries differ\n",
         n_written, mask_different);
  for (int k = 0; k < 4; k++) {
    printf("  %-13s %10" PRIu64 " values compared, %" PRIu64 " differ, max %" PRIu64 " ulp\n",
           arr[k].name, arr[k].n_values, arr[k].n_different, arr[k].max_ulp);
    total_different += arr[k].n_different;
  }
  if (n_written == 0) {
    printf("compare_datasets: no sample is written in both: nothing was compared\n");
    rc = 1;
  } else if (total_different == 0) {
    printf("compare_datasets: equal, value for value\n");
    rc = 0;
  } else {
    printf("compare_datasets: DIFFERENT\n");
    rc = 1;
  }

done:
  for (int k = 0; k < 4; k++) {
    free(arr[k].a);
    free(arr[k].b);
  }
  ume_reader_free(ra);
  ume_reader_free(rb);
  return rc;
}
