/* An executor plugin as one built for plugin ABI 1.1 looks: the real agent
 * executor's vtable cut before file_read_bounded and file_write_bounded
 * (appended in 1.2), so the test can check core's fallbacks to file_read and
 * file_write against a real guest. */
#include <dlfcn.h>
#include <stddef.h>
#include <string.h>

#include "smolvm/plugin.h"

static smolvm_executor_vtable vt;
static smolvm_plugin_descriptor desc;

SMOLVM_PLUGIN_EXPORT const smolvm_plugin_descriptor* smolvm_plugin_entry(void) {
  void* real_so = dlopen(REAL_AGENT_PLUGIN, RTLD_NOW | RTLD_LOCAL);
  if (!real_so) return NULL;
  smolvm_plugin_entry_fn entry = (smolvm_plugin_entry_fn)dlsym(real_so, SMOLVM_PLUGIN_ENTRY_SYMBOL);
  if (!entry) return NULL;
  const smolvm_plugin_descriptor* real = entry();
  memcpy(&vt, real->vtable, offsetof(smolvm_executor_vtable, file_read_bounded));
  vt.struct_size = offsetof(smolvm_executor_vtable, file_read_bounded);
  desc = *real;
  desc.abi_minor = 1;
  desc.vtable = &vt;
  return &desc;
}
