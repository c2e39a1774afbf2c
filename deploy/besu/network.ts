/**
 * A MedLedger production network on Hyperledger Besu with QBFT, as data: who runs which node, and
 * the files Besu reads (genesis, local permissioning, one TOML per node), rendered from that plan.
 * Pure functions, so generate.ts writes them and test/besu-config.test.ts checks them.
 *
 * Besu references: QBFT genesis and extraData
 * https://besu.hyperledger.org/private-networks/how-to/configure/consensus/qbft ; local permissioning
 * https://besu.hyperledger.org/private-networks/how-to/use-local-permissioning ; free gas
 * https://besu.hyperledger.org/private-networks/how-to/configure/free-gas
 */
import { fromRlp, getAddress, toRlp, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

/** A Besu node: validators seal blocks; RPC nodes serve one provider organisation's gatekeepers. */
export interface BesuNode {
  /** File-name-safe name: `validator-1`, `rpc-st-marys`. */
  name: string;
  role: 'validator' | 'rpc';
  /** The accredited organisation that runs it. */
  organisation: string;
  /** IP address other nodes dial (enode URLs take an IP unless Besu runs with --Xdns-enabled). */
  host: string;
  p2pPort: number;
  /** secp256k1 public key without the 0x04 prefix: the node id in its enode URL. */
  publicKey: Hex;
  /** The node key's address: for a validator, its QBFT validator address. */
  address: Address;
  /** RPC nodes: the host names its gatekeepers and EHR Manager use to reach it (Besu's host-allowlist). */
  rpcClients?: string[];
}

export interface NetworkPlan {
  chainId: number;
  /** QBFT block period; the 2 s that `npm run test:external` runs the suite at. */
  blockPeriodSeconds: number;
  /** Block gas limit. */
  gasLimit: bigint;
  validators: BesuNode[];
  rpcNodes: BesuNode[];
  /** Deploys MedLedger; funded in the genesis block. */
  deployer: Address;
  /** Accredits providers (MEDLEDGER_GOVERNOR): a multisig in production. */
  governor: Address;
  /** Further accounts allowed to send transactions (provider accounts, onboarded users). */
  accounts: Address[];
  /** Genesis timestamp (seconds). */
  timestamp: number;
}

export const P2P_PORT = 30303;
export const RPC_PORT = 8545;
export const RPC_WS_PORT = 8546;
/** Where each node's host keeps its Besu files: key, data, genesis.json, permissions_config.toml. */
export const BESU_HOME = '/opt/besu';

/** The QBFT genesis mixHash ("Istanbul/QBFT digest"), required in the header of every BFT block. */
export const BFT_MIX_HASH: Hex = '0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365';

/** Public key (no 0x04 prefix) and address of a node key. */
export function nodeIdentity(privateKey: Hex): { publicKey: Hex; address: Address } {
  const account = privateKeyToAccount(privateKey);
  return { publicKey: `0x${account.publicKey.slice(4)}`, address: account.address };
}

/** `enode://<node id>@<host>:<port>`: how nodes name each other (and how the nodes allowlist names them). */
export function enodeUrl(node: Pick<BesuNode, 'publicKey' | 'host' | 'p2pPort'>): string {
  return `enode://${node.publicKey.slice(2).toLowerCase()}@${node.host}:${node.p2pPort}`;
}

/**
 * The genesis block's extraData for QBFT with validators in the block header:
 * RLP([32-byte vanity, [validator addresses], no vote (empty list), round 0 (empty string), no seals]),
 * what `besu rlp encode --type=QBFT_EXTRA_DATA` produces from a list of addresses.
 */
export function encodeQbftExtraData(validators: readonly Address[]): Hex {
  return toRlp([`0x${'00'.repeat(32)}`, validators.map((v) => v.toLowerCase() as Hex), [], '0x', []]);
}

export interface QbftExtraData {
  vanity: Hex;
  validators: Address[];
  vote: readonly unknown[];
  round: Hex;
  seals: readonly unknown[];
}

/** Reads QBFT extraData back; throws when it is not the five-field QBFT shape. */
export function decodeQbftExtraData(extraData: Hex): QbftExtraData {
  const fields = fromRlp(extraData, 'hex');
  if (!Array.isArray(fields) || fields.length !== 5) throw new Error('QBFT extraData is a list of 5 fields');
  const [vanity, validators, vote, round, seals] = fields as [Hex, Hex[], Hex[], Hex, Hex[]];
  if (typeof vanity !== 'string' || vanity.length !== 66) throw new Error('QBFT extraData: the vanity is 32 bytes');
  if (!Array.isArray(validators) || validators.some((v) => typeof v !== 'string' || v.length !== 42)) {
    throw new Error('QBFT extraData: validators are a list of 20-byte addresses');
  }
  if (!Array.isArray(vote) || typeof round !== 'string' || !Array.isArray(seals)) throw new Error('QBFT extraData: vote and seals are lists, round a scalar');
  return { vanity, validators: validators.map((v) => getAddress(v)), vote, round, seals };
}

const hexQuantity = (n: bigint | number) => `0x${n.toString(16)}`;

/**
 * The genesis file. Milestones: everything up to Cancun from block 0, because the contracts are
 * compiled for `cancun` (scripts/build-contracts.ts) and use PUSH0 (Shanghai) and MCOPY (Cancun).
 * Free gas (zeroBaseFee, and min-gas-price=0 on every node): validators are run by the accredited
 * organisations, who need no fee; the deployer gets a balance so that tools that insist on one work.
 */
export function qbftGenesis(plan: NetworkPlan): Record<string, unknown> {
  return {
    config: {
      chainId: plan.chainId,
      homesteadBlock: 0,
      eip150Block: 0,
      eip155Block: 0,
      eip158Block: 0,
      byzantiumBlock: 0,
      constantinopleBlock: 0,
      petersburgBlock: 0,
      istanbulBlock: 0,
      berlinBlock: 0,
      londonBlock: 0,
      shanghaiTime: 0,
      cancunTime: 0,
      zeroBaseFee: true,
      // EIP-170's 24 KiB, as on anvil, so what deploys in the tests deploys here.
      contractSizeLimit: 24_576,
      qbft: {
        blockperiodseconds: plan.blockPeriodSeconds,
        epochlength: 30_000,
        requesttimeoutseconds: plan.blockPeriodSeconds * 2,
      },
    },
    nonce: '0x0',
    timestamp: hexQuantity(plan.timestamp),
    gasLimit: hexQuantity(plan.gasLimit),
    difficulty: '0x1',
    mixHash: BFT_MIX_HASH,
    coinbase: '0x0000000000000000000000000000000000000000',
    baseFeePerGas: '0x0',
    alloc: {
      [plan.deployer.slice(2).toLowerCase()]: { balance: hexQuantity(10n ** 24n) },
    },
    extraData: encodeQbftExtraData(plan.validators.map((v) => v.address)),
  };
}

const tomlString = (s: string) => JSON.stringify(s);
const tomlArray = (items: readonly string[]) => (items.length ? `[\n${items.map((i) => `  ${tomlString(i)},`).join('\n')}\n]` : '[]');

/**
 * permissions_config.toml, the same file on every node: the nodes allowlist (every validator and
 * every provider's RPC node, so only accredited organisations' nodes peer) and the accounts allowlist
 * (who may send transactions: checked on submission, on propagation and by the validator building the block).
 */
export function permissionsToml(plan: NetworkPlan, header: string): string {
  const nodes = [...plan.validators, ...plan.rpcNodes].map(enodeUrl);
  const accounts = [...new Set([plan.deployer, plan.governor, ...plan.accounts].map((a) => getAddress(a)))];
  return `${header}# Local permissioning (Besu): the same file on every node.\n\nnodes-allowlist=${tomlArray(nodes)}\n\naccounts-allowlist=${tomlArray(accounts)}\n`;
}

/** One node's Besu configuration file (its CLI options, as TOML). */
export function nodeToml(node: BesuNode, plan: NetworkPlan, header: string): string {
  const bootnodes = plan.validators.filter((v) => v.name !== node.name).map(enodeUrl);
  const common = [
    `data-path=${tomlString(`${BESU_HOME}/data`)}`,
    `genesis-file=${tomlString(`${BESU_HOME}/genesis.json`)}`,
    `node-private-key-file=${tomlString(`${BESU_HOME}/key`)}`,
    `p2p-host=${tomlString(node.host)}`,
    `p2p-port=${node.p2pPort}`,
    `bootnodes=${tomlArray(bootnodes)}`,
    'sync-mode="FULL"',
    // Free gas: any node with a higher minimum silently drops zero-price transactions.
    'min-gas-price=0',
    // Receipts of failed transactions carry the contract's custom error, which the SDK decodes.
    'revert-reason-enabled=true',
    'permissions-nodes-config-file-enabled=true',
    `permissions-nodes-config-file=${tomlString(`${BESU_HOME}/permissions_config.toml`)}`,
    'permissions-accounts-config-file-enabled=true',
    `permissions-accounts-config-file=${tomlString(`${BESU_HOME}/permissions_config.toml`)}`,
    'metrics-enabled=true',
    'metrics-host="127.0.0.1"',
  ];
  const rpc =
    node.role === 'validator'
      ? [
          // A validator answers only its own operator, on loopback: QBFT votes on adding or removing validators.
          'rpc-http-enabled=true',
          'rpc-http-host="127.0.0.1"',
          `rpc-http-port=${RPC_PORT}`,
          `rpc-http-api=${tomlArray(['ETH', 'NET', 'QBFT'])}`,
          `host-allowlist=${tomlArray(['localhost', '127.0.0.1'])}`,
        ]
      : [
          // The provider's gatekeepers and EHR Manager (whose relay passes only eth_* reads and
          // eth_sendRawTransaction) reach the chain here; nothing administrative is exposed.
          'rpc-http-enabled=true',
          'rpc-http-host="0.0.0.0"',
          `rpc-http-port=${RPC_PORT}`,
          `rpc-http-api=${tomlArray(['ETH', 'NET', 'WEB3'])}`,
          `host-allowlist=${tomlArray(node.rpcClients ?? ['localhost'])}`,
          'rpc-http-max-active-connections=200',
          // Gatekeepers and clients read consent events with eth_getLogs from the contract's deploy
          // block (src/gatekeeper/chain/chain-view.ts, src/sdk/grants.ts). Besu refuses a range over
          // 5,000 blocks by default, under 3 hours of 2 s blocks; 0 lifts the limit.
          'rpc-max-logs-range=0',
          // eth_subscribe("newHeads") for the gatekeeper's chain view (Besu serves pub/sub over WebSocket only).
          'rpc-ws-enabled=true',
          'rpc-ws-host="0.0.0.0"',
          `rpc-ws-port=${RPC_WS_PORT}`,
          `rpc-ws-api=${tomlArray(['ETH', 'NET', 'WEB3'])}`,
        ];
  return `${header}# ${node.role === 'validator' ? 'QBFT validator' : 'RPC node'} "${node.name}", run by ${node.organisation}.\n\n${[...common, ...rpc].join('\n')}\n`;
}

/** Every public file of the network, by file name (no private keys). */
export function renderNetwork(plan: NetworkPlan, header = ''): Record<string, string> {
  const files: Record<string, string> = {
    'genesis.json': `${JSON.stringify(qbftGenesis(plan), null, 2)}\n`,
    'permissions_config.toml': permissionsToml(plan, header),
  };
  for (const node of [...plan.validators, ...plan.rpcNodes]) files[`config-${node.name}.toml`] = nodeToml(node, plan, header);
  return files;
}
