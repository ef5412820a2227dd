// The farm secret every test coordinator is started with (OPENHQ_FARM_SECRET) and every test agent and
// protocol peer presents, unless a test sets its own.
export const TEST_FARM_SECRET = "openhq-test-farm-secret";
