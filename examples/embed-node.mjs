import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MurmurNode, createManifest } from 'murmur/node'

// Your own records as arrays: 4 features each, the label is which of the first three is largest.
const count = 2000
const features = Float32Array.from({ length: count * 4 }, () => Math.random())
const labels = Int32Array.from({ length: count }, (_, row) => {
  const [a, b, c] = features.subarray(row * 4, row * 4 + 3)
  return a >= b && a >= c ? 0 : b >= c ? 1 : 2
})

// The model as data: one dense softmax layer over the 4 features (docs/models.md).
const manifest = createManifest({
  model: { name: 'softmax', layers: [{ type: 'dense', units: 3, activation: 'softmax' }] },
  dataset: { name: 'three-way', inputShape: [4], classes: 3 },
  training: { optimizer: 'sgd', learningRate: 0.5 }
})
const node = await MurmurNode.start({
  manifest,
  data: { features, labels },
  datadir: await mkdtemp(join(tmpdir(), 'murmur-embedded-')),
  listen: ['/ip4/127.0.0.1/tcp/0'],
  mdns: false,
  logger: { debug: () => {}, info: console.log, warn: console.warn, error: console.error }
})
console.log(`node ${node.peerId} listening on ${node.multiaddrs().join(', ')}`)

// Train until the node scores 80 % on its own held-out records, then take the model and stop.
await new Promise(resolve => {
  node.addEventListener('evaluation', event => {
    console.log(`step ${event.detail.step}: held-out accuracy ${event.detail.accuracy}`)
    if ((event.detail.accuracy ?? 0) >= 0.8) resolve()
  })
})
const { weights, step } = await node.getModel()
console.log(`model at step ${step}: ${weights.map(tensor => `[${tensor.shape.join('×')}]`).join(' ')}`)
await node.stop()
