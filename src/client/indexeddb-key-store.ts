import { isClientKeyKind, type ClientKeyPair, type KeyStore } from './keys.js';

/**
 * Where the key pair is kept inside IndexedDB.
 *
 * @example new IndexedDbKeyStore({ recordName: `key-${accountId}` });
 */
export interface IndexedDbKeyStoreOptions {
  /** Database name (default `jwe-auth-client`). */
  readonly databaseName?: string;
  /** Record name inside the database (default `client-key`); one per account if you keep several. */
  readonly recordName?: string;
}

const OBJECT_STORE = 'keys';

/**
 * A browser {@link KeyStore} keeping the `CryptoKey` objects themselves in IndexedDB (structured
 * clone), so the private keys (the client key and the DPoP proof key) are generated non-extractable
 * and their bytes are never readable by script, not even by this page. It survives reloads of the
 * origin.
 *
 * @example
 * const client = new AuthClient({ baseUrl: location.origin, keyStore: new IndexedDbKeyStore() });
 */
export class IndexedDbKeyStore implements KeyStore {
  readonly needsExtractableKeys = false;
  readonly #databaseName: string;
  readonly #recordName: string;

  constructor(options: IndexedDbKeyStoreOptions = {}) {
    this.#databaseName = options.databaseName ?? 'jwe-auth-client';
    this.#recordName = options.recordName ?? 'client-key';
  }

  async load(): Promise<ClientKeyPair | null> {
    const record = await this.#run<unknown>('readonly', (store) => store.get(this.#recordName));
    return isStoredPair(record) ? record : null;
  }

  async save(pair: ClientKeyPair): Promise<void> {
    const record: ClientKeyPair = { kind: pair.kind, privateKey: pair.privateKey, publicJwk: pair.publicJwk, kid: pair.kid, ...(pair.proofKey ? { proofKey: pair.proofKey } : {}) };
    await this.#run('readwrite', (store) => store.put(record, this.#recordName));
  }

  async clear(): Promise<void> {
    await this.#run('readwrite', (store) => store.delete(this.#recordName));
  }

  async #run<T>(mode: IDBTransactionMode, operation: (store: IDBObjectStore) => IDBRequest): Promise<T> {
    const database = await this.#open();
    try {
      return await new Promise<T>((resolve, reject) => {
        const transaction = database.transaction(OBJECT_STORE, mode);
        const request = operation(transaction.objectStore(OBJECT_STORE));
        transaction.oncomplete = () => resolve(request.result as T);
        transaction.onerror = () => reject(transaction.error ?? request.error);
        transaction.onabort = () => reject(transaction.error ?? new Error('IndexedDB transaction aborted'));
      });
    } finally {
      database.close();
    }
  }

  #open(): Promise<IDBDatabase> {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(this.#databaseName, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(OBJECT_STORE);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
      request.onblocked = () => reject(new Error('IndexedDB is blocked by another tab holding an older version'));
    });
  }
}

function isStoredPair(record: unknown): record is ClientKeyPair {
  if (typeof record !== 'object' || record === null) return false;
  const pair = record as Partial<ClientKeyPair>;
  return (
    isClientKeyKind(pair.kind) &&
    typeof pair.kid === 'string' &&
    typeof pair.publicJwk === 'object' &&
    typeof CryptoKey !== 'undefined' &&
    pair.privateKey instanceof CryptoKey &&
    (pair.proofKey === undefined || (pair.proofKey.privateKey instanceof CryptoKey && typeof pair.proofKey.jkt === 'string'))
  );
}
