/* An executor plugin built against the plugin ABI 1.1 header
 * (tests/capi/abi-1.1), for the loader's growth test: its vtable ends at
 * file_read. The pointers after it are non-NULL and count their calls, so
 * a host that read a slot its struct_size does not cover would be seen. */
#include "smolvm/plugin.h"

#if SMOLVM_PLUGIN_ABI_MINOR != 1
#error "built against the plugin ABI 1.1 header"
#endif

#include "executor_stubs.h"

SMOLVM_PLUGIN_EXPORT int old_plugin_calls_past_the_vtable(void) { return calls_past_the_vtable; }

static int file_read_(void* conn, const char* path, smolvm_bytes_cb sink, void* ctx,
                      smolvm_plugin_error* err) {
  (void)conn;
  (void)path;
  (void)err;
  sink(ctx, (const uint8_t*)"v1.1", 4);
  return 0;
}

static const struct {
  smolvm_executor_vtable vt;
  void (*after[4])(void);
} table = {
    {sizeof(smolvm_executor_vtable), connect_, disconnect_, exec_start_, next_, write_, close_,
     kill_, free_, file_write_, file_read_},
    {past_the_vtable, past_the_vtable, past_the_vtable, past_the_vtable},
};

static const smolvm_plugin_descriptor desc = {
    SMOLVM_PLUGIN_ABI_MAJOR,    SMOLVM_PLUGIN_ABI_MINOR,
    SMOLVM_PLUGIN_EXECUTOR,     "old11",
    "built for plugin ABI 1.1", &table.vt,
};

SMOLVM_PLUGIN_EXPORT const smolvm_plugin_descriptor* smolvm_plugin_entry(void) { return &desc; }
