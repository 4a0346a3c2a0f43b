/* Status strings, version, default options, last-error message before any error,
 * free(NULL) no-ops. */
#include "ume_test.h"

static const ume_status ALL_STATUSES[] = {
    UME_OK,
    UME_ERR_NULL_ARGUMENT,
    UME_ERR_INVALID_ARGUMENT,
    UME_ERR_OUT_OF_RANGE,
    UME_ERR_LENGTH_MISMATCH,
    UME_ERR_ALREADY_EXISTS,
    UME_ERR_ALREADY_WRITTEN,
    UME_ERR_FINALIZED,
    UME_ERR_NOT_FOUND,
    UME_ERR_IO,
    UME_ERR_FORMAT,
    UME_ERR_NON_FINITE,
    UME_ERR_NOT_WRITTEN,
    UME_ERR_PANIC,
    UME_ERR_INTERNAL,
};
enum { N_STATUSES = sizeof ALL_STATUSES / sizeof ALL_STATUSES[0] };

int main(int argc, char **argv) {
  ume_test_init(argc, argv);

  /* Before any failing call the message is "" (never NULL). */
  const char *m0 = ume_last_error_message();
  CHECK(m0 != NULL);
  CHECK(m0 != NULL && m0[0] == '\0');

  /* The numeric values are part of the ABI. */
  CHECK(UME_OK == 0);
  CHECK(UME_ERR_NULL_ARGUMENT == 7001);
  CHECK(UME_ERR_NOT_WRITTEN == 7012);
  CHECK(UME_ERR_PANIC == 7098);
  CHECK(UME_ERR_INTERNAL == 7099);

  /* ume_status_string: non-empty for every status, pairwise distinct, static. */
  const char *strings[N_STATUSES];
  for (int k = 0; k < N_STATUSES; k++) {
    strings[k] = ume_status_string(ALL_STATUSES[k]);
    int ok = strings[k] != NULL && strings[k][0] != '\0';
    if (!ok) fprintf(stderr, "  status %d has no string\n", (int)ALL_STATUSES[k]);
    CHECK(ok);
  }
  for (int a = 0; a < N_STATUSES; a++)
    for (int b = a + 1; b < N_STATUSES; b++) {
      int distinct = strings[a] && strings[b] && strcmp(strings[a], strings[b]) != 0;
      if (!distinct)
        fprintf(stderr, "  statuses %d and %d share the string \"%s\"\n", (int)ALL_STATUSES[a],
                (int)ALL_STATUSES[b], strings[a] ? strings[a] : "(null)");
      CHECK(distinct);
    }
  CHECK(ume_status_string(UME_OK) == strings[0]); /* static: same pointer again */
  /* A value that is not a status still gets a string, never NULL. */
  const char *unknown = ume_status_string((ume_status)12345);
  CHECK(unknown != NULL && unknown[0] != '\0');
  unknown = ume_status_string((ume_status)-1);
  CHECK(unknown != NULL && unknown[0] != '\0');

  /* ume_version() == "MAJOR.MINOR.PATCH" of the header macros. */
  char expected_version[64];
  snprintf(expected_version, sizeof expected_version, "%d.%d.%d", UME_VERSION_MAJOR,
           UME_VERSION_MINOR, UME_VERSION_PATCH);
  const char *v = ume_version();
  CHECK(v != NULL);
  if (v && strcmp(v, expected_version) != 0)
    fprintf(stderr, "  ume_version() = \"%s\", header says \"%s\"\n", v, expected_version);
  CHECK(v != NULL && strcmp(v, expected_version) == 0);
  CHECK(ume_version() == v);
  CHECK(strcmp(expected_version, UME_VERSION_STRING) == 0);

  /* Default writer options as documented. */
  ume_writer_options o = ume_writer_options_default();
  CHECK(o.codec == UME_CODEC_BLOSC_LZ4);
  CHECK(o.clevel == -1);
  CHECK(o.chunk_samples == 0);
  CHECK(o.n_threads == 0);
  CHECK(o.max_open_chunks == 0);
  CHECK(o.overwrite == 0);
  CHECK(o.allow_nonfinite == 0);
  CHECK(o.checksum == 1);
  CHECK(o.fsync == 1);

  /* Freeing NULL is a no-op, and does not disturb the last error message. */
  ume_writer_free(NULL);
  ume_reader_free(NULL);
  CHECK(1);

  /* A failing call sets the message; the status string is not the message. */
  ume_writer *w = NULL;
  EXPECT_ERR(ume_writer_create(NULL, NULL, NULL, &w), UME_ERR_NULL_ARGUMENT,
             "ume_writer_create");
  CHECK(w == NULL);
  const char *m1 = ume_last_error_message();
  CHECK(m1 != NULL && m1[0] != '\0');

  return ume_test_report("test_api_basics");
}
