/* The last-error message is thread-local: two threads that fail at the same time with
 * different errors each see their own message, a fresh thread sees "", and the main
 * thread's message is not touched by the others. Also: one writer handle shared by
 * several threads writing disjoint samples. */
#include "ume_test.h"

#include <pthread.h>

#define ROUNDS 200

static ume_writer *shared_writer;
static pthread_barrier_t barrier;

typedef struct {
  int id;
  int failures; /* rounds where this thread saw a wrong status or message */
} thread_arg;

/* Thread 0: OUT_OF_RANGE with index 424242. Thread 1: LENGTH_MISMATCH with traj length
 * 99999. Both fail, wait for each other, then read their message. */
static void *provoke(void *p) {
  thread_arg *a = p;
  tiny_sample s;
  tiny_fill(&s, 0, 0);

  const char *first = ume_last_error_message();
  if (first == NULL || first[0] != '\0') {
    fprintf(stderr, "  thread %d: fresh thread has message \"%s\"\n", a->id,
            first ? first : "(NULL)");
    a->failures++;
  }

  for (int round = 0; round < ROUNDS; round++) {
    ume_status st;
    if (a->id == 0)
      st = tiny_write(shared_writer, 424242, &s);
    else
      st = ume_writer_write_sample_f64(shared_writer, 1, UME_LAYOUT_C, s.theta, TW_THETA,
                                       s.traj, 99999, s.irfs, TW_IRFS, s.shocks, TW_SHOCKS);
    /* both threads have failed before either looks at its message */
    pthread_barrier_wait(&barrier);
    const char *m = ume_last_error_message();
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", m ? m : "");
    pthread_barrier_wait(&barrier);

    int ok;
    if (a->id == 0)
      ok = st == UME_ERR_OUT_OF_RANGE && ume_t_contains(msg, "424242") &&
           !ume_t_contains(msg, "99999");
    else
      ok = st == UME_ERR_LENGTH_MISMATCH && ume_t_contains(msg, "99999") &&
           !ume_t_contains(msg, "424242");
    if (!ok) {
      if (a->failures < 3)
        fprintf(stderr, "  thread %d round %d: status %d, message \"%s\"\n", a->id, round,
                (int)st, msg);
      a->failures++;
    }
  }
  return NULL;
}

/* ---- many threads writing one handle ------------------------------------------------ */

enum { N_WRITERS = 4, N_SHARED = 64 };

typedef struct {
  ume_writer *w;
  int id;
  int failures;
} writer_arg;

static void *write_some(void *p) {
  writer_arg *a = p;
  tiny_sample s;
  for (uint64_t i = (uint64_t)a->id; i < N_SHARED; i += N_WRITERS) {
    tiny_fill(&s, i, 0);
    ume_status st = tiny_write(a->w, i, &s);
    if (st != UME_OK) {
      fprintf(stderr, "  writer thread %d sample %llu: %s: %s\n", a->id, (unsigned long long)i,
              ume_status_string(st), ume_last_error_message());
      a->failures++;
    }
  }
  return NULL;
}

static void shared_writer_threads(void) {
  const char *path = scratch_path("threads.zarr");
  ume_world_desc d = tiny_world("mt", N_SHARED);
  ume_writer_options o = opts_with(8, 1, 0);
  o.n_threads = 2;
  o.max_open_chunks = 2; /* fewer than the chunks in flight: forces flushes */
  ume_writer *w = NULL;
  if (!EXPECT_OK(ume_writer_create(path, &d, &o, &w))) return;

  pthread_t th[N_WRITERS];
  writer_arg args[N_WRITERS];
  for (int k = 0; k < N_WRITERS; k++) {
    args[k] = (writer_arg){w, k, 0};
    CHECK(pthread_create(&th[k], NULL, write_some, &args[k]) == 0);
  }
  int failures = 0;
  for (int k = 0; k < N_WRITERS; k++) {
    pthread_join(th[k], NULL);
    failures += args[k].failures;
  }
  CHECK(failures == 0);

  ume_summary sum;
  EXPECT_OK(ume_writer_finalize(w, &sum));
  CHECK(sum.samples_written == N_SHARED);
  ume_writer_free(w);

  ume_reader *r = NULL;
  if (!EXPECT_OK(ume_reader_open(path, "mt", &r))) return;
  int all_equal = 1;
  tiny_sample expect, got;
  for (uint64_t i = 0; i < N_SHARED; i++) {
    tiny_fill(&expect, i, 0);
    all_equal &= tiny_read(r, i, &got) == UME_OK && tiny_equal(&expect, &got);
  }
  CHECK(all_equal);
  ume_reader_free(r);
}

int main(int argc, char **argv) {
  ume_test_init(argc, argv);

  const char *path = scratch_path("msg.zarr");
  ume_world_desc d = tiny_world("tm", 5);
  ume_writer_options o = opts_with(0, 1, 0);
  if (!EXPECT_OK(ume_writer_create(path, &d, &o, &shared_writer)))
    return ume_test_report("test_threads_messages");

  /* The main thread fails first, with its own message. */
  ume_reader *r = NULL;
  EXPECT_ERR(ume_reader_open(scratch_path("main_thread_missing.zarr"), "tm", &r),
             UME_ERR_NOT_FOUND, "main_thread_missing");

  CHECK(pthread_barrier_init(&barrier, NULL, 2) == 0);
  pthread_t t0, t1;
  thread_arg a0 = {0, 0}, a1 = {1, 0};
  CHECK(pthread_create(&t0, NULL, provoke, &a0) == 0);
  CHECK(pthread_create(&t1, NULL, provoke, &a1) == 0);
  pthread_join(t0, NULL);
  pthread_join(t1, NULL);
  pthread_barrier_destroy(&barrier);
  CHECK(a0.failures == 0);
  CHECK(a1.failures == 0);

  /* The main thread still has its own message (no umedata call in between). */
  const char *m = ume_last_error_message();
  CHECK(m != NULL && ume_t_contains(m, "main_thread_missing"));
  CHECK(m != NULL && !ume_t_contains(m, "424242") && !ume_t_contains(m, "99999"));

  /* The failed calls left the shared writer usable. */
  tiny_sample s;
  tiny_fill(&s, 1, 0);
  EXPECT_OK(tiny_write(shared_writer, 1, &s));
  EXPECT_OK(ume_writer_finalize(shared_writer, NULL));
  ume_writer_free(shared_writer);

  shared_writer_threads();
  return ume_test_report("test_threads_messages");
}
