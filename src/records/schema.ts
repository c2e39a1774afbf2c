/**
 * The provider store's tables (PostgreSQL 15 dialect; PGlite runs the same text).
 *
 * `resources` holds the current version of every resource with its search columns extracted, so a
 * FHIR search — and the consent filter ANDed into it — is one indexed SQL query. `resource_history`
 * keeps every version (FHIR `_history`). Token columns hold both `system|code` and bare `code`, so
 * `code=123` and `code=http://loinc.org|123` are both one array-contains test. A Patient's
 * `identifiers` include `urn:medledger:address|0x…` (lower-case), which links it to its chain address.
 */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS resources (
  resource_type text NOT NULL,
  id text NOT NULL,
  version_id integer NOT NULL,
  last_updated timestamptz NOT NULL,
  content jsonb NOT NULL,
  patient_id text,
  codes text[] NOT NULL DEFAULT '{}',
  categories text[] NOT NULL DEFAULT '{}',
  security text[] NOT NULL DEFAULT '{}',
  identifiers text[] NOT NULL DEFAULT '{}',
  status text,
  date_start timestamptz,
  date_end timestamptz,
  PRIMARY KEY (resource_type, id)
);
CREATE INDEX IF NOT EXISTS resources_patient ON resources (resource_type, patient_id, last_updated);
CREATE INDEX IF NOT EXISTS resources_date ON resources (resource_type, date_start);
CREATE INDEX IF NOT EXISTS resources_updated ON resources (resource_type, last_updated);
CREATE INDEX IF NOT EXISTS resources_codes ON resources USING gin (codes);
CREATE INDEX IF NOT EXISTS resources_categories ON resources USING gin (categories);
CREATE INDEX IF NOT EXISTS resources_security ON resources USING gin (security);
CREATE INDEX IF NOT EXISTS resources_identifiers ON resources USING gin (identifiers);

CREATE TABLE IF NOT EXISTS resource_history (
  resource_type text NOT NULL,
  id text NOT NULL,
  version_id integer NOT NULL,
  last_updated timestamptz NOT NULL,
  deleted boolean NOT NULL DEFAULT false,
  content jsonb,
  PRIMARY KEY (resource_type, id, version_id)
);
`;
