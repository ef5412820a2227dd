// The coordinator's running parts and their order. Every part is built first (main.ts), complete, and only
// then started, in dependency order; a shutdown stops them in the reverse order, so each part stops before
// the parts it uses: the HTTP listener before everything, the scheduler before the agent link it assigns
// through, and the job logs last, before Redis is closed.

/** A part that runs between start() and stop(). */
export interface Service {
  start(): void | Promise<void>;
  /** Resolves once the part's work in progress is over (a sample written, a pass ended, a flush done). */
  stop(): void | Promise<void>;
}

export class Lifecycle {
  private readonly started: { name: string; service: Service }[] = [];

  constructor(private readonly log: (line: string) => void) {}

  /** Starts the parts in order. One that fails to start stops those already started, and the error goes on. */
  async start(parts: readonly (readonly [name: string, service: Service])[]): Promise<void> {
    for (const [name, service] of parts) {
      try {
        await service.start();
      } catch (err) {
        await this.stop();
        throw new Error(`${name}: ${(err as Error).message}`, { cause: err });
      }
      this.started.push({ name, service });
    }
  }

  /** Stops the started parts, the last started first. One that fails to stop is logged; the rest still stop. */
  async stop(): Promise<void> {
    for (let part = this.started.pop(); part !== undefined; part = this.started.pop()) {
      try {
        await part.service.stop();
      } catch (err) {
        this.log(`${part.name}: stopping failed: ${(err as Error).message}`);
      }
    }
  }
}
