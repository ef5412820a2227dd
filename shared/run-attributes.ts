// Where and when a job ran: the attributes the dashboard's job page and `openhq job ID` show together, in the
// order a wrangler reads them.

export const RUN_ATTRIBUTES = ["clients", "queueTime", "startTime", "endTime", "runTime", "ETA"] as const;
