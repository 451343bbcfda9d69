import { writeFile } from 'node:fs/promises'
import { Command, Option } from 'commander'
import { loadNodeData, loadTrainTestSplit, parseDataSpec } from '../../data/spec.js'
import { createManifest, DEFAULT_SEED, DEFAULT_TRAINING, OPTIMIZERS, swarmIdOf } from '../../learning/manifest.js'
import { MERGE_RULE_NAMES } from '../../learning/merge.js'
import { MODEL_NAMES } from '../../learning/models.js'
import { integer, oneOf, positiveNumber, withFlag } from '../parsers.js'

interface ManifestFlags {
  model: string
  dataset: string
  seed: number
  optimizer: typeof OPTIMIZERS[number]
  learningRate: number
  batchSize: number
  localSteps: number
  merge: string
  out?: string
}

/** What the model needs to know of a dataset: sample shape and number of classes. */
async function describeDataset (dataset: string): Promise<{ name: string; inputShape: readonly number[]; classes: number }> {
  if (dataset === 'mnist' || dataset === 'fashion-mnist') {
    const { train } = await loadTrainTestSplit(dataset)
    return { name: dataset, inputShape: train.inputShape, classes: train.classes }
  }
  const { train } = await loadNodeData(parseDataSpec(dataset), { seed: 0 })
  return { name: dataset, inputShape: train.inputShape, classes: train.classes }
}

export function manifestCommand (): Command {
  return new Command('manifest')
    .description('print a swarm manifest (JSON): the model, data shape, initial-weight seed, training settings and merge rule that all nodes of a swarm share; its hash is the swarm id')
    .addOption(new Option('--model <name>', 'model architecture').choices(MODEL_NAMES).default('mlp'))
    .addOption(new Option('--dataset <name>', 'mnist, fashion-mnist, or a data spec (idx:DIR, csv:FILE[:label]) to read the shape from').default('mnist'))
    .addOption(new Option('--seed <n>', 'seed of the initial weights').argParser(integer(0, 0xffffffff)).default(DEFAULT_SEED))
    .addOption(new Option('--optimizer <name>', 'local optimizer').choices(OPTIMIZERS).default(DEFAULT_TRAINING.optimizer))
    .addOption(new Option('--learning-rate <rate>', 'learning rate').argParser(positiveNumber).default(DEFAULT_TRAINING.learningRate))
    .addOption(new Option('--batch-size <n>', 'samples per batch').argParser(integer(1, 65536)).default(DEFAULT_TRAINING.batchSize))
    .addOption(new Option('--local-steps <n>', 'local batches between two exchanges').argParser(integer(1, 1_000_000)).default(DEFAULT_TRAINING.localSteps))
    .addOption(new Option('--merge <rule>', 'how a node merges the models it receives').argParser(oneOf(MERGE_RULE_NAMES)).default('mean'))
    .addOption(new Option('--out <file>', 'write the manifest to this file instead of standard output'))
    .action(async (flags: ManifestFlags) => {
      const dataset = await withFlag('--dataset', describeDataset(flags.dataset))
      const manifest = createManifest({
        model: flags.model,
        dataset,
        seed: flags.seed,
        training: { optimizer: flags.optimizer, learningRate: flags.learningRate, batchSize: flags.batchSize, localSteps: flags.localSteps },
        mergeRule: flags.merge
      })
      const text = JSON.stringify(manifest, null, 2) + '\n'
      if (flags.out === undefined) {
        process.stdout.write(text)
      } else {
        await writeFile(flags.out, text)
        process.stderr.write(`wrote ${flags.out} (swarm ${swarmIdOf(manifest)})\n`)
      }
    })
}
