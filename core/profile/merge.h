// The extends rule: a profile is its base with the child laid over it.
// Mappings merge key by key, recursively; anything else (a scalar, a list,
// or a mapping meeting a non-mapping) is replaced by the child's value.
// So `env` and `resources` merge, while `setup` and `network.ports` are
// replaced whole. The child's top-level `extends` is dropped.
#pragma once

#include "core/profile/yaml_tree.h"

namespace smolvm::profile {

NodePtr merge_profiles(const NodePtr& base, const NodePtr& child);

}  // namespace smolvm::profile
