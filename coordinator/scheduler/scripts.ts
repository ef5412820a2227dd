// Moved to store/dispatch-scripts.ts (issue 14: distinct file names). This re-export stays only until the
// crash-recovery branch's coordinator/link/link.ts and connection.ts import store/dispatch-scripts.js; then
// delete it.
export { Scripts } from "../store/dispatch-scripts.js";
