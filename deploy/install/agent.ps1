# Installs (or upgrades, or removes) the openhq agent on Windows. The coordinator serves this script with its
# own address filled in; its "Add a machine" page (/install) shows the line to run in an administrator
# PowerShell:
#
#   & ([scriptblock]::Create((Invoke-RestMethod http://farm:5000/install/agent.ps1))) -Secret 'FARM-SECRET'
#
# Steps: Node.js 20+ (winget when missing), the agent (one file from the coordinator, checked against the
# farm's ed25519 signature, whose public key hqnode.ini pins for later upgrades) in $Prefix, hqnode.ini in
# %ProgramData%\openhq (an existing one keeps its other keys and gets server, caFile, token and signingKey
# updated, each change said), the service, the idle helper and a firewall rule for the agent's port, then it
# starts the agent. Running it again upgrades in place. An hqnode.ini set up for https:// is not moved back
# to http:// (unless -AllowHttp).
#
# A coordinator with a private CA: this script's downloads go through Windows' own trust, so the CA must be
# trusted by Windows (Group Policy, or Import-Certificate -CertStoreLocation Cert:\LocalMachine\Root); give
# its PEM file with -CaFile too, which the agent (Node.js, which does not read the Windows store) keeps as
# caFile.
#
# The service is a scheduled task "openhq-agent" that starts at boot, without anyone logged on, and runs
# agent-service.ps1: node.exe cannot answer the service control manager itself (so New-Service cannot run it),
# and a task with a PowerShell supervisor needs no third-party executable (NSSM, WinSW) to be fetched and
# trusted. The supervisor does what the agent's exit code asks: 0 (terminate()) leaves it stopped, 75
# (upgradeClients) starts the new code at once, anything else starts it again after 5 s.
#
# The idle helper (idle-helper.ps1) runs in each user's session from a second task at logon and writes the
# user's idle time to %ProgramData%\openhq\idle.txt, which the agent reads (agent/idle/windows.ts): the
# agent's task runs in session 0, where the user's input cannot be seen.
[CmdletBinding()]
param(
  # The coordinator [the one that served this script].
  [string]$Url = '@OPENHQ_URL@',
  # The farm secret (the coordinator's openhq.farmSecret).
  [string]$Secret = '',
  # PEM CA of an https:// coordinator with a private CA, kept as caFile in hqnode.ini.
  [string]$CaFile = '',
  # Let an https:// hqnode.ini be pointed at an http:// coordinator.
  [switch]$AllowHttp,
  # Agent name, for several agents on one machine.
  [string]$Name = '',
  # The agent's own port for wakeup/terminate [5001].
  [int]$ClientPort = 0,
  # The shared folder as a UNC path (\\server\share): the task cannot see mapped drive letters.
  [string]$HqRoot = '',
  # Where the agent goes.
  [string]$Prefix = (Join-Path $env:ProgramFiles 'openhq'),
  # Run the agent (and its jobs) as this account (DOMAIN\user), e.g. to read a share; needs -Password.
  # Default: a dedicated local account, openhq-agent, made with a random password (not SYSTEM, so a job is
  # no administrator of the machine).
  [string]$User = '',
  [string]$Password = '',
  # Run the agent's task as SYSTEM instead of a dedicated account (jobs then run as SYSTEM too).
  [switch]$System,
  # Install the files, but no task, and start nothing.
  [switch]$NoService,
  # Install the files from this folder (a built checkout's dist\install) instead of downloading.
  [string]$From = '',
  # Stop and remove the agent, its tasks and firewall rule (keeps hqnode.ini, state and logs).
  [switch]$Uninstall,
  # With -Uninstall: remove hqnode.ini, state and logs too.
  [switch]$Purge
)
$ErrorActionPreference = 'Stop'
# Windows PowerShell's progress bar makes Invoke-WebRequest many times slower.
$ProgressPreference = 'SilentlyContinue'
Set-StrictMode -Version 3

$data = Join-Path $env:ProgramData 'openhq'
$ini = Join-Path $data 'hqnode.ini'
$state = Join-Path $data 'state'
$logs = Join-Path $data 'logs'
$agentFile = Join-Path $Prefix 'openhq-agent.mjs'
$taskName = 'openhq-agent'
$idleTask = 'openhq-idle-helper'
$firewallRule = 'openhq agent'

function Say([string]$message) { Write-Host "openhq: $message" }

$principal = [Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
  throw 'openhq: run this in an administrator PowerShell'
}

function Stop-Agent {
  if (Get-ScheduledTask -TaskName $taskName -ErrorAction SilentlyContinue) {
    Stop-ScheduledTask -TaskName $taskName
  }
  # The task's end stops its PowerShell supervisor; the agent (node.exe) is stopped by its command line.
  $escaped = $agentFile.Replace('\', '\\')
  Get-CimInstance Win32_Process -Filter "Name = 'node.exe' AND CommandLine LIKE '%$escaped%'" |
    ForEach-Object { Stop-Process -Id $_.ProcessId -Force }
}

if ($Uninstall) {
  Stop-Agent
  foreach ($task in @($taskName, $idleTask)) {
    if (Get-ScheduledTask -TaskName $task -ErrorAction SilentlyContinue) {
      Unregister-ScheduledTask -TaskName $task -Confirm:$false
    }
  }
  Get-NetFirewallRule -DisplayName $firewallRule -ErrorAction SilentlyContinue | Remove-NetFirewallRule
  if (Test-Path $Prefix) { Remove-Item -Recurse -Force $Prefix }
  if ($Purge) {
    if (Test-Path $data) { Remove-Item -Recurse -Force $data }
    Say "removed the agent and $data"
  } else {
    Say "removed the agent; kept $ini, $state and $logs (-Purge removes them)"
  }
  return
}

if ($HqRoot -match '^[A-Za-z]:') {
  throw "openhq: -HqRoot $HqRoot is a drive letter, which the agent's task cannot see: give the UNC path (\\server\share)"
}
if ($Url.StartsWith('@')) {
  if ($From -eq '') { throw 'openhq: give the coordinator with -Url http://HOST:5000 (this copy was not served by one)' }
  $Url = ''
}
$Url = $Url.TrimEnd('/')
if ($CaFile -ne '') {
  if (-not (Test-Path -PathType Leaf $CaFile)) { throw "openhq: -CaFile $CaFile is not a file" }
  $CaFile = (Resolve-Path $CaFile).Path
}

# ---- Node.js ----------------------------------------------------------------------------------------------
function Find-Node {
  $candidates = @((Get-Command node.exe -ErrorAction SilentlyContinue | ForEach-Object { $_.Source }),
    (Join-Path $env:ProgramFiles 'nodejs\node.exe'))
  foreach ($candidate in $candidates) {
    if ($candidate -and (Test-Path $candidate)) {
      # "v22.11.0" -> 22 (no quotes in node's arguments: Windows PowerShell mangles them for native commands)
      $major = [int]((& $candidate -v).TrimStart('v').Split('.')[0])
      if ($major -ge 20) { return $candidate }
    }
  }
  return $null
}
$node = Find-Node
if (-not $node) {
  if (Get-Command winget.exe -ErrorAction SilentlyContinue) {
    Say 'installing Node.js LTS with winget'
    winget.exe install --exact --id OpenJS.NodeJS.LTS --silent --accept-package-agreements --accept-source-agreements
    $node = Find-Node
  }
  if (-not $node) {
    throw ('openhq: Node.js 20 or newer is needed. Install the LTS from https://nodejs.org/en/download ' +
      '(the .msi puts node.exe in C:\Program Files\nodejs), then run this line again.')
  }
}

# ---- the agent --------------------------------------------------------------------------------------------
$headers = @{}
if ($Secret -ne '') {
  $pair = [Text.Encoding]::UTF8.GetBytes("openhq-agent:$Secret")
  $headers['Authorization'] = 'Basic ' + [Convert]::ToBase64String($pair)
}
function Get-InstallFile([string]$fileName, [string]$destination) {
  if ($From -ne '') { Copy-Item -Force (Join-Path $From $fileName) $destination }
  else { Invoke-WebRequest -UseBasicParsing -MaximumRedirection 0 -Headers $headers -Uri "$Url/install/$fileName" -OutFile $destination }
}

New-Item -ItemType Directory -Force -Path $Prefix, $data, $state, $logs | Out-Null
$download = Join-Path $Prefix 'openhq-agent.mjs.download'
Get-InstallFile 'openhq-agent.mjs' $download
$signingKey = ''
if ($From -ne '') {
  # A folder of files (no coordinator to sign them): its sha256 file is checked, no key is pinned.
  Get-InstallFile 'openhq-agent.mjs.sha256' "$download.sha256"
  $expected = (Get-Content "$download.sha256" -Raw).Substring(0, 64).ToLowerInvariant()
  $actual = (Get-FileHash -Algorithm SHA256 $download).Hash.ToLowerInvariant()
  Remove-Item -Force "$download.sha256"
  if ($expected -ne $actual) {
    Remove-Item -Force $download
    throw "openhq: the downloaded agent's sha256 is $actual, the coordinator says $expected"
  }
} else {
  # The farm's public key (pinned in hqnode.ini: later upgrades must be signed by it) and the signature,
  # checked by node (Windows PowerShell has no ed25519).
  Get-InstallFile 'signing-key.pub' "$download.key"
  Get-InstallFile 'openhq-agent.mjs.sig' "$download.sig"
  $signingKey = (Get-Content "$download.key" -Raw).Trim()
  $verify = Join-Path $Prefix 'verify-signature.mjs'
  Set-Content -Path $verify -Encoding ASCII -Value @'
import { createPublicKey, verify } from "node:crypto";
import { readFileSync } from "node:fs";
const [file, sig, key] = process.argv.slice(2);
const pub = createPublicKey({ key: Buffer.from(key, "base64"), format: "der", type: "spki" });
const signature = Buffer.from(readFileSync(sig, "utf8").trim(), "base64");
process.exit(verify(null, readFileSync(file), pub, signature) ? 0 : 1);
'@
  & $node $verify $download "$download.sig" $signingKey
  $signed = $LASTEXITCODE -eq 0
  Remove-Item -Force $verify, "$download.key", "$download.sig"
  if (-not $signed) {
    Remove-Item -Force $download
    throw "openhq: the downloaded agent is not signed by the farm's key"
  }
}
Get-InstallFile 'agent-service.ps1' (Join-Path $Prefix 'agent-service.ps1')
Get-InstallFile 'idle-helper.ps1' (Join-Path $Prefix 'idle-helper.ps1')
Stop-Agent
Move-Item -Force $download $agentFile
$version = & $node $agentFile --version
Say "installed the agent $version in $Prefix"

# ---- hqnode.ini: written, or its connection keys updated ------------------------------------------------
# The [main] lines of the ini, with KEY set to VALUE (replaced where it is, else added at the end of [main]).
function Set-IniValue([string[]]$lines, [string]$key, [string]$value) {
  $out = New-Object System.Collections.Generic.List[string]
  $section = ''
  $done = $false
  foreach ($line in $lines) {
    if ($line -match '^\s*\[(.*)\]') {
      if ($section -eq 'main' -and -not $done) { $out.Add("$key = $value"); $done = $true }
      $section = $Matches[1].Trim()
    } elseif ($section -eq 'main' -and -not $done -and $line -match "^\s*$([regex]::Escape($key))\s*[=:]") {
      $out.Add("$key = $value"); $done = $true; continue
    }
    $out.Add($line)
  }
  if (-not $done) {
    if ($section -ne 'main') { $out.Add('[main]') }
    $out.Add("$key = $value")
  }
  return ,$out.ToArray()
}
function Get-IniValue([string[]]$lines, [string]$key) {
  $section = ''
  foreach ($line in $lines) {
    if ($line -match '^\s*\[(.*)\]') { $section = $Matches[1].Trim(); continue }
    if ($section -eq 'main' -and $line -match "^\s*$([regex]::Escape($key))\s*[=:]\s*(.*?)\s*$") { return $Matches[1] }
  }
  return ''
}
if ((Test-Path $ini) -and $From -ne '') {
  # Installed from a folder: no coordinator line to follow, the ini is the admin's.
  Say "keeping $ini"
} elseif (Test-Path $ini) {
  $lines = @(Get-Content $ini)
  $oldServer = Get-IniValue $lines 'server'
  if ($oldServer.StartsWith('https://') -and $Url.StartsWith('http://') -and -not $AllowHttp) {
    throw "openhq: $ini is set up for TLS ($oldServer); refusing to point it at $Url (give -AllowHttp to do it anyway)"
  }
  $changes = @(@('server', $Url, $false), @('caFile', $CaFile, $false), @('secret', $Secret, $true),
    @('signingKey', $signingKey, $false))
  foreach ($change in $changes) {
    $key, $value, $secretValue = $change
    if ($value -eq '') { continue }
    $old = Get-IniValue $lines $key
    if ($old -eq $value) { continue }
    $lines = Set-IniValue $lines $key $value
    if ($secretValue) { Say "updated $key in $ini" }
    else { Say "updated $key in ${ini}: $(if ($old) { $old } else { '(none)' }) -> $value" }
  }
  Set-Content -Path $ini -Value $lines -Encoding ASCII
  Say "kept the other settings of $ini"
} else {
  $lines = @('; written by /install/agent.ps1; every key: deploy/hqnode.ini.example in the openhq sources',
    '[main]', "server = $(if ($Url) { $Url } else { 'localhost' })", "name = $Name")
  if ($ClientPort -gt 0) { $lines += "clientPort = $ClientPort" }
  if ($HqRoot -ne '') { $lines += "sharedNetwork.mount = $HqRoot" }
  $lines += @("stateDir = $state", "logFile = $(Join-Path $logs 'agent.log')")
  if ($CaFile -ne '') { $lines += "caFile = $CaFile" }
  if ($Secret -ne '') { $lines += "secret = $Secret" }
  if ($signingKey -ne '') { $lines += "signingKey = $signingKey" }
  $lines += @('', '[job_environment]')
  Set-Content -Path $ini -Value $lines -Encoding ASCII
  Say "wrote $ini"
}

# ---- the agent's account: a dedicated local one unless -User or -System --------------------------------
$generated = $false
if (-not $System -and $User -eq '' -and -not $NoService) {
  $User = 'openhq-agent'
  $bytes = New-Object byte[] 24
  [Security.Cryptography.RandomNumberGenerator]::Create().GetBytes($bytes)
  $Password = [Convert]::ToBase64String($bytes) + 'aA1!'
  $secure = ConvertTo-SecureString $Password -AsPlainText -Force
  if (Get-LocalUser -Name $User -ErrorAction SilentlyContinue) {
    Set-LocalUser -Name $User -Password $secure
  } else {
    New-LocalUser -Name $User -Password $secure -PasswordNeverExpires -UserMayNotChangePassword `
      -Description 'openhq render agent and its jobs' | Out-Null
    Say "created the local account $User"
  }
  $generated = $true
}

# ---- who may touch what: Administrators and SYSTEM everything; the agent's account its own folders --------
# No Users entry (older installs gave Users Modify on all of %ProgramData%\openhq): another local user, or a
# job of another agent, writes no state, spool, credential or log. The agent checks this at every start.
icacls.exe $data /remove:g '*S-1-5-32-545' | Out-Null
icacls.exe $ini /inheritance:r /grant:r '*S-1-5-32-544:F' '*S-1-5-18:F' | Out-Null
foreach ($folder in @($state, $logs)) {
  icacls.exe $folder /inheritance:r /grant:r '*S-1-5-32-544:(OI)(CI)F' '*S-1-5-18:(OI)(CI)F' | Out-Null
}
if ($User -ne '') {
  icacls.exe $ini /grant:r "${User}:R" | Out-Null
  foreach ($folder in @($state, $logs)) { icacls.exe $folder /grant:r "${User}:(OI)(CI)M" | Out-Null }
  # upgradeClients: the agent replaces its own file.
  icacls.exe $Prefix /grant:r "${User}:(OI)(CI)M" | Out-Null
}

if ($NoService) {
  Say "installed without a service: run `"$node`" `"$agentFile`" --config `"$ini`""
  return
}

# ---- the agent's task: at boot, as its account (or SYSTEM), supervised by agent-service.ps1 -------------------
$supervisor = Join-Path $Prefix 'agent-service.ps1'
$arguments = "-NoProfile -NonInteractive -ExecutionPolicy Bypass -File `"$supervisor`" -Node `"$node`" -Agent `"$agentFile`" -Config `"$ini`" -Logs `"$logs`""
$action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument $arguments -WorkingDirectory $state
$trigger = New-ScheduledTaskTrigger -AtStartup
$settings = New-ScheduledTaskSettingsSet -ExecutionTimeLimit ([TimeSpan]::Zero) -AllowStartIfOnBatteries `
  -DontStopIfGoingOnBatteries -StartWhenAvailable -MultipleInstances IgnoreNew `
  -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1)
if ($User -ne '') {
  if ($Password -eq '') { throw 'openhq: -User needs -Password (the task runs without anyone logged on)' }
  if ($generated) { Say "the agent's task runs as $User (-System runs it as SYSTEM)" }
  Register-ScheduledTask -TaskName $taskName -Action $action -Trigger $trigger -Settings $settings `
    -User $User -Password $Password -RunLevel Highest -Force | Out-Null
} else {
  $systemPrincipal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
  Register-ScheduledTask -TaskName $taskName -Action $action -Trigger $trigger -Settings $settings `
    -Principal $systemPrincipal -Force | Out-Null
}

# ---- the idle helper: at every logon, in the user's session ------------------------------------------------
# It writes idle.txt here: users may write that one file, nothing else of the agent's.
$idleFile = Join-Path $data 'idle.txt'
if (-not (Test-Path $idleFile)) { Set-Content -Path $idleFile -Value '' -Encoding ASCII }
icacls.exe $idleFile /grant:r '*S-1-5-32-545:M' | Out-Null
$helper = Join-Path $Prefix 'idle-helper.ps1'
$idleAction = New-ScheduledTaskAction -Execute 'powershell.exe' `
  -Argument "-NoProfile -NonInteractive -WindowStyle Hidden -ExecutionPolicy Bypass -File `"$helper`""
$users = New-ScheduledTaskPrincipal -GroupId 'S-1-5-32-545' -RunLevel Limited
$idleSettings = New-ScheduledTaskSettingsSet -ExecutionTimeLimit ([TimeSpan]::Zero) -AllowStartIfOnBatteries `
  -DontStopIfGoingOnBatteries -MultipleInstances Parallel
Register-ScheduledTask -TaskName $idleTask -Action $idleAction -Trigger (New-ScheduledTaskTrigger -AtLogOn) `
  -Settings $idleSettings -Principal $users -Force | Out-Null

# ---- firewall: wakeup/terminate reach the agent ----------------------------------------------------------
$port = if ($ClientPort -gt 0) { $ClientPort } else { 5001 }
Get-NetFirewallRule -DisplayName $firewallRule -ErrorAction SilentlyContinue | Remove-NetFirewallRule
New-NetFirewallRule -DisplayName $firewallRule -Direction Inbound -Action Allow -Protocol TCP -LocalPort $port | Out-Null

Start-ScheduledTask -TaskName $taskName
Say "started the agent (task $taskName; log $(Join-Path $logs 'agent.log')); it connects to $Url"
