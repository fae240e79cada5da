/* The slots an old executor plugin (built against an older plugin.h, see
 * executor_abi_1_*.c) needs but never really uses, and the counter of calls
 * past its vtable. Included by each such plugin, so the types are those of
 * the header it is built against. */
#ifndef SMOLVM_TEST_OLD_EXECUTOR_STUBS_H
#define SMOLVM_TEST_OLD_EXECUTOR_STUBS_H

static int calls_past_the_vtable;

static void past_the_vtable(void) { ++calls_past_the_vtable; }

static int connect_(void** out, const smolvm_executor_target* t, uint32_t ms,
                    smolvm_plugin_error* err) {
  (void)t;
  (void)ms;
  (void)err;
  *out = &calls_past_the_vtable;
  return 0;
}
static void disconnect_(void* conn) { (void)conn; }
static int exec_start_(void** out, void* conn, const smolvm_executor_request* req,
                       smolvm_plugin_error* err) {
  (void)out;
  (void)conn;
  (void)req;
  (void)err;
  return SMOLVM_EUNSUPPORTED;
}
static int next_(void* exec, smolvm_executor_event* ev, int32_t ms, smolvm_plugin_error* err) {
  (void)exec;
  (void)ev;
  (void)ms;
  (void)err;
  return SMOLVM_EDONE;
}
static int write_(void* exec, const uint8_t* d, size_t n, smolvm_plugin_error* err) {
  (void)exec;
  (void)d;
  (void)n;
  (void)err;
  return 0;
}
static int close_(void* exec, smolvm_plugin_error* err) {
  (void)exec;
  (void)err;
  return 0;
}
static int kill_(void* exec, int sig, smolvm_plugin_error* err) {
  (void)exec;
  (void)sig;
  (void)err;
  return 0;
}
static void free_(void* exec) { (void)exec; }
static int file_write_(void* conn, const char* path, const uint8_t* d, size_t n, uint32_t mode,
                       smolvm_plugin_error* err) {
  (void)conn;
  (void)path;
  (void)d;
  (void)n;
  (void)mode;
  (void)err;
  return 0;
}

#endif
