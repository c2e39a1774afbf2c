/**
 * PNG in and out with nothing but node:zlib, so an uploaded attachment (the demo PNGs in
 * data/images/samples) can reach the image classifier without an image package.
 * Covers what medical attachments and our own test images use: 8-bit (and 16-bit) grayscale,
 * gray+alpha, RGB, RGBA and palette images, non-interlaced. Anything else is refused by name.
 * Spec: https://www.w3.org/TR/png-3/ (chunks §5, filters §7.3 and §9, colour types §6.1).
 */
import { deflateSync, inflateSync } from 'node:zlib';

export interface GrayImage {
  width: number;
  height: number;
  /** Row-major, one byte per pixel, 0 = black. */
  pixels: Uint8Array;
}

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

/** Channels per colour type (§6.1): 0 gray, 2 RGB, 3 palette index, 4 gray+alpha, 6 RGBA. */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

/** Decodes a PNG to 8-bit grayscale (ITU-R BT.601 luma for colour; alpha composited on white). */
export function decodePng(bytes: Uint8Array): GrayImage {
  if (!isPng(bytes)) throw new Error('decodePng: not a PNG (bad signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let width = 0, height = 0, bitDepth = 0, colorType = -1;
  let palette: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  for (let at = 8; at + 8 <= bytes.length; ) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const data = bytes.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = view.getUint32(at + 8);
      height = view.getUint32(at + 12);
      bitDepth = data[8]!;
      colorType = data[9]!;
      if (data[12] !== 0) throw new Error('decodePng: interlaced PNGs are not supported');
    } else if (type === 'PLTE') palette = data;
    else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    at += 12 + length;
  }
  const channels = CHANNELS[colorType];
  if (!width || !height || channels === undefined) throw new Error(`decodePng: missing IHDR or unknown colour type ${colorType}`);
  if (!(bitDepth === 8 || (bitDepth === 16 && colorType !== 3))) throw new Error(`decodePng: bit depth ${bitDepth} is not supported (8, or 16 without a palette)`);
  if (colorType === 3 && !palette) throw new Error('decodePng: palette image without PLTE');
  const bytesPerPixel = (channels * bitDepth) / 8;
  const stride = width * bytesPerPixel;
  const raw = inflateSync(Buffer.concat(idat));
  if (raw.length < height * (stride + 1)) throw new Error('decodePng: image data is truncated');
  const rows = unfilter(raw, height, stride, bytesPerPixel);
  const pixels = new Uint8Array(width * height);
  // 16-bit samples: the high byte is enough for an 8-bit result.
  const sample = (i: number, c: number) => rows[i * bytesPerPixel + (c * bitDepth) / 8]!;
  for (let i = 0; i < width * height; i++) {
    let gray: number, alpha = 255;
    if (colorType === 0 || colorType === 4) {
      gray = sample(i, 0);
      if (colorType === 4) alpha = sample(i, 1);
    } else {
      let r: number, g: number, b: number;
      if (colorType === 3) {
        const p = sample(i, 0) * 3;
        [r, g, b] = [palette![p] ?? 0, palette![p + 1] ?? 0, palette![p + 2] ?? 0];
      } else {
        [r, g, b] = [sample(i, 0), sample(i, 1), sample(i, 2)];
        if (colorType === 6) alpha = sample(i, 3);
      }
      gray = 0.299 * r + 0.587 * g + 0.114 * b;
    }
    pixels[i] = Math.round((gray * alpha + 255 * (255 - alpha)) / 255);
  }
  return { width, height, pixels };
}

/** Reverses the per-row filters (§9.2) and drops the filter bytes. */
function unfilter(raw: Uint8Array, height: number, stride: number, bpp: number): Uint8Array {
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? out[row + x - bpp]! : 0;
      const b = y > 0 ? out[row - stride + x]! : 0;
      const c = x >= bpp && y > 0 ? out[row - stride + x - bpp]! : 0;
      let predictor: number;
      switch (filter) {
        case 0: predictor = 0; break;
        case 1: predictor = a; break;
        case 2: predictor = b; break;
        case 3: predictor = (a + b) >> 1; break;
        case 4: predictor = paeth(a, b, c); break;
        default: throw new Error(`decodePng: unknown filter type ${filter} in row ${y}`);
      }
      out[row + x] = (raw[src + x]! + predictor) & 0xff;
    }
  }
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Encodes 8-bit grayscale as a PNG (filter 0 on every row; zlib does the compressing). */
export function encodeGrayPng({ width, height, pixels }: GrayImage): Uint8Array {
  if (pixels.length !== width * height) throw new Error(`encodeGrayPng: ${pixels.length} pixels for ${width}×${height}`);
  const raw = new Uint8Array(height * (width + 1));
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const header = new Uint8Array(13);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  header[8] = 8; // bit depth; colour type 0 (gray), compression, filter and interlace 0
  return Buffer.concat([SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (ISO 3309) over the chunk type and data, as PNG requires (§5.5). */
function crc32(bytes: Uint8Array): number {
  crcTable ??= Uint32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let c = 0xffffffff;
  for (const b of bytes) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
