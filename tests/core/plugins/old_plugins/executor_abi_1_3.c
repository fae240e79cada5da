/* An executor plugin built against the plugin ABI 1.3 header
 * (tests/capi/abi-1.3), for the executor hooks' growth test: its vtable ends at
 * probe. Three non-NULL pointers follow it where 1.4 put vm_created,
 * vm_booting and vm_ready; they count their calls, so a host that called a
 * hook the plugin's struct_size does not cover would be seen. */
#include "smolvm/plugin.h"

#if SMOLVM_PLUGIN_ABI_MINOR != 3
#error "built against the plugin ABI 1.3 header"
#endif

#include "executor_stubs.h"

SMOLVM_PLUGIN_EXPORT int old13_calls_past_the_vtable(void) { return calls_past_the_vtable; }

static int file_read_(void* conn, const char* path, smolvm_bytes_cb sink, void* ctx,
                      smolvm_plugin_error* err) {
  (void)conn;
  (void)path;
  (void)err;
  sink(ctx, (const uint8_t*)"v1.3", 4);
  return 0;
}
static int probe_(char* out, size_t cap, smolvm_plugin_error* err) {
  static const char json[] = "{\"available\":true,\"rank\":0,\"needs_network\":false}";
  (void)err;
  if (cap < sizeof json) return SMOLVM_EINVAL;
  for (size_t i = 0; i < sizeof json; ++i) out[i] = json[i];
  return 0;
}

static const struct {
  smolvm_executor_vtable vt;
  void (*after[3])(void);
} table = {
    {sizeof(smolvm_executor_vtable), connect_, disconnect_, exec_start_, next_, write_, close_,
     kill_, free_, file_write_, file_read_, NULL, NULL, probe_},
    {past_the_vtable, past_the_vtable, past_the_vtable},
};

static const smolvm_plugin_descriptor desc = {
    SMOLVM_PLUGIN_ABI_MAJOR,
    SMOLVM_PLUGIN_ABI_MINOR,
    SMOLVM_PLUGIN_EXECUTOR,
    "old13",
    "built for plugin ABI 1.3",
    &table.vt,
    "0.0-old13",
    sizeof(smolvm_executor_vtable),
};

SMOLVM_PLUGIN_EXPORT const smolvm_plugin_descriptor* smolvm_plugin_entry(void) { return &desc; }
