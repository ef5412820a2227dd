// The help of `openhq`: one entry per command (or family of commands sharing a line), printed whole by
// `openhq --help` and alone by `openhq COMMAND --help`. Usage errors name the command's help instead of
// printing all of it.

export interface CommandHelp {
  names: string[];
  text: string;
}

export const COMMAND_HELP: CommandHelp[] = [
  {
    names: ["submit"],
    text: `  submit SPEC.json [--wait]            submit a job spec file (one spec or a list)
  submit [--name N] [--wait] -- CMD…   submit one command; a single CMD argument is run by the job's
                                       shell as written ('echo a; exit 3'), several are quoted as words
         --priority N  --cpus N        override the priority / CPUs per job
         --tags a,b  --group G         tags (repeatable), run only on clients of group G
         --env KEY=VALUE               environment variable (repeatable)
         --wait: on failure, names the failed jobs with exit code and last output lines`,
  },
  {
    names: ["jobs"],
    text: `  jobs [--status S]… [--all] [--limit N] [--user U] [--name N]
                                       list root jobs (unfinished unless --all), or jobs by status;
                                       --user/--name keep those whose submitter/name contains the text;
                                       --all --name searches children too (the newest 20,000 jobs);
                                       a filter that matches nothing says so and exits 4`,
  },
  {
    names: ["job"],
    text: `  job ID [--tree | --failures]         a job: status, progress and times first, then the other
                                       attributes and its status log; --tree: its descendants;
                                       --failures: its tree's failed jobs grouped by message, with counts`,
  },
  {
    names: ["tail"],
    text: "  tail [-f] ID                         a job's output; -f follows it live until the job ends",
  },
  {
    names: ["cancel", "pause", "resume", "reschedule", "eject", "delete"],
    text: `  cancel|pause|resume|reschedule|eject|delete ID…
                                       a job that is already in that state (or cannot be in it: eject
                                       of a job not running) is named as unchanged; exits 4 when no job
                                       changed`,
  },
  { names: ["priority"], text: "  priority N ID…                       set the priority of jobs" },
  {
    names: ["clients"],
    text: "  clients                              clients with state, GPUs, load, memory, idle time, running jobs",
  },
  {
    names: ["enable", "disable"],
    text: `  enable|disable CLIENT…               setdisabled; CLIENT is an id, a hostname, hostname:name, or
                                       a name that is unique (blade03 for vm:blade03)`,
  },
  {
    names: ["revoke"],
    text: "  revoke CLIENT_ID…                    revoke agents: their link closes and they cannot rejoin",
  },
  {
    names: ["approve"],
    text: "  approve CLIENT_ID…                   let a known name enroll again from the address it last asked from",
  },
  {
    names: ["remove"],
    text: `  remove CLIENT…                       take machines out of the farm for good: record deleted,
                                       credential refused, running frames back to the queue`,
  },
  {
    names: ["health"],
    text: "  health CLIENT                        quarantine (why, which failures) and the jobs a client is blocklisted for",
  },
  {
    names: ["history"],
    text: "  history CLIENT [--limit N]           a client's recent attempts and its quarantine/blocklist events",
  },
  {
    names: ["release"],
    text: "  release CLIENT…                      end a client's quarantine (and probation) now",
  },
  {
    names: ["blocklist"],
    text: "  blocklist JOB                        the blades of a job's tree: failures, blocklisted or not",
  },
  {
    names: ["unblock"],
    text: "  unblock JOB [CLIENT]                 take every blade (or one) off a job tree's blocklist",
  },
  { names: ["groups"], text: "  groups                               client groups" },
  { names: ["resources"], text: "  resources                            resources with amount and use" },
  {
    names: ["shares"],
    text: "  shares                               shares: running slots against guarantee, weight and burst",
  },
  {
    names: ["wakeup"],
    text: "  wakeup HOST                          ask an agent for an immediate heartbeat (its port 5001)",
  },
  {
    names: ["terminate"],
    text: "  terminate HOST                       ask an agent to finish its jobs and leave the farm",
  },
  {
    names: ["audit"],
    text: `  audit [--since 1h] [--user U] [--method M] [--limit N]
                                       the audit log: who changed what, from where, newest first
                                       (--since: 30m, 1h, 2d … or a date; --user: exact name)`,
  },
  { names: ["ping"], text: "  ping                                 check that the server answers" },
  {
    names: ["hash-password"],
    text: `  hash-password                        print a salted hash (scrypt) of a password for openhq.auth.users;
                                       reads it from the terminal (no echo) or standard input`,
  },
  {
    names: ["secret"],
    text: `  secret [--data DIR] [--config INI]   on the coordinator's host: print the farm secret agents join with
                                       (from the data folder's farm-secret, or openhq.farmSecret in INI)`,
  },
  {
    names: ["rotate-secret"],
    text: `  rotate-secret [--data DIR]           on the coordinator's host (or as an admin): make a new farm secret
                                       and print it; enrolled agents stay (docs/SECURITY.md)`,
  },
];

export const USAGE_LINE = "usage: openhq [--server URL] [--json] COMMAND [ARGS]";

/** The help of one command, or undefined for a name that is no command. */
export function commandHelp(name: string): string | undefined {
  const entry = COMMAND_HELP.find((c) => c.names.includes(name));
  return entry === undefined
    ? undefined
    : `${USAGE_LINE}\n\n${entry.text}\n\n(openhq --help: every command and option)\n`;
}

/** What a usage error adds after its one-line message. */
export function usageHint(name: string | undefined): string {
  return name !== undefined && commandHelp(name) !== undefined
    ? `see \`openhq ${name} --help\``
    : "see `openhq --help`";
}
