import { setFlagsFromString } from 'node:v8'

/**
 * Lets the garbage collector judge the memory of typed arrays against the heap's own growth limit
 * instead of V8's fixed allowance of 64 MB of new external memory between two collections.
 *
 * A simulation allocates a model-sized Float32Array (and its encoding) for most events: a push's
 * payload, a received model's reconstruction, a merge, a served average. Their memory lives outside
 * the JavaScript heap, and by default every 64 MB of it starts a full mark-compact of a heap holding
 * thousands of nodes' state: on 10,000 simulated phones one every 2.5 s of wall time, each marking
 * for about 0.9 s, so nearly half the run went to marking (docs/simulations.md, "Scale"). Counted
 * in the global limit, collections come when the whole heap has grown by its usual factor; the
 * summary is byte-identical, the 10,000-phone hour takes 0.39× the CPU time, and the peak RSS is
 * higher (6.3 against 4.5 GiB).
 *
 * A process-wide V8 setting, so only commands that own their process call it (murmur simulate, the
 * simulated engine of murmur bench), never the library. V8 reads the setting when it next sets its
 * limits, so it works when set after start-up.
 */
export function countExternalMemoryInHeapLimit (): void {
  setFlagsFromString('--external-memory-accounted-in-global-limit')
}
