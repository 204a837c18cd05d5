package dev.gantry.worker.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gantry.worker.testing.RedisServer;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.net.URI;
import java.net.URL;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The response cache with a real redis-server behind it: hits skip the engine, and the entry is in Redis. */
@QuarkusTest
@TestProfile(RedisResponseCacheApiIT.WithRedis.class)
class RedisResponseCacheApiIT {
    static RedisServer redis;

    public static class WithRedis implements QuarkusTestProfile {
        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(Redis.class));
        }
    }

    /** Starts redis-server before the worker, and hands the worker its URL. */
    public static class Redis implements QuarkusTestResourceLifecycleManager {
        @Override
        public Map<String, String> start() {
            redis = RedisServer.start();
            return Map.of("gantry.response-cache.redis-url", redis.url());
        }

        @Override
        public void stop() {
            redis.close();
        }
    }

    @TestHTTPResource("/")
    URL root;

    @Test
    void deterministicRequestIsAnsweredFromRedisWithoutTheEngine() throws Exception {
        assertThat(redis.command("DBSIZE")).isEqualTo("0");
        ResponseCacheIT.checkCaching(URI.create(root.toString()), "redis");
        assertThat(Integer.parseInt(redis.command("DBSIZE"))).as("entries in Redis").isGreaterThanOrEqualTo(2);
        assertThat(redis.command("RANDOMKEY")).startsWith("gantry:rc:");
    }
}
