/* Deliberately wrong plugins for the loader's refusal tests, and network
 * plugins named PLUGIN_NAME whose probe gives PROBE_AVAILABLE and
 * PROBE_RANK, for auto's choice: one source, built once per variant by
 * tests/core/CMakeLists.txt. */
#include <stdio.h>

#include "smolvm/plugin.h"

#ifndef PLUGIN_NAME
#define PLUGIN_NAME "testnet"
#endif

__attribute__((unused)) static int probe(char* out, size_t cap, smolvm_plugin_error* err) {
  (void)err;
#ifdef PROBE_RANK
  const int n = snprintf(out, cap, "{\"available\":%s,\"rank\":%d}",
                         PROBE_AVAILABLE ? "true" : "false", PROBE_RANK);
  return n < 0 || (size_t)n >= cap ? SMOLVM_EINVAL : 0;
#else
  if (cap) out[0] = 0;
  return 0;
#endif
}

__attribute__((unused)) static int noop_cfg(const smolvm_network_config* c,
                                            smolvm_plugin_error* err) {
  (void)c;
  (void)err;
  return 0;
}
__attribute__((unused)) static int noop_fwd(const smolvm_network_forward* f,
                                            smolvm_plugin_error* err) {
  (void)f;
  (void)err;
  return 0;
}

#if defined(BAD_SMALL_VTABLE)
#define VTABLE_SIZE 4
#else
#define VTABLE_SIZE sizeof(smolvm_network_vtable)
#endif

static const smolvm_network_vtable vt = {
    VTABLE_SIZE,
#if defined(BAD_MISSING_SLOT)
    0,
#else
    probe,
#endif
    noop_cfg,    noop_cfg, noop_fwd, noop_fwd,
};

__attribute__((unused)) static const smolvm_plugin_descriptor desc = {
#if defined(BAD_MAJOR)
    SMOLVM_PLUGIN_ABI_MAJOR + 1,
    0,
#elif defined(BAD_MINOR)
    SMOLVM_PLUGIN_ABI_MAJOR,
    SMOLVM_PLUGIN_ABI_MINOR + 1,
#else
    SMOLVM_PLUGIN_ABI_MAJOR,
    SMOLVM_PLUGIN_ABI_MINOR,
#endif
    SMOLVM_PLUGIN_NETWORK,
#if defined(BAD_NO_NAME)
    "",
#else
    PLUGIN_NAME,
#endif
    "test plugin",
    &vt,
    "0.0-test",
#if defined(BAD_VTABLE_SIZE_MISMATCH)
    VTABLE_SIZE + 8,
#else
    VTABLE_SIZE,
#endif
};

#if !defined(BAD_NO_ENTRY)
SMOLVM_PLUGIN_EXPORT const smolvm_plugin_descriptor* smolvm_plugin_entry(void) {
#if defined(BAD_NULL_DESCRIPTOR)
  return 0;
#else
  return &desc;
#endif
}
#else
SMOLVM_PLUGIN_EXPORT int not_a_plugin(void) { return desc.abi_major == 0; }
#endif
