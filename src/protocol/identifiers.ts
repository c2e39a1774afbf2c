/**
 * Identifier systems (https://hl7.org/fhir/R4/datatypes.html#Identifier) this project mints. A linked
 * Patient resource carries the patient's chain address under ADDRESS_SYSTEM, so a gatekeeper, the SDK,
 * the EHR Manager and the ML pipeline all find a patient's records by the same identifier.
 */
export const ADDRESS_SYSTEM = 'urn:medledger:address';
