// `npm start`. The local 4-replica cluster and the console do not exist yet
// (see the open issues); until they do, this runs the proofs walkthrough: it
// builds a small signed history with the real proofs package and verifies it,
// printing each step, so a newcomer sees what the registry will certify.

import { runProofsWalkthrough, runStateWalkthrough } from './proofs-walkthrough';

runProofsWalkthrough((line) => console.log(line));
runStateWalkthrough((line) => console.log(line));
console.log('\nThe replica cluster and the console are not built yet: `npm start` will launch them once they land.');
