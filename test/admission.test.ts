import { describe, it, expect } from 'vitest'
import type { Host } from '../src/p2p/host.js'
import { ModelGossip } from '../src/p2p/model-gossip.js'
import { requestModel, serveModel } from '../src/p2p/model-request.js'
import { generateSwarmKey } from '../src/p2p/swarm-key.js'
import { sleep } from './helpers.js'
import { startLoopbackHost } from './host-helpers.js'

/**
 * Admission with real libp2p hosts. The members run admission without pnet (admissionKey alone), so
 * a peer without the key can open a connection to them, as it could over WebRTC, which pnet does not
 * cover: what stops it is admission alone.
 */
const SWARM = 'admission-test-swarm'
const TOPIC = '/murmur/admission-test/1'
const MODEL = new Uint8Array([1, 2, 3, 4, 5])

async function startHost (admissionKey?: Uint8Array): Promise<Host> {
  const host = await startLoopbackHost(admissionKey === undefined ? {} : { admissionKey })
  await serveModel(host, { swarmId: SWARM, model: async () => MODEL })
  return host
}

function gossip (host: Host, received: string[]): ModelGossip<string> {
  const channel = new ModelGossip<string>(host, TOPIC, (_from, data) => ({ ok: true, value: new TextDecoder().decode(data) }))
  channel.addEventListener('message', event => { received.push(event.detail.value) })
  channel.start()
  return channel
}

async function until (condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached')
    await sleep(50)
  }
}

describe('admission to a private swarm', () => {
  it('admits peers that hold the key; an outsider connected without it gets no model, no gossip, and is cut off', async () => {
    const key = generateSwarmKey()
    const member = await startHost(key)
    const friend = await startHost(key)
    const outsider = await startHost()
    const wrongKey = await startHost(generateSwarmKey())
    const hosts = [member, friend, outsider, wrongKey]
    try {
      const memberAddress = member.getMultiaddrs()[0]
      if (memberAddress === undefined) throw new Error('no address')
      const friendReceived: string[] = []
      const outsiderReceived: string[] = []
      const memberGossip = gossip(member, [])
      gossip(friend, friendReceived)
      gossip(outsider, outsiderReceived)

      await friend.dial(memberAddress)
      await outsider.dial(memberAddress)
      // Gossip, while the outsider is still connected: the member publishes for 3 s (several gossip
      // heartbeats, so both subscribers are mesh candidates); only the friend hears it.
      const publishUntil = Date.now() + 3_000
      let sequence = 0
      while (Date.now() < publishUntil || friendReceived.length < 3) {
        await memberGossip.publish(new TextEncoder().encode(`model ${sequence++}`))
        await sleep(200)
        if (sequence > 100) throw new Error('the friend never received gossip')
      }
      expect(outsider.getConnections(member.peerId).length).toBe(1)
      expect(outsiderReceived).toEqual([])

      // The outsider asks for the model while its connection is open: refused (control: the friend gets it).
      const outsiderAnswer = await requestModel(outsider, member.peerId, { swarmId: SWARM, maxBytes: 1024, signal: AbortSignal.timeout(10_000) }).then(() => 'answered', () => 'refused')
      const friendAnswer = await requestModel(friend, member.peerId, { swarmId: SWARM, maxBytes: 1024, signal: AbortSignal.timeout(10_000) })
      expect([...friendAnswer ?? []]).toEqual([...MODEL])
      expect(outsiderAnswer).toBe('refused')
      expect(member.services.admission?.isAdmitted(friend.peerId)).toBe(true)
      expect(friend.services.admission?.isAdmitted(member.peerId)).toBe(true)

      // The outsider proved nothing in time: cut off and counted.
      await until(() => outsider.getConnections(member.peerId).length === 0)
      expect(member.services.admission?.counts().timedOut).toBeGreaterThanOrEqual(1)
      expect(outsiderReceived).toEqual([])

      // A wrong key: the member, dialling it, finds its proof wrong, closes and counts it.
      const wrongAddress = wrongKey.getMultiaddrs()[0]
      if (wrongAddress === undefined) throw new Error('no address')
      await member.dial(wrongAddress).catch(() => {})
      await until(() => (member.services.admission?.counts().refused ?? 0) >= 1)
      await until(() => member.getConnections(wrongKey.peerId).length === 0)
      expect(member.services.admission?.isAdmitted(wrongKey.peerId)).toBe(false)
      // Dialling the member: the wrong-key peer refuses the member's proof and is served nothing.
      await wrongKey.dial(memberAddress).catch(() => {})
      const wrongAnswer = await requestModel(wrongKey, member.peerId, { swarmId: SWARM, maxBytes: 1024, signal: AbortSignal.timeout(10_000) }).then(() => 'answered', () => 'refused')
      expect(wrongAnswer).toBe('refused')
      expect(member.services.admission?.counts().admitted).toBe(1)
    } finally {
      await Promise.all(hosts.map(async host => host.stop()))
    }
  }, 60_000)
})
