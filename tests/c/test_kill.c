/* Crash consistency: a child process resumes writing a world in random order and is
 * SIGKILLed at a random moment, 50 times. After every kill the parent checks that every
 * sample the `written` mask claims reads back exactly (no torn chunk, no mask claiming a
 * sample that is not stored) and that the claimed set never shrinks. A last, unkilled
 * child completes the world; then all samples must be there and correct, and no
 * temporary file may be left. Small chunks and few open chunks make the writer store
 * partial chunks early and read them back, so kills also hit the read-modify-write path.
 *
 * usage: test_kill SCRATCH_DIR [ROUNDS=50] [SEED]
 */
#include "ume_test.h"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

enum { N = 4000, CHUNK = 16 };

static uint64_t rng_state;
static uint64_t next_rand(void) {
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* The child: reopen, write every missing sample in random order, finalize. */
static void child(const char *ds, uint64_t seed) {
  rng_state = seed;
  ume_writer_options o = ume_writer_options_default();
  o.max_open_chunks = 4;
  o.n_threads = 2;
  ume_writer *w = NULL;
  if (ume_writer_open(ds, "kw", &o, &w) != UME_OK) {
    fprintf(stderr, "child: open: %s\n", ume_last_error_message());
    _exit(3);
  }
  static uint64_t missing[N];
  size_t n = 0, got = 0;
  uint64_t from = 0;
  do {
    if (ume_writer_missing(w, from, missing + n, N - n, &got) != UME_OK) _exit(4);
    n += got;
    if (got) from = missing[n - 1] + 1;
  } while (got && n < N);
  for (size_t k = n; k > 1; k--) {
    size_t j = (size_t)(next_rand() % k);
    uint64_t t = missing[k - 1];
    missing[k - 1] = missing[j];
    missing[j] = t;
  }
  tiny_sample s;
  for (size_t k = 0; k < n; k++) {
    tiny_fill(&s, missing[k], 0);
    if (tiny_write(w, missing[k], &s) != UME_OK) {
      fprintf(stderr, "child: write %llu: %s\n", (unsigned long long)missing[k],
              ume_last_error_message());
      _exit(5);
    }
  }
  if (ume_writer_finalize(w, NULL) != UME_OK) _exit(6);
  ume_writer_free(w);
  _exit(0);
}

/* Checks every claimed sample; returns how many the mask claims (or -1 on error). */
static long verify(const char *ds, long *bad) {
  ume_reader *r = NULL;
  if (ume_reader_open(ds, "kw", &r) != UME_OK) {
    fprintf(stderr, "reader open: %s\n", ume_last_error_message());
    return -1;
  }
  long claimed = 0;
  tiny_sample want, got;
  for (uint64_t i = 0; i < N; i++) {
    uint8_t written = 0;
    if (ume_reader_is_written(r, i, &written) != UME_OK) {
      fprintf(stderr, "is_written %llu: %s\n", (unsigned long long)i, ume_last_error_message());
      (*bad)++;
      continue;
    }
    if (!written) continue;
    claimed++;
    tiny_fill(&want, i, 0);
    if (tiny_read(r, i, &got) != UME_OK || !tiny_equal(&want, &got)) {
      fprintf(stderr, "sample %llu claimed by the mask but wrong: %s\n", (unsigned long long)i,
              ume_last_error_message());
      (*bad)++;
    }
  }
  ume_reader_free(r);
  return claimed;
}

static int count_temp_files(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  struct dirent *e;
  char path[2048];
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    struct stat st;
    if (lstat(path, &st) != 0) continue;
    if (S_ISDIR(st.st_mode))
      n += count_temp_files(path);
    else if (strstr(e->d_name, ".umetmp-"))
      n++;
  }
  closedir(d);
  return n;
}

int main(int argc, char **argv) {
  ume_test_init(argc, argv);
  int rounds = argc > 2 ? atoi(argv[2]) : 50;
  uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 10) : (uint64_t)time(NULL);
  printf("test_kill: %d rounds, seed %llu (rerun: test_kill DIR %d %llu)\n", rounds,
         (unsigned long long)seed, rounds, (unsigned long long)seed);
  rng_state = seed;
  const char *ds = scratch_path("kill.zarr");

  ume_world_desc d = tiny_world("kw", N);
  ume_writer_options o = opts_with(CHUNK, 1, 0);
  ume_writer *w = NULL;
  EXPECT_OK(ume_writer_create(ds, &d, &o, &w));
  EXPECT_OK(ume_writer_finalize(w, NULL));
  ume_writer_free(w);

  long prev = 0, bad = 0, checked = 0;
  int killed = 0;
  for (int round = 0; round < rounds; round++) {
    uint64_t child_seed = next_rand();
    long delay = (long)(next_rand() % 40000); /* 0-40 ms, in microseconds */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) child(ds, child_seed);
    CHECK(pid > 0);
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)delay * 1000L};
    nanosleep(&ts, NULL);
    int st = 0;
    if (kill(pid, SIGKILL) == 0) killed++;
    waitpid(pid, &st, 0);
    CHECK(WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) == 0));
    long claimed = verify(ds, &bad);
    CHECK(claimed >= prev); /* stored samples are never lost */
    checked += claimed;
    prev = claimed;
  }
  /* The last child runs to the end. */
  pid_t pid = fork();
  if (pid == 0) child(ds, next_rand());
  int st = 0;
  waitpid(pid, &st, 0);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  long claimed = verify(ds, &bad);
  checked += claimed;
  CHECK(claimed == N);
  CHECK(bad == 0);
  CHECK(count_temp_files(ds) == 0);
  printf("test_kill: %d rounds, %d kills, %ld claimed samples checked, %ld wrong, final %ld/%d\n",
         rounds, killed, checked, bad, claimed, N);
  return ume_test_report("test_kill");
}
