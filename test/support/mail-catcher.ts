// A real SMTP server for tests (the smtp-server package) on a loopback port: it accepts every mail without TLS
// or login and keeps each one's envelope and raw text.

import { SMTPServer } from "smtp-server";

export interface CaughtMail {
  from: string;
  to: string[];
  /** The message as received: headers, a blank line, the body. */
  raw: string;
  /** Header name (lower case) -> value, unfolded, of the first occurrence. */
  headers: Map<string, string>;
  body: string;
}

export interface MailCatcher {
  port: number;
  mails: CaughtMail[];
  close(): Promise<void>;
}

export async function startMailCatcher(): Promise<MailCatcher> {
  const mails: CaughtMail[] = [];
  const server = new SMTPServer({
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const cut = raw.indexOf("\r\n\r\n");
        const head = raw.slice(0, cut).replace(/\r\n[ \t]+/g, " ");
        const headers = new Map<string, string>();
        for (const line of head.split("\r\n")) {
          const colon = line.indexOf(":");
          const name = line.slice(0, colon).toLowerCase();
          if (colon > 0 && !headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
        }
        const mailFrom = session.envelope.mailFrom;
        mails.push({
          from: mailFrom === false ? "" : mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          headers,
          body: raw
            .slice(cut + 4)
            .replace(/=\r\n/g, "")
            .replace(/\r\n/g, "\n"),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return { port, mails, close: () => new Promise<void>((r) => server.close(() => r())) };
}
