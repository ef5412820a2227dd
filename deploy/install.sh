#!/bin/sh
# Installs openhq from a built checkout (npm run build) on a Linux (or macOS) machine into a prefix: the
# agent (default; the single-file agent through deploy/install/agent.sh, as the coordinator's one-liner
# does) or the coordinator (its code with production packages only).
#
#   sudo deploy/install.sh --server farm-hq                 # a render node, agent started by systemd
#   sudo deploy/install.sh --role coordinator               # the coordinator machine
#   deploy/install.sh --prefix /tmp/t --no-user --no-start  # unprivileged, e.g. to try it out
#
# Options (defaults in brackets):
#   --role agent|coordinator   what to install [agent]
#   --prefix DIR               code in DIR/lib/openhq, commands in DIR/bin [/opt/openhq]
#   --etc DIR                  where hqnode.ini / hqserver.ini go [/etc/openhq, or PREFIX/etc/openhq for a
#                              prefix other than /opt/openhq]
#   --server HOST --port N     the coordinator the agent connects to [localhost, 5000]
#   --name NAME                agent name, for several agents on one host [""]
#   --secret SECRET            the farm secret (openhq.farmSecret on the coordinator; --token: its old name) [none]
#   --user USER                service account, created when missing and run as root [openhq]
#   --no-user                  do not create the service account
#   --systemd-dir DIR          where units go [/etc/systemd/system]
#   --launchd-dir DIR          macOS: where the plist goes [/Library/LaunchDaemons]
#   --logrotate-dir DIR        where the logrotate rule goes [/etc/logrotate.d]
#   --no-service               install no systemd unit / launchd plist
#   --no-start                 install the service but do not enable or start it
#   --source DIR               the openhq tree to install from [the folder above this script]
# Needs Node.js 20 or newer on PATH (or --node PATH). Re-running upgrades the code in place and keeps the
# ini file. Exit codes: 0 done, 1 failed, 2 bad option.
set -eu

role=agent prefix=/opt/openhq etc="" server=localhost port=5000 name="" token="" user=openhq make_user=1
systemd_dir=/etc/systemd/system launchd_dir=/Library/LaunchDaemons logrotate_dir=/etc/logrotate.d
service=1 start=1 node="" source=""

die() { echo "install.sh: $*" >&2; exit 1; }
usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
need() { [ $# -ge 2 ] || { echo "install.sh: $1 needs a value" >&2; exit 2; }; }

while [ $# -gt 0 ]; do
  case "$1" in
    --role) need "$@"; role=$2; shift ;;
    --prefix) need "$@"; prefix=$2; shift ;;
    --etc) need "$@"; etc=$2; shift ;;
    --server) need "$@"; server=$2; shift ;;
    --port) need "$@"; port=$2; shift ;;
    --name) need "$@"; name=$2; shift ;;
    --secret|--token) need "$@"; token=$2; shift ;;
    --user) need "$@"; user=$2; shift ;;
    --no-user) make_user=0 ;;
    --systemd-dir) need "$@"; systemd_dir=$2; shift ;;
    --launchd-dir) need "$@"; launchd_dir=$2; shift ;;
    --logrotate-dir) need "$@"; logrotate_dir=$2; shift ;;
    --no-service) service=0 ;;
    --no-start) start=0 ;;
    --node) need "$@"; node=$2; shift ;;
    --source) need "$@"; source=$2; shift ;;
    -h|--help) usage 0 ;;
    *) echo "install.sh: unknown option $1" >&2; usage ;;
  esac
  shift
done
case "$role" in agent|coordinator) ;; *) echo "install.sh: --role must be agent or coordinator" >&2; exit 2 ;; esac
case "$port" in ''|*[!0-9]*) echo "install.sh: --port must be a number" >&2; exit 2 ;; esac

[ -n "$source" ] || source=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$source/package.json" ] || die "$source is not an openhq tree (no package.json)"
[ -n "$node" ] || node=$(command -v node || true)
if [ -z "$node" ] || [ ! -x "$node" ]; then die "Node.js 20 or newer is needed on PATH (or give --node)"; fi
major=$("$node" -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || die "Node.js 20 or newer is needed, found $("$node" -v)"
os=$(uname -s)

# ---- agent: deploy/install/agent.sh with this checkout's built agent and its service definitions ----------
if [ "$role" = agent ]; then
  built=$source/dist/install
  [ -f "$built/openhq-agent.mjs" ] || die "no $built/openhq-agent.mjs: run npm run build in $source first"
  stage=$(mktemp -d)
  cp "$built/openhq-agent.mjs" "$built/openhq-agent.mjs.sha256" "$source/deploy/systemd/openhq-agent.service" \
    "$source/deploy/macos/com.openhq.agent.plist" "$stage/"
  cp "$source/deploy/logrotate/openhq" "$stage/openhq.logrotate"
  set -- --from "$stage" --url "http://$server:$port" --prefix "$prefix" --user "$user" --node "$node" \
    --systemd-dir "$systemd_dir" --launchd-dir "$launchd_dir" --logrotate-dir "$logrotate_dir"
  [ -z "$etc" ] || set -- "$@" --etc "$etc"
  [ -z "$name" ] || set -- "$@" --name "$name"
  [ -z "$token" ] || set -- "$@" --secret "$token"
  [ "$make_user" = 1 ] || set -- "$@" --no-user
  if [ "$service" = 0 ]; then set -- "$@" --no-service
  elif [ "$os" = Darwin ]; then set -- "$@" --service launchd
  else set -- "$@" --service systemd
  fi
  # As before: without a running systemd the unit is written but not started.
  if [ "$start" = 0 ] || { [ "$service" = 1 ] && [ "$os" != Darwin ] && [ ! -d /run/systemd/system ]; }; then
    set -- "$@" --no-start
  fi
  rc=0
  sh "$source/deploy/install/agent.sh" "$@" || rc=$?
  rm -rf "$stage"
  exit "$rc"
fi
mkdir -p "$prefix" && prefix=$(cd "$prefix" && pwd)
if [ -z "$etc" ]; then
  if [ "$prefix" = /opt/openhq ]; then etc=/etc/openhq; else etc=$prefix/etc/openhq; fi
fi

# ---- code ------------------------------------------------------------------------------------------------
lib=$prefix/lib/openhq
echo "installing openhq ($role) from $source into $lib"
mkdir -p "$lib" "$prefix/bin" "$etc"
for part in package.json package-lock.json README.md agent coordinator shared cli deploy docs dist; do
  if [ -e "$source/$part" ]; then
    rm -rf "${lib:?}/$part"
    cp -R "$source/$part" "$lib/$part"
  fi
done
if [ -d "$source/node_modules" ]; then
  # The production packages only (not typescript, eslint, playwright-core): each top package npm lists;
  # packages nested inside one come along with it.
  rm -rf "$lib/node_modules"
  list=$lib/.production-packages
  if ! (cd "$source" && npm ls --omit=dev --all --parseable) >"$list" 2>/dev/null; then
    echo "install.sh: npm ls reported problems in $source/node_modules; copying what it listed"
  fi
  while IFS= read -r dir; do
    rel=${dir#"$source"/}
    case "$rel" in
      node_modules/*/node_modules/*) ;;
      node_modules/*) mkdir -p "$lib/$(dirname "$rel")" && cp -R "$dir" "$lib/$rel" ;;
    esac
  done <"$list"
  rm -f "$list"
  if [ -f "$lib/dist/coordinator/main.js" ] && ! "$node" "$lib/dist/coordinator/main.js" --help >/dev/null 2>&1; then
    die "the copied production packages do not run the coordinator"
  fi
else
  (cd "$lib" && npm ci --omit=dev --no-audit --no-fund --ignore-scripts) || die "npm ci failed in $lib"
fi

# Compiled JavaScript when the tree was built (npm run build), the TypeScript sources through tsx otherwise.
write_wrapper() { # name, entry (without extension)
  if [ -f "$lib/dist/$2.js" ]; then run="\"$node\" \"$lib/dist/$2.js\""
  else run="\"$node\" --import \"file://$lib/node_modules/tsx/dist/loader.mjs\" \"$lib/$2.ts\""
  fi
  cat > "$prefix/bin/$1" <<WRAPPER
#!/bin/sh
# openhq $1, installed by deploy/install.sh
exec $run "\$@"
WRAPPER
  chmod 755 "$prefix/bin/$1"
}
write_wrapper openhq cli/main
write_wrapper openhq-coordinator coordinator/main

# ---- configuration (kept when it exists) -----------------------------------------------------------------
ini=$etc/hqserver.ini
if [ -f "$ini" ]; then
  echo "keeping $ini"
else
  {
    echo "[main]"
    echo "hqserver.port = $port"
    echo "hqserver.activeTimeout = 5"
    echo "hqserver.expireJobsDays = 10"
    [ -z "$token" ] || echo "openhq.farmSecret = $token"
  } | (umask 027; cat > "$ini")
  echo "wrote $ini (see $lib/deploy/hqserver.ini.example for every key)"
fi
chmod 640 "$ini"

# ---- service account -------------------------------------------------------------------------------------
if [ "$make_user" = 1 ] && [ "$(id -u)" = 0 ] && ! id "$user" >/dev/null 2>&1; then
  if [ "$os" = Linux ]; then
    useradd --system --home-dir /var/lib/openhq --shell /usr/sbin/nologin --user-group "$user"
  else
    echo "create the service account $user yourself on $os (see docs/ADMIN.md)"
  fi
fi
if [ "$make_user" = 1 ] && [ "$(id -u)" = 0 ] && id "$user" >/dev/null 2>&1; then
  chgrp "$user" "$ini" 2>/dev/null || true
fi

# ---- service ---------------------------------------------------------------------------------------------
render() { # template, destination
  sed -e "s#@PREFIX@#$prefix#g" -e "s#@ETC@#$etc#g" -e "s#^User=openhq#User=$user#" -e "s#^Group=openhq#Group=$user#" \
    "$1" > "$2"
}
if [ "$service" = 1 ] && [ "$os" = Darwin ]; then
  echo "install.sh: the coordinator has no launchd definition; start $prefix/bin/openhq-coordinator yourself"
elif [ "$service" = 1 ]; then
  mkdir -p "$systemd_dir"
  for unit in openhq-coordinator.service openhq-redis.service; do
    render "$lib/deploy/systemd/$unit" "$systemd_dir/$unit"
    echo "wrote $systemd_dir/$unit"
  done
  if [ "$start" = 1 ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable --now openhq-coordinator.service
    echo "started openhq-coordinator.service (logs: journalctl -u openhq-coordinator)"
    started=1
  fi
fi
if [ "${started:-0}" = 1 ]; then
  echo "done: $prefix/bin/openhq --server http://$server:$port clients"
else
  # No systemd (a container, a minimal host), --no-service or --no-start: say so, and how to run it by hand.
  echo "installed, NOT started: no systemd here, or --no-service/--no-start. Run it yourself (docs/ADMIN.md §2,"
  echo "\"Without systemd\"): $prefix/bin/openhq-coordinator --config $ini >>LOGFILE 2>&1"
fi
