/**
 * The `arima` npm package (0.2.8: an emscripten/wasm build of the C library ctsa) loaded for Node ESM.
 *
 * How it loads: the package is CommonJS. `import ARIMA from 'arima'` works under Node ESM (the
 * CommonJS export becomes the default) and compiles the wasm *synchronously* at import time;
 * `import ready from 'arima/async'` gives a Promise of the same constructor, to be awaited once
 * before use (the only form Chrome allows, as the module is over 4 kB). Either way, fitting and
 * predicting are synchronous calls afterwards.
 *
 * We build the module ourselves from the package's own files (the async factory + the embedded wasm
 * + its `load.js` wrapper) for one reason: ctsa `printf`s warnings such as "non-stationary AR part"
 * to stdout even with `verbose: false`, and emscripten only lets the caller redirect that output
 * when it creates the module. Here it is captured per fit and returned as the fit's warnings.
 */
import type ArimaConstructor from 'arima';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type Arima = typeof ArimaConstructor;
export type ArimaOptions = NonNullable<ConstructorParameters<Arima>[0]>;

let loading: Promise<Arima> | undefined;
let sink: string[] | undefined;

/** The ARIMA constructor, compiled once per process; await it before fitting. */
export function loadArima(): Promise<Arima> {
  loading ??= (async () => {
    const require = createRequire(import.meta.url);
    // The package's "exports" map hides these files from bare specifiers; a resolved path is not subject to it.
    const root = dirname(require.resolve('arima'));
    const createModule = require(join(root, 'wasm/native-async.js')) as (options: object) => Promise<object>;
    const wasmBinary = require(join(root, 'wrapper/native.bin.js')) as Uint8Array;
    const wrap = require(join(root, 'load.js')) as (module: object) => Arima;
    const print = (line: string) => (sink ? sink.push(line) : undefined);
    return wrap(await createModule({ wasmBinary, print, printErr: print }));
  })();
  return loading;
}

/** Fits ARIMA to `series` and forecasts `horizon` steps; what ctsa printed while doing so comes back as warnings. */
export function fitAndForecast(ARIMA: Arima, series: number[], horizon: number, options: ArimaOptions): { forecast: number[]; variance: number[]; warnings: string[] } {
  const warnings: string[] = [];
  sink = warnings;
  const model = new ARIMA({ ...options, verbose: false });
  try {
    model.train(series);
    const [forecast, variance] = model.predict(horizon);
    return { forecast, variance, warnings };
  } finally {
    model.destroy();
    sink = undefined;
  }
}
