import { resolve } from 'node:path'
import { Command } from 'commander'
import { withFlag } from '../parsers.js'
import { readManifest } from './start.js'

interface ExportFlags {
  datadir: string
  out: string
  manifest?: string
}

export function exportCommand (): Command {
  return new Command('export')
    .description('write a node\'s model (its datadir\'s latest checkpoint) as a TF.js LayersModel: DEST/model.json and DEST/weights.bin, which tf.loadLayersModel loads (and tensorflowjs_converter turns into Keras, see docs/models.md)')
    .requiredOption('--datadir <dir>', 'the node\'s --datadir (a swarm run\'s DIR/node-1, for example); the node must not be running on it')
    .requiredOption('--out <dir>', 'where model.json and weights.bin go (made if missing)')
    .option('--manifest <file>', 'the swarm manifest, for datadirs that do not record theirs')
    .action(async (flags: ExportFlags) => {
      const manifest = flags.manifest === undefined ? undefined : await withFlag('--manifest', readManifest(flags.manifest))
      const { readSavedModel, exportWeights } = await import('../../node/model-export.js')
      const { writeExportedModel } = await import('../../learning/model-files.js')
      const saved = await withFlag('--datadir', readSavedModel(resolve(flags.datadir), manifest))
      const exported = await exportWeights(saved.manifest, saved.weights)
      const written = await writeExportedModel(exported, resolve(flags.out))
      process.stdout.write(`wrote ${written.modelFile} and ${written.weightsFile}: model ${saved.manifest.model.name}, step ${saved.step}, checkpoint of ${saved.savedAt}\n`)
    })
}
