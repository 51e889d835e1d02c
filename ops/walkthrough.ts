// `npm run walkthrough`: builds a small signed history with the real proofs
// package and shows what verifies and what is refused, offline.
import { runProofsWalkthrough, runStateWalkthrough } from './proofs-walkthrough';

runProofsWalkthrough((line) => console.log(line));
runStateWalkthrough((line) => console.log(line));
