/**
 * The direction of imports (issue 14 §2): each folder of src/ may import only the layers below it.
 *
 *   protocol, config ← keys ← records ← consent ← chain ← sdk ← gatekeeper | client | ml ← demo ← manager ← cli
 *
 * src/protocol is what both ends of the wire share and imports nothing else of ours. Outside
 * src/gatekeeper only the processes that start gatekeepers (src/manager, src/cli) import it, and only
 * through its entry, src/gatekeeper/index.ts. The browser app (src/manager/web) never imports server
 * code. bench/ may not import test/; src/ imports neither. Run by test/layers.test.ts in `npm test`.
 */
const layers = {
  protocol: [],
  keys: ['protocol'],
  records: ['protocol'],
  consent: ['records', 'protocol'],
  chain: ['protocol', 'keys', 'base'],
  sdk: ['chain', 'consent', 'records', 'protocol', 'keys', 'base'],
  gatekeeper: ['sdk', 'chain', 'consent', 'records', 'protocol', 'keys', 'base'],
  client: ['sdk', 'chain', 'consent', 'records', 'protocol', 'keys', 'base'],
  ml: ['sdk', 'chain', 'consent', 'records', 'protocol', 'keys', 'base'],
  demo: ['ml', 'sdk', 'chain', 'consent', 'records', 'protocol', 'keys', 'base'],
  manager: ['gatekeeper', 'client', 'ml', 'demo', 'sdk', 'chain', 'consent', 'records', 'protocol', 'keys', 'base'],
  cli: ['manager', 'gatekeeper', 'client', 'ml', 'demo', 'sdk', 'chain', 'consent', 'records', 'protocol', 'keys', 'base'],
};
// 'base' is the files directly in src/ (configuration, the package root): below every layer.
const folder = (name) => (name === 'base' ? '^src/[^/]+\\.ts$' : `^src/${name}/`);

const layerRules = Object.entries(layers).map(([from, allowed]) => ({
  name: `layer-${from}`,
  comment: `src/${from} may import only: ${allowed.join(', ') || 'nothing else of ours'}`,
  severity: 'error',
  from: { path: folder(from), pathNot: from === 'manager' ? '^src/manager/web/' : undefined },
  to: { path: '^src/', pathNot: [folder(from), ...allowed.map(folder)] },
}));

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'gatekeeper-entry-only',
      comment: 'outside src/gatekeeper, import the gatekeeper only through src/gatekeeper/index.ts',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/gatekeeper/' },
      to: { path: '^src/gatekeeper/', pathNot: '^src/gatekeeper/index\\.ts$' },
    },
    {
      name: 'web-is-browser-code',
      comment: 'the EHR Manager web app imports no server code: no gatekeeper, client, CLI, manager server, Node built-ins',
      severity: 'error',
      from: { path: '^src/manager/web/' },
      to: { path: ['^src/(gatekeeper|client|cli|keys)/', '^src/manager/[^/]+\\.ts$', '^src/[^/]+\\.ts$'] },
    },
    {
      name: 'web-no-node-builtins',
      comment: 'the app runs in a browser (its Vite build config excepted)',
      severity: 'error',
      from: { path: '^src/manager/web/', pathNot: '^src/manager/web/vite\\.config\\.ts$' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'src-not-to-test-or-bench',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts)/' },
    },
    {
      name: 'bench-not-to-test',
      comment: 'shared harness code lives in bench/harness/, which tests may import',
      severity: 'error',
      from: { path: '^bench/' },
      to: { path: '^test/' },
    },
    {
      name: 'no-circular-folders',
      comment: 'no cycle between modules of different folders of src/',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true, path: '^src/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: { path: '^(src|bench|scripts)/' },
      // @medplum/fhirtypes is types only: nothing to resolve at run time.
      to: { couldNotResolve: true, pathNot: '^@medplum/fhirtypes$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|src/chain/generated)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.tsx', '.js', '.mjs'] },
    moduleSystems: ['es6', 'cjs'],
  },
};
