import type { Exchange, ExchangeDecorator, ExchangeDecoratorContext, ExchangeStats, Outgoing, Progress, ShareResult } from '../core/exchange.js'
import type { Attack, AttackBehaviour, AttackContext } from './attack.js'
import { attackBehaviour } from './index.js'

/**
 * Publishes a broadcast message again under `authors` fresh identities (the sybil attack); resolves to
 * the messages sent. What a transport can forge: a libp2p node signs with fresh keys
 * (src/p2p/forged-authors.ts), the simulated network names fresh peers.
 */
export type Forger = (message: Uint8Array, authors: number) => Promise<number>

export interface AttackingInit {
  /** broadcast mode: how to publish under other identities; without it the sybils publish nothing extra */
  readonly forge?: Forger
}

/**
 * An attacker's exchange: the honest node underneath trains and merges as always, and this decorator
 * changes what leaves it — the shared model and claim, the answer to model requests, and (sybil, in
 * broadcast mode) the identities each shared model is published under.
 */
export class AttackingExchange implements Exchange {
  readonly mode: Exchange['mode']
  readonly topic: Exchange['topic']

  constructor (
    private readonly inner: Exchange,
    readonly behaviour: AttackBehaviour,
    private readonly context: ExchangeDecoratorContext,
    private readonly init: AttackingInit = {}
  ) {
    this.mode = inner.mode
    this.topic = inner.topic
  }

  private attackContext (honest: Outgoing): AttackContext {
    return { random: this.context.random, normLimit: this.context.normLimit(honest.weights) }
  }

  async share (model: Outgoing, progress: Progress): Promise<ShareResult> {
    const result = await this.inner.share(this.behaviour.shared(model, this.attackContext(model)), progress)
    if (result.message !== null && this.behaviour.sybils > 0 && this.init.forge !== undefined) {
      // A failed forgery loses one round of it, like a failed publish.
      await this.init.forge(result.message, this.behaviour.sybils).catch(() => 0)
    }
    return result
  }

  serve (model: Outgoing): Outgoing {
    const honest = this.inner.serve(model)
    return this.behaviour.served(honest, this.attackContext(honest))
  }

  stats (): ExchangeStats {
    return this.inner.stats()
  }

  stop (): void {
    this.inner.stop()
  }
}

/** The decorator that makes a node an attacker of this kind (NodeCoreInit.decorateExchange). */
export function attacking (attack: Attack, init: AttackingInit = {}): ExchangeDecorator {
  const behaviour = attackBehaviour(attack)
  return (exchange, context) => new AttackingExchange(exchange, behaviour, context, init)
}
