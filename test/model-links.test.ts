import { describe, it, expect } from 'vitest'
import { createRandom } from '../src/data/random.js'
import { parseCodec } from '../src/learning/weight-codec.js'
import { distance, type Weights } from '../src/learning/weights.js'
import { InboundLinks, OutboundLinks } from '../src/core/model-links.js'

function randomWeights (seed: number, scale = 1): Weights {
  const random = createRandom(seed)
  return [
    { shape: [50, 20], values: Float32Array.from({ length: 1000 }, () => random.normal() * scale) },
    { shape: [20], values: Float32Array.from({ length: 20 }, () => random.normal() * scale) }
  ]
}

function drift (weights: Weights, seed: number, scale: number): Weights {
  const random = createRandom(seed)
  return weights.map(tensor => ({ shape: tensor.shape, values: tensor.values.map(v => v + random.normal() * scale) }))
}

describe('error-feedback links between a sender and a receiver', () => {
  for (const codecText of ['fp32', 'fp16', 'int8', 'topk:0.1']) {
    it(`keep both sides' copies identical and converge to the sender's model (${codecText})`, () => {
      const codec = parseCodec(codecText)
      const initial = randomWeights(1)
      const outbound = new OutboundLinks(initial, codec)
      const inbound = new InboundLinks(initial)
      let model = drift(initial, 2, 0.05)
      let reconstruction: Weights | null = null
      for (let round = 0; round < 30; round++) {
        // The model keeps moving while it is being sent, as a training node's does, for 20 rounds.
        if (round < 20) model = drift(model, 100 + round, 0.01)
        const push = outbound.prepare('peer', model)
        reconstruction = inbound.apply('sender', push.base, push.difference)
        expect(reconstruction).not.toBeNull()
        outbound.commit('peer', push)
      }
      const error = distance(reconstruction ?? initial, model) / distance(initial, model)
      // After 10 rounds of a still model, error feedback has re-sent what each lossy push left out:
      // fp16 and int8 end at float32 precision, where sending each model once leaves their rounding
      // error (about 1e-3 here); top-k has sent most coordinates by then.
      expect(error).toBeLessThan(codecText === 'topk:0.1' ? 0.01 : 1e-5)
    })
  }

  it('ask for a resync when the receiver lost its copy, and recover from base 1', () => {
    const codec = parseCodec('topk:0.1')
    const initial = randomWeights(3)
    const outbound = new OutboundLinks(initial, codec)
    let inbound = new InboundLinks(initial)
    const model = drift(initial, 4, 0.1)
    for (let round = 0; round < 3; round++) {
      const push = outbound.prepare('peer', model)
      expect(inbound.apply('sender', push.base, push.difference)).not.toBeNull()
      outbound.commit('peer', push)
    }
    inbound = new InboundLinks(initial)   // the receiver restarted
    const stale = outbound.prepare('peer', model)
    expect(stale.base).toBeGreaterThanOrEqual(2)
    expect(inbound.apply('sender', stale.base, stale.difference)).toBeNull()
    outbound.reset('peer')
    const fresh = outbound.prepare('peer', model)
    expect(fresh.base).toBe(1)
    expect(inbound.apply('sender', fresh.base, fresh.difference)).not.toBeNull()
  })
})
