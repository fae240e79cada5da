// Package raw is the SWIG-generated binding of the C ABI (smolvm.h through
// bindings/common/smolvm_api.i and bindings/go/smolvm_go.i); only package
// smolvm imports it. Its files are generated into the CMake build tree,
// never here, and the build's overlay file makes the go command see them
// in this folder and drop this file.
package raw

// Fails the build with a pointer to the fix when the go command was not
// given the overlay: set GOFLAGS=-overlay=<build>/bindings/go/overlay.json
// (see bindings/go/README.md).
var _ = build_with_GOFLAGS_overlay_from_the_CMake_build_tree
