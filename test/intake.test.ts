import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, it, expect } from 'vitest'
import { createRandom, type Random } from '../src/data/random.js'
import { initialWeights } from '../src/learning/initial-weights.js'
import { createManifest, swarmIdOf } from '../src/learning/manifest.js'
import { weightShapes } from '../src/learning/models.js'
import { norm } from '../src/learning/weights.js'
import { signFlip } from '../src/attacks/attack.js'
import { addNoise } from '../src/attacks/model-poisoning.js'
import { IntakeGuard } from '../src/core/intake-guard.js'
import { decodeUpdate, encodeUpdate, REJECTION_REASONS, type UpdateExpectations } from '../src/core/update-codec.js'
import { createHost } from '../src/p2p/host.js'
import { createIdentity } from '../src/p2p/identity.js'
import { pushModel } from '../src/p2p/model-push.js'
import { NodeProcess } from '../src/swarm/node-process.js'
import { temporaryDirectory } from './helpers.js'

const manifest = createManifest({ model: 'logistic', dataset: { name: 'mnist', inputShape: [28, 28, 1], classes: 10 } })
const expectations: UpdateExpectations = { swarmId: swarmIdOf(manifest), shapes: weightShapes(manifest.model, manifest.dataset.inputShape).map(w => w.shape) }
const initial = initialWeights(manifest.model, manifest.dataset.inputShape, manifest.seed)
const valid = encodeUpdate({ swarmId: expectations.swarmId, step: 10, samples: 320, weights: initial, createdAt: 1 })

/** Random bytes, or a valid update with a few bytes flipped, cut short, or padded. */
function fuzzed (random: Random): Uint8Array {
  const kind = random.integer(4)
  if (kind === 0) return Uint8Array.from({ length: random.integer(2_000) }, () => random.integer(256))
  const bytes = Uint8Array.from(valid)
  if (kind === 1) {
    for (let i = 0; i < 1 + random.integer(8); i++) bytes[random.integer(bytes.length)] = random.integer(256)
    return bytes
  }
  if (kind === 2) return bytes.subarray(0, random.integer(bytes.length))
  // Flip bytes in the envelope (the first hundred bytes), where lengths and field tags live.
  for (let i = 0; i < 1 + random.integer(4); i++) bytes[random.integer(100)] = random.integer(256)
  return bytes
}

describe('the intake guard', () => {
  it('rate-limits each peer with a token bucket', () => {
    let now = 0
    const guard = new IntakeGuard({ burst: 3, perSecond: 2, normFactor: 4, penaltyThreshold: 100, penaltyWindowMs: 60_000, graylistMs: 1_000 }, () => now)
    expect([1, 2, 3, 4].map(() => guard.admit('a'))).toEqual([true, true, true, false])
    expect(guard.admit('b')).toBe(true)
    now += 500
    expect(guard.admit('a')).toBe(true)
    expect(guard.admit('a')).toBe(false)
  })

  it('refuses models of implausible norm, which poisoned models of plausible norm pass', () => {
    const guard = new IntakeGuard()
    guard.reference(initial, norm(initial))
    const scaled = initial.map(tensor => ({ shape: tensor.shape, values: tensor.values.map(v => v * 10) }))
    expect(guard.plausible(initial)).toBe(true)
    expect(guard.plausible(scaled)).toBe(false)
    const random = createRandom(1)
    expect(guard.plausible(signFlip(initial))).toBe(true)
    expect(guard.plausible(addNoise(initial, random))).toBe(true)
  })

  it('graylists a peer once it has crossed the penalty threshold within the window', () => {
    let now = 0
    const guard = new IntakeGuard({ burst: 10, perSecond: 4, normFactor: 4, penaltyThreshold: 3, penaltyWindowMs: 1_000, graylistMs: 5_000 }, () => now)
    expect(guard.penalise('a')).toBe(false)
    now += 2_000
    expect(guard.penalise('a')).toBe(false)
    expect(guard.penalise('a')).toBe(false)
    expect(guard.penalise('a')).toBe(true)
  })
})

describe('fuzzed updates', () => {
  it('10,000 random and mutated messages: never a throw; each is refused with a known reason or is a well-formed update', () => {
    const random = createRandom(99)
    const reasons = new Map<string, number>()
    let wellFormed = 0
    for (let i = 0; i < 10_000; i++) {
      const verdict = decodeUpdate(fuzzed(random), expectations)
      if (verdict.ok) {
        // A flipped byte inside the weights can leave a valid update: finite values of the right shapes.
        expect(verdict.value.values.map(tensor => tensor.values.length)).toEqual(initial.map(tensor => tensor.values.length))
        expect(verdict.value.values.every(tensor => tensor.values.every(Number.isFinite))).toBe(true)
        wellFormed++
        continue
      }
      expect(REJECTION_REASONS).toContain(verdict.reason)
      reasons.set(verdict.reason, (reasons.get(verdict.reason) ?? 0) + 1)
    }
    expect(wellFormed + [...reasons.values()].reduce((a, b) => a + b, 0)).toBe(10_000)
    expect([...reasons.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(5_000)
    expect(reasons.size).toBeGreaterThanOrEqual(4)
  })

  it('a live node receiving a stream of them stays up, keeps its memory bounded and counts each one', async () => {
    const directory = await temporaryDirectory('fuzz')
    const manifestFile = join(directory, 'manifest.json')
    await writeFile(manifestFile, JSON.stringify(manifest))
    const node = await NodeProcess.start({ index: 1, manifestFile, dataSpec: 'mnist:1/8', datadir: join(directory, 'node'), listen: '/ip4/127.0.0.1/tcp/0', bootstrap: [], log: () => {} })
    const address = node.ready?.multiaddrs.find(a => a.includes('127.0.0.1')) ?? ''
    const before = await node.status()
    const random = createRandom(7)
    let answered = 0
    let refusedConnections = 0
    try {
      // Several fuzzing peers: each is graylisted after enough invalid updates, and its later pushes fail.
      for (let sender = 0; sender < 8; sender++) {
        const host = await createHost({ identity: await createIdentity(), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], mdns: false, maxMessageBytes: 1 << 20 })
        try {
          await host.dial(multiaddr(address))
          for (let i = 0; i < 150; i++) {
            try {
              await pushModel(host, peerIdFromString(node.ready?.peerId ?? ''), fuzzed(random), AbortSignal.timeout(5_000))
              answered++
            } catch {
              refusedConnections++
            }
          }
        } finally {
          await host.stop()
        }
      }
      const after = await node.status()
      expect(after).not.toBeNull()
      const rejected = Object.values(after?.updates.rejectedByReason ?? {}).reduce((a, b) => a + b, 0)
      // Every push that got an answer was counted (accepted, rejected by reason, or resync); so were the
      // few whose answer was cut off when the node graylisted their sender mid-stream.
      const counted = rejected + (after?.updates.accepted ?? 0) + (after?.exchange.resyncs ?? 0) - (before?.exchange.resyncs ?? 0)
      expect(counted).toBeGreaterThanOrEqual(answered)
      expect(counted).toBeLessThanOrEqual(answered + refusedConnections)
      expect(rejected).toBeGreaterThan(answered / 2)
      expect(Object.keys(after?.updates.rejectedByReason ?? {}).every(reason => (REJECTION_REASONS as readonly string[]).includes(reason))).toBe(true)
      expect(after?.graylistedPeers).toBeGreaterThan(0)
      expect(answered + refusedConnections).toBe(1_200)
      expect((after?.memory.rssBytes ?? 0) - (before?.memory.rssBytes ?? 0)).toBeLessThan(200 * 2 ** 20)
    } finally {
      await node.stop()
    }
  }, 240_000)
})
