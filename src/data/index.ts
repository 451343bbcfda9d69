// The data module: datasets as plain typed arrays, their loaders, and how they are split among nodes.
export { type Random, createRandom, deriveSeed } from './random.js'
export { type Dataset, type TrainTestSplit, sampleSize, createDataset, subset, concatenate } from './dataset.js'
export { loadMnist, MNIST_SHUFFLE_SEED, MNIST_TEST_COUNT } from './mnist.js'
export { loadFullMnist, MNIST_FULL_TRAIN_COUNT, MNIST_FULL_TEST_COUNT } from './mnist-full.js'
export { type IdxArray, parseIdx, loadIdxDirectory, loadFashionMnist, FASHION_MNIST_DIRECTORY_DEFAULT } from './idx.js'
export { loadCsv } from './csv.js'
export { type Partition, parsePartition, formatPartition, partitionIndices } from './partition.js'
export {
  BUILTIN_DATASETS,
  type BuiltinDataset,
  type DataSpec,
  type NodeData,
  type LoadNodeDataOptions,
  parseDataSpec,
  formatDataSpec,
  loadNodeData,
  loadTrainTestSplit
} from './spec.js'
