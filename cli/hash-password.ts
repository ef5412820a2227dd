// `openhq hash-password`: prints the salted hash of a password for openhq.auth.users / usersFile. The
// password never goes on the command line (shell history, `ps`): it is read from a terminal without echo,
// or from standard input (`printf %s "$pw" | openhq hash-password`, one trailing newline dropped).

import { createInterface } from "node:readline";
import { hashPassword } from "../shared/password-hash.js";
import { CliError, Exit } from "./exit-codes.js";

/** Longest password read: a password is no document, and a runaway pipe must not fill the memory. */
const MAX_PASSWORD_BYTES = 4096;

async function fromPipe(input: NodeJS.ReadableStream): Promise<string> {
  const parts: Buffer[] = [];
  let length = 0;
  for await (const chunk of input) {
    const piece = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    length += piece.length;
    if (length > MAX_PASSWORD_BYTES)
      throw new CliError(
        `hash-password: more than ${MAX_PASSWORD_BYTES} bytes on standard input`,
        Exit.usage,
      );
    parts.push(piece);
  }
  return Buffer.concat(parts)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

function fromTerminal(prompt: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    // Echo nothing of what is typed: readline writes through _writeToOutput.
    const muted = rl as unknown as { _writeToOutput(text: string): void };
    process.stderr.write(prompt);
    muted._writeToOutput = () => {};
    rl.question("", (answer) => {
      rl.close();
      process.stderr.write("\n");
      resolve(answer);
    });
  });
}

export async function hashPasswordCommand(out: NodeJS.WritableStream): Promise<number> {
  let password: string;
  if (process.stdin.isTTY) {
    password = await fromTerminal("password: ");
    if ((await fromTerminal("again: ")) !== password)
      throw new CliError("hash-password: the passwords differ", Exit.usage);
  } else password = await fromPipe(process.stdin);
  if (password === "") throw new CliError("hash-password: empty password", Exit.usage);
  out.write(`${await hashPassword(password)}\n`);
  return Exit.ok;
}
