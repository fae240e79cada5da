/* CHECK for the C tests: counts, and on failure prints the condition with
 * the library's last error, then goes on (main reports the totals). */
#ifndef SMOLVM_TESTS_C_CHECK_H
#define SMOLVM_TESTS_C_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#include "smolvm/smolvm.h"

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                                           \
  do {                                                                                        \
    ++checks;                                                                                 \
    if (!(cond)) {                                                                            \
      ++failures;                                                                             \
      fprintf(stderr, "%s:%d: CHECK(%s) failed; last error: %s\n", __FILE__, __LINE__, #cond, \
              smolvm_last_error());                                                           \
    }                                                                                         \
  } while (0)

/* A file of `size` zero bytes: a stand-in image where no VM boots. */
static inline void write_zeros(const char* path, size_t size) {
  FILE* f = fopen(path, "wb");
  size_t i;
  for (i = 0; f && i < size; ++i) fputc(0, f);
  if (f) fclose(f);
}

/* Removes the test's scratch folder, prints the totals; main's exit code. */
static int finish_checks(const char* dir) {
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) fprintf(stderr, "cleanup of %s failed\n", dir);
  printf("%d passed, %d failed\n", checks - failures, failures);
  return failures ? 1 : 0;
}

#endif
