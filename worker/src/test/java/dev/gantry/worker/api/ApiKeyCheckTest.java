package dev.gantry.worker.api;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ApiKeyCheckTest {
    private final ApiKeyCheck check = new ApiKeyCheck("sk-test-123");

    @Test
    void acceptsTheBearerKey() {
        assertThatCode(() -> check.check("Bearer sk-test-123")).doesNotThrowAnyException();
        assertThatCode(() -> check.check("bearer   sk-test-123 ")).doesNotThrowAnyException();
    }

    @Test
    void refusesAnythingElse() {
        assertThatThrownBy(() -> check.check(null)).isInstanceOf(ApiException.class)
                .hasMessageContaining("You didn't provide an API key");
        for (String header : new String[] {"Bearer sk-test-12", "Bearer sk-test-1234", "sk-test-123", "Basic sk-test-123",
                "Bearer", "Bearer SK-TEST-123"}) {
            assertThatThrownBy(() -> check.check(header)).as(header).isInstanceOf(ApiException.class)
                    .hasMessage("Incorrect API key provided.")
                    .satisfies(e -> org.assertj.core.api.Assertions.assertThat(((ApiException) e).status()).isEqualTo(401));
        }
    }
}
