/**
 * The Ethereum client's local database: the user's events as the chain delivered them (the source
 * of truth), the state derived from them, the notifications they raised, and a checkpoint with the
 * hashes of recent blocks (to notice when the chain rolled back).
 */
export const CLIENT_SCHEMA = `
CREATE TABLE IF NOT EXISTS client_checkpoint (
  id int PRIMARY KEY CHECK (id = 1),
  block_number bigint NOT NULL,
  block_hash text NOT NULL
);
CREATE TABLE IF NOT EXISTS client_blocks (
  block_number bigint PRIMARY KEY,
  block_hash text NOT NULL
);
CREATE TABLE IF NOT EXISTS client_events (
  block_number bigint NOT NULL,
  log_index int NOT NULL,
  tx_hash text NOT NULL,
  name text NOT NULL,
  args jsonb NOT NULL,
  PRIMARY KEY (block_number, log_index)
);
CREATE TABLE IF NOT EXISTS client_relationships (
  id text PRIMARY KEY,
  patient text NOT NULL,
  provider text NOT NULL,
  status text NOT NULL,
  block_number bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS client_pointers (
  relationship_id text NOT NULL,
  query_hash text NOT NULL,
  query text,
  data_hash text NOT NULL,
  PRIMARY KEY (relationship_id, query_hash)
);
CREATE TABLE IF NOT EXISTS client_grants (
  relationship_id text NOT NULL,
  viewer text NOT NULL,
  scope_hash text NOT NULL,
  scope text NOT NULL,
  expires_at bigint NOT NULL,
  PRIMARY KEY (relationship_id, viewer, scope_hash)
);
CREATE TABLE IF NOT EXISTS client_notifications (
  seq bigserial PRIMARY KEY,
  block_number bigint NOT NULL,
  kind text NOT NULL,
  relationship_id text,
  payload jsonb NOT NULL
);
`;

/** Tables derived from client_events; a rebuild empties and replays them. */
export const DERIVED_TABLES = ['client_relationships', 'client_pointers', 'client_grants'] as const;
