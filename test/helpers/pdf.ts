/** A born-digital PDF for tests: each page's text in Helvetica (a standard font, nothing embedded), about 80 characters a line. */
import { writePdf, type PdfObject } from '../../src/ml/pdf-write.js';

export function textPdf(pages: readonly string[]): Uint8Array {
  const objects: PdfObject[] = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    `<< /Type /Pages /Kids [${pages.map((_, i) => `${4 + 2 * i} 0 R`).join(' ')}] /Count ${pages.length} >>`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  for (const text of pages) {
    const lines = (text.match(/.{1,80}(\s|$)/g) ?? []).map((l, i) => `BT /F1 11 Tf 72 ${720 - 14 * i} Td (${l.trim().replace(/[()\\]/g, '\\$&')}) Tj ET`);
    const content = new TextEncoder().encode(lines.join('\n'));
    objects.push(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${objects.length + 2} 0 R >>`);
    objects.push({ dict: `<< /Length ${content.length} >>`, stream: content });
  }
  return writePdf(objects);
}
