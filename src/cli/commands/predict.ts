import { writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { Command } from 'commander'
import type { Dataset } from '../../data/dataset.js'
import { loadCsv } from '../../data/csv.js'
import { loadIdxDirectory } from '../../data/idx.js'
import { loadTrainTestSplit, parseDataSpec } from '../../data/spec.js'
import { withFlag } from '../parsers.js'

interface PredictFlags {
  model: string
  data: string
  out?: string
}

/** The samples to predict: a CSV file's rows, an IDX directory's test split, a built-in dataset's test split. */
async function loadSamples (text: string): Promise<Dataset> {
  const spec = parseDataSpec(text)
  switch (spec.kind) {
    case 'csv':
      return loadCsv(spec.file, spec.labelColumn)
    case 'idx':
      return (await loadIdxDirectory(spec.directory, `idx:${spec.directory}`)).test
    case 'builtin':
      return (await loadTrainTestSplit(spec.dataset)).test
  }
}

export function predictCommand (): Command {
  return new Command('predict')
    .description('run a TF.js LayersModel (e.g. from murmur export) over data: one line per sample (index, predicted class, its probability, label), then the accuracy against the labels')
    .requiredOption('--model <dir>', 'directory holding model.json and its weight files (or the path of model.json)')
    .requiredOption('--data <spec>', 'csv:FILE[:LABEL_COLUMN] (every row), idx:DIR (its test split) or mnist / mnist-full / fashion-mnist (the test split)')
    .option('--out <file>', 'write the predictions (CSV) to this file instead of standard output')
    .action(async (flags: PredictFlags) => {
      const { loadLayersModel } = await import('../../learning/model-files.js')
      const { predict } = await import('../../learning/predict.js')
      const file = flags.model.endsWith('.json') ? resolve(flags.model) : join(resolve(flags.model), 'model.json')
      const model = await withFlag('--model', loadLayersModel(file))
      const dataset = await withFlag('--data', loadSamples(flags.data))
      const predictions = await withFlag('--data', Promise.resolve().then(() => predict(model, dataset)))
      const lines = ['index,predicted,probability,label']
      for (let i = 0; i < dataset.count; i++) lines.push(`${i},${predictions.classes[i]},${(predictions.confidence[i] ?? 0).toFixed(4)},${dataset.labels[i]}`)
      const text = lines.join('\n') + '\n'
      if (flags.out === undefined) process.stdout.write(text)
      else await writeFile(flags.out, text)
      process.stderr.write(`accuracy ${(predictions.accuracy * 100).toFixed(2)} % on ${dataset.count} samples of ${dataset.name}${flags.out === undefined ? '' : `; predictions in ${flags.out}`}\n`)
      model.dispose()
    })
}
