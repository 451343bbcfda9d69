import type { Manifest } from '../learning/manifest.js'
import { exposureWarning } from './api-guard.js'
import { startApi, type ApiAddress, type ApiServer } from './api.js'
import { issueApiToken } from './api-token.js'
import { createMetricsRegistry } from './metrics.js'
import { nodePageRoutes } from './node-pages.js'
import type { NodeStatus } from './status.js'

export interface NodeApiInit {
  /** where the token file goes */
  readonly datadir: string
  readonly manifest: Manifest
  readonly status: () => NodeStatus
  /** the node's public model, encoded; null before it has one */
  readonly model: () => Promise<Uint8Array | null>
  readonly blockedPeers: { get: () => string[]; set: (peers: string[]) => Promise<void> }
}

/**
 * A process node's local HTTP API (api.ts): status, metrics, the model, the node's pages and the
 * blocked peers, behind a token written to the datadir for state-changing requests.
 */
export class NodeApi {
  private constructor (
    private readonly server: ApiServer,
    /** the file holding the token */
    readonly tokenFile: string,
    /** set when the API listens beyond loopback */
    readonly exposureWarning: string | null
  ) {}

  static async start (address: ApiAddress, init: NodeApiInit): Promise<NodeApi> {
    const registry = createMetricsRegistry(init.status)
    const token = await issueApiToken(init.datadir)
    const server = await startApi(address, {
      status: init.status,
      metrics: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
      model: init.model,
      blockedPeers: init.blockedPeers
    }, { token: token.token, tokenSource: token.file, routes: nodePageRoutes({ manifest: init.manifest, model: init.model }) })
    return new NodeApi(server, token.file, exposureWarning(address.host, server.port))
  }

  /** HOST:PORT actually bound */
  get address (): string {
    return this.server.address
  }

  async close (): Promise<void> {
    await this.server.close()
  }
}
