// The recipe builder's layer cache (guest/build-recipe.sh): layers/<key>/
// holds root.tar, the root tree after one step, and `parent`, the key of
// the layer below it (absent for a base: an imported archive, a named
// image read back). `smolvm image prune` keeps the layers some kept image
// is made of - the chain from its manifest's "layer" down through the
// parents - and removes the rest.
#pragma once

#include <string>
#include <vector>

#include "core/runtime/image_users.h"

namespace smolvm {

// The layers of cache_dir/layers, each removed (not with dry_run) unless
// an image folder in `kept_images` is made of it. While a build runs (a
// layers/.build-* folder exists) nothing is removed: the layers it found
// cached are not yet in any image. Call with images/.lock held.
std::vector<CachedImage> prune_layers(const std::string& cache_dir,
                                      const std::vector<std::string>& kept_images, bool dry_run);

}  // namespace smolvm
