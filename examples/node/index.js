'use strict';
// Boots a disposable VM, runs an agent-style command in it, shows the event
// loop staying free while the guest works, aborts a runaway command, and
// removes the VM.
const { SmolVM, NotFoundError, AbortError } = require('smolvm');

async function main() {
  const t0 = Date.now();
  const vm = await SmolVM.create({ memSizeMib: 512 });
  try {
    await vm.start();
    console.log(`VM ${vm.id} booted in ${Date.now() - t0} ms`);

    const r = await vm.run("python3 -c 'print(6*7)'");
    console.log(`exit ${r.exitCode}, stdout ${JSON.stringify(r.stdout)}`);

    // Native calls run on a worker thread: timers keep firing meanwhile.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 100);
    await vm.run('sleep 1');
    clearInterval(timer);
    console.log(`timer ticks during a 1 s command: ${ticks}`);

    // An AbortSignal kills the command in the guest.
    const aborted = await vm.run('sleep 600', { signal: AbortSignal.timeout(1000) }).catch((e) => e);
    if (!(aborted instanceof AbortError)) throw new Error(`want an AbortError, got ${aborted}`);
    console.log('runaway command aborted');

    // Library failures are Error subclasses carrying the native message.
    const missing = await SmolVM.fromId('vm-does-not-exist').catch((e) => e);
    if (!(missing instanceof NotFoundError)) throw new Error(`want a NotFoundError, got ${missing}`);
    console.log(`missing VM: ${missing.name}: ${missing.message}`);
  } finally {
    await vm.delete(); // the VM outlives this process unless deleted
    await vm.close();
  }
}

main().catch((e) => {
  console.error('error:', e);
  process.exitCode = 1;
});
