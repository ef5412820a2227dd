// Moved to lua-scripts.ts (issue 14: distinct file names). This re-export stays only until the crash-recovery
// branch's test/store-invariants.test.ts imports lua-scripts.js; then delete it.
export { runScript } from "./lua-scripts.js";
