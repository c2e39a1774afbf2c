/**
 * Renders text into a grayscale "scan" with a built-in 5×7 bitmap font (upper case, digits and
 * common punctuation; lower case is drawn as upper case), so OCR can be tested and benchmarked
 * on images whose true text is known, without an image library or font files.
 */
import type { GrayImage } from './image-png.js';

/** Each glyph: 7 rows of 5 dots ('#' = ink), rows separated by '/'. Classic 5×7 LCD shapes. */
const GLYPHS: Record<string, string> = {
  A: '.###./#...#/#...#/#####/#...#/#...#/#...#', B: '####./#...#/#...#/####./#...#/#...#/####.',
  C: '.###./#...#/#..../#..../#..../#...#/.###.', D: '###../#..#./#...#/#...#/#...#/#..#./###..',
  E: '#####/#..../#..../####./#..../#..../#####', F: '#####/#..../#..../####./#..../#..../#....',
  G: '.###./#...#/#..../#.###/#...#/#...#/.####', H: '#...#/#...#/#...#/#####/#...#/#...#/#...#',
  I: '.###./..#../..#../..#../..#../..#../.###.', J: '..###/...#./...#./...#./...#./#..#./.##..',
  K: '#...#/#..#./#.#../##.../#.#../#..#./#...#', L: '#..../#..../#..../#..../#..../#..../#####',
  M: '#...#/##.##/#.#.#/#.#.#/#...#/#...#/#...#', N: '#...#/#...#/##..#/#.#.#/#..##/#...#/#...#',
  O: '.###./#...#/#...#/#...#/#...#/#...#/.###.', P: '####./#...#/#...#/####./#..../#..../#....',
  Q: '.###./#...#/#...#/#...#/#.#.#/#..#./.##.#', R: '####./#...#/#...#/####./#.#../#..#./#...#',
  S: '.####/#..../#..../.###./....#/....#/####.', T: '#####/..#../..#../..#../..#../..#../..#..',
  U: '#...#/#...#/#...#/#...#/#...#/#...#/.###.', V: '#...#/#...#/#...#/#...#/#...#/.#.#./..#..',
  W: '#...#/#...#/#...#/#.#.#/#.#.#/#.#.#/.#.#.', X: '#...#/#...#/.#.#./..#../.#.#./#...#/#...#',
  Y: '#...#/#...#/#...#/.#.#./..#../..#../..#..', Z: '#####/....#/...#./..#../.#.../#..../#####',
  '0': '.###./#...#/#..##/#.#.#/##..#/#...#/.###.', '1': '..#../.##../..#../..#../..#../..#../.###.',
  '2': '.###./#...#/....#/...#./..#../.#.../#####', '3': '#####/...#./..#../...#./....#/#...#/.###.',
  '4': '...#./..##./.#.#./#..#./#####/...#./...#.', '5': '#####/#..../####./....#/....#/#...#/.###.',
  '6': '..##./.#.../#..../####./#...#/#...#/.###.', '7': '#####/....#/...#./..#../.#.../.#.../.#...',
  '8': '.###./#...#/#...#/.###./#...#/#...#/.###.', '9': '.###./#...#/#...#/.####/....#/...#./.##..',
  '.': '...../...../...../...../...../.##../.##..', ',': '...../...../...../...../.##../..#../.#...',
  '-': '...../...../...../.###./...../...../.....', ':': '...../.##../.##../...../.##../.##../.....',
  ';': '...../.##../.##../...../.##../..#../.#...', '(': '...#./..#../.#.../.#.../.#.../..#../...#.',
  ')': '.#.../..#../...#./...#./...#./..#../.#...', '/': '...../....#/...#./..#../.#.../#..../.....',
  '%': '##.../##..#/...#./..#../.#.../#..##/...##', '+': '...../..#../..#../#####/..#../..#../.....',
  '=': '...../...../#####/...../#####/...../.....', "'": '.##../..#../.#.../...../...../...../.....',
  '?': '.###./#...#/....#/...#./..#../...../..#..', '!': '..#../..#../..#../..#../..#../...../..#..',
  ' ': '...../...../...../...../...../...../.....',
};

export interface RenderOptions {
  /** Pixels per font dot. */
  scale?: number;
  /** Characters per line before wrapping at a space. */
  lineLength?: number;
  /** Blank border in font dots. */
  margin?: number;
  /**
   * Box-blur radius in pixels, like a scanner's softening; tesseract reads the blocky dots far
   * better blurred (measured: radius ≈ scale / 2 turns "PHEUMOMIA" back into "PNEUMONIA").
   */
  blur?: number;
}

/** Upper-cases `text`, drops characters the font lacks, wraps it and draws black on white. */
export function renderTextImage(text: string, options: RenderOptions = {}): GrayImage {
  const { scale = 4, lineLength = 60, margin = 4 } = options;
  const blur = options.blur ?? Math.floor(scale / 2);
  const clean = text.toUpperCase().replace(/\s+/g, ' ').split('').filter((ch) => GLYPHS[ch]).join('').trim();
  const lines = wrap(clean, lineLength);
  const cell = { w: 6, h: 10 }; // 5×7 glyph plus one column and three rows of spacing
  const cols = Math.max(1, ...lines.map((l) => l.length));
  const width = (cols * cell.w + 2 * margin) * scale;
  const height = (lines.length * cell.h + 2 * margin) * scale;
  const pixels = new Uint8Array(width * height).fill(255);
  lines.forEach((line, row) => {
    [...line].forEach((ch, col) => {
      const glyph = GLYPHS[ch]!;
      for (let gy = 0; gy < 7; gy++) {
        for (let gx = 0; gx < 5; gx++) {
          if (glyph[gy * 6 + gx] !== '#') continue; // 5 dots and a '/' per row
          const x0 = (margin + col * cell.w + gx) * scale;
          const y0 = (margin + row * cell.h + gy) * scale;
          for (let y = y0; y < y0 + scale; y++) pixels.fill(0, y * width + x0, y * width + x0 + scale);
        }
      }
    });
  });
  return { width, height, pixels: blur > 0 ? boxBlur(pixels, width, height, blur) : pixels };
}

/** Separable box blur (mean over a (2r+1)² window, clipped at the edges). */
function boxBlur(src: Uint8Array, width: number, height: number, r: number): Uint8Array {
  const pass = (input: Float32Array, along: 'x' | 'y') => {
    const out = new Float32Array(input.length);
    const [n, m] = along === 'x' ? [width, height] : [height, width];
    const at = (line: number, i: number) => (along === 'x' ? line * width + i : i * width + line);
    for (let line = 0; line < m; line++) {
      for (let i = 0; i < n; i++) {
        let sum = 0, count = 0;
        for (let k = Math.max(0, i - r); k <= Math.min(n - 1, i + r); k++, count++) sum += input[at(line, k)]!;
        out[at(line, i)] = sum / count;
      }
    }
    return out;
  };
  return Uint8Array.from(pass(pass(Float32Array.from(src), 'x'), 'y'), Math.round);
}

function wrap(text: string, lineLength: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    for (let piece = word; piece.length; piece = piece.slice(lineLength)) {
      const part = piece.slice(0, lineLength);
      if (line && line.length + 1 + part.length > lineLength) {
        lines.push(line);
        line = part;
      } else line = line ? `${line} ${part}` : part;
    }
  }
  if (line || !lines.length) lines.push(line);
  return lines;
}
