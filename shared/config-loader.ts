// One configuration loader for every program (coordinator, agent, CLI). Each program writes one table: per
// option its flag, environment variables, ini keys, kind and doc line. The loader reads the flags, then
// answers each option from the highest source present: flags > environment > ini file > default. Empty
// environment variables and empty ini values count as absent; an empty flag (`--name=`) counts. Every bad
// value is a ConfigError naming the option and where the value came from.

import { readFileSync } from "node:fs";

export class ConfigError extends Error {
  constructor(
    message: string,
    /** The option at fault; null for a bad command line as a whole. */
    readonly option: string | null = null,
    /** "--port", "OPENHQ_PORT", "hqserver.ini port", … */
    readonly where: string | null = null,
  ) {
    super(message);
  }
}

/** How an option's text becomes a value. `parse` throws KindError with what was expected. */
export interface Kind<T> {
  parse(text: string): T;
  /** Flags of this kind take no value (`--json`). */
  readonly bare?: boolean;
}

/** Thrown by a kind: `expected` completes "… must be "; `hint` follows the value given. */
export class KindError extends Error {
  constructor(
    readonly expected: string,
    readonly hint = "",
  ) {
    super(expected);
  }
}

export const kinds = {
  string: { parse: (text: string) => text } as Kind<string>,
  /** Trimmed; blank is absent (null). */
  trimmed: { parse: (text: string) => (text.trim() === "" ? null : text.trim()) } as Kind<string | null>,
  int(min: number, max = Number.MAX_SAFE_INTEGER): Kind<number> {
    const expected =
      max !== Number.MAX_SAFE_INTEGER
        ? `an integer between ${min} and ${max}`
        : min === 1
          ? "a positive integer"
          : min <= -Number.MAX_SAFE_INTEGER
            ? "an integer"
            : `an integer >= ${min}`;
    return {
      parse(text) {
        const n = Number(text.trim());
        if (!Number.isInteger(n) || n < min || n > max) throw new KindError(expected);
        return n;
      },
    };
  },
  number(min: number, max = Infinity): Kind<number> {
    const expected = max === Infinity ? `a number >= ${min}` : `a number between ${min} and ${max}`;
    return {
      parse(text) {
        const n = Number(text.trim());
        if (!Number.isFinite(n) || n < min || n > max) throw new KindError(expected);
        return n;
      },
    };
  },
  /** A flag without a value; from the environment or an ini file: true/false, yes/no, on/off, 1/0. */
  bool: {
    bare: true,
    parse(text: string) {
      const t = text.trim().toLowerCase();
      if (["1", "true", "yes", "on"].includes(t)) return true;
      if (["0", "false", "no", "off"].includes(t)) return false;
      throw new KindError("true or false");
    },
  } as Kind<boolean>,
  /** The named file's contents. */
  file: {
    parse(path: string) {
      try {
        return readFileSync(path);
      } catch (err) {
        throw new KindError(`a readable file (${(err as Error).message})`);
      }
    },
  } as Kind<Buffer>,
  custom<T>(parse: (text: string) => T): Kind<T> {
    return { parse };
  },
};

export interface OptionSpec<T = unknown> {
  /** Long flag without dashes ("server-port"); none = not settable from the command line. */
  flag?: string;
  /** Earlier names of the flag, still accepted (not shown in the usage text). */
  oldFlags?: readonly string[];
  /** One-letter alias ("h" for -h). */
  short?: string;
  /** Name of the flag's value in the usage text ("N", "URL"). */
  arg?: string;
  /** Environment variables, the first present wins. */
  env?: readonly string[];
  /** Keys looked up in the program's ini lookup, the first present wins. */
  ini?: readonly string[];
  kind: Kind<T>;
  /** Repeatable flag: get() answers every occurrence on the command line, else the env/ini/default value. */
  multiple?: boolean;
  default?: T;
  /** What it is; a flag's doc is its line in the usage text (none = documented elsewhere). */
  doc?: string;
}

export type OptionTable = Record<string, OptionSpec>;

type ValueOf<S> = S extends OptionSpec<infer T> ? T : never;
/** What get() answers: the default's type when there is one, else possibly undefined. */
export type Value<S> = S extends { multiple: true }
  ? ValueOf<S>[]
  : S extends { default: unknown }
    ? ValueOf<S>
    : ValueOf<S> | undefined;

/** One value given for an option, with where it came from. `order` sorts lowest precedence first. */
export interface Given {
  text: string;
  where: string;
  order: number;
}

const FLAG_RANK = 3_000_000;
const ENV_RANK = 2_000_000;
const INI_RANK = 1_000_000;

export interface LoadInput {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  /** Arguments that are not flags are kept in `positionals` instead of refused. */
  positionals?: boolean;
  /** Appended to command-line errors (unknown flag, missing value). */
  usage?: string;
}

/** A program's options, read from its table: flags at once, the ini file once the program has found it. */
export class Options<T extends OptionTable> {
  readonly positionals: string[] = [];
  private readonly flags = new Map<keyof T, Given[]>();
  private ini: Record<string, string> = {};
  private iniLabel = "";

  constructor(
    readonly table: T,
    private readonly input: LoadInput,
  ) {
    this.readFlags();
  }

  /** The ini lookup (keys as the table spells them) and how errors name the file. */
  useIni(values: Record<string, string>, label: string): void {
    this.ini = values;
    this.iniLabel = label;
  }

  /** Every value given for `name` in any source, lowest precedence first (flags in command-line order). */
  given(name: keyof T): Given[] {
    const spec = this.table[name] as OptionSpec;
    const out: Given[] = [];
    (spec.ini ?? []).forEach((key, i) => {
      const text = this.ini[key];
      if (text !== undefined && text !== "")
        out.push({ text, where: `${this.iniLabel} ${key}`, order: INI_RANK - i });
    });
    (spec.env ?? []).forEach((variable, i) => {
      const text = this.input.env[variable];
      if (text !== undefined && text !== "") out.push({ text, where: variable, order: ENV_RANK - i });
    });
    out.push(...(this.flags.get(name) ?? []));
    return out.sort((a, b) => a.order - b.order);
  }

  /** The winning value's text and source, or undefined when no source gives one. */
  winner(name: keyof T): Given | undefined {
    return this.given(name).at(-1);
  }

  /** The option's value: converted from the winning source, else its default. */
  get<K extends keyof T>(name: K): Value<T[K]> {
    const spec = this.table[name] as OptionSpec;
    if (spec.multiple) {
      const flags = (this.flags.get(name) ?? []).map((g) => this.convert(name, g));
      if (flags.length > 0) return flags as Value<T[K]>;
      const other = this.winner(name);
      return (other === undefined ? (spec.default ?? []) : [this.convert(name, other)]) as Value<T[K]>;
    }
    const top = this.winner(name);
    return (top === undefined ? spec.default : this.convert(name, top)) as Value<T[K]>;
  }

  /** Converts one given value of `name`; a bad one is a ConfigError naming the option and its source. */
  convert<K extends keyof T>(name: K, given: Given): ValueOf<T[K]> {
    const spec = this.table[name] as OptionSpec;
    try {
      return spec.kind.parse(given.text) as ValueOf<T[K]>;
    } catch (err) {
      if (!(err instanceof KindError)) throw err;
      throw new ConfigError(
        `${String(name)}: ${given.where} must be ${err.expected}, got ${JSON.stringify(given.text)}${err.hint}`,
        String(name),
        given.where,
      );
    }
  }

  /** Usage lines for the flags with a doc: "  --port N        listening port …". */
  static usage(table: OptionTable, width: number): string {
    const lines: string[] = [];
    for (const spec of Object.values(table)) {
      if (spec.doc === undefined || (spec.flag === undefined && spec.short === undefined)) continue;
      const names = [spec.short && `-${spec.short}`, spec.flag && `--${spec.flag}`]
        .filter(Boolean)
        .join(", ");
      const left = `  ${names}${spec.arg ? ` ${spec.arg}` : ""}`;
      lines.push(`${left.padEnd(width)}${spec.doc}`);
    }
    return `${lines.join("\n")}\n`;
  }

  private readFlags(): void {
    const byFlag = new Map<string, keyof T>();
    for (const [name, spec] of Object.entries(this.table)) {
      if (spec.flag !== undefined) byFlag.set(`--${spec.flag}`, name);
      for (const old of spec.oldFlags ?? []) byFlag.set(`--${old}`, name);
      if (spec.short !== undefined) byFlag.set(`-${spec.short}`, name);
    }
    const argv = this.input.argv;
    const fail = (message: string): never => {
      throw new ConfigError(this.input.usage === undefined ? message : `${message}\n\n${this.input.usage}`);
    };
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i] ?? "";
      if (!arg.startsWith("-") || arg === "-") {
        if (!this.input.positionals) fail(`unexpected argument ${arg}`);
        this.positionals.push(arg);
        continue;
      }
      // -wf: several one-letter flags that take no value.
      const letters = /^-([a-zA-Z]{2,})$/.exec(arg)?.[1];
      if (
        letters !== undefined &&
        [...letters].every((c) => this.table[byFlag.get(`-${c}`) ?? ""]?.kind.bare)
      ) {
        for (const c of letters) this.add(byFlag.get(`-${c}`) as keyof T, "true", `-${c}`, FLAG_RANK + i);
        continue;
      }
      const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
      const flag = eq > 0 ? arg.slice(0, eq) : arg;
      const name = byFlag.get(flag);
      if (name === undefined) return fail(`unknown option ${arg}; known: ${[...byFlag.keys()].join(" ")}`);
      const spec = this.table[name] as OptionSpec;
      if (spec.kind.bare) {
        if (eq > 0) fail(`${flag} takes no value`);
        this.add(name, "true", flag, FLAG_RANK + i);
        continue;
      }
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) return fail(`${flag} needs a value`);
      this.add(name, value, flag, FLAG_RANK + i);
    }
  }

  private add(name: keyof T, text: string, where: string, order: number): void {
    const list = this.flags.get(name) ?? [];
    list.push({ text, where, order });
    this.flags.set(name, list);
  }
}
