import { TopicValidatorResult, TypedEventEmitter } from '@libp2p/interface'
import type { Message } from '@libp2p/interface'
import type { Host } from './host.js'

/** The gossipsub topic on which a swarm broadcasts whole models (exchange mode broadcast). */
export function modelTopic (swarmId: string): string {
  return `/murmur/models/1/${swarmId}`
}

/** The gossipsub topic of a swarm's small announcements (exchange mode push): its membership. */
export function announcementTopic (swarmId: string): string {
  return `/murmur/announce/1/${swarmId}`
}

/**
 * A validator's decision. `ignore`: the message is dropped without counting against the peer that
 * relayed it (e.g. over a rate: an honest relay forwarding a flood did nothing invalid).
 */
export type Verdict<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string; readonly ignore?: boolean }

/**
 * Decides on every incoming message before gossipsub delivers or forwards it: `from` is the author
 * (who signed it), `relayer` the neighbour that delivered it.
 */
export type MessageValidator<T> = (from: string, data: Uint8Array, relayer: string) => Verdict<T>

export interface ModelGossipEvents<T> {
  /** a valid message from a peer */
  message: CustomEvent<{ readonly from: string; readonly value: T; readonly bytes: number }>
  /** a message refused by the validator; gossipsub also penalises its sender's score */
  rejected: CustomEvent<{ readonly from: string; readonly reason: string; readonly bytes: number }>
}

/**
 * Publishes and receives a swarm's messages (models or announcements) on a gossipsub topic. Validation runs inside gossipsub,
 * so an invalid message is neither delivered nor forwarded to anyone else.
 */
export class ModelGossip<T> extends TypedEventEmitter<ModelGossipEvents<T>> {
  readonly topic: string
  private readonly host: Host
  private readonly validate: MessageValidator<T>
  // The validator has already decoded the message: keep the result for the delivery that follows.
  private readonly validated = new WeakMap<Uint8Array, T>()
  private readonly onMessage = (event: CustomEvent<Message>): void => {
    const message = event.detail
    if (message.topic !== this.topic || message.type !== 'signed') return
    const value = this.validated.get(message.data)
    if (value === undefined) return
    this.validated.delete(message.data)
    this.safeDispatchEvent('message', { detail: { from: message.from.toString(), value, bytes: message.data.byteLength } })
  }

  constructor (host: Host, topic: string, validate: MessageValidator<T>) {
    super()
    this.host = host
    this.topic = topic
    this.validate = validate
  }

  start (): void {
    const pubsub = this.host.services.pubsub
    pubsub.topicValidators.set(this.topic, (peer, message) => {
      const from = message.type === 'signed' ? message.from.toString() : peer.toString()
      // In a private swarm, nothing is taken from a neighbour that has not proved it holds the key.
      if (this.host.services.admission !== undefined && !this.host.services.admission.isAdmitted(peer)) return TopicValidatorResult.Ignore
      let verdict: Verdict<T>
      try {
        verdict = this.validate(from, message.data, peer.toString())
      } catch {
        // A validator must never throw; if it does, the message is what cannot be trusted.
        verdict = { ok: false, reason: 'validator-error' }
      }
      if (!verdict.ok) {
        this.safeDispatchEvent('rejected', { detail: { from, reason: verdict.reason, bytes: message.data.byteLength } })
        return verdict.ignore === true ? TopicValidatorResult.Ignore : TopicValidatorResult.Reject
      }
      this.validated.set(message.data, verdict.value)
      return TopicValidatorResult.Accept
    })
    pubsub.addEventListener('message', this.onMessage)
    pubsub.subscribe(this.topic)
  }

  /** Sends a message to the topic; resolves to the number of peers it went to directly. */
  async publish (data: Uint8Array): Promise<number> {
    const result = await this.host.services.pubsub.publish(this.topic, data)
    return result.recipients.length
  }

  /** connected peers known to be subscribed to this topic: the swarm's members among our neighbours */
  subscribers (): string[] {
    return this.host.services.pubsub.getSubscribers(this.topic).map(peer => peer.toString())
  }

  stop (): void {
    const pubsub = this.host.services.pubsub
    pubsub.removeEventListener('message', this.onMessage)
    pubsub.topicValidators.delete(this.topic)
    pubsub.unsubscribe(this.topic)
  }
}
