import type { WeightCodec } from '../learning/weight-codec.js'
import type { Clock } from './clock.js'
import type { Exchange, ExchangeStats, Outgoing, Progress, ShareResult } from './exchange.js'
import type { NodeCounters } from './node-state.js'
import type { Transport } from './transport.js'
import { encodeUpdate } from './update-codec.js'

export interface BroadcastExchangeInit {
  readonly transport: Transport
  readonly clock: Clock
  readonly swarmId: string
  readonly codec: WeightCodec
  readonly counters: NodeCounters
}

/**
 * Broadcast mode: after each round the whole model goes on the swarm's gossip topic, and gossip
 * carries it to every member. Bytes per node grow with the swarm (see docs/protocol.md); push mode is
 * the default for that reason.
 */
export class BroadcastExchange implements Exchange {
  readonly mode = 'broadcast'
  readonly topic = 'models'
  private readonly init: BroadcastExchangeInit

  constructor (init: BroadcastExchangeInit) {
    this.init = init
  }

  async share (model: Outgoing, progress: Progress): Promise<ShareResult> {
    // Whole models go out as they are: a dense codec applies, top-k of a whole model would not make one.
    const codec: WeightCodec = this.init.codec.kind === 'topk' ? { kind: 'fp32' } : this.init.codec
    const message = encodeUpdate({ swarmId: this.init.swarmId, step: progress.step, samples: model.samples, weights: model.weights, createdAt: this.init.clock.now() }, codec)
    let recipients = 0
    try {
      recipients = await this.init.transport.publish(message)
    } catch {
      // A failed publish loses one exchange, not the node: the next one carries a fresher model anyway.
    }
    this.init.counters.bytesSent += message.byteLength * recipients
    return { recipients, bytes: message.byteLength, message }
  }

  serve (model: Outgoing): Outgoing {
    return model
  }

  stats (): ExchangeStats {
    return { inFlight: 0, sendsRelayed: 0, sendsSkippedRelayed: 0 }
  }

  stop (): void {}
}
