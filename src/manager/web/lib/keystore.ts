/**
 * Decrypting a v3 keystore in the browser: the project's one decoder (src/protocol/keystore.ts),
 * pure JavaScript, so the password and the key never leave the page.
 */
export { decryptKeystore, type KeystoreV3 } from '../../../protocol/keystore.js';
