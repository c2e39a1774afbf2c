/**
 * Grayscale pictures in and out of image files through @napi-rs/canvas (Skia, its Linux binary
 * shipped in an npm package, so nothing is compiled or fetched): decode PNG and JPEG uploads, encode
 * a rendered scan as PNG or lossy JPEG. Pixels are GrayImage (image-png.ts): one byte per pixel,
 * 0 = black.
 */
import { createCanvas, loadImage, type Canvas } from '@napi-rs/canvas';
import type { GrayImage } from './image-png.js';

/** Longest side decoded; a bigger upload is refused rather than allocated (a 700 KB JPEG can claim 65,535²). */
export const MAX_DECODED_SIDE = 8000;

/** A canvas holding `image` as opaque gray RGBA. */
export function grayCanvas(image: GrayImage): Canvas {
  const canvas = createCanvas(image.width, image.height);
  const ctx = canvas.getContext('2d');
  const data = ctx.createImageData(image.width, image.height);
  for (let i = 0; i < image.pixels.length; i++) {
    const v = image.pixels[i]!;
    data.data[4 * i] = v;
    data.data[4 * i + 1] = v;
    data.data[4 * i + 2] = v;
    data.data[4 * i + 3] = 255;
  }
  ctx.putImageData(data, 0, 0);
  return canvas;
}

/** BT.601 luma of an RGBA buffer, composited on white (a transparent PNG pixel reads as paper). */
export function lumaOf(rgba: Uint8ClampedArray | Uint8Array, width: number, height: number): GrayImage {
  const pixels = new Uint8Array(width * height);
  for (let i = 0; i < pixels.length; i++) {
    const a = rgba[4 * i + 3]! / 255;
    const y = 0.299 * rgba[4 * i]! + 0.587 * rgba[4 * i + 1]! + 0.114 * rgba[4 * i + 2]!;
    pixels[i] = Math.round(y * a + 255 * (1 - a));
  }
  return { width, height, pixels };
}

/** Decodes PNG or JPEG bytes to gray pixels; throws on anything it cannot read. */
export async function decodeImage(bytes: Uint8Array): Promise<GrayImage> {
  const image = await loadImage(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const { width, height } = image;
  if (!width || !height) throw new Error('the picture has no pixels');
  if (Math.max(width, height) > MAX_DECODED_SIDE) throw new Error(`the picture is ${width}×${height} pixels, more than ${MAX_DECODED_SIDE} on a side`);
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(image, 0, 0);
  return lumaOf(ctx.getImageData(0, 0, width, height).data, width, height);
}

/** PNG bytes (lossless). */
export function encodePng(image: GrayImage): Uint8Array {
  return new Uint8Array(grayCanvas(image).toBuffer('image/png'));
}

/** JPEG bytes at `quality` 0–100 (lower: smaller file, more blocking and ringing). */
export function encodeJpeg(image: GrayImage, quality = 85): Uint8Array {
  return new Uint8Array(grayCanvas(image).toBuffer('image/jpeg', quality));
}
