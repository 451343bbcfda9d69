import type { Manifest } from '../learning/manifest.js'

/** The file a page of a browser node reads at load, next to it: what swarm to join and where. */
export const WEB_CONFIG_FILE = 'murmur-web.json'

export interface WebConfig {
  readonly manifest: Manifest
  /** WebSockets multiaddrs (with /p2p/) of process nodes to join through: the serving node's own */
  readonly bootstrap: readonly string[]
  /** the built-in data served next to the page (IDX files under data/), or null when none is */
  readonly builtinData: { readonly name: string; readonly parts: number } | null
  /** whether the swarm is private: the page then asks for the swarm key (never part of the page) */
  readonly privateSwarm: boolean
  /**
   * STUN/TURN servers for WebRTC between tabs on different networks, e.g. [{ "urls": "stun:stun.example.org:3478" }];
   * absent: none (tabs on one network connect directly)
   */
  readonly iceServers?: RTCIceServer[]
}

/** Paths of the built-in data next to the page (IDX files, MNIST's own format). */
export const BUILTIN_DATA_FILES = {
  trainImages: 'data/train-images.idx',
  trainLabels: 'data/train-labels.idx',
  testImages: 'data/test-images.idx',
  testLabels: 'data/test-labels.idx'
} as const
