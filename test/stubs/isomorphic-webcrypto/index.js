// fhirclient (lib/security/browser.js) falls back to require("isomorphic-webcrypto").default only when
// globalThis.crypto is missing; Node 20 and every browser have it. See package.json.
module.exports = { default: globalThis.crypto };
