/** How a gatekeeper paces bulk exports and cuts them into files (exporter.ts). */
export interface BulkOptions {
  /** Patients whose resources of one type are read in one query (default 50): bounds what is held in memory. */
  patientsPerQuery?: number;
  /** Where the NDJSON files are kept (files.ts); a fresh temporary directory by default. */
  directory?: string;
  /** Resources per NDJSON file at most (default 50,000). */
  fileLines?: number;
  /** Awaited before each page: lets the operator throttle exports, and a test hold one mid-way. */
  pace?: (jobId: string) => Promise<void>;
}
