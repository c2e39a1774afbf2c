/**
 * POST /api/documents/classify: the raw bytes of a PDF, PNG or JPEG as the body (Content-Type
 * application/pdf, image/png or image/jpeg), at most MAX_UPLOAD_BYTES. Answers ClassifyResult JSON
 * (src/ml/uploads.ts): kind, the text read (cut), OCR confidence, every label with its probability,
 * and the model's id and hash. Query: kind=auto|document|image, model=pneumoniamnist|breastmnist.
 * Errors are {error} JSON: 400 (empty, bytes not what the type says, unreadable), 413 (too big),
 * 415 (another type), 503 (image model not trained yet, or busy).
 * Stores nothing: the clinician confirms the suggestion, then the web app writes the
 * DocumentReference through the provider's gatekeeper, signed with the provider's key.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { UploadError, type DocumentService } from '../ml/document-service.js';
import { IMAGE_MODELS, MAX_UPLOAD_BYTES, normaliseContentType, type ImageModelName, type UploadKind } from '../ml/uploads.js';

const KINDS = ['auto', 'document', 'image'] as const;

export function documentRoutes(service: DocumentService) {
  return async function register(app: FastifyInstance): Promise<void> {
    // Every body arrives as bytes in this plugin (its own scope); the handler decides what it accepts,
    // so a wrong type gets the same {error} answer as everything else.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_UPLOAD_BYTES }, (_req, body, done) => done(null, body));
    app.setErrorHandler((err: FastifyError, _req, reply) => {
      if (err instanceof UploadError) return reply.code(err.status).send({ error: err.message });
      if (err.statusCode === 413) return reply.code(413).send({ error: `the file is larger than ${MAX_UPLOAD_BYTES / 1024} KB, the most an upload may have` });
      if (err.statusCode && err.statusCode < 500) return reply.code(err.statusCode).send({ error: err.message });
      return reply.code(500).send({ error: `the file could not be classified: ${err.message.split('\n')[0]}` });
    });

    app.post('/api/documents/classify', async (req) => {
      const query = req.query as { kind?: string; model?: string };
      const kind = query.kind ?? 'auto';
      if (!(KINDS as readonly string[]).includes(kind)) throw new UploadError(400, `kind must be one of ${KINDS.join(', ')}`);
      if (query.model !== undefined && !Object.hasOwn(IMAGE_MODELS, query.model)) {
        throw new UploadError(400, `model must be one of ${Object.keys(IMAGE_MODELS).join(', ')}`);
      }
      const body = req.body;
      if (!(body instanceof Uint8Array) || body.length === 0) throw new UploadError(400, "send the file's bytes as the request body");
      return service.classify({
        bytes: body,
        contentType: normaliseContentType(req.headers['content-type']),
        kind: kind as UploadKind | 'auto',
        imageModel: query.model as ImageModelName | undefined,
      });
    });
  };
}
