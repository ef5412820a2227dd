// The one redis-server command line. The coordinator's private Redis, the tests' servers, the chaos run's
// primary and replicas and the durability bench all start from it, so they differ only where they mean to.

export interface RedisServerArgs {
  port: number;
  /** Working folder: AOF, pid file, log. */
  dir: string;
  /** AOF fsync policy (everysec, always, no); null = no AOF at all (a test's throwaway server). */
  appendfsync: string | null;
  /** Keep Redis' default RDB snapshots; without, `--save ""` turns them off. */
  snapshots?: boolean;
  /** Start as a replica of the server on this loopback port. */
  replicaOf?: number | null;
  /** Own AOF file and folder names, so several servers can share one `dir`. */
  aofName?: string;
  /** Clients must AUTH with this. */
  password?: string;
  pidFile?: string;
  /** Log file (relative to `dir`); none = redis-server's stdout. */
  logFile?: string;
}

export function redisServerArgs(o: RedisServerArgs): string[] {
  const args = ["--port", String(o.port), "--bind", "127.0.0.1", "--dir", o.dir];
  if (!o.snapshots) args.push("--save", "");
  args.push("--appendonly", o.appendfsync === null ? "no" : "yes");
  if (o.appendfsync !== null) args.push("--appendfsync", o.appendfsync);
  // A full Redis must refuse writes, never drop job keys.
  args.push("--maxmemory-policy", "noeviction");
  if (o.aofName !== undefined) args.push("--appendfilename", o.aofName, "--appenddirname", o.aofName);
  if (o.replicaOf != null) args.push("--replicaof", "127.0.0.1", String(o.replicaOf));
  if (o.pidFile !== undefined) args.push("--pidfile", o.pidFile, "--daemonize", "no");
  if (o.password !== undefined) args.push("--protected-mode", "yes", "--requirepass", o.password);
  if (o.logFile !== undefined) args.push("--logfile", o.logFile);
  return args;
}
