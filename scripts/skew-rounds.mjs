// In-process skew check (docs/simulations.md, section 6): 8 LocalTrainers on DATASET:i/8:PARTITION,
// synchronous rounds of TAU local steps, after which every trainer merges all 8 trained models with
// the rule, for STEPS steps; the centralized model trains on the pooled parts for as many steps. It
// isolates the algorithm from gossip, timing and staleness. Scores on the first 2,000 test samples,
// the last merged model and an exponential average of the merged models over rounds (decay 0.8).
//
//   npm run build && [SEED=N] flock /tmp/murmur-cpu.lock node scripts/skew-rounds.mjs DATASET MODEL PARTITION STEPS \
//     'ALGORITHM|RULE|TAU[|OPTIMIZER|RATE[|ADAM]],…'
//
// e.g. scripts/skew-rounds.mjs mnist mlp dirichlet:0.1 1000 'qgm:0.9|clipped-gossip:0.25|20|sgd|0.2'.
// ADAM (experiments on Adam's state, reaching into TF.js's optimizer): m resets the first moment after
// every merge, mv both moments, eN sets Adam's epsilon to 1e-N (the centralized model's too).
import { createManifest } from '../dist/learning/manifest.js'
import { LocalTrainer } from '../dist/learning/local-trainer.js'
import { createMergeRule } from '../dist/learning/merge.js'
import { loadNodeData, parseDataSpec } from '../dist/data/spec.js'
import { subset, concatenate } from '../dist/data/dataset.js'
const [dataset = 'mnist', model = 'mlp', partition = 'dirichlet:0.1', steps = '600', configs = 'dsgd|mean|20'] = process.argv.slice(2)
const N = 8
// SEED picks another split (murmur swarm --seed): the check's figures differ from one split to the next.
const seed = Number(process.env.SEED ?? 42)
const parts = await Promise.all(Array.from({ length: N }, (_, i) => loadNodeData(parseDataSpec(`${dataset}:${i + 1}/${N}:${partition}`), { seed })))
const testFull = parts[0].test
const test = subset(testFull, Array.from({ length: 2000 }, (_, i) => i))
const baseManifest = (training = {}) => createManifest({ model, dataset: { name: dataset, inputShape: [28, 28, 1], classes: 10 }, training })
const total = Number(steps)
const t0 = Date.now()
const centrals = new Set()
function epsOf (t, reset) { const e = /e(\d)/.exec(reset); if (e) t.model.optimizer.epsilon = Math.pow(10, -Number(e[1])) }
async function centralFor (opt, lr, reset) {
  const key = opt + lr + (/e\d/.exec(reset)?.[0] ?? '')
  if (centrals.has(key)) return
  centrals.add(key)
  const central = await LocalTrainer.create(baseManifest({ optimizer: opt, learningRate: Number(lr) }), { train: concatenate(parts.map(p => p.train)), test })
  epsOf(central, reset)
  await central.train(total)
  console.log(`${dataset} ${model} ${partition} seed=${seed} steps=${total} ${key} central ${(central.accuracy(test) * 100).toFixed(1)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`)
  await central.close()
}
function ema (avg, w, b) { return avg === null ? w.map(t => ({ shape: t.shape, values: Float32Array.from(t.values) })) : avg.map((t, i) => ({ shape: t.shape, values: t.values.map((v, k) => b * v + (1 - b) * w[i].values[k]) })) }
for (const config of configs.split(',')) {
  const [algorithm, rule, tau, opt = 'adam', lr = '0.001', reset = ''] = config.split('|')
  await centralFor(opt, lr, reset)
  const manifest = baseManifest({ optimizer: opt, learningRate: Number(lr) })
  const t1 = Date.now()
  const trainers = await Promise.all(parts.map((p, i) => LocalTrainer.create(manifest, { train: p.train, test }, { seed: seed + 58 + i, algorithm })))
  for (const t of trainers) epsOf(t, reset)
  const merge = createMergeRule(rule)
  let averaged = Array(N).fill(null)
  // Each trainer's previous merged model: nodes clip around it (merge.ts, clipped-gossip).
  const previous = Array(N).fill(undefined)
  for (let done = 0; done < total; done += Number(tau)) {
    const trained = []
    for (const t of trainers) { await t.train(Number(tau)); trained.push(await t.getWeights()) }
    for (const [i, t] of trainers.entries()) {
      const merged = merge.merge({ weights: trained[i], samples: 1 }, trained.filter((_, j) => j !== i).map(weights => ({ weights, samples: 1 })), previous[i])
      previous[i] = merged
      await t.setWeights(merged)
      if (/[mv]/.test(reset)) {
        const o = t.model.optimizer
        if (reset.includes('m')) for (const a of o.accumulatedFirstMoment ?? []) a.variable.assign(a.variable.mul(0))
        if (reset.includes('v')) { for (const a of o.accumulatedSecondMoment ?? []) a.variable.assign(a.variable.mul(0)); o.accBeta1.assign(o.accBeta1.mul(0).add(o.beta1)); o.accBeta2.assign(o.accBeta2.mul(0).add(o.beta2)) }
      }
      averaged[i] = ema(averaged[i], merged, 0.8)
    }
  }
  const acc = trainers.map(t => t.accuracy(test) * 100)
  const accAvg = []
  for (const [i, t] of trainers.entries()) { await t.setWeights(averaged[i]); accAvg.push(t.accuracy(test) * 100) }
  const mean = a => a.reduce((x, y) => x + y, 0) / a.length
  console.log(`  ${config}: mean ${mean(acc).toFixed(1)} min ${Math.min(...acc).toFixed(1)} | ema0.8 mean ${mean(accAvg).toFixed(1)} min ${Math.min(...accAvg).toFixed(1)} (${((Date.now() - t1) / 1000).toFixed(0)} s)`)
  for (const t of trainers) await t.close()
}
