import { randomBytes } from '@libp2p/crypto'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { RPC } from '@chainsafe/libp2p-gossipsub/message'
import { concat } from 'uint8arrays/concat'
import type { Host } from './host.js'

/** What gossipsub signs: the prefix and the message without signature and key (libp2p pubsub spec). */
const SIGN_PREFIX = new TextEncoder().encode('libp2p-pubsub:')

interface RpcSender { sendRpc: (peer: string, rpc: RPC) => boolean }

/**
 * Simulation only (the sybil attack): sends `data` on `topic` to every subscribed neighbour as
 * messages signed by other identities than the host's, each a valid, signed gossipsub message of an
 * author the receivers never connected to. This is what any peer can do, since identities cost
 * nothing; it uses gossipsub's internal sender because its public API signs with the host's key only.
 * Returns the messages sent.
 */
export async function publishAsAuthors (host: Host, topic: string, data: Uint8Array, authors: readonly PrivateKey[]): Promise<number> {
  const sender = host.services.pubsub as unknown as RpcSender
  const peers = host.services.pubsub.getSubscribers(topic).map(peer => peer.toString())
  let sent = 0
  for (const key of authors) {
    const message: RPC.Message = { from: peerIdFromPrivateKey(key).toMultihash().bytes, data, seqno: randomBytes(8), topic }
    const signature = await key.sign(concat([SIGN_PREFIX, RPC.Message.encode(message)]))
    const signed: RPC.Message = { ...message, signature, key: publicKeyToProtobuf(key.publicKey) }
    for (const peer of peers) {
      if (sender.sendRpc(peer, { subscriptions: [], messages: [signed] })) sent++
    }
  }
  return sent
}

/**
 * Simulation only (the sybil attack): a publisher that sends each message again under `authors`
 * fresh identities, made once and kept (src/attacks/attacking-exchange.ts calls it).
 */
export function forgedAuthorsPublisher (host: Host, topic: string): (message: Uint8Array, authors: number) => Promise<number> {
  const keys: PrivateKey[] = []
  return async (message, authors) => {
    while (keys.length < authors) keys.push(await generateKeyPair('Ed25519'))
    return publishAsAuthors(host, topic, message, keys.slice(0, authors))
  }
}
