/* `overwrite = 1` never destroys a world that a writer holds open (issue 15, item 4):
 * not one of this process, not one of another process. The create is refused before
 * anything is erased, with a message naming the holder (host, pid) and its hold file;
 * the holder then finishes and every sample it wrote reads back. A holder that died
 * (SIGKILL) blocks nothing: its world can be overwritten at once.
 * And a writer whose files vanish under it (the world directory removed while it writes)
 * fails at finalize with a message naming what is missing, instead of reporting success.
 */
/* nftw, gethostname */
#define _XOPEN_SOURCE 700
#include "ume_test.h"

#include <ftw.h>
#include <signal.h>
#include <sys/wait.h>

enum { N = 32, CHUNK = 8 };

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void rm_rf(const char *path) { nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

/* The host name as umedata writes it into claim files ('-', '/', ' ' become '_'). */
static void this_host(char *buf, size_t len) {
  if (gethostname(buf, len) != 0) snprintf(buf, len, "localhost");
  buf[len - 1] = '\0';
  for (char *p = buf; *p; p++)
    if (*p == '-' || *p == '/' || *p == ' ') *p = '_';
}

static void write_range(ume_writer *w, uint64_t from, uint64_t to) {
  tiny_sample s;
  for (uint64_t i = from; i < to; i++) {
    tiny_fill(&s, i, 0);
    EXPECT_OK(tiny_write(w, i, &s));
  }
}

/* Every sample of the world reads back as version `version`. */
static void expect_all(const char *ds, const char *world, int version) {
  ume_reader *r = NULL;
  if (!EXPECT_OK(ume_reader_open(ds, world, &r))) return;
  uint64_t written = 0;
  EXPECT_OK(ume_reader_samples_written(r, &written));
  CHECK(written == N);
  tiny_sample want, got;
  int bad = 0;
  for (uint64_t i = 0; i < N; i++) {
    tiny_fill(&want, i, version);
    if (tiny_read(r, i, &got) != UME_OK || !tiny_equal(&want, &got)) bad++;
  }
  CHECK(bad == 0);
  ume_reader_free(r);
}

static void create_empty(const char *ds, const char *world) {
  ume_world_desc d = tiny_world(world, N);
  ume_writer_options o = opts_with(CHUNK, 1, 0);
  ume_writer *w = NULL;
  EXPECT_OK(ume_writer_create(ds, &d, &o, &w));
  EXPECT_OK(ume_writer_finalize(w, NULL));
  ume_writer_free(w);
}

/* A writer of this process holds the world: create, resume and range writers alike. */
static void same_process(void) {
  const char *ds = scratch_path("same.zarr");
  char host[256], pid[32];
  this_host(host, sizeof host);
  snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
  ume_world_desc d = tiny_world("ow", N);
  ume_writer_options o = opts_with(CHUNK, 1, 0);
  ume_writer *a = NULL, *b = NULL;

  /* 1. the creating writer holds it */
  EXPECT_OK(ume_writer_create(ds, &d, &o, &a));
  write_range(a, 0, 12); /* chunk 0 complete (stored), chunk 1 partial */
  EXPECT_ERR(ume_writer_create(ds, &d, &o, &b), UME_ERR_ALREADY_EXISTS, "ume_writer_create",
             "'ow'", "held", host, pid, ".umedata");
  CHECK(b == NULL);
  write_range(a, 12, N);
  EXPECT_OK(ume_writer_finalize(a, NULL));
  ume_writer_free(a);
  expect_all(ds, "ow", 0);

  /* 2. a resuming writer (ume_writer_open) holds it */
  a = NULL;
  EXPECT_OK(ume_writer_open(ds, "ow", NULL, &a));
  EXPECT_ERR(ume_writer_create(ds, &d, &o, &b), UME_ERR_ALREADY_EXISTS, "held", pid);
  CHECK(b == NULL);
  EXPECT_OK(ume_writer_finalize(a, NULL));
  /* finalized (not yet freed): the hold is released, the world may be replaced */
  EXPECT_OK(ume_writer_create(ds, &d, &o, &b));
  EXPECT_OK(ume_writer_finalize(b, NULL));
  ume_writer_free(b);
  ume_writer_free(a);

  /* 3. a range writer holds it */
  a = NULL;
  b = NULL;
  EXPECT_OK(ume_writer_open_range(ds, "ow", 8, 8, NULL, &a));
  EXPECT_ERR(ume_writer_create(ds, &d, &o, &b), UME_ERR_ALREADY_EXISTS, "held", pid);
  write_range(a, 8, 16);
  EXPECT_OK(ume_writer_finalize(a, NULL));
  ume_writer_free(a);
  ume_reader *r = NULL;
  EXPECT_OK(ume_reader_open(ds, "ow", &r));
  uint64_t written = 0;
  EXPECT_OK(ume_reader_samples_written(r, &written));
  CHECK(written == 8);
  ume_reader_free(r);

  /* nobody holds it now: overwrite works */
  EXPECT_OK(ume_writer_create(ds, &d, &o, &b));
  EXPECT_OK(ume_writer_finalize(b, NULL));
  ume_writer_free(b);
}

/* A child process opens the world and waits; returns its pid, or -1. */
static pid_t spawn_holder(const char *ds, int *ready_fd, int *go_fd) {
  int ready[2], go[2];
  if (pipe(ready) != 0 || pipe(go) != 0) return -1;
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    close(ready[0]);
    close(go[1]);
    ume_writer *w = NULL;
    char ok = 1;
    if (ume_writer_open(ds, "pw", NULL, &w) != UME_OK) ok = 0;
    tiny_sample s;
    for (uint64_t i = 0; ok && i < N / 2; i++) {
      tiny_fill(&s, i, 0);
      if (tiny_write(w, i, &s) != UME_OK) ok = 0;
    }
    if (write(ready[1], &ok, 1) != 1 || !ok) _exit(3);
    char c;
    if (read(go[0], &c, 1) != 1) _exit(4);
    for (uint64_t i = N / 2; i < N; i++) {
      tiny_fill(&s, i, 0);
      if (tiny_write(w, i, &s) != UME_OK) _exit(5);
    }
    if (ume_writer_finalize(w, NULL) != UME_OK) {
      fprintf(stderr, "child: finalize: %s\n", ume_last_error_message());
      _exit(6);
    }
    ume_writer_free(w);
    _exit(0);
  }
  close(ready[1]);
  close(go[0]);
  *ready_fd = ready[0];
  *go_fd = go[1];
  return pid;
}

/* Another process holds the world. */
static void other_process(void) {
  const char *ds = scratch_path("other.zarr");
  create_empty(ds, "pw");
  ume_world_desc d = tiny_world("pw", N);
  ume_writer_options o = opts_with(CHUNK, 1, 0);
  ume_writer *b = NULL;

  /* a live holder: refused, and it finishes its world intact */
  int ready = -1, go = -1;
  pid_t child = spawn_holder(ds, &ready, &go);
  CHECK(child > 0);
  if (child <= 0) return;
  char ok = 0;
  CHECK(read(ready, &ok, 1) == 1 && ok == 1);
  char pid[32];
  snprintf(pid, sizeof pid, "pid %ld", (long)child);
  EXPECT_ERR(ume_writer_create(ds, &d, &o, &b), UME_ERR_ALREADY_EXISTS, "'pw'", "held", pid,
             ".umedata");
  CHECK(b == NULL);
  CHECK(write(go, "g", 1) == 1);
  int status = 0;
  CHECK(waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(ready);
  close(go);
  expect_all(ds, "pw", 0);

  /* a holder killed while holding: its hold is stale, the overwrite goes ahead */
  create_empty(ds, "pw");
  child = spawn_holder(ds, &ready, &go);
  CHECK(child > 0);
  if (child <= 0) return;
  CHECK(read(ready, &ok, 1) == 1 && ok == 1);
  kill(child, SIGKILL);
  CHECK(waitpid(child, &status, 0) == child);
  close(ready);
  close(go);
  EXPECT_OK(ume_writer_create(ds, &d, &o, &b));
  write_range(b, 0, N);
  EXPECT_OK(ume_writer_finalize(b, NULL));
  ume_writer_free(b);
  expect_all(ds, "pw", 0);
}

/* The world directory is removed while a writer writes: finalize must say so. */
static void vanished_files(void) {
  const char *ds = scratch_path("vanish.zarr");
  char world_dir[1300];
  snprintf(world_dir, sizeof world_dir, "%s/vw", ds);
  ume_world_desc d = tiny_world("vw", N);
  ume_writer_options o = opts_with(CHUNK, 1, 0);
  ume_writer *w = NULL;
  EXPECT_OK(ume_writer_create(ds, &d, &o, &w));
  write_range(w, 0, 12);
  rm_rf(world_dir);
  tiny_sample s;
  for (uint64_t i = 12; i < N; i++) {
    tiny_fill(&s, i, 0);
    tiny_write(w, i, &s); /* may already fail: a chunk to sync vanished */
  }
  EXPECT_ERR(ume_writer_finalize(w, NULL), UME_ERR_IO, "ume_writer_finalize", "'vw'",
             "missing", "zarr.json");
  ume_writer_free(w);
}

int main(int argc, char **argv) {
  ume_test_init(argc, argv);
  same_process();
  other_process();
  vanished_files();
  return ume_test_report("test_overwrite_held");
}
