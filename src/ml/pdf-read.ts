/**
 * Reads an uploaded PDF offline with pdfjs-dist (Mozilla's PDF.js, the legacy Node build): the text
 * layer when the PDF has one (a born-digital letter, or a scan some earlier OCR made searchable),
 * else each page rasterised with @napi-rs/canvas for OCR (a plain scan, which is pictures only).
 * Everything pdfjs needs (standard fonts, CMaps, wasm decoders) is read from the installed package.
 * Untrusted input: eval is off (CVE-2024-4367 was font code run through eval), images are capped,
 * at most MAX_PDF_PAGES pages are read and none rendered beyond MAX_RENDER_SIDE pixels.
 */
import { createCanvas } from '@napi-rs/canvas';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { GrayImage } from './image-png.js';
import { ocrWords } from './ocr-recall.js';
import { lumaOf } from './raster.js';
import { MAX_PDF_PAGES } from './uploads.js';

/** Longest side of a rendered page. */
export const MAX_RENDER_SIDE = 3000;
/** A text layer with fewer words than this per page is taken as a scan (stray page numbers, headers). */
const MIN_TEXT_WORDS_PER_PAGE = 20;

export interface PdfContent {
  /** Pages in the file. */
  pageCount: number;
  /** Pages read (the first MAX_PDF_PAGES). */
  pages: number;
  /** The text layer of the pages read, one page per paragraph; '' when it has (next to) no words. */
  text: string;
  /** The pages read, rasterised at `dpi`, when there was no text layer to use. */
  images: GrayImage[];
}

function packageDir(): string {
  return dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
}

/** Text layer or page images of the first pages of `bytes`; throws when pdfjs cannot parse it. */
export async function readPdf(bytes: Uint8Array, dpi = 200): Promise<PdfContent> {
  const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
  const dir = packageDir();
  const task = pdfjs.getDocument({
    data: Uint8Array.from(bytes), // pdfjs takes ownership of (and detaches) the buffer it is given
    isEvalSupported: false,
    enableXfa: false,
    maxImageSize: 50_000_000,
    standardFontDataUrl: `${join(dir, 'standard_fonts')}/`,
    cMapUrl: `${join(dir, 'cmaps')}/`,
    wasmUrl: `${join(dir, 'wasm')}/`,
    verbosity: 0,
  });
  const doc = await task.promise;
  try {
    const pages = Math.min(doc.numPages, MAX_PDF_PAGES);
    const texts: string[] = [];
    for (let n = 1; n <= pages; n++) {
      const content = await (await doc.getPage(n)).getTextContent();
      texts.push(content.items.map((item) => ('str' in item ? `${item.str}${item.hasEOL ? '\n' : ' '}` : '')).join('').trim());
    }
    const text = texts.join('\n\n');
    if (ocrWords(text).length >= MIN_TEXT_WORDS_PER_PAGE * pages) return { pageCount: doc.numPages, pages, text, images: [] };
    const images: GrayImage[] = [];
    for (let n = 1; n <= pages; n++) images.push(await renderPage(await doc.getPage(n), dpi));
    return { pageCount: doc.numPages, pages, text: '', images };
  } finally {
    await doc.destroy();
  }
}

type PdfPage = Awaited<ReturnType<Awaited<ReturnType<typeof import('pdfjs-dist/legacy/build/pdf.mjs').getDocument>['promise']>['getPage']>>;

async function renderPage(page: PdfPage, dpi: number): Promise<GrayImage> {
  const natural = page.getViewport({ scale: 1 });
  const scale = Math.min(dpi / 72, MAX_RENDER_SIDE / Math.max(natural.width, natural.height));
  const viewport = page.getViewport({ scale });
  const width = Math.max(1, Math.ceil(viewport.width));
  const height = Math.max(1, Math.ceil(viewport.height));
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = 'white';
  ctx.fillRect(0, 0, width, height);
  // pdfjs types its canvas as the DOM's; @napi-rs/canvas is what its own Node canvas factory creates.
  await page.render({ canvas, viewport } as unknown as Parameters<PdfPage['render']>[0]).promise;
  return lumaOf(ctx.getImageData(0, 0, width, height).data, width, height);
}
