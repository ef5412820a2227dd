// The install scripts as text: shellcheck on every shell script of the repository, and every PowerShell
// script parsed with a PowerShell grammar (tree-sitter-powershell's WebAssembly build, run by web-tree-sitter:
// pwsh itself is neither in Debian nor on npm). A parse catches syntax errors only; the Windows scripts have
// not run on Windows (README: platform status).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { Language, Parser, type Node } from "web-tree-sitter";

const root = process.cwd();
const SKIP = new Set(["node_modules", "dist", ".git", "test-artifacts"]);

function files(dir: string, match: (name: string) => boolean): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return SKIP.has(entry.name) ? [] : files(path, match);
    return match(entry.name) ? [path] : [];
  });
}

test("shellcheck passes every shell script", () => {
  const scripts = [...files(root, (name) => name.endsWith(".sh")), join(root, ".ci/run")];
  assert.ok(scripts.some((s) => s.endsWith("deploy/install/agent.sh")));
  const result = spawnSync("shellcheck", scripts, { encoding: "utf8" });
  assert.equal(result.error, undefined, "shellcheck is not installed (apt-get install shellcheck)");
  assert.equal(result.status, 0, result.stdout + result.stderr);
});

/** Every ERROR or MISSING node of a parse, as "line:column text". */
function syntaxErrors(node: Node, out: string[] = []): string[] {
  if (node.type === "ERROR" || node.isMissing) {
    out.push(`${node.startPosition.row + 1}:${node.startPosition.column + 1} ${node.text.slice(0, 60)}`);
    return out;
  }
  for (const child of node.children) if (child !== null) syntaxErrors(child, out);
  return out;
}

test("every PowerShell script parses", async () => {
  await Parser.init();
  const require = createRequire(import.meta.url);
  const grammar = join(
    dirname(require.resolve("tree-sitter-powershell/package.json")),
    "tree-sitter-powershell.wasm",
  );
  const parser = new Parser();
  parser.setLanguage(await Language.load(grammar));
  const parse = (text: string) => {
    const tree = parser.parse(text);
    assert.ok(tree !== null);
    return syntaxErrors(tree.rootNode);
  };
  // The check itself catches a broken script.
  assert.notDeepEqual(parse("if ($a { Write-Host 'x'\n"), []);

  const scripts = files(root, (name) => name.endsWith(".ps1"));
  assert.ok(scripts.length >= 3, scripts.join(" "));
  for (const script of scripts) {
    assert.deepEqual(parse(readFileSync(script, "utf8")), [], relative(root, script));
  }
});
