/**
 * Training-time augmentation for the 28×28 grayscale CNN (image-model.ts): each time an image is
 * drawn it is moved by a small random affine transform (shift, rotation, optional left–right flip)
 * and a mild brightness/contrast change, so a small set (BreastMNIST: 546 training images) is
 * seen in many slightly different forms. Sampling is bilinear with edges repeated.
 *
 * Flips are per set: a breast ultrasound may be mirrored (either breast, either probe direction),
 * a chest X-ray may not (the heart is on the left); nothing is flipped top–bottom (the ultrasound
 * probe and the skin are at the top).
 */

export interface AugmentSpec {
  /** Largest shift in pixels, each axis. */
  shift: number;
  /** Largest rotation in degrees, either way. */
  rotate: number;
  /** Mirror left–right half of the time. */
  flip: boolean;
  /** ± relative change of contrast and of brightness (0.1 = ±10 %). */
  intensity: number;
}

/** What trainImageCnn used before the spec existed: shifts of up to 2 pixels and ±10 % intensity. */
export const DEFAULT_AUGMENT: AugmentSpec = { shift: 2, rotate: 0, flip: false, intensity: 0.1 };

/** Writes one augmented copy of `src` (uint8) into `dst` as [0, 1] floats. */
export function augmentInto(dst: Float32Array, src: Uint8Array, width: number, height: number, spec: AugmentSpec, random: () => number): void {
  const dx = spec.shift > 0 ? (2 * random() - 1) * spec.shift : 0;
  const dy = spec.shift > 0 ? (2 * random() - 1) * spec.shift : 0;
  const angle = spec.rotate > 0 ? ((2 * random() - 1) * spec.rotate * Math.PI) / 180 : 0;
  const mirror = spec.flip && random() < 0.5;
  const contrast = 1 + (2 * random() - 1) * spec.intensity;
  const brightness = (2 * random() - 1) * spec.intensity;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      // Inverse map: output pixel (r, c) ← source point rotated back about the centre, then unshifted.
      const u = (mirror ? width - 1 - c : c) - cx - dx;
      const v = r - cy - dy;
      const sx = cos * u + sin * v + cx;
      const sy = -sin * u + cos * v + cy;
      const value = (sampleBilinear(src, width, height, sx, sy) / 255 - 0.5) * contrast + 0.5 + brightness;
      dst[r * width + c] = value < 0 ? 0 : value > 1 ? 1 : value;
    }
  }
}

function sampleBilinear(src: Uint8Array, width: number, height: number, x: number, y: number): number {
  const xc = Math.min(width - 1, Math.max(0, x));
  const yc = Math.min(height - 1, Math.max(0, y));
  const x0 = Math.floor(xc);
  const y0 = Math.floor(yc);
  const x1 = Math.min(width - 1, x0 + 1);
  const y1 = Math.min(height - 1, y0 + 1);
  const fx = xc - x0;
  const fy = yc - y0;
  const top = src[y0 * width + x0]! * (1 - fx) + src[y0 * width + x1]! * fx;
  const bottom = src[y1 * width + x0]! * (1 - fx) + src[y1 * width + x1]! * fx;
  return top * (1 - fy) + bottom * fy;
}
