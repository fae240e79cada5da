/*
 * plugin_sdk.h - what every SmolVM plugin needs besides plugin.h.
 *
 * For every plugin, C or C++: SMOLVM_PLUGIN_DEFINE (below) and the error
 * writer smolvm_plugin_set_error (smolvm/sdk/error.h). For C++ plugins also
 * smolvm/sdk/guard.h (smolvm::sdk::Error, guard, set_error) and
 * smolvm/sdk/vtables.h (SMOLVM_PLUGIN_DEFINE_CXX: the kind's vtable built
 * from tagged slot functions, each guarded). The helpers of the library
 * smolvm_plugin_sdk have headers of their own: smolvm/sdk/process.h,
 * path.h, capability.h, json.h. plugins/sdk/README.md describes them.
 *
 * SMOLVM_PLUGIN_DEFINE(kind, name, version, description, vtable) writes the
 * plugin's descriptor and its entry points: smolvm_plugin_<kind>_<name>,
 * and smolvm_plugin_entry unless SMOLVM_PLUGIN_STATIC is defined (a plugin
 * linked into a program, beside others, exports only its own name). kind is
 * one of vmm, executor, network, store; name is an identifier, the <name> of
 * the file smolvm-<kind>-<name>.so; vtable is the plugin's
 * smolvm_<kind>_vtable, whose struct_size must be its sizeof. Use it once,
 * at file scope, outside any namespace.
 */
#ifndef SMOLVM_PLUGIN_SDK_H
#define SMOLVM_PLUGIN_SDK_H

#include "smolvm/plugin.h"
#include "smolvm/sdk/error.h"

#define SMOLVM_PLUGIN_KIND_vmm SMOLVM_PLUGIN_VMM
#define SMOLVM_PLUGIN_KIND_executor SMOLVM_PLUGIN_EXECUTOR
#define SMOLVM_PLUGIN_KIND_network SMOLVM_PLUGIN_NETWORK
#define SMOLVM_PLUGIN_KIND_store SMOLVM_PLUGIN_STORE

#ifdef __cplusplus
#define SMOLVM_PLUGIN_EXTERN_C extern "C"
#else
#define SMOLVM_PLUGIN_EXTERN_C
#endif

#ifdef SMOLVM_PLUGIN_STATIC
#define SMOLVM_PLUGIN_GENERIC_ENTRY_(named_entry)
#else
#define SMOLVM_PLUGIN_GENERIC_ENTRY_(named_entry)                                                  \
  SMOLVM_PLUGIN_EXTERN_C SMOLVM_PLUGIN_EXPORT const smolvm_plugin_descriptor* smolvm_plugin_entry( \
      void) {                                                                                      \
    return named_entry();                                                                          \
  }
#endif

/* The conditional expression makes the compiler check that vtable has the
 * kind's vtable type (distinct pointer types are an error in C++ and a
 * warning in C). */
#define SMOLVM_PLUGIN_DEFINE(kind, name, version, description, vtable)               \
  static const smolvm_plugin_descriptor smolvm_plugin_descriptor_##kind##_##name = { \
      SMOLVM_PLUGIN_ABI_MAJOR,                                                       \
      SMOLVM_PLUGIN_ABI_MINOR,                                                       \
      SMOLVM_PLUGIN_KIND_##kind,                                                     \
      #name,                                                                         \
      description,                                                                   \
      1 ? &(vtable) : (const smolvm_##kind##_vtable*)0,                              \
      version,                                                                       \
      sizeof(vtable),                                                                \
  };                                                                                 \
  SMOLVM_PLUGIN_EXTERN_C SMOLVM_PLUGIN_EXPORT const smolvm_plugin_descriptor*        \
      smolvm_plugin_##kind##_##name(void);                                           \
  SMOLVM_PLUGIN_EXTERN_C SMOLVM_PLUGIN_EXPORT const smolvm_plugin_descriptor*        \
      smolvm_plugin_##kind##_##name(void) {                                          \
    return &smolvm_plugin_descriptor_##kind##_##name;                                \
  }                                                                                  \
  SMOLVM_PLUGIN_GENERIC_ENTRY_(smolvm_plugin_##kind##_##name)

#ifdef __cplusplus
#include "smolvm/sdk/guard.h"
#include "smolvm/sdk/vtables.h"
#endif

#endif /* SMOLVM_PLUGIN_SDK_H */
