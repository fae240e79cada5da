// Turns a checked profile document into a Profile. Relative image paths
// resolve against the folder of the file each one was written in, so a base
// profile's paths keep working when another folder's profile extends it.
#pragma once

#include "core/profile/profile.h"
#include "core/profile/yaml_tree.h"

namespace smolvm::profile {

// root must have passed check_profile_document().
Profile to_profile(const Node& root);

}  // namespace smolvm::profile
