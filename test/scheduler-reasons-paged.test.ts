// scheduler-reasons.test.ts again with 150 jobs walked a round: the walks resume across rounds and classes.

process.env.OPENHQ_REASONS_WALK = "150";
await import("./scheduler-reasons.test.js");
