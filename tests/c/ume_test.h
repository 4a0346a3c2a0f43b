/* Tiny test harness shared by the C tests in tests/c/ (header-only, one per program).
 *
 *   CHECK(cond)                         plain assertion
 *   EXPECT_OK(call)                     call must return UME_OK
 *   EXPECT_ERR(call, status, "a", ...)  call must return `status`, and the thread's
 *                                       ume_last_error_message() must contain every
 *                                       listed substring (case-insensitive)
 *   return ume_test_report("test_x");   prints "test_x: N passed, M failed", returns 0/1
 *
 * A failed check prints file:line, the expression, the status got/expected and the
 * library's message, and the program goes on (so one run shows every failure).
 * Counters are atomic: checks may run on several threads.
 *
 * UME_TEST_VERBOSE=1 in the environment prints every expected error and its message.
 *
 * Every program takes its scratch directory as argv[1] (CTest passes
 * <build>/ctest_scratch/<test>); ume_test_init() creates it.
 */
#ifndef UME_TEST_H
#define UME_TEST_H

/* POSIX (mkdir, getpid, pthread barriers) under -std=c11; include this header first. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <ctype.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "umedata.h"

static atomic_int ume_t_passed;
static atomic_int ume_t_failed;
static char ume_t_scratch[1024];

/* ---- assertions ---------------------------------------------------------------------- */

static inline void ume_t_fail_header(const char *file, int line, const char *expr) {
  fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, expr);
}

/* Case-insensitive strstr. */
static inline int ume_t_contains(const char *haystack, const char *needle) {
  size_t n = strlen(needle);
  if (n == 0) return 1;
  for (const char *p = haystack; *p; p++) {
    size_t k = 0;
    while (k < n && p[k] &&
           tolower((unsigned char)p[k]) == tolower((unsigned char)needle[k]))
      k++;
    if (k == n) return 1;
  }
  return 0;
}

static inline void ume_t_check(const char *file, int line, const char *expr, int ok) {
  if (ok) {
    atomic_fetch_add(&ume_t_passed, 1);
  } else {
    atomic_fetch_add(&ume_t_failed, 1);
    ume_t_fail_header(file, line, expr);
  }
}

/* Compares a status and the message of the calling thread with what is expected.
 * `needles` is a NULL-terminated list of substrings the message must contain.
 * Returns 1 when everything matched. */
static inline int ume_t_check_status(const char *file, int line, const char *expr, ume_status got,
                              ume_status expected, const char *const *needles) {
  /* Copy the message first: it is only valid until the next umedata call. */
  char msg[2048];
  const char *m = ume_last_error_message();
  snprintf(msg, sizeof msg, "%s", m ? m : "(NULL!)");

  int ok = (got == expected) && m != NULL;
  const char *missing = NULL;
  if (ok && expected != UME_OK) {
    if (msg[0] == '\0') ok = 0;
    for (const char *const *n = needles; ok && n && *n; n++) {
      if (!ume_t_contains(msg, *n)) {
        ok = 0;
        missing = *n;
      }
    }
  }
  if (ok) {
    atomic_fetch_add(&ume_t_passed, 1);
    if (expected != UME_OK && getenv("UME_TEST_VERBOSE"))
      fprintf(stderr, "%s:%d: ok %s -> \"%s\"\n", file, line, ume_status_string(got), msg);
    return 1;
  }
  atomic_fetch_add(&ume_t_failed, 1);
  ume_t_fail_header(file, line, expr);
  fprintf(stderr, "    status:   got %d (%s), expected %d (%s)\n", (int)got,
          ume_status_string(got), (int)expected, ume_status_string(expected));
  if (missing) fprintf(stderr, "    message lacks \"%s\"\n", missing);
  if (got == UME_OK && expected != UME_OK)
    fprintf(stderr, "    (the call succeeded; last message, from an earlier call: \"%s\")\n",
            msg);
  else
    fprintf(stderr, "    message:  \"%s\"\n", msg);
  return 0;
}

#define CHECK(cond) ume_t_check(__FILE__, __LINE__, #cond, (cond) ? 1 : 0)

#define EXPECT_OK(call)                                                                 \
  ume_t_check_status(__FILE__, __LINE__, #call, (call), UME_OK, (const char *const *)0)

/* EXPECT_ERR(call, status) or EXPECT_ERR(call, status, "needle", ...) */
#define EXPECT_ERR(...) UME_T_EXPECT_ERR_(__VA_ARGS__, (const char *)0)
#define UME_T_EXPECT_ERR_(call, status, ...)                                            \
  ume_t_check_status(__FILE__, __LINE__, #call, (call), (status),                       \
                     (const char *const[]){__VA_ARGS__})

static inline int ume_test_report(const char *name) {
  int p = atomic_load(&ume_t_passed), f = atomic_load(&ume_t_failed);
  printf("%s: %d passed, %d failed\n", name, p, f);
  return f == 0 && p > 0 ? 0 : 1;
}

/* ---- scratch directory ----------------------------------------------------------------- */

static inline int ume_t_mkdir_p(const char *path) {
  char tmp[1024];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char *p = tmp + 1; *p; p++) {
    if (*p == '/') {
      *p = '\0';
      if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
      *p = '/';
    }
  }
  if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
  return 0;
}

/* argv[1] or /tmp/umedata_ctest_<pid>; created if missing. */
static inline void ume_test_init(int argc, char **argv) {
  if (argc > 1)
    snprintf(ume_t_scratch, sizeof ume_t_scratch, "%s", argv[1]);
  else
    snprintf(ume_t_scratch, sizeof ume_t_scratch, "/tmp/umedata_ctest_%ld", (long)getpid());
  if (ume_t_mkdir_p(ume_t_scratch) != 0) {
    fprintf(stderr, "cannot create scratch directory %s: %s\n", ume_t_scratch,
            strerror(errno));
    exit(2);
  }
}

/* Writes "<scratch>/<name>" into buf (static storage rotated over 8 slots). */
static inline const char *scratch_path(const char *name) {
  static char bufs[8][1200];
  static atomic_int slot;
  char *b = bufs[atomic_fetch_add(&slot, 1) & 7];
  snprintf(b, sizeof bufs[0], "%s/%s", ume_t_scratch, name);
  return b;
}

/* ---- a small world and deterministic samples -------------------------------------------- */

/* Shapes chosen so that every per-sample length is a distinct number:
 * theta 4, traj 6*3 = 18, irfs 2*(4+1)*3 = 30, shocks 6*2 = 12. */
enum { TW_T = 6, TW_H = 4, TW_P = 4, TW_S = 2, TW_O = 3 };
enum {
  TW_THETA = TW_P,
  TW_TRAJ = TW_T * TW_O,
  TW_IRFS = TW_S * (TW_H + 1) * TW_O,
  TW_SHOCKS = TW_T * TW_S
};

static inline ume_world_desc tiny_world(const char *world_id, uint64_t n_samples) {
  ume_world_desc d;
  memset(&d, 0, sizeof d);
  d.world_id = world_id;
  d.n_samples = n_samples;
  d.T = TW_T;
  d.H = TW_H;
  d.n_params = TW_P;
  d.n_shocks = TW_S;
  d.n_obs = TW_O;
  d.param_names = NULL; /* defaults p0, p1, ... */
  d.shock_names = NULL;
  d.obs_names = NULL;
  return d;
}

/* One sample of the tiny world in C layout. Values are exactly representable in f32
 * (multiples of 1/4 below 2^20), so reading back must give them bit for bit. */
typedef struct {
  double theta[TW_THETA], traj[TW_TRAJ], irfs[TW_IRFS], shocks[TW_SHOCKS];
} tiny_sample;

static inline double tiny_value(uint64_t i, int array, size_t j, int version) {
  return (double)(i * 1000 + (uint64_t)array * 100 + j) * 0.25 + version * 100000.0;
}

/* `version` lets a test make a different sample with the same index. */
static inline void tiny_fill(tiny_sample *s, uint64_t i, int version) {
  for (size_t j = 0; j < TW_THETA; j++) s->theta[j] = tiny_value(i, 0, j, version);
  for (size_t j = 0; j < TW_TRAJ; j++) s->traj[j] = tiny_value(i, 1, j, version);
  for (size_t j = 0; j < TW_IRFS; j++) s->irfs[j] = tiny_value(i, 2, j, version);
  for (size_t j = 0; j < TW_SHOCKS; j++) s->shocks[j] = -tiny_value(i, 3, j, version);
}

static inline ume_status tiny_write(ume_writer *w, uint64_t i, const tiny_sample *s) {
  return ume_writer_write_sample_f64(w, i, UME_LAYOUT_C, s->theta, TW_THETA, s->traj,
                                     TW_TRAJ, s->irfs, TW_IRFS, s->shocks, TW_SHOCKS);
}

static inline int tiny_equal(const tiny_sample *a, const tiny_sample *b) {
  return memcmp(a, b, sizeof *a) == 0;
}

/* Reads sample i back into *s (C layout, f64). */
static inline ume_status tiny_read(const ume_reader *r, uint64_t i, tiny_sample *s) {
  memset(s, 0, sizeof *s);
  return ume_reader_read_f64(r, i, 1, UME_LAYOUT_C, s->theta, TW_THETA, s->traj, TW_TRAJ,
                             s->irfs, TW_IRFS, s->shocks, TW_SHOCKS);
}

static inline ume_writer_options opts_with(uint64_t chunk_samples, int overwrite,
                                    int allow_nonfinite) {
  ume_writer_options o = ume_writer_options_default();
  o.chunk_samples = chunk_samples;
  o.overwrite = (uint8_t)overwrite;
  o.allow_nonfinite = (uint8_t)allow_nonfinite;
  return o;
}

#endif /* UME_TEST_H */
