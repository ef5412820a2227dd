// Runs Python 3 code as a real HQueue client would (xmlrpc.client). The script gets the server URL in
// `HQSERVER` and prints one JSON document, which is returned parsed.

import { execFile, execFileSync } from "node:child_process";

let interpreter: string | undefined;

/**
 * The python3 the PATH names, as the interpreter's own path: a version manager's shim (pyenv) costs several
 * times the interpreter's own start-up on each call, and the tests start Python hundreds of times.
 */
function python3(): string {
  interpreter ??= execFileSync("python3", ["-c", "import sys; print(sys.executable)"], {
    encoding: "utf8",
  }).trim();
  return interpreter;
}

export interface PythonResult<T> {
  value: T;
  stderr: string;
}

export function python<T = unknown>(
  code: string,
  env: Record<string, string> = {},
  timeoutMs = 120_000,
  /** Run through this command prefix (e.g. on a host of test/support/netns.ts). */
  wrap: (command: string[]) => string[] = (command) => command,
): Promise<T> {
  const [file, ...args] = wrap([python3(), "-c", code]);
  return new Promise((resolve, reject) => {
    execFile(
      file as string,
      args,
      { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 512 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`python failed: ${err.message}\n${stderr}`));
          return;
        }
        try {
          resolve(JSON.parse(stdout) as T);
        } catch {
          reject(new Error(`python printed no JSON:\n${stdout}\n${stderr}`));
        }
      },
    );
  });
}

/**
 * A Python prelude that connects `hq` to HQSERVER (allow_none as Houdini sets it) and defines `out(x)`
 * to print JSON, turning xmlrpc DateTime values and Faults into JSON-friendly forms.
 */
export const PRELUDE = `
import json, os, sys, xmlrpc.client
hq = xmlrpc.client.ServerProxy(os.environ["HQSERVER"], allow_none=True)
hq_strict = xmlrpc.client.ServerProxy(os.environ["HQSERVER"])
def _default(o):
    if isinstance(o, xmlrpc.client.DateTime):
        return {"dateTime": o.value}
    if isinstance(o, xmlrpc.client.Binary):
        return {"base64": o.data.decode("latin-1")}
    raise TypeError(repr(o))
def out(x):
    print(json.dumps(x, default=_default))
def fault(fn, *a):
    try:
        fn(*a)
        return None
    except xmlrpc.client.Fault as f:
        return {"faultCode": f.faultCode, "faultString": f.faultString}
`;
