/* A pre-empted task restarted elsewhere gets its range back (issue 15, item 10), through
 * the real library: claim files are planted by hand as a process on another host, or a
 * reused pid, would have left them.
 *   - another host, lease long expired          -> taken over
 *   - another host, old format (no lease), old  -> taken over (the taker's lease applies)
 *   - this host, a live pid but another start time (pid reused) -> taken over
 *   - another host, lease renewed a minute ago  -> refused, naming host, pid and lease
 *   - another host, fresh lease, same job id (UME_JOB_ID) -> taken over at once
 *   - an invalid UME_CLAIM_LEASE_SECONDS       -> UME_ERR_INVALID_ARGUMENT naming it
 */
/* utimensat, setenv */
#define _XOPEN_SOURCE 700
#include "ume_test.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

enum { N = 32, CHUNK = 8 };

/* Writes `line` into <ds>/.umedata/claims/<world>.<chunk>, last renewed `age` seconds ago. */
static void plant(const char *ds, const char *world, int chunk, const char *line, long age) {
  char dir[1400], path[1500];
  snprintf(dir, sizeof dir, "%s/.umedata/claims", ds);
  CHECK(ume_t_mkdir_p(dir) == 0);
  snprintf(path, sizeof path, "%s/%s.%d", dir, world, chunk);
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  if (!f) return;
  fputs(line, f);
  fclose(f);
  struct timespec t[2];
  clock_gettime(CLOCK_REALTIME, &t[0]);
  t[0].tv_sec -= age;
  t[1] = t[0];
  CHECK(utimensat(AT_FDCWD, path, t, 0) == 0);
}

/* Field 22 of /proc/self/stat: when this process started. */
static unsigned long long my_start_time(void) {
  char buf[4096];
  FILE *f = fopen("/proc/self/stat", "r");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  if (!p) return 0;
  /* fields after the command name start at 3 */
  int field = 3;
  for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " "), field++)
    if (field == 22) return strtoull(tok, NULL, 10);
  return 0;
}

static void host_name(char *buf, size_t len) {
  if (gethostname(buf, len) != 0) snprintf(buf, len, "localhost");
  buf[len - 1] = '\0';
  for (char *p = buf; *p; p++)
    if (*p == '-' || *p == '/' || *p == ' ') *p = '_';
}

static int write_and_finalize(ume_writer *w, uint64_t from, uint64_t to) {
  tiny_sample s;
  int ok = 1;
  for (uint64_t i = from; i < to; i++) {
    tiny_fill(&s, i, 0);
    ok &= EXPECT_OK(tiny_write(w, i, &s));
  }
  ok &= EXPECT_OK(ume_writer_finalize(w, NULL));
  ume_writer_free(w);
  return ok;
}

int main(int argc, char **argv) {
  ume_test_init(argc, argv);
  const char *ds = scratch_path("lease.zarr");
  ume_world_desc d = tiny_world("lw", N);
  ume_writer_options o = opts_with(CHUNK, 1, 0);
  ume_writer *w = NULL;
  EXPECT_OK(ume_writer_create(ds, &d, &o, &w));
  EXPECT_OK(ume_writer_finalize(w, NULL));
  ume_writer_free(w);
  unsetenv("UME_JOB_ID");
  unsetenv("UME_CLAIM_LEASE_SECONDS");

  /* a dead host: lease of 600 s, last renewed a day ago */
  plant(ds, "lw", 0, "deadnode 4242 start=7 job=- lease=600\n", 86400);
  /* a dead host with an old-format claim (no lease) */
  plant(ds, "lw", 1, "deadnode 4243\n", 86400);
  w = NULL;
  EXPECT_OK(ume_writer_open_range(ds, "lw", 0, 16, NULL, &w));
  if (w) write_and_finalize(w, 0, 16);

  /* a reused pid: our own pid (alive) with another start time */
  char host[256], line[512];
  host_name(host, sizeof host);
  unsigned long long start = my_start_time();
  CHECK(start > 0);
  snprintf(line, sizeof line, "%s %ld start=%llu job=- lease=600\n", host, (long)getpid(),
           start + 12345);
  plant(ds, "lw", 2, line, 0);
  w = NULL;
  EXPECT_OK(ume_writer_open_range(ds, "lw", 16, 8, NULL, &w));
  if (w) write_and_finalize(w, 16, 24);

  /* a live lease on another host: refused, saying whose and for how long */
  plant(ds, "lw", 3, "livenode 777 start=7 job=slurm:99_3 lease=600\n", 60);
  w = NULL;
  EXPECT_ERR(ume_writer_open_range(ds, "lw", 24, 8, NULL, &w), UME_ERR_ALREADY_EXISTS,
             "ume_writer_open_range", "chunk 3", "host livenode, pid 777", "lease of 600 s",
             "lw.3");
  CHECK(w == NULL);

  /* the same job restarted here (pre-empted, requeued on this node): taken over at once */
  setenv("UME_JOB_ID", "slurm:99_3", 1);
  EXPECT_OK(ume_writer_open_range(ds, "lw", 24, 8, NULL, &w));
  if (w) write_and_finalize(w, 24, 32);
  unsetenv("UME_JOB_ID");

  /* every sample is there, and no claim file is left */
  ume_reader *r = NULL;
  EXPECT_OK(ume_reader_open(ds, "lw", &r));
  uint64_t written = 0;
  EXPECT_OK(ume_reader_samples_written(r, &written));
  CHECK(written == N);
  tiny_sample want, got;
  int bad = 0;
  for (uint64_t i = 0; i < N; i++) {
    tiny_fill(&want, i, 0);
    if (tiny_read(r, i, &got) != UME_OK || !tiny_equal(&want, &got)) bad++;
  }
  CHECK(bad == 0);
  ume_reader_free(r);
  char umedir[1400];
  snprintf(umedir, sizeof umedir, "%s/.umedata", ds);
  struct stat st;
  CHECK(stat(umedir, &st) != 0);

  /* the lease comes from the environment for C callers; a bad value is named */
  setenv("UME_CLAIM_LEASE_SECONDS", "soon", 1);
  w = NULL;
  EXPECT_ERR(ume_writer_open_range(ds, "lw", 0, 8, NULL, &w), UME_ERR_INVALID_ARGUMENT,
             "UME_CLAIM_LEASE_SECONDS", "soon");
  setenv("UME_CLAIM_LEASE_SECONDS", "1", 1);
  EXPECT_ERR(ume_writer_open(ds, "lw", NULL, &w), UME_ERR_INVALID_ARGUMENT,
             "UME_CLAIM_LEASE_SECONDS is 1", "[3, ");
  setenv("UME_CLAIM_LEASE_SECONDS", "120", 1);
  EXPECT_OK(ume_writer_open(ds, "lw", NULL, &w));
  EXPECT_OK(ume_writer_finalize(w, NULL));
  ume_writer_free(w);
  unsetenv("UME_CLAIM_LEASE_SECONDS");
  return ume_test_report("test_claims_lease");
}
