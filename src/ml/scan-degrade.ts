/**
 * What a scanner, a fax or a phone camera does to a page, applied to a rendered one so OCR can be
 * measured per kind of damage: skew (a page fed at an angle), blur (focus, motion), sensor noise,
 * low resolution, and lossy JPEG compression. All but JPEG are plain pixel arithmetic here,
 * deterministic for a seed; JPEG goes through a real encoder (raster.ts) and back.
 * The set follows the degradations of document-image benchmarks such as Kanungo et al. (1994),
 * "Document degradation models", and the rotate/blur/noise/low-resolution axes of the ICDAR
 * robust-reading evaluations.
 */
import type { GrayImage } from './image-png.js';
import { decodeImage, encodeJpeg } from './raster.js';
import { seededRandom } from '../random.js';

const WHITE = 250;
const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

/** Rotated by `degrees` (counter-clockwise) about the centre, same size, corners filled with paper; bilinear. */
export function rotate(image: GrayImage, degrees: number, fill = WHITE): GrayImage {
  const { width, height, pixels } = image;
  const out = new Uint8Array(width * height);
  const a = (degrees * Math.PI) / 180;
  const cos = Math.cos(a), sin = Math.sin(a);
  const cx = (width - 1) / 2, cy = (height - 1) / 2;
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= width || y >= height ? fill : pixels[y * width + x]!);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // Inverse mapping: where in the source this output pixel comes from.
      const sx = cos * (x - cx) - sin * (y - cy) + cx;
      const sy = sin * (x - cx) + cos * (y - cy) + cy;
      const x0 = Math.floor(sx), y0 = Math.floor(sy);
      const fx = sx - x0, fy = sy - y0;
      const top = at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx;
      const bottom = at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx;
      out[y * width + x] = clamp(top * (1 - fy) + bottom * fy);
    }
  }
  return { width, height, pixels: out };
}

/** Gaussian blur with standard deviation `sigma` pixels (separable, kernel ±3σ, edges clamped). */
export function gaussianBlur(image: GrayImage, sigma: number): GrayImage {
  if (sigma <= 0) return image;
  const r = Math.ceil(3 * sigma);
  const kernel = Float64Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const sum = kernel.reduce((s, k) => s + k, 0);
  for (let i = 0; i < kernel.length; i++) kernel[i]! /= sum;
  const { width, height } = image;
  const pass = (src: Float64Array, dx: number, dy: number) => {
    const out = new Float64Array(src.length);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let v = 0;
        for (let k = -r; k <= r; k++) {
          const xx = Math.min(width - 1, Math.max(0, x + k * dx));
          const yy = Math.min(height - 1, Math.max(0, y + k * dy));
          v += kernel[k + r]! * src[yy * width + xx]!;
        }
        out[y * width + x] = v;
      }
    }
    return out;
  };
  const blurred = pass(pass(Float64Array.from(image.pixels), 1, 0), 0, 1);
  return { width, height, pixels: Uint8Array.from(blurred, clamp) };
}

/** Adds zero-mean Gaussian noise of standard deviation `sd` gray levels to every pixel (Box–Muller, seeded). */
export function gaussianNoise(image: GrayImage, sd: number, seed = 1): GrayImage {
  const random = seededRandom(seed);
  const pixels = new Uint8Array(image.pixels.length);
  for (let i = 0; i < pixels.length; i++) {
    const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    pixels[i] = clamp(image.pixels[i]! + sd * z);
  }
  return { width: image.width, height: image.height, pixels };
}

/** Downsampled by `factor` (e.g. 2: 150 dpi → 75 dpi), each output pixel the mean of the source area it covers. */
export function downsample(image: GrayImage, factor: number): GrayImage {
  const width = Math.max(1, Math.round(image.width / factor));
  const height = Math.max(1, Math.round(image.height / factor));
  const pixels = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const y0 = Math.floor((y * image.height) / height), y1 = Math.max(y0 + 1, Math.floor(((y + 1) * image.height) / height));
    for (let x = 0; x < width; x++) {
      const x0 = Math.floor((x * image.width) / width), x1 = Math.max(x0 + 1, Math.floor(((x + 1) * image.width) / width));
      let sum = 0;
      for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) sum += image.pixels[yy * image.width + xx]!;
      pixels[y * width + x] = clamp(sum / ((y1 - y0) * (x1 - x0)));
    }
  }
  return { width, height, pixels };
}

/** Through a JPEG encoder at `quality` and back: 8×8 blocking and ringing round the strokes. */
export async function jpegLoss(image: GrayImage, quality: number): Promise<GrayImage> {
  return decodeImage(encodeJpeg(image, quality));
}

export interface Degradation {
  /** In words, for the bench log and the README. */
  description: string;
  apply(image: GrayImage, seed: number): Promise<GrayImage>;
}

/**
 * The levels `ml.ocrWordRecall` reports. Tesseract's LSTM shrugs off mild damage (on a few pages:
 * blur σ 1.5, noise sd 40, 100 dpi and JPEG quality 5 all kept ≥ 98 % of words), so blur, noise and
 * resolution each have a heavier second level where recall starts to fall; `combined` stacks a
 * moderate dose of everything, like a skewed fax of a photocopy.
 */
export const DEGRADATION_NAMES = ['clean', 'rotate1', 'rotate3', 'blur', 'blurHeavy', 'noise', 'noiseHeavy', 'lowres', 'lowresHeavy', 'jpeg', 'combined'] as const;
export type DegradationName = (typeof DEGRADATION_NAMES)[number];

export const DEGRADATIONS: Record<DegradationName, Degradation> = {
  clean: { description: 'as rendered (150 dpi)', apply: async (img) => img },
  rotate1: { description: 'rotated 1°', apply: async (img) => rotate(img, 1) },
  rotate3: { description: 'rotated 3°', apply: async (img) => rotate(img, 3) },
  blur: { description: 'Gaussian blur σ = 1.5 px', apply: async (img) => gaussianBlur(img, 1.5) },
  blurHeavy: { description: 'Gaussian blur σ = 2.5 px', apply: async (img) => gaussianBlur(img, 2.5) },
  noise: { description: 'Gaussian noise, sd 40 gray levels', apply: async (img, seed) => gaussianNoise(img, 40, seed) },
  noiseHeavy: { description: 'Gaussian noise, sd 80 gray levels', apply: async (img, seed) => gaussianNoise(img, 80, seed) },
  lowres: { description: 'downsampled to 75 dpi', apply: async (img) => downsample(img, 2) },
  lowresHeavy: { description: 'downsampled to 60 dpi', apply: async (img) => downsample(img, 2.5) },
  jpeg: { description: 'JPEG quality 10', apply: (img) => jpegLoss(img, 10) },
  combined: {
    description: 'rotated 2°, blur σ = 1, noise sd 25, 100 dpi, JPEG quality 40',
    apply: (img, seed) => jpegLoss(downsample(gaussianNoise(gaussianBlur(rotate(img, 2), 1), 25, seed), 1.5), 40),
  },
};
