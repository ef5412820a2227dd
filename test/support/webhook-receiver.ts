// A real HTTP server receiving webhooks for tests: it checks each delivery's X-OpenHQ-Signature against the
// secret, keeps what arrived, and can be taken down (connections refused) and brought back on the same port,
// or made to hold requests without answering (a receiver that hangs).

import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

export interface Delivery {
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
  /** The signature matched the secret. */
  signed: boolean;
  /** The receiver answered 200 (not held, not dropped). */
  answered: boolean;
}

export interface WebhookReceiver {
  port: number;
  deliveries: Delivery[];
  /** Paths whose requests are held unanswered until release() (or the sender goes away). */
  hold: Set<string>;
  release(): void;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export function validSignature(secret: string, body: string, header: string | undefined): boolean {
  const expected = Buffer.from(`sha256=${createHmac("sha256", secret).update(body).digest("hex")}`);
  const given = Buffer.from(header ?? "");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const deliveries: Delivery[] = [];
  const held: { res: ServerResponse; delivery: Delivery }[] = [];
  const hold = new Set<string>();
  let port = 0;
  let server: Server;

  const listen = async (): Promise<void> => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const signed = validSignature(secret, body, req.headers["x-openhq-signature"] as string | undefined);
        const delivery: Delivery = {
          path: req.url ?? "",
          headers: req.headers,
          body,
          signed,
          answered: false,
        };
        deliveries.push(delivery);
        if (hold.has(delivery.path)) {
          held.push({ res, delivery });
          return;
        }
        delivery.answered = true;
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    const address = server.address();
    port = typeof address === "object" && address !== null ? address.port : 0;
  };
  await listen();

  const down = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return {
    get port() {
      return port;
    },
    deliveries,
    hold,
    release() {
      hold.clear();
      for (const { res, delivery } of held.splice(0)) {
        delivery.answered = true;
        res.writeHead(200).end("ok");
      }
    },
    down,
    up: listen,
    close: down,
  };
}
