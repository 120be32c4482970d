// Response serializers built faster than Fastify's default. By default every route's response schema, for
// each status code, is compiled by fast-json-stringify together with every shared schema of the
// instance (about sixty here, each validated and indexed again for each of a few hundred compiles):
// seconds of CPU each time a server becomes ready, in every process and every test that builds one.
// Here each compile gets only the shared schemas its schema reaches through `$ref`, and a serializer
// is compiled once per process for a given schema and those shared schemas, whichever instance asks.
import { createHash } from 'node:crypto';
import fastJsonStringify from 'fast-json-stringify';

type Schema = Record<string, unknown>;
type Serializer = (data: unknown) => string;

/** Serializers compiled in this process, by a digest of everything that shapes them. */
const compiled = new Map<string, Serializer>();

/** The shared schema ids `schema` refers to (`"Payment#"`, `"Payment#/properties/amount"`), not local refs (`"#/..."`). */
function referencedIds(schema: unknown, found: Set<string>): void {
  if (Array.isArray(schema)) {
    for (const item of schema) referencedIds(item, found);
    return;
  }
  if (schema === null || typeof schema !== 'object') return;
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$ref' && typeof value === 'string') {
      const id = value.split('#')[0]!;
      if (id.length > 0) found.add(id);
    } else {
      referencedIds(value, found);
    }
  }
}

/** The shared schemas `schema` reaches, directly or through other shared schemas, keyed by `$id`. */
export function reachableSchemas(schema: Schema, shared: Record<string, Schema>): Record<string, Schema> {
  const reached: Record<string, Schema> = {};
  const pending = new Set<string>();
  referencedIds(schema, pending);
  for (const id of pending) {
    // A Set visits what is added while it is iterated; an unknown id fails the compile, as before.
    if (id in reached || !(id in shared)) continue;
    reached[id] = shared[id]!;
    referencedIds(shared[id], pending);
  }
  return reached;
}

/**
 * Fastify's `schemaController.compilersFactory.buildSerializer`: same serializers as the default
 * (`@fastify/fast-json-stringify-compiler`), built from the shared schemas each one needs, once per process.
 */
export function buildSerializerFactory(externalSchemas: unknown, serializerOptions: unknown) {
  const shared = (externalSchemas ?? {}) as Record<string, Schema>;
  const options = (serializerOptions ?? {}) as Record<string, unknown>;
  return (route: { schema?: unknown }): Serializer => {
    const schema = route.schema as Schema;
    const reached = reachableSchemas(schema, shared);
    // A schema with an $id of its own is not also given as a shared one (as the default compiler does).
    if (typeof schema.$id === 'string') delete reached[schema.$id];
    const key = createHash('sha256').update(JSON.stringify([schema, reached, options])).digest('base64');
    let serializer = compiled.get(key);
    if (!serializer) {
      const [stringifySchema, stringifyOptions] = [schema, { ...options, schema: reached }] as unknown as Parameters<typeof fastJsonStringify>;
      serializer = fastJsonStringify(stringifySchema, stringifyOptions) as Serializer;
      compiled.set(key, serializer);
    }
    return serializer;
  };
}
