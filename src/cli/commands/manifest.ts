import { writeFile } from 'node:fs/promises'
import { Command, Option } from 'commander'
import { isBuiltinDataset, loadNodeData, loadTrainTestSplit, parseDataSpec } from '../../data/spec.js'
import { createManifest, DEFAULT_CODEC, DEFAULT_LEARNING_RATES, DEFAULT_SEED, DEFAULT_TRAINING, OPTIMIZERS, swarmIdOf, type PrivacyOptions } from '../../learning/manifest.js'
import { DEFAULT_MERGE_RULE, formatMergeRule, MERGE_RULES_HELP, parseMergeRule } from '../../learning/merge.js'
import { formatLocalAlgorithm, LOCAL_ALGORITHMS_HELP, parseLocalAlgorithm } from '../../learning/local-algorithm.js'
import { CODEC_NAMES_HELP, formatCodec, parseCodec } from '../../learning/weight-codec.js'
import { DEFAULT_EXCHANGE, EXCHANGE_MODES } from '../../learning/manifest.js'
import { MANIFEST_LIMITS } from '../../learning/manifest-bounds.js'
import { MODEL_NAMES } from '../../learning/models.js'
import { integer, parsedWith, positiveNumber, withFlag } from '../parsers.js'
import { addPrivacyFlags, dpSgdDefaultsLine, privacyFromFlags, withDpSgdTrainingDefaults, type PrivacyFlags } from '../privacy-flags.js'
import { planDpSgd } from '../../learning/dp-sgd-plan.js'

interface ManifestFlags extends PrivacyFlags {
  model: string
  dataset: string
  seed: number
  optimizer: typeof OPTIMIZERS[number]
  learningRate?: number
  batchSize: number
  localSteps: number
  algorithm: string
  merge: string
  codec: string
  exchange: 'push' | 'broadcast'
  fanout: number
  out?: string
  modelFile?: string
}

/** What the model needs to know of a dataset: sample shape and number of classes. */
async function describeDataset (dataset: string): Promise<{ name: string; inputShape: readonly number[]; classes: number; records: number }> {
  if (isBuiltinDataset(dataset)) {
    const { train } = await loadTrainTestSplit(dataset)
    return { name: dataset, inputShape: train.inputShape, classes: train.classes, records: train.count }
  }
  const { train } = await loadNodeData(parseDataSpec(dataset), { seed: 0 })
  return { name: dataset, inputShape: train.inputShape, classes: train.classes, records: train.count }
}

function withPrivacy (flags: PrivacyFlags): { privacy?: PrivacyOptions } {
  const privacy = privacyFromFlags(flags)
  return privacy === undefined ? {} : { privacy }
}

export function manifestCommand (): Command {
  return addPrivacyFlags(new Command('manifest'))
    .description('print a swarm manifest (JSON): the model, data shape, initial-weight seed, training settings and merge rule that all nodes of a swarm share; its hash is the swarm id')
    .addOption(new Option('--model <name>', 'model architecture').choices(MODEL_NAMES).default('mlp'))
    .addOption(new Option('--model-file <file>', 'a TF.js LayersModel (model.json from model.save() or tensorflowjs_converter; weight files next to it give the initial weights) as the architecture instead of --model; supported layers: docs/models.md').conflicts('model'))
    .addOption(new Option('--dataset <name>', 'mnist, mnist-full, fashion-mnist, or a data spec (idx:DIR, csv:FILE[:label]) to read the shape from').default('mnist'))
    .addOption(new Option('--seed <n>', 'seed of the initial weights').argParser(integer(0, 0xffffffff)).default(DEFAULT_SEED))
    .addOption(new Option('--optimizer <name>', 'local optimizer').choices(OPTIMIZERS).default(DEFAULT_TRAINING.optimizer))
    .addOption(new Option('--learning-rate <rate>', `learning rate (default ${Object.entries(DEFAULT_LEARNING_RATES).map(([name, rate]) => `${rate} for ${name}`).join(', ')})`).argParser(positiveNumber))
    .addOption(new Option('--batch-size <n>', 'samples per batch').argParser(integer(1, MANIFEST_LIMITS.batchSize)).default(DEFAULT_TRAINING.batchSize))
    .addOption(new Option('--local-steps <n>', 'local batches between two exchanges').argParser(integer(1, MANIFEST_LIMITS.localSteps)).default(DEFAULT_TRAINING.localSteps))
    .addOption(new Option('--algorithm <name>', `what local steps do for a swarm with skewed data: ${LOCAL_ALGORITHMS_HELP} (docs/architecture.md)`).argParser(parsedWith(text => formatLocalAlgorithm(parseLocalAlgorithm(text)))).default(DEFAULT_TRAINING.algorithm))
    .addOption(new Option('--merge <rule>', `how a node merges the models it receives: ${MERGE_RULES_HELP}`).argParser(parsedWith(text => formatMergeRule(parseMergeRule(text)))).default(DEFAULT_MERGE_RULE))
    .addOption(new Option('--codec <codec>', `how model values travel: ${CODEC_NAMES_HELP}`).argParser(parsedWith(text => formatCodec(parseCodec(text)))).default(DEFAULT_CODEC))
    .addOption(new Option('--exchange <mode>', 'push: models to sampled peers over direct streams; broadcast: whole models on gossipsub').choices(EXCHANGE_MODES).default(DEFAULT_EXCHANGE.mode))
    .addOption(new Option('--fanout <n>', 'peers a node pushes its model to after each round').argParser(integer(1, MANIFEST_LIMITS.fanout)).default(DEFAULT_EXCHANGE.fanout))
    .addOption(new Option('--out <file>', 'write the manifest to this file instead of standard output'))
    .action(async (given: ManifestFlags, command: Command) => {
      const dataset = await withFlag('--dataset', describeDataset(given.dataset))
      let flags = given
      // The DP-SGD defaults (a DCT of images, shifted copies) are for image records only.
      if (privacyFromFlags(flags)?.level === 'record' && flags.modelFile === undefined && dataset.inputShape.length === 3) {
        flags = withDpSgdTrainingDefaults(flags, key => command.getOptionValueSource(key) !== 'cli')
        process.stderr.write(`record-level DP-SGD: ${dpSgdDefaultsLine(flags)}\n`)
      }
      // Loaded only when asked for: TF.js reads the model file.
      const model = flags.modelFile === undefined ? flags.model : await withFlag('--model-file', import('../../learning/model-files.js').then(async files => files.modelSpecFromFile(flags.modelFile as string, dataset)))
      const manifest = createManifest({
        model,
        dataset: { name: dataset.name, inputShape: dataset.inputShape, classes: dataset.classes },
        seed: flags.seed,
        training: { optimizer: flags.optimizer, ...(flags.learningRate === undefined ? {} : { learningRate: flags.learningRate }), batchSize: flags.batchSize, localSteps: flags.localSteps, algorithm: flags.algorithm },
        mergeRule: flags.merge,
        codec: flags.codec,
        exchange: { mode: flags.exchange, fanout: flags.fanout },
        ...withPrivacy(flags)
      })
      // Each node calibrates its noise to its own records; no node holds more than the whole dataset.
      if (manifest.privacy?.level === 'record') planDpSgd(manifest.privacy, dataset.records, manifest.training.batchSize)
      const text = JSON.stringify(manifest, null, 2) + '\n'
      if (flags.out === undefined) {
        process.stdout.write(text)
      } else {
        await writeFile(flags.out, text)
        process.stderr.write(`wrote ${flags.out} (swarm ${swarmIdOf(manifest)})\n`)
      }
    })
}
