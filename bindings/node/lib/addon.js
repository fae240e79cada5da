'use strict';
// Finds and loads smolvm_native.node. Only lib/worker.js calls this: see
// there for why the addon must never be loaded on more than one thread.
const path = require('path');

function load() {
  const tried = [];
  const candidates = [
    process.env.SMOLVM_NODE_ADDON, // an explicit path wins
    path.join(__dirname, '..', 'build', 'Release', 'smolvm_native.node'), // installed (cmake --install)
  ].filter(Boolean).map((f) => path.resolve(f)); // relative to the working directory
  for (const file of candidates) {
    try {
      return require(file);
    } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND') throw e; // found but broken: say so
      tried.push(file);
    }
  }
  throw new Error(
    `the smolvm native addon is not built (looked for ${tried.join(', ')}); ` +
      'build it (`cmake --build <build> --target smolvm-node`) and set SMOLVM_NODE_ADDON=<build>/bindings/node/smolvm_native.node, or install it');
}

module.exports = { load };
