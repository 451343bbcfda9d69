import type { Dataset } from '../data/dataset.js'
import type { BackendName } from '../learning/backend-names.js'
import { LocalTrainer } from '../learning/local-trainer.js'
import { swarmIdOf, type Manifest } from '../learning/manifest.js'
import { weightShapes } from '../learning/models.js'
import { consensusDistance, type Weights } from '../learning/weights.js'
import { validateUpdate, type UpdateExpectations } from '../core/update-codec.js'
import { round, summarise } from './run-figures.js'
import type { TimelinePoint } from './summary.js'

/**
 * Scores models on one test split, in the launcher's own process (`murmur swarm` and `murmur testbed`:
 * the nodes run elsewhere, their models arrive encoded).
 */
export class Evaluator {
  private constructor (private readonly trainer: LocalTrainer, private readonly test: Dataset, private readonly expectations: UpdateExpectations) {}

  static async create (manifest: Manifest, test: Dataset, backend?: BackendName): Promise<Evaluator> {
    const trainer = await LocalTrainer.create(manifest, { train: test, test }, backend === undefined ? {} : { backend })
    return new Evaluator(trainer, test, {
      swarmId: swarmIdOf(manifest),
      shapes: weightShapes(manifest.model, manifest.dataset.inputShape).map(w => w.shape)
    })
  }

  /** The weights of an encoded model; null for none, or for one the swarm's nodes would refuse. */
  decode (bytes: Uint8Array | null): Weights | null {
    if (bytes === null) return null
    const verdict = validateUpdate(bytes, this.expectations)
    return verdict.ok ? verdict.value.weights : null
  }

  async accuracy (weights: Weights, dataset: Dataset = this.test): Promise<number> {
    await this.trainer.setWeights(weights)
    return this.trainer.accuracy(dataset)
  }

  close (): Promise<void> {
    return this.trainer.close()
  }
}

/** A running node as the timeline sees it: something that hands over its current model, encoded. */
export interface ModelSource {
  readonly index: number
  readonly process: { model: () => Promise<Uint8Array | null> } | null
}

/** A point of the timeline `t` seconds into training: every answering node's model, scored on `test`. */
export async function sampleTimeline (running: readonly ModelSource[], evaluator: Evaluator, test: Dataset, t: number): Promise<TimelinePoint> {
  const models = await Promise.all(running.map(async n => ({ index: n.index, weights: evaluator.decode(await n.process?.model() ?? null) })))
  const answered = models.filter((m): m is { index: number; weights: Weights } => m.weights !== null)
  const nodeAccuracy: Record<string, number | null> = {}
  for (const model of answered) nodeAccuracy[String(model.index)] = await evaluator.accuracy(model.weights, test)
  const accuracies = Object.values(nodeAccuracy).filter((a): a is number => a !== null)
  const stats = summarise(accuracies)
  return {
    t: round(t),
    meanAccuracy: answered.length > 0 ? stats.mean : null,
    minAccuracy: answered.length > 0 ? stats.min : null,
    consensusDistance: consensusDistance(answered.map(m => m.weights)),
    liveNodes: answered.length,
    nodeAccuracy
  }
}
