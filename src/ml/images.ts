/**
 * Loader for the MedMNIST v2 image sets in data/images (raw uint8 N×28×28, labels.csv,
 * meta.json; see that folder's README):
 * - PneumoniaMNIST: paediatric chest X-rays, 0 normal / 1 pneumonia.
 * - BreastMNIST: breast ultrasound, 0 malignant / 1 normal or benign.
 * Yang et al., "MedMNIST v2", Scientific Data 10, 41 (2023), https://doi.org/10.1038/s41597-022-01721-8,
 * CC BY 4.0. Counts are checked against meta.json on every load, so a truncated copy fails loudly.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataDir } from './data-dir.js';
import { seededRandom, shuffleInPlace } from '../random.js';

export const IMAGE_SETS = ['pneumoniamnist', 'breastmnist'] as const;
export type ImageSetName = (typeof IMAGE_SETS)[number];
export type ImageSplit = 'train' | 'val' | 'test';

export interface ImageSet {
  name: ImageSetName;
  split: ImageSplit;
  width: number;
  height: number;
  count: number;
  /** count × height × width bytes, row-major; image i starts at i·width·height. */
  pixels: Uint8Array;
  /** 0/1 per image. */
  labels: Uint8Array;
  /** label value → name, from meta.json. */
  labelNames: string[];
}

interface Meta {
  width: number;
  height: number;
  channels: number;
  label_names: Record<string, string>;
  splits: Record<ImageSplit, { count: number; file: string; class_counts: Record<string, number> }>;
}

export function imagesDir(root = dataDir()): string {
  return join(root, 'images');
}

/** One split of one set, checked against meta.json (image count, bytes, class counts). */
export function loadImageSet(name: ImageSetName, split: ImageSplit, dir = imagesDir()): ImageSet {
  const folder = join(dir, name);
  if (!existsSync(folder)) throw new Error(`image set ${folder} is missing: the image sets are vendored in the repository as data/images/${name} (see data/images/README.md)`);
  const meta = JSON.parse(readFileSync(join(folder, 'meta.json'), 'utf8')) as Meta;
  const info = meta.splits[split];
  if (meta.channels !== 1) throw new Error(`${name}: ${meta.channels} channels, expected grayscale`);
  const pixels = new Uint8Array(readFileSync(join(folder, info.file)));
  const size = meta.width * meta.height;
  if (pixels.length !== info.count * size) throw new Error(`${name}/${info.file}: ${pixels.length} bytes, expected ${info.count} × ${size}`);

  const labels = new Uint8Array(info.count).fill(255);
  const lines = readFileSync(join(folder, 'labels.csv'), 'utf8').trim().split('\n');
  if (lines[0] !== 'split,index,label') throw new Error(`${name}/labels.csv: unexpected header ${lines[0]}`);
  for (const line of lines.slice(1)) {
    const [s, index, label] = line.split(',');
    if (s === split) labels[Number(index)] = Number(label);
  }
  const counts: Record<string, number> = {};
  for (const y of labels) counts[y] = (counts[y] ?? 0) + 1;
  for (const [label, expected] of Object.entries(info.class_counts)) {
    if (counts[label] !== expected) throw new Error(`${name} ${split}: ${counts[label] ?? 0} images labelled ${label}, meta.json says ${expected}`);
  }
  if (counts[255]) throw new Error(`${name} ${split}: ${counts[255]} images have no label`);
  const labelNames = Object.keys(meta.label_names).sort((a, b) => Number(a) - Number(b)).map((k) => meta.label_names[k]!);
  return { name, split, width: meta.width, height: meta.height, count: info.count, pixels, labels, labelNames };
}

/** The pixels of image i (a view, not a copy). */
export function imageAt(set: ImageSet, i: number): Uint8Array {
  const size = set.width * set.height;
  return set.pixels.subarray(i * size, (i + 1) * size);
}

/** The images at the given indices, as a new set (copies the pixels). */
export function takeImages(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const size = set.width * set.height;
  const pixels = new Uint8Array(indices.length * size);
  const labels = new Uint8Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    pixels.set(imageAt(set, indices[k]!), k * size);
    labels[k] = set.labels[indices[k]!]!;
  }
  return { ...set, count: indices.length, pixels, labels };
}

/** A seeded sample of `perClass` images of each label, for fast tests. */
export function sampleImages(set: ImageSet, perClass: number, seed: number): ImageSet {
  const random = seededRandom(seed);
  const picked: number[] = [];
  for (let label = 0; label < set.labelNames.length; label++) {
    const members = Array.from(set.labels.keys()).filter((i) => set.labels[i] === label);
    picked.push(...shuffleInPlace(members, random).slice(0, perClass));
  }
  return takeImages(set, shuffleInPlace(picked, random));
}
