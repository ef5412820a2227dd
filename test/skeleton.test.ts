import { test } from "node:test";
import assert from "node:assert/strict";
import { startRedis } from "./support/redis.js";

test("the test setup starts a real redis-server", async () => {
  const redis = await startRedis();
  try {
    assert.equal(await redis.client().ping(), "PONG");
  } finally {
    await redis.stop();
  }
});
