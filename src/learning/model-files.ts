import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { basename, dirname, join, relative, resolve } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { MurmurError } from '../errors.js'
import { selectBackend } from './backend.js'
import { encodeInitialWeights } from './initial-weights.js'
import { buildModel, checkAgainstData, modelFromTopology, readWeights, topologyName, weightList, writeWeights } from './layers-model.js'
import { checkTopologyLayers, topologyInputShape, type TopologyModelSpec } from './models.js'
import type { Manifest } from './manifest.js'
import type { Weights } from './weights.js'

/** What `model.json` holds (TF.js LayersModel format), as far as murmur reads it. */
interface ModelJson {
  modelTopology?: Record<string, unknown>
  weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[]
}

/** A model.json read with its weight files: what tf.io.fromMemory takes. */
export interface ModelArtifactsRead {
  readonly topology: Record<string, unknown>
  readonly weightSpecs: tf.io.WeightsManifestEntry[]
  /** null when model.json lists no weight files */
  readonly weightData: ArrayBuffer | null
}

function modelFileError (file: string, message: string, cause?: unknown): MurmurError {
  return new MurmurError('ERR_INVALID_ARGUMENT', `${file}: ${message}`, cause === undefined ? undefined : { cause })
}

/**
 * The Keras model config inside a modelTopology: tensorflowjs_converter wraps it in { model_config },
 * model.save() writes it as it is, with keras_version and backend beside it (dropped: they are not
 * part of the network).
 */
function networkOf (topology: Record<string, unknown>): Record<string, unknown> {
  const inner = topology.model_config
  const network = typeof inner === 'object' && inner !== null ? inner as Record<string, unknown> : topology
  return { class_name: network.class_name, config: network.config }
}

/**
 * Reads a TF.js LayersModel: model.json as model.save() or tensorflowjs_converter write it (with a
 * weightsManifest whose files lie next to it), or a bare topology as model.toJSON() returns it.
 */
export async function readModelJson (file: string): Promise<ModelArtifactsRead> {
  let json: ModelJson & Record<string, unknown>
  try {
    json = JSON.parse(await readFile(file, 'utf8')) as ModelJson & Record<string, unknown>
  } catch (error) {
    throw modelFileError(file, `cannot read a TF.js model.json: ${error instanceof Error ? error.message : String(error)}`, error)
  }
  if (typeof json !== 'object' || json === null) throw modelFileError(file, 'not a TF.js model.json (expected a JSON object)')
  const topology = json.modelTopology ?? (typeof json.class_name === 'string' ? json : undefined)
  if (typeof topology !== 'object' || topology === null) throw modelFileError(file, 'no modelTopology: expected a TF.js LayersModel (model.json written by model.save() or tensorflowjs_converter --output_format tfjs_layers_model)')
  const manifest = json.weightsManifest ?? []
  if (!Array.isArray(manifest) || !manifest.every(group => typeof group === 'object' && group !== null && Array.isArray(group.paths) && group.paths.every(path => typeof path === 'string') && Array.isArray(group.weights))) {
    throw modelFileError(file, 'weightsManifest must be a list of { paths: [file names], weights: [specs] }')
  }
  const weightSpecs = manifest.flatMap(group => group.weights)
  if (manifest.length === 0) return { topology: networkOf(topology), weightSpecs, weightData: null }
  const directory = dirname(resolve(file))
  const parts: Uint8Array[] = []
  for (const path of manifest.flatMap(group => group.paths)) {
    const location = resolve(directory, path)
    // Weight files lie next to model.json: a path reaching elsewhere is refused, not followed.
    if (relative(directory, location).startsWith('..')) throw modelFileError(file, `weight file "${path}" lies outside ${directory}`)
    try {
      parts.push(await readFile(location))
    } catch (error) {
      throw modelFileError(file, `cannot read its weight file ${path}: ${error instanceof Error ? error.message : String(error)}`, error)
    }
  }
  const weightData = new Uint8Array(parts.reduce((total, part) => total + part.byteLength, 0))
  let offset = 0
  for (const part of parts) {
    weightData.set(part, offset)
    offset += part.byteLength
  }
  return { topology: networkOf(topology), weightSpecs, weightData: weightData.buffer }
}

/** Loads a model.json (and weights) into TF.js, through tf.io.fromMemory: no file:// handler needed. */
export async function loadLayersModel (file: string): Promise<tf.LayersModel> {
  const artifacts = await readModelJson(file)
  await selectBackend()
  if (artifacts.weightData === null) return modelFromTopology(artifacts.topology)
  try {
    return await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: artifacts.topology, weightSpecs: artifacts.weightSpecs, weightData: artifacts.weightData }))
  } catch (error) {
    throw modelFileError(file, `TF.js cannot load the model with its weights: ${error instanceof Error ? error.message : String(error)}`, error)
  }
}

/**
 * Turns a user's TF.js LayersModel into a manifest's model: its topology (supported layers only,
 * checked against the data) and, when it brings weight files, its weights as the swarm's start.
 */
export async function modelSpecFromFile (file: string, dataset: { readonly inputShape: readonly number[]; readonly classes: number }): Promise<TopologyModelSpec> {
  const artifacts = await readModelJson(file)
  checkTopologyLayers(artifacts.topology)
  topologyInputShape(artifacts.topology)
  const model = await loadLayersModel(file)
  try {
    checkAgainstData(model, dataset)
    return {
      name: topologyName(artifacts.topology) ?? basename(file, '.json'),
      topology: artifacts.topology,
      weights: weightList(model),
      ...(artifacts.weightData === null ? {} : { initialWeights: encodeInitialWeights(readWeights(model)) })
    }
  } finally {
    model.dispose()
  }
}

export const EXPORTED_WEIGHTS_FILE = 'weights.bin'

/** A trained model as a TF.js LayersModel: the model.json object and the bytes of its one weight file. */
export interface ExportedModel {
  readonly modelJson: Record<string, unknown>
  readonly weightData: Uint8Array
}

/** Builds the manifest's network with these weights and has TF.js serialise it (model.save through a save handler). */
export async function exportModel (manifest: Manifest, weights: Weights, weightsPath = EXPORTED_WEIGHTS_FILE): Promise<ExportedModel> {
  await selectBackend()
  const model = await buildModel(manifest)
  try {
    writeWeights(model, weights)
    let saved: tf.io.ModelArtifacts | null = null
    await model.save(tf.io.withSaveHandler(async artifacts => {
      saved = artifacts
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }
    }))
    const artifacts = saved as tf.io.ModelArtifacts | null
    if (artifacts?.weightData === undefined || artifacts.weightSpecs === undefined) throw new MurmurError('ERR_INVALID_ARGUMENT', 'TF.js saved no weights')
    return {
      modelJson: {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
        convertedBy: 'murmur export',
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [weightsPath], weights: artifacts.weightSpecs }]
      },
      weightData: new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData))
    }
  } finally {
    model.dispose()
  }
}

/** Writes DEST/model.json and DEST/weights.bin. */
export async function writeExportedModel (exported: ExportedModel, directory: string): Promise<{ modelFile: string; weightsFile: string }> {
  await mkdir(directory, { recursive: true })
  const modelFile = join(directory, 'model.json')
  const weightsFile = join(directory, EXPORTED_WEIGHTS_FILE)
  await writeFile(weightsFile, exported.weightData)
  await writeFile(modelFile, JSON.stringify(exported.modelJson) + '\n')
  return { modelFile, weightsFile }
}
