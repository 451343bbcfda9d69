import { describe, it, expect } from 'vitest'
import { DEFAULT_INTAKE_LIMITS } from '../src/core/intake-guard.js'
import type { TransportHandlers } from '../src/core/transport.js'
import { encodeUpdate } from '../src/core/update-codec.js'
import { initialWeights } from '../src/learning/initial-weights.js'
import { InProcessSwarm, type InProcessNode } from './inprocess/swarm.js'

/**
 * Intake in-process: whatever a peer sends becomes a verdict, counted by reason; a peer that keeps
 * sending what the node refuses is graylisted (cut off) for a while, and comes back after it.
 */

/** A member of the network that is not a node: it pushes what a test makes it push. */
function hostile (swarm: InProcessSwarm, id: string, target: InProcessNode): { push: (bytes: Uint8Array) => Promise<string>; connected: () => boolean } {
  const transport = swarm.network.join(id)
  const handlers: TransportHandlers = {
    push: () => 'accepted',
    announcement: () => ({ ok: true }),
    broadcast: () => ({ ok: true }),
    admitModelRequest: () => true,
    modelRequest: async () => null,
    refused: () => {}
  }
  void transport.start(handlers, 'announcements')
  swarm.network.link(id, target.id)
  return {
    push: async bytes => (await transport.push(target.id, bytes, new AbortController().signal)).reply,
    connected: () => transport.isConnected(target.id)
  }
}

async function settled<T> (swarm: InProcessSwarm, work: Promise<T>): Promise<T> {
  let done = false
  const result = work.finally(() => { done = true })
  // Rejections are the caller's to see, after the clock has run.
  result.catch(() => {})
  await swarm.until(() => done, 60_000, 'the push to be answered')
  return result
}

describe('intake of a node core, in-process', () => {
  it('counts bad input by reason, graylists a peer that keeps sending it, and lets it back after the graylist', async () => {
    const swarm = new InProcessSwarm()
    const [target] = await swarm.grow(1) as [InProcessNode]
    const { push, connected } = hostile(swarm, 'hostile', target)
    const manifest = swarm.manifest
    const initial = initialWeights(manifest.model, manifest.dataset.inputShape, manifest.seed)
    const wrongSwarm = encodeUpdate({ swarmId: 'another-swarm', step: 1, samples: 10, weights: initial, createdAt: 0 })
    const wrongShape = encodeUpdate({ swarmId: swarm.swarmId, step: 1, samples: 10, weights: initial.slice(0, 1), createdAt: 0 })
    const huge = encodeUpdate({ swarmId: swarm.swarmId, step: 1, samples: 10, weights: initial.map(tensor => ({ shape: tensor.shape, values: tensor.values.map(value => value * 1e6) })), createdAt: 0 })
    const warnings: string[] = []
    target.core.addEventListener('warning', event => { warnings.push(event.detail.message) })
    const replies = []
    for (const bytes of [Uint8Array.of(1, 2, 3), wrongSwarm, wrongShape, huge]) {
      replies.push(await settled(swarm, push(bytes)))
      // One a second: within the rate, so every one is read and judged.
      await swarm.time.advance(1_000)
    }
    expect(replies).toEqual(['rejected', 'rejected', 'rejected', 'rejected'])
    const reasons = target.core.status().updates.rejectedByReason
    expect(reasons).toMatchObject({ malformed: 1, 'wrong-swarm': 1, 'shape-mismatch': 1, 'implausible-norm': 1 })
    expect(target.core.status().graylistedPeers).toBe(0)

    // The 20th refusal within a minute graylists the sender: it is cut off at once.
    for (let i = 4; i < DEFAULT_INTAKE_LIMITS.penaltyThreshold; i++) {
      await settled(swarm, push(Uint8Array.of(i))).catch(() => 'unreachable')
      await swarm.time.advance(500)
    }
    const status = target.core.status()
    expect(status.updates.rejected).toBe(DEFAULT_INTAKE_LIMITS.penaltyThreshold)
    expect(status.graylistedPeers).toBe(1)
    expect(warnings.some(message => message.startsWith('graylisted hostile'))).toBe(true)
    expect(connected()).toBe(false)
    await expect(push(Uint8Array.of(0))).rejects.toThrow(/not connected/)

    await swarm.time.advance(DEFAULT_INTAKE_LIMITS.graylistMs)
    expect(connected()).toBe(true)
    expect(target.core.status().graylistedPeers).toBe(0)
    await swarm.stop()
  })

  it('a flood of valid pushes is cut to the rate, costs the sender no penalty, and honest updates still get in', async () => {
    const swarm = new InProcessSwarm()
    const [target, honest] = await swarm.grow(2) as [InProcessNode, InProcessNode]
    const { push } = hostile(swarm, 'flooder', target)
    const manifest = swarm.manifest
    const model = encodeUpdate({ swarmId: swarm.swarmId, step: 1, samples: 100, weights: initialWeights(manifest.model, manifest.dataset.inputShape, manifest.seed), createdAt: 0 })
    let fromHonest = 0
    target.core.addEventListener('accepted', event => { if (event.detail.from === honest.id) fromHonest++ })
    // 200 pushes at once, and again every virtual second for 10 s.
    const replies: Array<Promise<string>> = []
    for (let second = 0; second < 10; second++) {
      for (let i = 0; i < 200; i++) replies.push(push(model).catch(() => 'failed'))
      await swarm.time.advance(1_000)
    }
    const answers = await settled(swarm, Promise.all(replies))
    const accepted = answers.filter(reply => reply === 'accepted').length
    const status = target.core.status()
    // Control: the flood arrived and most of it was refused over the rate.
    expect(status.updates.rejectedByReason['rate-limited']).toBeGreaterThan(1_500)
    // Its share: a burst, then its per-second rate (two active peers share the node's budget).
    expect(accepted).toBeLessThanOrEqual(DEFAULT_INTAKE_LIMITS.burst + 10 * DEFAULT_INTAKE_LIMITS.perSecond)
    expect(status.graylistedPeers).toBe(0)
    expect(fromHonest).toBeGreaterThan(10)
    await swarm.stop()
  })

  it('a diverged node stops with ERR_MODEL_DIVERGED instead of judging others by a non-finite model', async () => {
    // No manifest a node accepts from a file has such a learning rate (MANIFEST_LIMITS): beyond float32's range, one step overflows.
    const base = new InProcessSwarm().manifest
    const swarm = new InProcessSwarm({ ...base, training: { ...base.training, learningRate: 1e39 } })
    const [node] = await swarm.grow(1) as [InProcessNode]
    let failure: Error | null = null
    node.core.addEventListener('error', event => { failure = event.detail })
    await swarm.until(() => failure !== null, 60_000, 'the error')
    expect((failure as unknown as { code: string }).code).toBe('ERR_MODEL_DIVERGED')
    await swarm.stop()
  })
})
