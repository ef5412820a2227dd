// Moved to dispatch-scripts.ts (issue 14: distinct file names). This re-export stays only until the
// crash-recovery branch's files (coordinator/link/link.ts, connection.ts) import dispatch-scripts.js; then
// delete it.
export { Scripts } from "./dispatch-scripts.js";
