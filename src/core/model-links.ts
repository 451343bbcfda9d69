import { encodeValuesDecoded, type WeightCodec } from '../learning/weight-codec.js'
import { add, allFinite, type Tensor, type Weights } from '../learning/weights.js'
import { BoundedMap } from './bounded-map.js'

/**
 * Error feedback for compressed pushes. Between two nodes, the sender keeps what the receiver holds
 * of its model (the reference); each push carries the codec's approximation of the difference, and
 * both sides add exactly that to their copy. What compression left out stays in the difference and
 * goes with a later push. Both sides start from the swarm's initial weights (base 1) and number the
 * reconstructions they share from 2 on; a receiver that lost its copy answers 'resync' and the
 * sender starts again from base 1. Links are bounded: the least recently used one is dropped (its
 * peer will be resynced).
 */

export interface PreparedPush {
  readonly base: number
  /** encoded values, one per tensor: the message's payload */
  readonly data: Uint8Array[]
  /** what the receiver will add to its copy: the decoded payload */
  readonly difference: Weights
}

/**
 * a − b into a scratch array that is reused (the encoder reads it at once): a push's difference is
 * only encoded, and a fresh array for each cost a simulation of thousands of nodes its garbage
 */
let scratch = new Float32Array(0)
function differenceInto (a: Float32Array, b: Float32Array): Float32Array {
  if (a.length !== b.length) throw new RangeError(`a model of ${a.length} values against a reference of ${b.length}`)
  if (scratch.length < a.length) scratch = new Float32Array(a.length)
  const difference = scratch.subarray(0, a.length)
  for (let i = 0; i < a.length; i++) difference[i] = (a[i] as number) - (b[i] as number)
  return difference
}

/** The sender's side: one reference per peer. */
export class OutboundLinks {
  private readonly links: BoundedMap<string, { base: number; reference: Weights }>

  constructor (private readonly initial: Weights, private readonly codec: WeightCodec, capacity = 256) {
    this.links = new BoundedMap(capacity)
  }

  prepare (peer: string, weights: Weights): PreparedPush {
    const link = this.links.get(peer)
    const reference = link?.reference ?? this.initial
    const data: Uint8Array[] = []
    const difference: Tensor[] = []
    for (const [index, tensor] of weights.entries()) {
      const { bytes, decoded } = encodeValuesDecoded(differenceInto(tensor.values, (reference[index] as Tensor).values), this.codec)
      data.push(bytes)
      difference.push({ shape: tensor.shape, values: decoded })
    }
    return { base: link?.base ?? 1, data, difference }
  }

  /** The receiver accepted the push: it now holds reference + difference, numbered base + 1 (at least 2). */
  commit (peer: string, push: PreparedPush): void {
    const link = this.links.get(peer)
    if (link === undefined) {
      this.links.set(peer, { base: Math.max(push.base, 1) + 1, reference: add(this.initial, push.difference) })
      return
    }
    // A link's reference is its own (made by add() above) and no push to that peer is prepared while
    // one is in flight (push-exchange.ts): it takes the difference in place, sparing a model's worth
    // of garbage a push.
    for (const [index, tensor] of link.reference.entries()) {
      const values = tensor.values
      const difference = (push.difference[index] as Tensor).values
      for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) + (difference[i] as number)
    }
    this.links.set(peer, { base: Math.max(push.base, 1) + 1, reference: link.reference })
  }

  /** The receiver does not share our reference (it restarted, or a push failed midway): start again. */
  reset (peer: string): void {
    this.links.delete(peer)
  }
}

/** The receiver's side: its reconstruction of each sender's model. */
export class InboundLinks {
  private readonly links: BoundedMap<string, { base: number; model: Weights }>

  constructor (private readonly initial: Weights, capacity = 256) {
    this.links = new BoundedMap(capacity)
  }

  /** Applies a difference; null means the base is unknown here, and the sender must resync. */
  apply (sender: string, base: number, difference: Weights): Weights | null {
    const link = this.links.get(sender)
    let start: Weights
    if (base === 1) start = this.initial
    else if (link !== undefined && link.base === base) start = link.model
    else return null
    const model = add(start, difference)
    if (!allFinite(model)) {
      this.links.delete(sender)
      return null
    }
    this.links.set(sender, { base: Math.max(base, 1) + 1, model })
    return model
  }

  /** A full model (base 0) replaces the reconstruction without numbering a link. */
  forget (sender: string): void {
    this.links.delete(sender)
  }
}
