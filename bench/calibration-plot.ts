/**
 * A reliability diagram as a grayscale PNG, drawn pixel by pixel (no plotting or font package): x =
 * mean predicted probability of a bin, y = observed rate in it, both 0 to 1 with ticks every 0.1; the
 * dashed diagonal is perfect calibration; each bin a square whose side grows with its count, joined
 * in order; under the plot a histogram of the predictions (one bar per bin). Written by the bench.
 */
import type { CalibrationBin } from '../src/ml/card.js';
import { encodeGrayPng } from '../src/ml/image-png.js';

const SIZE = 480;
const MARGIN = 40;
const PLOT = SIZE - 2 * MARGIN;
const HIST = 80;

export function reliabilityPng(bins: readonly CalibrationBin[]): Uint8Array {
  const width = SIZE;
  const height = SIZE + HIST;
  const pixels = new Uint8Array(width * height).fill(255);
  const set = (x: number, y: number, v: number) => {
    if (x >= 0 && y >= 0 && x < width && y < height) pixels[Math.round(y) * width + Math.round(x)] = v;
  };
  const px = (p: number) => MARGIN + p * PLOT;
  const py = (p: number) => SIZE - MARGIN - p * PLOT;
  const line = (x0: number, y0: number, x1: number, y1: number, v: number, dash = 0) => {
    const steps = Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0)));
    for (let i = 0; i <= steps; i++) if (!dash || Math.floor(i / dash) % 2 === 0) set(x0 + ((x1 - x0) * i) / steps, y0 + ((y1 - y0) * i) / steps, v);
  };
  const box = (x0: number, y0: number, x1: number, y1: number, v: number) => {
    for (let y = Math.round(y0); y <= Math.round(y1); y++) for (let x = Math.round(x0); x <= Math.round(x1); x++) set(x, y, v);
  };
  // Frame, ticks and a light grid every 0.1.
  for (let t = 0; t <= 10; t++) {
    const p = t / 10;
    line(px(p), py(0), px(p), py(1), 230);
    line(px(0), py(p), px(1), py(p), 230);
    line(px(p), py(0), px(p), py(0) + 6, 0);
    line(px(0) - 6, py(p), px(0), py(p), 0);
  }
  line(px(0), py(0), px(1), py(0), 0);
  line(px(0), py(0), px(0), py(1), 0);
  line(px(1), py(0), px(1), py(1), 0);
  line(px(0), py(1), px(1), py(1), 0);
  line(px(0), py(0), px(1), py(1), 120, 6);
  // The bins, joined in order, each a square sized by its count.
  const most = Math.max(...bins.map((b) => b.count), 1);
  bins.forEach((b, i) => {
    if (i > 0) line(px(bins[i - 1]!.meanPredicted), py(bins[i - 1]!.observedRate), px(b.meanPredicted), py(b.observedRate), 60);
  });
  for (const b of bins) {
    const r = 3 + 7 * Math.sqrt(b.count / most);
    box(px(b.meanPredicted) - r, py(b.observedRate) - r, px(b.meanPredicted) + r, py(b.observedRate) + r, 0);
  }
  // Histogram of predictions under the plot.
  const base = height - 15;
  line(px(0), base, px(1), base, 0);
  for (const b of bins) box(px(b.lower) + 2, base - ((HIST - 25) * b.count) / most, px(b.upper) - 2, base, 110);
  return encodeGrayPng({ width, height, pixels });
}
