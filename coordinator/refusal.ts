// The store's and services' refusals: a call that changed nothing because its object is missing, its
// state forbids it, or an argument is wrong. They say what went wrong in domain terms; only api/ turns
// them into XML-RPC Faults (api/faults.ts), and the agent link decides retry or drop on their kind.

/** Why a call was refused. `internal`: an operation stopped part-way on an unexpected error. */
export type RefusalKind = "notFound" | "conflict" | "badArgument" | "internal";

export class Refusal extends Error {
  constructor(
    readonly kind: RefusalKind,
    message: string,
  ) {
    super(message);
    this.name = "Refusal";
  }
}

/** A job, client, group, note or resource that does not exist. */
export class NotFound extends Refusal {
  constructor(message: string) {
    super("notFound", message);
    this.name = "NotFound";
  }
}

/** A valid call that the object's current state forbids (delete a running job, a name that is taken). */
export class Conflict extends Refusal {
  constructor(message: string) {
    super("conflict", message);
    this.name = "Conflict";
  }
}

/** A value out of range or of the wrong kind. */
export class BadArgument extends Refusal {
  constructor(message: string) {
    super("badArgument", message);
    this.name = "BadArgument";
  }
}

/** `err`'s kind when it is a refusal, else `internal` (for wrapping it in a part-way refusal). */
export function refusalKind(err: unknown): RefusalKind {
  return err instanceof Refusal ? err.kind : "internal";
}

/** The refusal of `kind`, as its own class (so `instanceof NotFound` holds for a script's NOTFOUND). */
export function refusal(kind: RefusalKind, message: string): Refusal {
  switch (kind) {
    case "notFound":
      return new NotFound(message);
    case "conflict":
      return new Conflict(message);
    case "badArgument":
      return new BadArgument(message);
    case "internal":
      return new Refusal(kind, message);
  }
}
