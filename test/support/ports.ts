// Tests take their free ports from shared/ports.ts, the same helper the coordinator's private Redis uses.

export { freeLoopbackPort as freePort } from "../../shared/ports.js";
