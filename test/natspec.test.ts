/**
 * NatSpec on the contracts (issue 14 §2; STYLE.md "NatSpec on every external function"): every
 * external or public function our contracts declare has a @notice, a @param for each parameter and a
 * @return for each return value; every public state variable, event and error says what it is. Read
 * from solc's own userdoc/devdoc output, so a tag the compiler did not attach does not count.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compile, readSources } from '../scripts/solc.js';

interface AbiParam { name: string; type: string; components?: AbiParam[] }
interface AbiItem { type: string; name?: string; inputs?: AbiParam[]; outputs?: AbiParam[] }
interface Doc { notice?: string; details?: string; params?: Record<string, string>; returns?: Record<string, string> }
interface ContractOut { abi: AbiItem[]; devdoc: { methods?: Record<string, Doc>; stateVariables?: Record<string, Doc>; events?: Record<string, Doc>; errors?: Record<string, Doc[]> }; userdoc: { methods?: Record<string, Doc>; events?: Record<string, Doc>; errors?: Record<string, Doc[]> } }
interface AstNode { nodeType: string; name?: string; visibility?: string; kind?: string; stateVariable?: boolean; nodes?: AstNode[] }

const canonical = (p: AbiParam): string =>
  p.type.startsWith('tuple') ? `(${(p.components ?? []).map(canonical).join(',')})${p.type.slice('tuple'.length)}` : p.type;
const signature = (item: AbiItem) => `${item.name}(${(item.inputs ?? []).map(canonical).join(',')})`;

const sources = readSources();
const output = compile(sources, ['abi', 'devdoc', 'userdoc'], ['ast']);
const errors = (output.errors ?? []).filter((e) => e.severity === 'error');

/** What each of our contracts declares itself (inherited OpenZeppelin members are OpenZeppelin's to document). */
function declared(file: string): Map<string, { functions: Set<string>; getters: Set<string>; events: Set<string>; errors: Set<string> }> {
  const ast = output.sources?.[file]?.ast as AstNode;
  const result = new Map<string, { functions: Set<string>; getters: Set<string>; events: Set<string>; errors: Set<string> }>();
  for (const c of (ast.nodes ?? []).filter((n) => n.nodeType === 'ContractDefinition')) {
    const own = { functions: new Set<string>(), getters: new Set<string>(), events: new Set<string>(), errors: new Set<string>() };
    for (const n of c.nodes ?? []) {
      if (n.nodeType === 'FunctionDefinition' && n.kind === 'function' && (n.visibility === 'external' || n.visibility === 'public')) own.functions.add(n.name!);
      if (n.nodeType === 'VariableDeclaration' && n.stateVariable && n.visibility === 'public') own.getters.add(n.name!);
      if (n.nodeType === 'EventDefinition') own.events.add(n.name!);
      if (n.nodeType === 'ErrorDefinition') own.errors.add(n.name!);
    }
    result.set(c.name!, own);
  }
  return result;
}

test('the contracts compile without errors', () => {
  assert.deepEqual(errors.map((e) => e.formattedMessage), []);
});

for (const file of Object.keys(sources)) {
  for (const [name, own] of declared(file)) {
    test(`${file} ${name}: NatSpec on every external function, public variable, event and error`, () => {
      const out = output.contracts[file]?.[name] as unknown as ContractOut;
      // Not a vacuous pass: every contract declares functions the ABI carries.
      assert.ok(out.abi.some((i) => i.type === 'function' && own.functions.has(i.name!)), `${name} declares no external function`);
      const missing: string[] = [];
      for (const item of out.abi) {
        const sig = item.type === 'function' || item.type === 'event' || item.type === 'error' ? signature(item) : '';
        if (item.type === 'function' && own.functions.has(item.name!)) {
          const user = out.userdoc.methods?.[sig];
          const dev = out.devdoc.methods?.[sig];
          if (!user?.notice) missing.push(`${sig}: @notice`);
          for (const p of item.inputs ?? []) if (!p.name || !dev?.params?.[p.name]) missing.push(`${sig}: @param ${p.name || '(unnamed)'}`);
          (item.outputs ?? []).forEach((o, i) => {
            if (!dev?.returns?.[o.name || `_${i}`]) missing.push(`${sig}: @return ${o.name || `#${i}`}`);
          });
        } else if (item.type === 'function' && own.getters.has(item.name!)) {
          if (!out.userdoc.methods?.[sig]?.notice && !out.devdoc.stateVariables?.[item.name!]?.details) missing.push(`${item.name}: @notice or @dev`);
        } else if (item.type === 'event' && own.events.has(item.name!)) {
          if (!out.userdoc.events?.[sig]?.notice) missing.push(`event ${sig}: @notice`);
        } else if (item.type === 'error' && own.errors.has(item.name!)) {
          if (!out.userdoc.errors?.[sig]?.[0]?.notice) missing.push(`error ${sig}: @notice`);
        }
      }
      assert.deepEqual(missing, []);
    });
  }
}
