import { loadNodeData, parseDataSpec } from '../data/spec.js'
import { MurmurError } from '../errors.js'
import { planDpSgd } from '../learning/dp-sgd-plan.js'
import type { Manifest } from '../learning/manifest.js'

/**
 * Before a swarm starts: every node's record-level privacy budget can be met with the records it
 * will hold. Each node would refuse to start otherwise; this says so once, up front, naming the node.
 */
export async function checkRecordPrivacyBudgets (manifest: Manifest, dataSpecs: readonly string[]): Promise<void> {
  const privacy = manifest.privacy
  if (privacy?.level !== 'record') return
  for (const [index, spec] of dataSpecs.entries()) {
    const { train } = await loadNodeData(parseDataSpec(spec), { seed: manifest.seed })
    try {
      planDpSgd(privacy, train.count, manifest.training.batchSize)
    } catch (error) {
      throw new MurmurError('ERR_PRIVACY_BUDGET', `node ${index + 1} (${spec}): ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    }
  }
}
