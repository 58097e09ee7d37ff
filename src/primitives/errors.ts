// Typed errors: callers and tests branch on `code`, never on message text.

export type ErrorMeta = Record<string, string | number | bigint | boolean | null | undefined>;

export class BcrError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly meta: ErrorMeta;

  constructor(code: Code, message: string, meta: ErrorMeta = {}) {
    super(message);
    this.name = 'BcrError';
    this.code = code;
    this.meta = meta;
  }
}

export function isBcrError(error: unknown, code?: string): error is BcrError {
  return error instanceof BcrError && (code === undefined || error.code === code);
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
