import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { Response } from 'supertest';
import { parse } from 'yaml';
import { ROOT } from '../helpers/process.js';

/** The OpenAPI document under test. */
export const SPEC_FILE = path.join(ROOT, 'docs', 'openapi.yaml');

/** The HTTP methods an OpenAPI path item can hold. */
export const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

type Json = Record<string, unknown>;

/** The parts of an OpenAPI header object read here. */
export interface HeaderObject {
  readonly required?: boolean;
  readonly schema?: Json;
}
/** The parts of an OpenAPI response object read here. */
export interface ResponseObject {
  readonly description: string;
  readonly headers?: Record<string, HeaderObject | { $ref: string }>;
  readonly content?: Record<string, { schema?: Json }>;
}
/** The parts of an OpenAPI operation object read here. */
export interface OperationObject {
  readonly operationId?: string;
  readonly security?: Array<Record<string, string[]>>;
  readonly requestBody?: { required?: boolean; content: Record<string, { schema?: Json }> } | { $ref: string };
  readonly responses: Record<string, ResponseObject | { $ref: string }>;
}
/** The parts of an OpenAPI document read here. */
export interface OpenApiDocument {
  readonly openapi: string;
  readonly paths: Record<string, Partial<Record<(typeof METHODS)[number], OperationObject>>>;
  readonly components: { schemas: Record<string, Json> } & Json;
}

/** Reads and parses docs/openapi.yaml. */
export function loadSpec(): OpenApiDocument {
  return parse(readFileSync(SPEC_FILE, 'utf8')) as OpenApiDocument;
}

/** `"POST /auth/login"`: an operation, with the path as the spec writes it (`{id}` templates). */
export type OperationKey = `${Uppercase<(typeof METHODS)[number]>} /${string}`;

/** Every operation the spec documents, as `"METHOD /path"`. */
export function documentedOperations(spec: OpenApiDocument): OperationKey[] {
  return Object.entries(spec.paths).flatMap(([route, item]) =>
    METHODS.filter((m) => item[m] !== undefined).map((m) => `${m.toUpperCase()} ${route}` as OperationKey),
  );
}

/** Where the component schemas are registered with Ajv; `#/components/schemas/X` refs are rewritten to it. */
const COMPONENTS_ID = 'https://jwe-auth-server.test/openapi/components.json';

/** Rewrites `#/components/schemas/X` refs so that Ajv resolves them in the registered components. */
function rewriteRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteRefs);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => [
      key,
      key === '$ref' && typeof value === 'string' && value.startsWith('#/components/schemas/')
        ? `${COMPONENTS_ID}#/$defs/${value.slice('#/components/schemas/'.length)}`
        : rewriteRefs(value),
    ]),
  );
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Formats the spec uses (there is no ajv-formats here); `password` is an annotation only. */
function addFormats(ajv: Ajv2020): void {
  ajv.addFormat('uuid', UUID);
  ajv.addFormat('date-time', { validate: (value: string) => DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)) });
  ajv.addFormat('uri', { validate: (value: string) => URL.canParse(value) });
  ajv.addFormat('password', true);
}

/** One thing wrong with a response (or a request) against the spec; an empty list means it conforms. */
export type Problem = string;

const describeErrors = (errors: ErrorObject[] | null | undefined): string =>
  (errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('; ');

/**
 * The spec compiled for checking real responses: strict Ajv 2020-12 (an unknown keyword or a
 * dangling `$ref` in the YAML fails the compile), and a record of which documented responses the
 * tests have produced.
 */
export class SpecChecker {
  readonly spec: OpenApiDocument;
  readonly #ajv: Ajv2020;
  readonly #validators = new Map<string, ValidateFunction>();
  /** `"METHOD /path status"` of every conforming response seen. */
  readonly seen = new Set<string>();

  constructor(spec: OpenApiDocument = loadSpec()) {
    this.spec = spec;
    this.#ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, strictRequired: false });
    this.#ajv.addVocabulary(['example']);
    addFormats(this.#ajv);
    this.#ajv.addSchema({ $id: COMPONENTS_ID, $defs: rewriteRefs(spec.components.schemas) as Json });
  }

  /** Follows a local `$ref` (`#/components/...`) to the object it names. */
  resolve<T>(node: T | { $ref: string }): T {
    let current: unknown = node;
    for (let hops = 0; current !== null && typeof current === 'object' && '$ref' in current; hops++) {
      const ref = (current as { $ref: string }).$ref;
      if (!ref.startsWith('#/') || hops > 10) throw new Error(`unresolvable $ref ${ref}`);
      current = ref
        .slice(2)
        .split('/')
        .reduce<unknown>((at, part) => (at as Json | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')], this.spec);
      if (current === undefined) throw new Error(`dangling $ref ${ref}`);
    }
    return current as T;
  }

  /** The documented operation, or throws naming what is missing. */
  operation(key: OperationKey): OperationObject {
    const [method, route] = key.split(' ') as [string, string];
    const operation = this.spec.paths[route]?.[method.toLowerCase() as (typeof METHODS)[number]];
    if (!operation) throw new Error(`${key} is not documented in docs/openapi.yaml`);
    return operation;
  }

  /** Compiles (once) a schema from the spec, named by where it sits. */
  validator(where: string, schema: Json): ValidateFunction {
    let validate = this.#validators.get(where);
    if (!validate) {
      validate = this.#ajv.compile(rewriteRefs(schema) as Json);
      this.#validators.set(where, validate);
    }
    return validate;
  }

  /** Compiles every request, response and header schema of the spec (fails on any bad schema). */
  compileAll(): number {
    let count = 0;
    for (const key of documentedOperations(this.spec)) {
      const operation = this.operation(key);
      const body = operation.requestBody ? this.resolve(operation.requestBody) : undefined;
      for (const [type, media] of Object.entries(body?.content ?? {})) {
        if (media.schema) (this.validator(`${key} request ${type}`, media.schema), count++);
      }
      for (const [status, ref] of Object.entries(operation.responses)) {
        const response = this.resolve(ref);
        for (const [type, media] of Object.entries(response.content ?? {})) {
          if (media.schema) (this.validator(`${key} ${status} ${type}`, media.schema), count++);
        }
        for (const [name, header] of Object.entries(response.headers ?? {})) {
          const schema = this.resolve(header).schema;
          if (schema) (this.validator(`${key} ${status} header ${name}`, schema), count++);
        }
      }
    }
    return count;
  }

  /** What is wrong with a JSON request body against the operation's documented request body. */
  requestProblems(key: OperationKey, body: unknown): Problem[] {
    const operation = this.operation(key);
    if (!operation.requestBody) return [`${key} documents no request body`];
    const media = this.resolve(operation.requestBody).content['application/json'];
    if (!media?.schema) return [`${key} documents no application/json request schema`];
    const validate = this.validator(`${key} request application/json`, media.schema);
    return validate(body) ? [] : [`request body: ${describeErrors(validate.errors)}`];
  }

  /**
   * What is wrong with a real response against the spec: an undocumented status, a body that does
   * not validate (with Ajv's errors), a wrong media type, or a missing or malformed documented header.
   */
  responseProblems(key: OperationKey, res: Response): Problem[] {
    const operation = this.operation(key);
    const status = String(res.status);
    const documented = operation.responses[status];
    if (!documented) {
      return [`${status} is not documented for ${key} (documented: ${Object.keys(operation.responses).join(', ')}); body: ${res.text}`];
    }
    const response = this.resolve(documented);
    const problems: Problem[] = [];

    const contentTypes = Object.keys(response.content ?? {});
    if (contentTypes.length === 0) {
      if (res.text) problems.push(`${status} documents no body, got: ${res.text}`);
    } else {
      const actualType = String(res.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
      const media = response.content?.[actualType];
      if (!media) {
        problems.push(`${status} content-type ${actualType || '(none)'} is not one of ${contentTypes.join(', ')}`);
      } else if (media.schema) {
        const validate = this.validator(`${key} ${status} ${actualType}`, media.schema);
        if (!validate(res.body)) problems.push(`${status} body ${JSON.stringify(res.body)}: ${describeErrors(validate.errors)}`);
      }
    }

    for (const [name, ref] of Object.entries(response.headers ?? {})) {
      const header = this.resolve(ref);
      const raw = res.headers[name.toLowerCase()] as string | string[] | undefined;
      const values = raw === undefined ? [] : ([] as string[]).concat(raw);
      if (values.length === 0) {
        if (header.required) problems.push(`${status} header ${name}: required but missing`);
        continue;
      }
      if (!header.schema) continue;
      const validate = this.validator(`${key} ${status} header ${name}`, header.schema);
      for (const value of values) {
        if (!validate(value)) problems.push(`${status} header ${name}: ${JSON.stringify(value)} ${describeErrors(validate.errors)}`);
      }
    }

    if (problems.length === 0) this.seen.add(`${key} ${status}`);
    return problems;
  }

  /** Every documented `"METHOD /path status"` of the given operations (all by default) no conforming response was seen for. */
  unseen(operations: readonly OperationKey[] = documentedOperations(this.spec)): string[] {
    return operations.flatMap((key) =>
      Object.keys(this.operation(key).responses)
        .map((status) => `${key} ${status}`)
        .filter((entry) => !this.seen.has(entry)),
    );
  }
}
