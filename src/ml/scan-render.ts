/**
 * Renders text as a page scan the way a letter or report looks: a proportional TrueType serif
 * (DejaVu Serif, vendored in data/fonts), anti-aliased by Skia through @napi-rs/canvas, 11 pt at
 * 150 dpi on an A4-wide page, words wrapped by measured width. scan-degrade.ts then rotates, blurs,
 * noises and downsamples it. This replaces the 5×7 bitmap font of document-render.ts for OCR
 * testing: tesseract was trained on real typefaces, so a bitmap font says little about real scans.
 */
import { GlobalFonts, createCanvas, type SKRSContext2D } from '@napi-rs/canvas';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { dataDir } from './data-dir.js';
import type { GrayImage } from './image-png.js';

const FAMILY = 'MedLedger Scan Serif';

export function scanFontFile(root = dataDir()): string {
  return join(root, 'fonts', 'DejaVuSerif.ttf');
}

let registered = false;
function registerFont(): void {
  if (registered) return;
  const file = scanFontFile();
  if (!existsSync(file)) throw new Error(`${file} is missing: the font is vendored in the repository as data/fonts/DejaVuSerif.ttf (see data/fonts/README.md)`);
  if (!GlobalFonts.registerFromPath(file, FAMILY)) throw new Error(`${file}: not a font @napi-rs/canvas can load`);
  registered = true;
}

export interface PageOptions {
  /** Scan resolution (default 150 dpi). */
  dpi?: number;
  /** Type size in points (default 11). */
  fontPt?: number;
  /** Page width in inches (default 8.27, A4). */
  widthIn?: number;
  /** Margin in inches (default 0.8). */
  marginIn?: number;
  /** Baseline-to-baseline distance as a multiple of the type size (default 1.35). */
  leading?: number;
  /** Paper and ink gray levels (defaults 250 and 20: not pure white and black, as a scanner sees them). */
  paper?: number;
  ink?: number;
}

/**
 * Draws `text` (whitespace collapsed, wrapped at spaces) on a page as tall as the text needs plus
 * margins. Returns gray pixels at the scan resolution.
 */
export function renderPage(text: string, options: PageOptions = {}): GrayImage {
  registerFont();
  const { dpi = 150, fontPt = 11, widthIn = 8.27, marginIn = 0.8, leading = 1.35, paper = 250, ink = 20 } = options;
  const px = (inches: number) => Math.round(inches * dpi);
  const size = (fontPt / 72) * dpi;
  const width = px(widthIn);
  const margin = px(marginIn);
  const measure = createCanvas(1, 1).getContext('2d');
  setFont(measure, size);
  const lines = wrapByWidth(text, width - 2 * margin, (s) => measure.measureText(s).width);
  const lineHeight = size * leading;
  const height = Math.ceil(2 * margin + lines.length * lineHeight);
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = `rgb(${paper},${paper},${paper})`;
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = `rgb(${ink},${ink},${ink})`;
  setFont(ctx, size);
  ctx.textBaseline = 'alphabetic';
  lines.forEach((line, i) => ctx.fillText(line, margin, margin + size + i * lineHeight));
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const pixels = new Uint8Array(width * height);
  for (let i = 0; i < pixels.length; i++) pixels[i] = rgba[4 * i]!; // gray: R = G = B
  return { width, height, pixels };
}

function setFont(ctx: SKRSContext2D, sizePx: number): void {
  ctx.font = `${sizePx.toFixed(2)}px "${FAMILY}"`;
}

/** Greedy line breaking at spaces; a word wider than the line gets a line of its own. */
export function wrapByWidth(text: string, maxWidth: number, widthOf: (s: string) => number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const candidate = line ? `${line} ${word}` : word;
    if (line && widthOf(candidate) > maxWidth) {
      lines.push(line);
      line = word;
    } else line = candidate;
  }
  if (line || !lines.length) lines.push(line);
  return lines;
}
