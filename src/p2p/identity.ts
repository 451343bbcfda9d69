import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'

/** A node's libp2p identity: its private key decides its peer id. */
export type Identity = PrivateKey

export async function createIdentity (): Promise<Identity> {
  return generateKeyPair('Ed25519')
}

export function encodeIdentity (identity: Identity): Uint8Array {
  return privateKeyToProtobuf(identity)
}

export function decodeIdentity (bytes: Uint8Array): Identity {
  return privateKeyFromProtobuf(bytes)
}

/** The peer id (as text) that a node with this identity has. */
export function peerIdOf (identity: Identity): string {
  return peerIdFromPrivateKey(identity).toString()
}
