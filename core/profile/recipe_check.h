// The C++ twin of schemas/image-recipe.schema.json: checks one recipe
// document and fails at the first problem in file order with its position
// and key path.
#pragma once

#include "core/profile/yaml_tree.h"

namespace smolvm::profile {

void check_recipe_document(const Node& root);

}  // namespace smolvm::profile
