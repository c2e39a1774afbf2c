/**
 * Where the image model's tensors run. Without tfjs-node there are two Node backends:
 * - `cpu`: plain JavaScript; its convolution gradients read every element through
 *   `TensorBuffer.get`, which makes CNN training impractical (bench/ml-images-docs.ts, 2 shared
 *   cores: one 16-image Adam step of our CNN takes 39 s on cpu and 0.47 s on wasm).
 * - `wasm`: XNNPACK kernels, much faster, but tfjs-backend-wasm 4.22 has no `Conv2DBackpropFilter`
 *   kernel, so a conv layer cannot train on it out of the box. We register one here: the filter
 *   gradient dW[r,c,i,o] = Σ_{n,y,x} X[n, y·s+r−pad, x·s+c−pad, i] · dY[n,y,x,o], as an im2col copy
 *   in JavaScript and one matrix product by the wasm backend's own BatchMatMul kernel.
 * The wasm binaries are read from the installed package, never fetched.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths, type BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

export type ImageBackend = 'wasm' | 'cpu';

/** Switches tfjs to `backend` (default wasm, the faster one for training here) and waits until it is ready. */
export async function useImageBackend(backend: ImageBackend = 'wasm'): Promise<void> {
  if (backend === 'wasm') {
    registerWasmConvFilterGradient();
    if (!wasmPathsSet) {
      const wasmFile = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
      setWasmPaths(`${dirname(wasmFile)}/`);
      wasmPathsSet = true;
    }
  }
  if (tf.getBackend() !== backend && !(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} failed to initialise`);
  await tf.ready();
}

let wasmPathsSet = false;

/** Registers the missing wasm `Conv2DBackpropFilter` kernel (NHWC, dilation 1); idempotent. */
export function registerWasmConvFilterGradient(): void {
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm')) return;
  tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2dBackpropFilterWasm as unknown as tf.KernelFunc });
}

interface FilterGradAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

function conv2dBackpropFilterWasm({ inputs, backend, attrs }: { inputs: { x: tf.TensorInfo; dy: tf.TensorInfo }; backend: BackendWasm; attrs: FilterGradAttrs }): tf.TensorInfo {
  const { x, dy } = inputs;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false,
    tf.backend_util.convertConv2DDataFormat(attrs.dataFormat),
  );
  if (info.dataFormat !== 'channelsLast') throw new Error('Conv2DBackpropFilter (wasm): only NHWC is supported');
  const { batchSize, inHeight, inWidth, inChannels: C, outHeight, outWidth, outChannels: F, filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const { top, left } = info.padInfo;
  // im2col, transposed: row k = (fr·filterWidth + fc)·C + c holds that tap's input under every
  // output position, so dW (as [taps·C, F]) = patchesᵀ · dY, one wasm matrix product.
  const positions = batchSize * outHeight * outWidth;
  const taps = filterHeight * filterWidth * C;
  const patches = backend.makeOutput([taps, positions], 'float32');
  // Views are taken after makeOutput: allocating may grow the wasm memory and detach older views.
  const xs = backend.typedArrayFromHeap(x) as Float32Array;
  const cols = backend.typedArrayFromHeap(patches) as Float32Array;
  cols.fill(0); // taps that fall in the padding stay zero
  for (let n = 0, p = 0; n < batchSize; n++) {
    for (let yr = 0; yr < outHeight; yr++) {
      for (let yc = 0; yc < outWidth; yc++, p++) {
        for (let fr = 0; fr < filterHeight; fr++) {
          const xr = yr * strideHeight + fr - top;
          if (xr < 0 || xr >= inHeight) continue;
          for (let fc = 0; fc < filterWidth; fc++) {
            const xc = yc * strideWidth + fc - left;
            if (xc < 0 || xc >= inWidth) continue;
            const xAt = ((n * inHeight + xr) * inWidth + xc) * C;
            const k = (fr * filterWidth + fc) * C;
            for (let c = 0; c < C; c++) cols[(k + c) * positions + p] = xs[xAt + c]!;
          }
        }
      }
    }
  }
  const matMul = tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc;
  const dyMatrix: tf.TensorInfo = { dataId: dy.dataId, shape: [positions, F], dtype: 'float32' };
  const product = matMul({ inputs: { a: patches, b: dyMatrix }, backend, attrs: { transposeA: false, transposeB: false } }) as tf.TensorInfo;
  backend.disposeData(patches.dataId);
  // [taps·C, F] in row-major order is exactly the filter layout [filterHeight, filterWidth, C, F].
  return { dataId: product.dataId, shape: info.filterShape, dtype: 'float32' };
}
