/* Determinism of the generation engine under SIGKILL (issue 13): a child process runs
 * `ume_generate` (the first round a fresh run, then `resume`) on 1-3 threads and is
 * SIGKILLed at a random moment, ROUNDS times; a last, unkilled child completes the world.
 * The moment is random but always inside the run: the child's progress callback writes one
 * byte to a pipe per stored sample, and the parent kills after a random number of them
 * (0 = as soon as the child exists, before the world may be opened), plus a random delay
 * of up to 2 ms. After every kill, every sample the `written` mask claims must equal the
 * same sample of an uninterrupted run bit for bit, and the claimed set must never shrink.
 * At the end all arrays must be byte-identical to the uninterrupted run's, and the
 * dataset must validate.
 *
 * usage: test_engine_kill SCRATCH_DIR [ROUNDS=12] [SEED]
 */
#include "ume_test.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ar2_model.h"

enum { N = 3000, T = 40, H = 6, P = 3, O = 2, CHUNK = 32 };
enum { LEN_TRAJ = T * O, LEN_IRFS = (H + 1) * O, LEN_SHOCKS = T };
enum { LEN = P + LEN_TRAJ + LEN_IRFS + LEN_SHOCKS };

static uint64_t rng_state;
static uint64_t next_rand(void) {
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* The AR(2) of ar2_model.h: non-stationary draws rejected, so redraws are part of what
 * must survive kills. */
static int32_t ar2(void *user, uint64_t sample, const double *theta, ume_rng *rng,
                   double *traj, double *irfs, double *shocks) {
  (void)user;
  (void)sample;
  return ar2_simulate(T, H, theta, rng, traj, irfs, shocks);
}

static ume_sim *make_sim(void) {
  ume_sim *sim = NULL;
  if (ume_sim_new("ar2", "1.0.0", T, H, &sim) != UME_OK || ar2_describe(sim) != UME_OK)
    return NULL;
  return sim;
}

static ume_gen_config *make_cfg(uint32_t threads, int resume) {
  ume_gen_config *cfg = NULL;
  ume_writer_config *w = NULL;
  if (ume_gen_config_new(&cfg) != UME_OK || ume_gen_config_set_seed(cfg, 77) != UME_OK ||
      ume_gen_config_set_samples(cfg, N) != UME_OK ||
      ume_gen_config_set_threads(cfg, threads) != UME_OK ||
      ume_gen_config_set_resume(cfg, resume) != UME_OK || ume_writer_config_new(&w) != UME_OK ||
      ume_writer_config_set_chunking(w, CHUNK, 0) != UME_OK ||
      ume_gen_config_set_writer_config(cfg, w) != UME_OK)
    return NULL;
  ume_writer_config_free(w);
  return cfg;
}

static int progress_fd = -1;
static int32_t tick(void *user, uint64_t done, uint64_t total, double rate) {
  (void)user;
  (void)done;
  (void)total;
  (void)rate;
  char c = 1;
  ssize_t r = write(progress_fd, &c, 1);
  (void)r;
  return 0;
}

/* The child: one generate run (fresh or resumed); exit code 0 when it completed. */
static void child(const char *ds, uint32_t threads, int resume, int fd) {
  progress_fd = fd;
  ume_sim *sim = make_sim();
  ume_gen_config *cfg = make_cfg(threads, resume);
  if (!sim || !cfg) _exit(3);
  if (ume_generate(ds, sim, cfg, ar2, NULL, tick, NULL, NULL) != UME_OK) {
    fprintf(stderr, "child: ume_generate: %s\n", ume_last_error_message());
    _exit(4);
  }
  _exit(0);
}

typedef struct {
  float v[N][LEN];
} samples;

static int read_one(const ume_reader *r, uint64_t i, float *s) {
  return ume_reader_read_f32(r, i, 1, UME_LAYOUT_C, s, P, s + P, LEN_TRAJ, s + P + LEN_TRAJ,
                             LEN_IRFS, s + P + LEN_TRAJ + LEN_IRFS, LEN_SHOCKS) == UME_OK;
}

/* Every claimed sample must equal the reference; returns the number claimed (-1: no world). */
static long verify(const char *ds, const samples *ref, long *bad) {
  ume_reader *r = NULL;
  if (ume_reader_open(ds, "ar2", &r) != UME_OK) return -1;
  long claimed = 0;
  float s[LEN];
  for (uint64_t i = 0; i < N; i++) {
    uint8_t written = 0;
    if (ume_reader_is_written(r, i, &written) != UME_OK) {
      (*bad)++;
      continue;
    }
    if (!written) continue;
    claimed++;
    if (!read_one(r, i, s) || memcmp(s, ref->v[i], sizeof s) != 0) {
      fprintf(stderr, "sample %llu claimed by the mask but differs from the uninterrupted run\n",
              (unsigned long long)i);
      (*bad)++;
    }
  }
  ume_reader_free(r);
  return claimed;
}

int main(int argc, char **argv) {
  ume_test_init(argc, argv);
  int rounds = argc > 2 ? atoi(argv[2]) : 12;
  uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 10) : (uint64_t)time(NULL);
  printf("test_engine_kill: %d rounds, seed %llu (rerun: test_engine_kill DIR %d %llu)\n",
         rounds, (unsigned long long)seed, rounds, (unsigned long long)seed);
  rng_state = seed;

  /* The uninterrupted reference run. */
  static samples ref;
  const char *ref_path = scratch_path("ref.zarr");
  {
    ume_sim *sim = make_sim();
    ume_gen_config *cfg = make_cfg(2, 0);
    CHECK(sim != NULL && cfg != NULL);
    EXPECT_OK(ume_generate(ref_path, sim, cfg, ar2, NULL, NULL, NULL, NULL));
    ume_gen_config_free(cfg);
    ume_sim_free(sim);
    ume_reader *r = NULL;
    EXPECT_OK(ume_reader_open(ref_path, "ar2", &r));
    for (uint64_t i = 0; i < N; i++) CHECK(read_one(r, i, ref.v[i]));
    ume_reader_free(r);
  }

  const char *ds = scratch_path("killed.zarr");
  long prev = 0, bad = 0;
  int killed = 0, mid_run = 0, started = 0;
  for (int round = 0; round <= rounds; round++) {
    int last = round == rounds;
    uint32_t threads = (uint32_t)(1 + next_rand() % 3);
    /* Round 0 is a fresh run; a kill before it created the world leaves nothing to resume,
     * so the next round starts fresh again. */
    int resume = started;
    uint64_t after = next_rand() % (N / 3); /* stored samples seen before the kill */
    long delay_us = (long)(next_rand() % 2000);
    int fds[2];
    CHECK(pipe(fds) == 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      child(ds, threads, resume, fds[1]);
    }
    CHECK(pid > 0);
    close(fds[1]);
    uint64_t seen = 0;
    char buf[256];
    if (!last) {
      while (seen < after) {
        ssize_t r = read(fds[0], buf, sizeof buf < after - seen ? sizeof buf : after - seen);
        if (r <= 0) break; /* the child finished (or died) first */
        seen += (uint64_t)r;
      }
      struct timespec ts = {.tv_sec = 0, .tv_nsec = delay_us * 1000L};
      nanosleep(&ts, NULL);
      if (kill(pid, SIGKILL) == 0) killed++;
    }
    while (read(fds[0], buf, sizeof buf) > 0) {
    }
    close(fds[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    if (last)
      CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    else
      CHECK(WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) == 0));
    long claimed = verify(ds, &ref, &bad);
    if (claimed < 0) {
      /* No world yet: possible only while no run has got as far as creating it. */
      CHECK(!started && !last);
      continue;
    }
    started = 1;
    if (claimed > 0 && claimed < N) mid_run++;
    CHECK(claimed >= prev); /* stored samples are never lost */
    prev = claimed;
    if (last)
      printf("round %d: %u threads, resume, not killed: %ld/%d stored\n", round, threads,
             claimed, N);
    else
      printf("round %d: %u threads, %s, killed after %llu stored (+%ld us): %ld/%d stored\n",
             round, threads, resume ? "resume" : "fresh", (unsigned long long)seen, delay_us,
             claimed, N);
  }
  CHECK(prev == N);
  CHECK(bad == 0);

  /* The final arrays, byte for byte, against the uninterrupted run. */
  static samples got;
  ume_reader *r = NULL;
  EXPECT_OK(ume_reader_open(ds, "ar2", &r));
  for (uint64_t i = 0; i < N; i++) CHECK(read_one(r, i, got.v[i]));
  ume_reader_free(r);
  CHECK(memcmp(&got, &ref, sizeof ref) == 0);

  char *report = NULL;
  int32_t passed = 0;
  EXPECT_OK(ume_dataset_validate(ds, 0, 0, 1, &report, &passed));
  CHECK(passed == 1);
  if (passed != 1 && report) fprintf(stderr, "validate: %s\n", report);
  ume_string_free(report);
  printf("test_engine_kill: %d kills, %d of them with the world partly stored, %ld wrong\n",
         killed, mid_run, bad);
  return ume_test_report("test_engine_kill");
}
