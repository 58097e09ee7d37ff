// The JSON Schema a param publishes (in rpc.discover and docs/rpc.json) is the gate its values pass
// first: a value outside the schema is refused before any parser sees it, so the documentation can
// never promise less than the node enforces, nor the node accept what the documentation rules out.
import { Ajv, type ValidateFunction } from 'ajv';

export type JsonSchema = Record<string, unknown>;

const ajv = new Ajv({ strict: true, allErrors: false, validateFormats: false });
const compiled = new WeakMap<JsonSchema, ValidateFunction>();

/** The validator of `schema` (compiled once per schema object). Throws on a schema Ajv rejects. */
export function schemaValidator(schema: JsonSchema): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  return validate;
}

/** Why `value` falls outside `schema` (null: it fits). */
export function schemaViolation(schema: JsonSchema, value: unknown): string | null {
  const validate = schemaValidator(schema);
  if (validate(value)) return null;
  const first = validate.errors?.[0];
  return first ? `${first.instancePath || 'value'} ${first.message ?? 'does not match the schema'}` : 'does not match the schema';
}
