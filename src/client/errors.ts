// What the client library refuses or cannot do, with a reason a person can act on (the CLI prints
// the message as it is).
import { BcrError } from '../primitives/errors.js';

export class ClientError extends BcrError<'CLIENT'> {
  constructor(message: string) {
    super('CLIENT', message);
  }
}
