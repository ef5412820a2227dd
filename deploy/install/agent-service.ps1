# Runs the openhq agent for the "openhq-agent" scheduled task that /install/agent.ps1 registers (at boot, as
# the agent's account, or SYSTEM with -System), and does what the agent's exit code asks:
#   0   terminate() (or a stop): the agent has left the farm; stay stopped until the next boot or
#       Start-ScheduledTask openhq-agent
#   75  upgradeClients: the agent replaced its own file (agent/upgrade.ts); start the new code at once
#   any other code: a failure; start it again after 5 seconds
param(
  [Parameter(Mandatory = $true)][string]$Node,
  [Parameter(Mandatory = $true)][string]$Agent,
  [Parameter(Mandatory = $true)][string]$Config,
  [Parameter(Mandatory = $true)][string]$Logs
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3

$upgradeExitCode = 75
$errors = Join-Path $Logs 'agent.err.log'
while ($true) {
  # The agent writes its own log (logFile in hqnode.ini); what it prints on stderr (a crash) goes here.
  $process = Start-Process -FilePath $Node -ArgumentList @("`"$Agent`"", '--config', "`"$Config`"") `
    -NoNewWindow -PassThru -RedirectStandardError $errors
  # Touching the handle keeps the exit code readable after the exit; WaitForExit waits for node alone
  # (Start-Process -Wait would also wait for job processes it started).
  $null = $process.Handle
  $process.WaitForExit()
  $code = $process.ExitCode
  Add-Content -Path (Join-Path $Logs 'agent-service.log') -Value "$(Get-Date -Format o) agent exited with code $code"
  if ($code -eq 0) { exit 0 }
  if ($code -ne $upgradeExitCode) { Start-Sleep -Seconds 5 }
}
