import { attacking } from '../../src/attacks/attacking-exchange.js'
import type { Attack } from '../../src/attacks/attack.js'
import { NodeCore, type NodeCoreInit } from '../../src/core/node-core.js'
import { PeerGate } from '../../src/core/peer-gate.js'
import { createRandom } from '../../src/data/random.js'
import { initialWeights } from '../../src/learning/initial-weights.js'
import { createManifest, swarmIdOf, type Manifest, type ManifestOptions } from '../../src/learning/manifest.js'
import { LinkModel } from '../../src/simulator/links.js'
import { MemoryStore } from '../../src/simulator/memory-store.js'
import { SimulatedNetwork, type SimulatedTransport } from '../../src/simulator/simulated-network.js'
import { VirtualTime } from '../../src/simulator/virtual-time.js'
import { SoftmaxTrainer, type Records } from './softmax-trainer.js'

/** Synthetic classification data: one Gaussian blob per class, the same blobs for every node. */
export const INPUTS = 20
export const CLASSES = 10

/** A manifest of the 'logistic' model on the synthetic data, trained by SGD (what SoftmaxTrainer does). */
export function testManifest (options: Partial<ManifestOptions> = {}): Manifest {
  return createManifest({
    model: 'logistic',
    dataset: { name: 'synthetic', inputShape: [INPUTS], classes: CLASSES },
    ...options,
    training: { optimizer: 'sgd', learningRate: 0.05, batchSize: 16, localSteps: 5, ...options.training }
  })
}

const CLASS_MEANS = (() => {
  const random = createRandom(7)
  return Array.from({ length: CLASSES }, () => Float32Array.from({ length: INPUTS }, () => random.normal() * 0.9))
})()

/** `count` records of the given classes (uniformly among them), noise of unit variance around each class's mean. */
export function records (count: number, classes: readonly number[], seed: number): Records {
  const random = createRandom(seed)
  const features = new Float32Array(count * INPUTS)
  const labels = new Int32Array(count)
  for (let row = 0; row < count; row++) {
    const label = classes[random.integer(classes.length)] as number
    labels[row] = label
    const mean = CLASS_MEANS[label] as Float32Array
    for (let i = 0; i < INPUTS; i++) features[row * INPUTS + i] = (mean[i] as number) + random.normal()
  }
  return { features, labels, count }
}

export const ALL_CLASSES = Array.from({ length: CLASSES }, (_, index) => index)
/** the shared test set: every class */
export const TEST_SET = records(2000, ALL_CLASSES, 99)

export interface NodeSpec {
  /** the classes its data holds (default all) */
  readonly classes?: readonly number[]
  /** its records (default 400) */
  readonly samples?: number
  /** the seed of its data (default: its index) */
  readonly dataSeed?: number
  readonly attack?: Attack
  /** default false: tests that are not about warm joins start nodes from the initial weights */
  readonly warmJoin?: boolean
  /** virtual ms a training step takes (default 10) */
  readonly msPerStep?: number
  readonly core?: Partial<NodeCoreInit>
  /** reuse a store (a restart) */
  readonly store?: MemoryStore
}

export interface InProcessNode {
  readonly id: string
  readonly core: NodeCore
  readonly trainer: SoftmaxTrainer
  readonly store: MemoryStore
  readonly transport: SimulatedTransport
  readonly gate: PeerGate
  readonly spec: NodeSpec
}

/**
 * Node cores in one process: the real core, real merging, intake and codecs, a real (small) learner,
 * on the simulator's virtual time, network (links the test makes, a fixed latency) and memory store.
 * A swarm of minutes runs in well under a second.
 */
export class InProcessSwarm {
  readonly time = new VirtualTime()
  /** the nodes' clock: the virtual time from 2026-01-01 */
  readonly clock = this.time.clock()
  readonly network: SimulatedNetwork
  readonly nodes: InProcessNode[] = []
  readonly swarmId: string

  /** `latencyMs`: one-way delay of every message (default 5 ms) */
  constructor (readonly manifest: Manifest = testManifest(), options: { latencyMs?: number } = {}) {
    const links = new LinkModel({ latency: { kind: 'fixed', value: options.latencyMs ?? 5 }, bandwidth: { kind: 'fixed', value: 1e9 }, seed: 1 })
    this.network = new SimulatedNetwork({ time: this.time, links, seed: 1 })
    this.swarmId = swarmIdOf(manifest)
  }

  /** A node, not started; its id is `node-<index>`. */
  add (spec: NodeSpec = {}): InProcessNode {
    const index = this.nodes.length
    const id = `node-${index}`
    const gate = new PeerGate(undefined, this.clock.now)
    const transport = this.network.join(id, gate)
    const store = spec.store ?? new MemoryStore()
    const dataSeed = spec.dataSeed ?? index + 1
    const classes = spec.classes ?? ALL_CLASSES
    const trainer = new SoftmaxTrainer({
      inputs: INPUTS,
      classes: CLASSES,
      train: records(spec.samples ?? 400, classes, dataSeed * 1000 + 1),
      holdout: records(200, classes, dataSeed * 1000 + 2),
      test: TEST_SET,
      initial: initialWeights(this.manifest.model, this.manifest.dataset.inputShape, this.manifest.seed),
      batchSize: this.manifest.training.batchSize,
      learningRate: this.manifest.training.learningRate,
      seed: dataSeed,
      clock: this.clock,
      msPerStep: spec.msPerStep ?? 10
    })
    const core = new NodeCore({ transport, store, trainer, gate, clock: this.clock }, {
      id,
      manifest: this.manifest,
      swarmId: this.swarmId,
      seed: 1000 + index,
      warmJoin: spec.warmJoin ?? false,
      evaluationIntervalMs: 1_000,
      ...(spec.attack === undefined ? {} : { decorateExchange: attacking(spec.attack, { forge: async (message, authors) => transport.publishAs(Array.from({ length: authors }, (_, i) => `${id}-sybil-${i}`), message) }) }),
      ...spec.core
    })
    const node = { id, core, trainer, store, transport, gate, spec }
    this.nodes.push(node)
    return node
  }

  /** Adds and starts `count` nodes linked to each other and to every node already there. */
  async grow (count: number, spec: NodeSpec | ((index: number) => NodeSpec) = {}): Promise<InProcessNode[]> {
    const added: InProcessNode[] = []
    for (let i = 0; i < count; i++) added.push(this.add(typeof spec === 'function' ? spec(i) : spec))
    this.network.linkAll(this.nodes.map(node => node.id))
    for (const node of added) await node.core.start()
    return added
  }

  /** accuracy of a node's current model on the shared test set */
  testAccuracy (node: InProcessNode): number {
    return node.trainer.accuracyOn(TEST_SET)
  }

  /** Runs the clock until `condition` holds (at most `limitMs` of virtual time). */
  async until (condition: () => boolean, limitMs: number, what?: string): Promise<void> {
    await this.time.until(condition, limitMs, what)
  }

  /** Stops these nodes (default all), running the clock meanwhile: a stop waits for the round in progress. */
  async stop (nodes: readonly InProcessNode[] = this.nodes): Promise<void> {
    let done = false
    const stopping = Promise.all(nodes.map(async node => node.core.stop())).finally(() => { done = true })
    await this.time.until(() => done, 60_000, 'the nodes to stop')
    await stopping
  }
}
