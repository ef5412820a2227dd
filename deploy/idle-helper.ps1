# openhq idle helper for Windows: runs at logon in the user's session (the "openhq-idle-helper" scheduled task
# that deploy/install/agent.ps1 registers). The agent runs in session 0, where GetLastInputInfo cannot see the
# user's input; this script writes the user's idle milliseconds to %ProgramData%\openhq\idle.txt every 15
# seconds, which agent/idle/windows.ts reads.
Add-Type @'
using System; using System.Runtime.InteropServices;
public static class OpenHqIdle {
  [StructLayout(LayoutKind.Sequential)] struct LASTINPUTINFO { public uint cbSize; public uint dwTime; }
  [DllImport("user32.dll")] static extern bool GetLastInputInfo(ref LASTINPUTINFO info);
  public static long Ms() {
    var info = new LASTINPUTINFO(); info.cbSize = (uint)Marshal.SizeOf(info);
    if (!GetLastInputInfo(ref info)) return -1;
    return (long)(uint)(Environment.TickCount - (int)info.dwTime);
  }
}
'@
$dir = Join-Path $env:ProgramData 'openhq'
New-Item -ItemType Directory -Force -Path $dir | Out-Null
while ($true) {
  Set-Content -Path (Join-Path $dir 'idle.txt') -Value ([OpenHqIdle]::Ms())
  Start-Sleep -Seconds 15
}
