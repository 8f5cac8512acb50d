/**
 * jwe-auth-server: an Express authentication server issuing nested access tokens (a JWS signed by
 * the server, encrypted as a JWE to the client's own key) and accepting them back sealed to the
 * server's key.
 *
 * @packageDocumentation
 */
export { loadConfig, checkPassphrase, ConfigError, type Config } from './config/index.js';
export { buildRuntime, createLogger, type Runtime } from './boot.js';
export { createApp, type AppDependencies, type AppOptions } from './http/app.js';
export { errorHandler, notFound } from './http/error-handler.js';
export { requireAuth, principalOf } from './http/require-auth.js';
export { ERRORS, HttpError, StoreUnavailableError, TokenRejectedError, type ErrorCode } from './errors.js';
export { KeyManager, KeyLoadError, generateKeyFiles, rotateKeyFiles, type ServerKey } from './keys/index.js';
export { SessionService, type Principal, type TokenGrant } from './sessions/service.js';
export * from './store/index.js';
export * from './tokens/index.js';
export { UserRepository, UserError, type User } from './users/repository.js';
export { hashPassword, verifyPassword, ARGON2_OPTIONS } from './users/password.js';
export { openDatabase } from './db/sqlite.js';
export * from './client/index.js';
export { FileKeyStore } from './client/node.js';
