// The C++ twin of schemas/vm-profile.schema.json: checks one profile
// document (a single file, or the result of merging an extends chain) and
// fails at the first problem in file order with its position and key path.
// Rules across fields apply only to documents without extends: a file that
// extends another meets them once merged.
// Whatever this accepts, the schema accepts, and the other way round; the
// corpus test in tests/core/profile keeps the two honest.
#pragma once

#include "core/profile/yaml_tree.h"

namespace smolvm::profile {

void check_profile_document(const Node& root);

}  // namespace smolvm::profile
