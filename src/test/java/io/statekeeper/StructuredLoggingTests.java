package io.statekeeper;

import java.net.http.HttpRequest;
import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * One log line per write, with name, revision, size, duration and outcome and never the
 * body; as JSON, with those as fields, under the {@code json-logs} profile.
 */
class StructuredLoggingTests {

	@TempDir
	Path dataDir;

	@TempDir
	Path logs;

	@Test
	void eachWriteLogsOneJsonLineWithoutTheBody() throws Exception {
		try (ChildProcess service = ChildProcess
			.start(this.dataDir, this.logs.resolve("service.log"), "spring.profiles.active=json-logs")
			.awaitReady()) {
			int status = service
				.send(HttpRequest.newBuilder(service.api("/api/v1/states/prod"))
					.header("Content-Type", "application/json")
					.PUT(HttpRequest.BodyPublishers
						.ofString("{\"version\":1,\"resources\":{\"secret\":\"hunter2\"},\"metadata\":{}}")))
				.statusCode();
			assertThat(status).isEqualTo(201);
			await().atMost(Duration.ofSeconds(30))
				.untilAsserted(() -> assertThat(service.output()).containsPattern(
						"\\{\"@timestamp\":\"[^\"]+\",\"log\":\\{\"level\":\"INFO\",\"logger\":\"io.statekeeper.state.StateService\"\\}.*"
								+ "\"message\":\"put state=prod revision=1 size=60 outcome=success durationMs=[0-9.]+\""));
			// the write's fields are fields of its JSON line, not only words of its
			// message
			String line = service.output()
				.lines()
				.filter((logged) -> logged.contains("\"message\":\"put state=prod"))
				.findFirst()
				.orElseThrow();
			assertThat(line).contains("\"operation\":\"put\"", "\"state\":\"prod\"", "\"revision\":1", "\"size\":60",
					"\"outcome\":\"success\"", "\"token\":\"test\"");
			assertThat(service.output()).doesNotContain("hunter2");
		}
	}

}
