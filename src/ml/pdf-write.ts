/**
 * A scanned page as a PDF, the way scanners and fax gateways write them: one page whose only
 * content is a JPEG image (DCTDecode) drawn over the whole media box, no text layer. Written by
 * hand (a PDF 1.4 file is five objects and a cross-reference table; ISO 32000-1 §7.5, image
 * XObjects §8.9) so tests and the bench can build the scanned-PDF uploads the document service must
 * rasterise and OCR.
 */

export interface PdfImage {
  /** JPEG bytes (baseline, 1 or 3 components). */
  jpeg: Uint8Array;
  width: number;
  height: number;
  /** 1 = gray, 3 = RGB: must match the JPEG (raster.ts writes 3). */
  components?: 1 | 3;
  /** Scan resolution, which sets the page size (default 150 dpi). */
  dpi?: number;
}

/** One PDF page showing the JPEG at its resolution. */
export function scanToPdf({ jpeg, width, height, components = 3, dpi = 150 }: PdfImage): Uint8Array {
  const w = ((width * 72) / dpi).toFixed(2);
  const h = ((height * 72) / dpi).toFixed(2);
  const content = `q ${w} 0 0 ${h} 0 0 cm /Scan Do Q\n`;
  return writePdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${w} ${h}] /Resources << /XObject << /Scan 4 0 R >> >> /Contents 5 0 R >>`,
    {
      dict: `<< /Type /XObject /Subtype /Image /Width ${width} /Height ${height} /ColorSpace /${components === 1 ? 'DeviceGray' : 'DeviceRGB'} /BitsPerComponent 8 /Filter /DCTDecode /Length ${jpeg.length} >>`,
      stream: jpeg,
    },
    { dict: `<< /Length ${content.length} >>`, stream: latin1(content) },
  ]);
}

/** An object: a dictionary (or any PDF value) as text, or a dictionary with its stream. */
export type PdfObject = string | { dict: string; stream: Uint8Array };

/** Objects numbered 1…n in order; object 1 must be the catalog. */
export function writePdf(objects: readonly PdfObject[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let length = 0;
  const push = (p: Uint8Array) => {
    parts.push(p);
    length += p.length;
  };
  // The second line's high bytes tell transfer tools the file is binary (§7.5.2).
  push(latin1('%PDF-1.4\n%\u00e2\u00e3\u00cf\u00d3\n'));
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(length);
    if (typeof o === 'string') push(latin1(`${i + 1} 0 obj\n${o}\nendobj\n`));
    else {
      push(latin1(`${i + 1} 0 obj\n${o.dict}\nstream\n`));
      push(o.stream);
      push(latin1('\nendstream\nendobj\n'));
    }
  });
  const xref = length;
  const rows = offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('');
  push(latin1(`xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${rows}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`));
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function latin1(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
}
