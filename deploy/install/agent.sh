#!/bin/sh
# Installs (or upgrades, or removes) the openhq agent on a Linux or macOS machine. The coordinator serves
# this script with its own address filled in; its "Add a machine" page (/install) shows the line to run:
#
#   curl -fsSL http://farm:5000/install/agent.sh | sudo sh -s -- --secret FARM-SECRET [--name NAME]
#   curl -fsSL --cacert CA.pem https://farm:5000/install/agent.sh | sudo sh -s -- --ca-file CA.pem --secret …
#
# Steps: Node.js 20+ (from the OS's package manager when missing), the agent (one file from the coordinator,
# checked against the farm's ed25519 signature, whose public key hqnode.ini pins for later upgrades) in
# PREFIX/lib/openhq-agent, PREFIX/bin/openhq-agent, hqnode.ini pointing back at the coordinator (an existing
# one keeps its other keys and gets server, caFile, token and signingKey updated, each change said; with
# --from it is kept as it is), then the service: systemd (Linux), launchd (macOS), or, with --no-service or
# without systemd, the agent started directly under PREFIX/bin/openhq-agent-loop. Running it again upgrades
# the agent in place. An hqnode.ini set up for https:// is not moved back to http:// (unless --allow-http).
#
# Agent and jobs apart (docs/SECURITY.md): run as root, the agent runs as root, its code, hqnode.ini (0600)
# and state folder (0700) are root's, and it runs every job as the --user account (jobUser in hqnode.ini),
# in that account's home: a job cannot read the token or credential, write the agent or signal it. With
# launchd (macOS) the agent and its jobs still share the --user account.
#
# Options (defaults in brackets):
#   --url URL            the coordinator [the one that served this script]
#   --secret SECRET      the farm secret (the coordinator's openhq.farmSecret) [none]
#   --ca-file FILE       PEM CA of an https:// coordinator with a private CA; kept as caFile [the system's CAs]
#   --allow-http         let an https:// hqnode.ini be pointed at an http:// coordinator
#   --name NAME          agent name, for several agents on one machine [""]
#   --client-port N      the agent's own port for wakeup/terminate [5001]
#   --hqroot PATH        this machine's mount of the shared folder [what the coordinator says]
#   --prefix DIR         install under DIR [/opt/openhq]
#   --etc DIR            where hqnode.ini goes [/etc/openhq; PREFIX/etc/openhq with another --prefix]
#   --user USER          the account jobs run as, created when missing [openhq]; with launchd the agent's too
#   --no-user            do not create that account (it must exist)
#   --no-service         start the agent directly, not as a systemd/launchd service
#   --service KIND       systemd, launchd or none [systemd when it runs, launchd on macOS, else none]
#   --no-start           install, but do not start anything
#   --node PATH          the node to use [node on PATH, installed when missing]
#   --from DIR           install the files of DIR (a built checkout's dist/install) instead of downloading
#   --systemd-dir DIR    where the unit goes [/etc/systemd/system]
#   --launchd-dir DIR    where the plist goes [/Library/LaunchDaemons]
#   --logrotate-dir DIR  with systemd: where the rule for agent.log goes, when logrotate is there [/etc/logrotate.d]
#   --uninstall          stop and remove the agent and its service (keeps hqnode.ini, state and logs)
#   --purge              with --uninstall: remove hqnode.ini, state and logs too
# Exit codes: 0 done, 1 failed, 2 bad option.
set -eu
# All of it in one brace group: `curl ... | sh` reads the script from the pipe, and the shell must have read
# it to the end before a command (apt-get, brew) can read from the same standard input.
{

url="@OPENHQ_URL@"
secret="" name="" client_port="" hqroot="" prefix=/opt/openhq etc="" user=openhq ca_file="" allow_http=0
service=auto start=1 node="" from="" uninstall=0 purge=0 make_user=1 user_given=0
systemd_dir=/etc/systemd/system launchd_dir=/Library/LaunchDaemons logrotate_dir=/etc/logrotate.d

say() { echo "openhq: $*"; }
die() { echo "openhq: $*" >&2; exit 1; }
usage() {
  sed -n '2,42p' "$0" 2>/dev/null | sed 's/^# \{0,1\}//' | grep . || echo "openhq: options: see the top of /install/agent.sh"
  exit "${1:-2}"
}
need() { [ $# -ge 2 ] || { echo "openhq: $1 needs a value" >&2; exit 2; }; }

while [ $# -gt 0 ]; do
  case "$1" in
    --url) need "$@"; url=$2; shift ;;
    --secret) need "$@"; secret=$2; shift ;;
    --ca-file) need "$@"; ca_file=$2; shift ;;
    --allow-http) allow_http=1 ;;
    --name) need "$@"; name=$2; shift ;;
    --client-port) need "$@"; client_port=$2; shift ;;
    --hqroot) need "$@"; hqroot=$2; shift ;;
    --prefix) need "$@"; prefix=$2; shift ;;
    --etc) need "$@"; etc=$2; shift ;;
    --user) need "$@"; user=$2; user_given=1; shift ;;
    --no-service) service=none ;;
    --service) need "$@"; service=$2; shift ;;
    --no-user) make_user=0 ;;
    --no-start) start=0 ;;
    --node) need "$@"; node=$2; shift ;;
    --from) need "$@"; from=$2; shift ;;
    --systemd-dir) need "$@"; systemd_dir=$2; shift ;;
    --launchd-dir) need "$@"; launchd_dir=$2; shift ;;
    --logrotate-dir) need "$@"; logrotate_dir=$2; shift ;;
    --uninstall) uninstall=1 ;;
    --purge) purge=1 ;;
    -h|--help) usage 0 ;;
    *) echo "openhq: unknown option $1" >&2; usage ;;
  esac
  shift
done
case "$service" in auto|systemd|launchd|none) ;; *) echo "openhq: --service must be systemd, launchd or none" >&2; exit 2 ;; esac
case "$client_port" in *[!0-9]*) echo "openhq: --client-port must be a number" >&2; exit 2 ;; esac
case "$name" in *[!A-Za-z0-9._-]*) echo "openhq: --name may hold letters, digits, . _ - only" >&2; exit 2 ;; esac
url=${url%/}
if [ -n "$ca_file" ]; then
  [ -r "$ca_file" ] || { echo "openhq: --ca-file $ca_file is not a readable file" >&2; exit 2; }
  case "$ca_file" in /*) ;; *) ca_file=$(pwd)/$ca_file ;; esac
fi

os=$(uname -s)
case "$os" in
  Linux|Darwin) ;;
  *) die "this installer is for Linux and macOS; on Windows use /install/agent.ps1" ;;
esac
root=0
[ "$(id -u)" = 0 ] && root=1
# ---- which service manager ---------------------------------------------------------------------------------
if [ "$service" = auto ]; then
  if [ "$os" = Darwin ]; then
    service=launchd
  elif [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    service=systemd
  else
    say "no systemd on this machine: the agent runs directly (PREFIX/bin/openhq-agent-loop)"
    service=none
  fi
fi
if [ "$service" != none ] && [ "$root" = 0 ] && { [ "$start" = 1 ] || [ "$make_user" = 1 ]; }; then
  die "installing a $service service needs root: run it with sudo, or add --no-service"
fi
# Run as root (and not under launchd), the agent keeps jobs apart: they run as --user, not as root.
apart=0
[ "$root" = 1 ] && [ "$service" != launchd ] && apart=1
if [ "$apart" = 0 ] && [ "$service" = none ] && [ "$user_given" = 1 ]; then
  die "--user needs root: an agent not started as root runs its jobs as its own user"
fi

# Services use the system's folders (the unit's StateDirectory/LogsDirectory); an agent started directly keeps
# everything inside a --prefix other than the default.
if [ -z "$etc" ]; then
  if [ "$prefix" = /opt/openhq ]; then etc=/etc/openhq; else etc=$prefix/etc/openhq; fi
fi
if [ "$service" = launchd ]; then
  state="/Library/Application Support/openhq-agent" logs=/Library/Logs/openhq
elif [ "$service" = systemd ] || [ "$prefix" = /opt/openhq ]; then
  state=/var/lib/openhq-agent logs=/var/log/openhq jobs_home=/var/lib/openhq-jobs
else
  state=$prefix/var/lib/openhq-agent logs=$prefix/var/log/openhq jobs_home=$prefix/var/lib/openhq-jobs
fi
lib=$prefix/lib/openhq-agent
ini=$etc/hqnode.ini
pidfile=$state/agent-loop.pid
unit=$systemd_dir/openhq-agent.service
plist=$launchd_dir/com.openhq.agent.plist

# ---- stopping and removing ---------------------------------------------------------------------------------
stop_direct() {
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  case "$pid" in ''|*[!0-9]*) rm -f "$pidfile"; return 0 ;; esac
  if kill -0 "$pid" 2>/dev/null; then
    say "stopping the running agent (process $pid)"
    kill "$pid"
    # The agent stops its jobs (SIGTERM, grace, SIGKILL) and exits; give it a minute like the units do.
    i=0
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 60 ]; do sleep 1; i=$((i + 1)); done
    kill -0 "$pid" 2>/dev/null && die "the agent (process $pid) did not stop within 60 s"
  fi
  rm -f "$pidfile"
}

stop_service() {
  if [ -f "$unit" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now openhq-agent.service
  fi
  if [ "$os" = Darwin ] && launchctl print system/com.openhq.agent >/dev/null 2>&1; then
    launchctl bootout system/com.openhq.agent
  fi
  stop_direct
}

if [ "$uninstall" = 1 ]; then
  stop_service
  rm -f "$unit" "$plist" "$prefix/bin/openhq-agent" "$prefix/bin/openhq-agent-loop"
  rm -rf "$lib"
  if [ "$service" = systemd ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
  rm -f "$logrotate_dir/openhq-agent"
  if [ "$purge" = 1 ]; then
    rm -rf "$ini" "$state" "$logs"
    say "removed the agent, $ini, $state and $logs"
  else
    say "removed the agent; kept $ini, $state and $logs (--purge removes them)"
  fi
  exit 0
fi

# ---- Node.js -----------------------------------------------------------------------------------------------
node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

find_node() {
  [ -n "$node" ] && return 0
  for candidate in "$(command -v node 2>/dev/null || true)" /usr/local/bin/node /opt/homebrew/bin/node; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && [ "$(node_major "$candidate")" -ge 20 ]; then
      node=$candidate
      return 0
    fi
  done
  return 1
}

install_node() {
  say "installing Node.js from the system's packages"
  if [ "$os" = Darwin ]; then
    command -v brew >/dev/null 2>&1 || return 1
    # Homebrew refuses to run as root: install as the user who ran sudo.
    if [ "$root" = 1 ] && [ -n "${SUDO_USER:-}" ]; then sudo -u "$SUDO_USER" brew install node </dev/null
    else brew install node </dev/null
    fi
  elif command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq </dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs </dev/null
  elif command -v dnf >/dev/null 2>&1; then dnf install -y nodejs </dev/null
  elif command -v yum >/dev/null 2>&1; then yum install -y nodejs </dev/null
  elif command -v zypper >/dev/null 2>&1; then zypper --non-interactive install nodejs </dev/null
  elif command -v apk >/dev/null 2>&1; then apk add nodejs </dev/null
  elif command -v pacman >/dev/null 2>&1; then pacman -S --noconfirm nodejs </dev/null
  else return 1
  fi
}

if ! find_node; then
  [ "$root" = 1 ] || [ "$os" = Darwin ] || die "Node.js 20 or newer is needed: run this with sudo to install it, or give --node PATH"
  install_node || true
  find_node || die "Node.js 20 or newer is needed and the system's packages did not provide it.
  Install it from https://nodejs.org/en/download (or your distribution's NodeSource packages), then run
  this line again, or give --node /path/to/node."
fi
[ -x "$node" ] || die "--node $node is not an executable"
[ "$(node_major "$node")" -ge 20 ] || die "Node.js 20 or newer is needed, $node is $("$node" -v)"

# ---- the agent ---------------------------------------------------------------------------------------------
case "$url" in
  @*)
    [ -n "$from" ] || die "give the coordinator with --url http://HOST:5000 (this copy was not served by one)"
    url=""
    ;;
esac

# fetch NAME DEST: from --from DIR, or from the coordinator with the farm secret as Basic auth password
# (and the --ca-file CA). Redirects are not followed: the files come from this coordinator only.
fetch() {
  fetch_name=$1 fetch_dest=$2
  if [ -n "$from" ]; then
    cp "$from/$fetch_name" "$fetch_dest"
  elif command -v curl >/dev/null 2>&1; then
    set --
    [ -z "$ca_file" ] || set -- --cacert "$ca_file"
    if [ -n "$secret" ]; then
      printf 'user = "openhq-agent:%s"\n' "$secret" | curl -fsS -K - "$@" -o "$fetch_dest" "$url/install/$fetch_name"
    else
      curl -fsS "$@" -o "$fetch_dest" "$url/install/$fetch_name"
    fi
  elif command -v wget >/dev/null 2>&1; then
    set -- --max-redirect=0
    [ -z "$ca_file" ] || set -- "$@" --ca-certificate="$ca_file"
    if [ -n "$secret" ]; then
      wget -q --auth-no-challenge --user=openhq-agent --password="$secret" "$@" -O "$fetch_dest" "$url/install/$fetch_name"
    else
      wget -q "$@" -O "$fetch_dest" "$url/install/$fetch_name"
    fi
  else
    die "neither curl nor wget is installed"
  fi
}

mkdir -p "$lib" "$prefix/bin" "$etc"
# systemd makes the unit's StateDirectory and LogsDirectory itself, owned by its User.
[ "$service" = systemd ] || mkdir -p "$state" "$logs"
work=$(mktemp -d "$lib/.download.XXXXXX")
trap 'rm -rf "$work"' EXIT
fetch openhq-agent.mjs "$work/openhq-agent.mjs" || die "could not fetch the agent from ${from:-$url}"
actual=$("$node" -e 'const c=require("node:crypto"),f=require("node:fs");process.stdout.write(c.createHash("sha256").update(f.readFileSync(process.argv[1])).digest("hex"))' "$work/openhq-agent.mjs")
if [ -n "$from" ]; then
  # A folder of files (no coordinator to sign them): its sha256 file is checked, no key is pinned.
  fetch openhq-agent.mjs.sha256 "$work/sha256" || die "could not read the agent's sha256 in $from"
  expected=$(cut -c1-64 "$work/sha256")
  [ "$expected" = "$actual" ] || die "the downloaded agent's sha256 is $actual, the coordinator says $expected"
  signing_key=""
else
  # The farm's public key (pinned in hqnode.ini: later upgrades must be signed by it) and the signature.
  fetch signing-key.pub "$work/key" || die "could not fetch the farm's signing key from $url"
  fetch openhq-agent.mjs.sig "$work/sig" || die "could not fetch the agent's signature from $url"
  signing_key=$(tr -d ' \r\n' < "$work/key")
  "$node" -e '
const c = require("node:crypto"), f = require("node:fs");
const [file, sig, key] = process.argv.slice(1);
const pub = c.createPublicKey({ key: Buffer.from(key, "base64"), format: "der", type: "spki" });
process.exit(c.verify(null, f.readFileSync(file), pub, Buffer.from(f.readFileSync(sig, "utf8").trim(), "base64")) ? 0 : 1);
' "$work/openhq-agent.mjs" "$work/sig" "$signing_key" || die "the downloaded agent is not signed by the farm's key"
fi
version=$("$node" "$work/openhq-agent.mjs" --version 2>/dev/null || echo unknown)

# Stop a directly started agent before replacing its file; services restart on the new file below.
[ "$service" = none ] && stop_direct
chmod 644 "$work/openhq-agent.mjs"
mv -f "$work/openhq-agent.mjs" "$lib/openhq-agent.mjs"
say "installed the agent $version (sha256 $(printf %.12s "$actual")) in $lib"

cat > "$prefix/bin/openhq-agent" <<EOF
#!/bin/sh
# openhq agent, installed by /install/agent.sh from $url
exec "$node" "$lib/openhq-agent.mjs" "\$@"
EOF
cat > "$prefix/bin/openhq-agent-loop" <<EOF
#!/bin/sh
# Runs the openhq agent without a service manager: starts it again when it exits for an upgrade (exit code
# 75, after upgradeClients), and ends with it otherwise (terminate() exits 0). SIGTERM stops the agent.
# It records its process id however it was started (by the installer, or at boot), so that the documented
# stop, kill \$(cat $pidfile), and the installer's re-runs and --uninstall find it.
echo \$\$ > "$pidfile"
EOF
cat >> "$prefix/bin/openhq-agent-loop" <<'EOF'
child=""
trap 'if [ -n "$child" ]; then kill "$child" 2>/dev/null; wait "$child"; fi; exit 0' TERM INT HUP
while :; do
  "$(dirname "$0")/openhq-agent" "$@" &
  child=$!
  rc=0
  wait "$child" || rc=$?
  [ "$rc" -eq 75 ] || exit "$rc"
done
EOF
chmod 755 "$prefix/bin/openhq-agent" "$prefix/bin/openhq-agent-loop"

# ---- hqnode.ini: written, or its connection keys updated ----------------------------------------------------
# ini_value KEY: KEY's value in [main] ("" when absent).
ini_value() {
  awk -v k="$1" '/^[[:space:]]*\[/ { s = $0; gsub(/[][[:space:]]/, "", s); next }
    s == "main" && $0 ~ "^[[:space:]]*" k "[[:space:]]*[=:]" { sub(/^[^=:]*[=:][[:space:]]*/, ""); sub(/[[:space:]]*$/, ""); print; exit }' "$ini"
}
# ini_set KEY VALUE: sets KEY in [main] (replaced where it is, else added at the end of [main]).
ini_set() {
  OPENHQ_INI_VALUE=$2 awk -v k="$1" 'BEGIN { v = ENVIRON["OPENHQ_INI_VALUE"] }
    /^[[:space:]]*\[/ { if (s == "main" && !done) { print k " = " v; done = 1 } s = $0; gsub(/[][[:space:]]/, "", s) }
    s == "main" && !done && $0 ~ "^[[:space:]]*" k "[[:space:]]*[=:]" { print k " = " v; done = 1; next }
    { print }
    END { if (!done) { if (s != "main") print "[main]"; print k " = " v } }' "$ini" > "$ini.new"
  cat "$ini.new" > "$ini"
  rm -f "$ini.new"
}
# ini_update KEY VALUE LABEL: sets KEY when it differs, and says so (LABEL: how to show the values).
ini_update() {
  old_value=$(ini_value "$1")
  [ "$old_value" = "$2" ] && return 0
  ini_set "$1" "$2"
  case "$3" in
    secret) say "updated $1 in $ini" ;;
    *) say "updated $1 in $ini: ${old_value:-(none)} -> $2" ;;
  esac
}
if [ -f "$ini" ] && [ -n "$from" ]; then
  # Installed from a folder (deploy/install.sh): no coordinator line to follow, the ini is the admin's.
  say "keeping $ini"
elif [ -f "$ini" ]; then
  old_server=$(ini_value server)
  case "$old_server:$url" in
    https://*:http://*)
      [ "$allow_http" = 1 ] || die "$ini is set up for TLS ($old_server); refusing to point it at $url (give --allow-http to do it anyway)" ;;
  esac
  umask 077
  [ -z "$url" ] || ini_update server "$url" value
  [ -z "$ca_file" ] || ini_update caFile "$ca_file" value
  [ -z "$secret" ] || ini_update secret "$secret" secret
  [ -z "$signing_key" ] || ini_update signingKey "$signing_key" value
  umask 022
  say "kept the other settings of $ini"
else
  umask 077
  {
    echo "; written by /install/agent.sh; every key: deploy/hqnode.ini.example in the openhq sources"
    echo "[main]"
    echo "server = ${url:-localhost}"
    echo "name = $name"
    [ -z "$client_port" ] || echo "clientPort = $client_port"
    [ -z "$hqroot" ] || echo "sharedNetwork.mount = $hqroot"
    echo "stateDir = $state"
    echo "logFile = $logs/agent.log"
    [ -z "$ca_file" ] || echo "caFile = $ca_file"
    [ -z "$secret" ] || echo "secret = $secret"
    [ "$apart" = 0 ] || echo "jobUser = $user"
    [ -z "$signing_key" ] || echo "signingKey = $signing_key"
    echo
    echo "[job_environment]"
  } > "$ini"
  umask 022
  say "wrote $ini"
fi

# ---- the job account (with launchd: the agent's too) -------------------------------------------------------
make_user() {
  if id "$user" >/dev/null 2>&1; then
    # Older installs made the account with the state folder as its home: jobs would start in it.
    if [ "$os" = Linux ] && [ "$(getent passwd "$user" | cut -d: -f6)" = "$state" ]; then
      usermod --home "$jobs_home" "$user"
    fi
    return 0
  fi
  say "creating the account $user"
  if [ "$os" = Linux ]; then
    useradd --system --home-dir "$jobs_home" --shell /usr/sbin/nologin --user-group "$user"
  else
    # A hidden macOS account and group with an id below 500 (as system daemons have) that neither uses yet.
    uid=$({ dscl . -list /Users UniqueID; dscl . -list /Groups PrimaryGroupID; } | awk '{print $2}' | sort -n -u |
      awk 'BEGIN{u=400} $1==u{u++} END{print u}')
    dscl . -create "/Groups/$user" PrimaryGroupID "$uid"
    dscl . -create "/Users/$user"
    dscl . -create "/Users/$user" UniqueID "$uid"
    dscl . -create "/Users/$user" PrimaryGroupID "$uid"
    dscl . -create "/Users/$user" UserShell /usr/bin/false
    dscl . -create "/Users/$user" NFSHomeDirectory /var/empty
    dscl . -create "/Users/$user" IsHidden 1
  fi
}
group=$user
if [ "$apart" = 1 ]; then
  if [ "$make_user" = 1 ]; then make_user; fi
  if id "$user" >/dev/null 2>&1; then
    group=$(id -gn "$user")
  else
    say "warning: the account $user does not exist yet: the agent will not start until it does"
  fi
  # Jobs start in the account's home: theirs, not the agent's state folder.
  if [ "$os" = Linux ] && id "$user" >/dev/null 2>&1; then
    home=$(getent passwd "$user" | cut -d: -f6)
    if [ "$home" = "$jobs_home" ] && [ ! -d "$home" ]; then
      mkdir -p "$home" && chown "$user:$group" "$home" && chmod 700 "$home"
    fi
  fi
  # The agent's code, settings and state are root's: a job (as $user) reads none of its secrets and
  # writes none of its code. This also takes back what older installs gave the service account.
  chown -R 0:0 "$lib"
  chmod 755 "$lib"
  chown 0:0 "$ini"
  chmod 600 "$ini"
  if ! grep -q '^[[:space:]]*jobUser[[:space:]]*=' "$ini"; then
    awk -v line="jobUser = $user" '{ print } /^\[main\][[:space:]]*$/ && !done { print line; done = 1 }' "$ini" > "$ini.new"
    chmod 600 "$ini.new"
    mv -f "$ini.new" "$ini"
    say "added jobUser = $user to $ini"
  fi
  if [ "$service" = none ]; then
    chown -R 0:0 "$state" "$logs"
    chmod 700 "$state"
    chmod 750 "$logs"
  fi
elif [ "$service" != none ] && [ "$make_user" = 1 ]; then
  make_user
  group=$(id -gn "$user")
  # launchd runs the agent as $user: it replaces its own file on upgradeClients, and writes its state and log.
  chown -R "$user:$group" "$lib" "$state" "$logs"
  chgrp "$group" "$ini"
  chmod 640 "$ini"
fi

# render TEMPLATE DEST: the prefix, ini folder and user filled in.
render() {
  sed -e "s#@PREFIX@#$prefix#g" -e "s#@ETC@#$etc#g" \
    -e "s#^User=openhq#User=$user#" -e "s#^Group=openhq#Group=$group#" \
    -e "s#<string>openhq</string><!-- user -->#<string>$user</string><!-- user -->#" "$1" > "$2"
}

# ---- start -------------------------------------------------------------------------------------------------
case "$service" in
  systemd)
    fetch openhq-agent.service "$work/unit" || die "could not fetch openhq-agent.service"
    mkdir -p "$systemd_dir"
    render "$work/unit" "$unit"
    say "wrote $unit"
    if [ -d "$(dirname "$logrotate_dir")" ] && mkdir -p "$logrotate_dir" 2>/dev/null; then
      fetch openhq.logrotate "$work/logrotate" || die "could not fetch openhq.logrotate"
      # The agent runs as root, so its log is root's.
      sed -e "s#^    su openhq openhq#    su root root#" "$work/logrotate" > "$logrotate_dir/openhq-agent"
    fi
    if [ -d /run/systemd/system ]; then
      systemctl daemon-reload
      systemctl enable openhq-agent.service
    fi
    if [ "$start" = 1 ]; then
      systemctl restart openhq-agent.service
      say "started openhq-agent.service (logs: journalctl -u openhq-agent, $logs/agent.log)"
    fi
    ;;
  launchd)
    fetch com.openhq.agent.plist "$work/plist" || die "could not fetch com.openhq.agent.plist"
    mkdir -p "$launchd_dir"
    render "$work/plist" "$plist"
    chmod 644 "$plist"
    say "wrote $plist"
    if [ "$start" = 1 ]; then
      chown root:wheel "$plist"
      if launchctl print system/com.openhq.agent >/dev/null 2>&1; then
        launchctl bootout system/com.openhq.agent
      fi
      launchctl bootstrap system "$plist"
      say "started com.openhq.agent (logs: $logs/agent.log)"
    fi
    ;;
  none)
    if [ "$start" = 1 ]; then
      # The agent writes agent.log itself; agent.out.log gets only what the process says outside its log
      # (a crash), so no line is in both.
      OPENHQ_AGENT_LOG_STDERR=0 nohup "$prefix/bin/openhq-agent-loop" --config "$ini" </dev/null \
        >>"$logs/agent.out.log" 2>&1 &
      echo $! > "$pidfile" # the loop writes it too; this covers the moment before it runs
      say "started the agent (process $!; log $logs/agent.log); stop it with: kill \$(cat '$pidfile')"
      say "no service manager: nothing starts the agent after a reboot; run this line again to restart it"
    else
      say "not started (--no-start): start it with $prefix/bin/openhq-agent-loop --config $ini"
    fi
    # Rotation: the same logrotate rule as with systemd, where logrotate is installed, for a system install
    # (another --prefix keeps everything inside it, so nothing is written to /etc).
    if [ "$root" = 1 ] && [ "$prefix" = /opt/openhq ] && command -v logrotate >/dev/null 2>&1 &&
      [ -d "$logrotate_dir" ]; then
      fetch openhq.logrotate "$work/logrotate" || die "could not fetch openhq.logrotate"
      sed -e "s#^/var/log/openhq/#$logs/#" -e "s#^    su openhq openhq#    su $(id -un) $(id -gn)#" \
        "$work/logrotate" > "$logrotate_dir/openhq-agent"
      say "wrote $logrotate_dir/openhq-agent (rotates $logs/*.log)"
    else
      say "no log rotation set up (needs root, the default --prefix and logrotate): $logs/agent.log grows until you rotate it"
    fi
    ;;
esac
if [ "$start" = 1 ]; then say "done: the agent connects to $url"
else say "installed, not started: the agent will connect to $url"
fi
}
