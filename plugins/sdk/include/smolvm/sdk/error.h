/*
 * smolvm/sdk/error.h - the one way a plugin writes its error message.
 * C-compatible, so a plugin written in C uses it too.
 */
#ifndef SMOLVM_SDK_ERROR_H
#define SMOLVM_SDK_ERROR_H

#include "smolvm/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writes the printf-style message into err (NULL: nothing is written) and
 * returns status, so a slot can end with `return smolvm_plugin_set_error(...)`.
 * A message longer than err->message is cut at 1023 bytes, never inside a
 * UTF-8 sequence, and always ends with a NUL. */
int smolvm_plugin_set_error(smolvm_plugin_error* err, int status, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif

#endif /* SMOLVM_SDK_ERROR_H */
