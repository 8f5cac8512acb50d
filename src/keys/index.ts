export { KeyManager } from './manager.js';
export { KeyLoadError } from './pem.js';
export { generateKeyFiles, rotateKeyFiles, keyFile } from './key-files.js';
export type { ServerKey } from './server-key.js';
export { CONTENT_ENCRYPTION, ENCRYPTION_SPECS, SIGNING_SPECS } from './algorithms.js';
