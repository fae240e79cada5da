// What the host requires of each kind's vtable, by the ABI minor a plugin
// declares: the size that covers the minor's mandatory slots, and which of
// them must not be NULL. Slots appended later are optional for plugins of
// older minors; the host checks them with SMOLVM_VTABLE_HAS before a call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace smolvm {

// The smallest vtable a plugin of this kind, built for abi_minor, may
// have. 0 for an unknown kind.
size_t required_vtable_size(uint32_t kind, uint32_t abi_minor);

// The first mandatory slot that is NULL in vt, or "" when all are set. vt's
// struct_size must already cover required_vtable_size.
std::string missing_mandatory_slot(uint32_t kind, const void* vt);

}  // namespace smolvm
