import type { Manifest } from '../learning/manifest.js'
import { send, type ApiRoute } from './api.js'
import type { ExportedModel } from '../learning/model-files.js'
import { CHART_SCRIPT_PATH, dashboardPage, readChartScript } from './dashboard-page.js'
import { decodeModel, exportWeights } from './model-export.js'

/** A response of the local API, for routes that only read. */
export interface PageResponse {
  readonly status: number
  readonly contentType: string
  readonly body: string | Uint8Array
}

export interface NodePagesInit {
  readonly manifest: Manifest
  /** the model others may see, in murmur's update encoding, or null before there is one */
  readonly model: () => Promise<Uint8Array | null>
}

/**
 * The local API's read-only pages beyond the JSON endpoints: the live dashboard at /, Chart.js for
 * it, and the node's model as a TF.js LayersModel (/model.json, /weights.bin). Returns null for any
 * other path, so the API's own routes answer it.
 */
export function nodePages (init: NodePagesInit): (path: string) => Promise<PageResponse | null> {
  // The model changes once per round, with the step: model.json and weights.bin fetched one after
  // the other come from one export unless a round ended in between (the shapes match either way).
  let cached: { key: string; exported: ExportedModel } | null = null
  const exported = async (): Promise<ExportedModel | null> => {
    const bytes = await init.model()
    if (bytes === null) return null
    const model = decodeModel(init.manifest, bytes)
    const key = `${model.step}:${model.samples}`
    if (cached?.key !== key) cached = { key, exported: await exportWeights(init.manifest, model.weights) }
    return cached.exported
  }
  return async path => {
    switch (path) {
      case '/':
      case '/index.html':
        return { status: 200, contentType: 'text/html; charset=utf-8', body: dashboardPage({ mode: 'node', source: '/status', title: `murmur node · ${init.manifest.model.name}` }) }
      case CHART_SCRIPT_PATH:
        return { status: 200, contentType: 'text/javascript; charset=utf-8', body: await readChartScript() }
      case '/model.json':
      case '/weights.bin': {
        const model = await exported()
        if (model === null) return { status: 503, contentType: 'text/plain', body: 'no model yet\n' }
        return path === '/model.json'
          ? { status: 200, contentType: 'application/json', body: JSON.stringify(model.modelJson) }
          : { status: 200, contentType: 'application/octet-stream', body: model.weightData }
      }
      default:
        return null
    }
  }
}

/** The paths nodePages answers, each a GET route of the local API (behind the API's guard like every route). */
const PAGE_PATHS = ['/', '/index.html', CHART_SCRIPT_PATH, '/model.json', '/weights.bin'] as const

/** nodePages as routes for startApi. */
export function nodePageRoutes (init: NodePagesInit): ApiRoute[] {
  const pages = nodePages(init)
  return PAGE_PATHS.map(path => ({
    method: 'GET' as const,
    path,
    handle: async (_request, response) => {
      const page = await pages(path)
      if (page === null) send(response, 404, 'text/plain', 'not found\n')
      else send(response, page.status, page.contentType, page.body)
    }
  }))
}
