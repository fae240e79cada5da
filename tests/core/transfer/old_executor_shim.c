/* An executor plugin built for plugin ABI 1.1: compiled against the 1.1
 * header (tests/capi/abi-1.1), it forwards to the real agent executor's slots
 * of that minor, so the test can check core's fallbacks to file_read and
 * file_write against a real guest. Past its vtable lie non-NULL pointers
 * that abort: a host that called a slot its struct_size does not cover
 * (file_read_bounded, appended in 1.2) would die here. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smolvm/plugin.h"

#if SMOLVM_PLUGIN_ABI_MINOR != 1
#error "built against the plugin ABI 1.1 header"
#endif

static void past_the_vtable(void) {
  fputs("old_executor_shim: the host called a slot past this 1.1 plugin's vtable\n", stderr);
  abort();
}

static struct {
  smolvm_executor_vtable vt;
  void (*after[4])(void);
} table = {{0}, {past_the_vtable, past_the_vtable, past_the_vtable, past_the_vtable}};

static smolvm_plugin_descriptor desc;

SMOLVM_PLUGIN_EXPORT const smolvm_plugin_descriptor* smolvm_plugin_entry(void) {
  void* real_so = dlopen(REAL_AGENT_PLUGIN, RTLD_NOW | RTLD_LOCAL);
  if (!real_so) return NULL;
  smolvm_plugin_entry_fn entry = (smolvm_plugin_entry_fn)dlsym(real_so, SMOLVM_PLUGIN_ENTRY_SYMBOL);
  if (!entry) return NULL;
  const smolvm_plugin_descriptor* real = entry();
  /* The 1.1 slots are a prefix of every later vtable. */
  memcpy(&table.vt, real->vtable, sizeof table.vt);
  table.vt.struct_size = sizeof table.vt;
  desc.abi_major = SMOLVM_PLUGIN_ABI_MAJOR;
  desc.abi_minor = SMOLVM_PLUGIN_ABI_MINOR;
  desc.kind = SMOLVM_PLUGIN_EXECUTOR;
  desc.name = real->name;
  desc.description = "the agent executor as a plugin built for ABI 1.1";
  desc.vtable = &table.vt;
  return &desc;
}
