package io.statekeeper;

import java.time.Duration;

import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static io.statekeeper.RunningService.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.assertj.core.api.Assertions.assertThatException;

/**
 * The wired service over real HTTP across restarts: the API, a restart on the same data
 * directory, configuration validation. What needs no restart is
 * {@link ServiceWiringTests}.
 */
class StatekeeperApplicationTests {

	private static final byte[] STATE = ("{\"version\":\"1.0.0\",\"last_sync\":null,\"resources\":{\"vpc\":"
			+ "{\"kind\":\"network\",\"name\":\"main\",\"remote_id\":\"vpc-1\",\"last_applied_hash\":\"2.50\","
			+ "\"metadata\":{\"cost\":2.50,\"n\":3e2}}},\"metadata\":{\"created_at\":\"2026-11-26T00:00:00Z\","
			+ "\"total_resources\":1}}\n")
		.getBytes(StandardCharsets.UTF_8);

	@TempDir
	Path dataDir;

	@Test
	void aStateSurvivesARestartByteForByteWithItsETag() {
		String etag;
		try (RunningService service = RunningService.start(this.dataDir)) {
			HttpResponse<byte[]> created = service.put("/api/v1/states/prod", STATE, "If-None-Match", "*");
			assertThat(created.statusCode()).isEqualTo(201);
			etag = created.headers().firstValue("ETag").orElseThrow();
			assertThat(etag).isEqualTo("\"1\"");
			assertThat(text(created)).contains("\"checksum\":\"sha256:");
		}
		try (RunningService service = RunningService.start(this.dataDir)) {
			HttpResponse<byte[]> read = service.get("/api/v1/states/prod");
			assertThat(read.statusCode()).isEqualTo(200);
			assertThat(read.body()).isEqualTo(STATE);
			assertThat(read.headers().firstValue("ETag")).hasValue(etag);
			assertThat(read.headers().firstValue("Content-Type")).hasValue("application/json");
			assertThat(service.get("/api/v1/states/prod", "If-None-Match", etag).statusCode()).isEqualTo(304);
			HttpResponse<byte[]> next = service.put("/api/v1/states/prod", STATE, "If-Match", etag);
			assertThat(next.statusCode()).isEqualTo(200);
			assertThat(next.headers().firstValue("ETag")).hasValue("\"2\"");
			assertThat(service.put("/api/v1/states/prod", STATE, "If-Match", etag).statusCode()).isEqualTo(412);
		}
	}

	@Test
	void rejectedRequestsChangeNothingOnDisk() throws IOException {
		try (RunningService service = RunningService.start(this.dataDir, "statekeeper.storage.max-state-size=4KB")) {
			assertThat(service.put("/api/v1/states/prod", STATE).statusCode()).isEqualTo(201);
			Map<String, String> before = RunningService.snapshot(this.dataDir);

			assertThat(service.put("/api/v1/states/prod", "{\"version\":1".getBytes()).statusCode()).isEqualTo(400);
			assertThat(service.put("/api/v1/states/prod", "{\"version\":1}".getBytes()).statusCode()).isEqualTo(422);
			assertThat(service.put("/api/v1/states/prod", new byte[0]).statusCode()).isEqualTo(400);
			assertThat(service
				.put("/api/v1/states/prod",
						"{\"version\":1,\"resources\":{\"a\":{\"x\":1,\"x\":2}},\"metadata\":{}}".getBytes())
				.statusCode()).isEqualTo(400);
			assertThat(service.put("/api/v1/states/prod", new byte[5000]).statusCode()).isEqualTo(413);
			assertThat(service.put("/api/v1/states/prod", STATE, "If-Match", "\"9\"").statusCode()).isEqualTo(412);
			assertThat(service.put("/api/v1/states/prod", STATE, "If-None-Match", "*").statusCode()).isEqualTo(412);
			assertThat(service.put("/api/v1/states/prod", STATE, "If-Match", "nine").statusCode()).isEqualTo(400);
			assertThat(service.put("/api/v1/states/new", STATE, "If-Match", "\"1\"").statusCode()).isEqualTo(412);
			assertThat(service.put("/api/v1/states/-bad", STATE).statusCode()).isEqualTo(400);
			assertThat(service
				.send(HttpRequest.newBuilder(service.api("/api/v1/states/prod"))
					.header("Content-Type", "text/plain")
					.PUT(HttpRequest.BodyPublishers.ofByteArray(STATE)))
				.statusCode()).isEqualTo(415);
			assertThat(service.delete("/api/v1/states/prod", "If-Match", "\"7\"").statusCode()).isEqualTo(412);
			assertThat(service.delete("/api/v1/states/absent").statusCode()).isEqualTo(404);
			assertThat(service.post("/api/v1/states/prod/versions/5/restore").statusCode()).isEqualTo(404);

			assertThat(RunningService.snapshot(this.dataDir)).isEqualTo(before);
		}
	}

	@Test
	void historyAndRestoreWorkOverHttp() {
		try (RunningService service = RunningService.start(this.dataDir, "statekeeper.storage.backups-kept=2")) {
			for (int i = 1; i <= 4; i++) {
				byte[] body = ("{\"version\":" + i + ",\"resources\":{},\"metadata\":{}}").getBytes();
				assertThat(service.put("/api/v1/states/prod", body).statusCode()).isIn(200, 201);
			}
			// revision 1 goes once its audit entry is durable (the log's group commit,
			// 100ms): pruning never removes a header that is the only record of a write
			await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
				String versions = text(service.get("/api/v1/states/prod/versions"));
				assertThat(versions).containsSubsequence("\"revision\":4", "\"current\":true", "\"revision\":3",
						"\"revision\":2");
				assertThat(versions).doesNotContain("\"revision\":1");
			});
			assertThat(text(service.get("/api/v1/states/prod/versions/2"))).contains("\"version\":2");
			assertThat(service.get("/api/v1/states/prod/versions/1").statusCode()).isEqualTo(404);

			HttpResponse<byte[]> restored = service.post("/api/v1/states/prod/versions/2/restore");
			assertThat(restored.statusCode()).isEqualTo(200);
			assertThat(restored.headers().firstValue("ETag")).hasValue("\"5\"");
			assertThat(text(service.get("/api/v1/states/prod"))).contains("\"version\":2");

			assertThat(service.delete("/api/v1/states/prod").statusCode()).isEqualTo(204);
			assertThat(service.get("/api/v1/states/prod").statusCode()).isEqualTo(404);
			assertThat(text(service.get("/api/v1/states"))).isEqualTo("[]");
			assertThat(text(service.get("/api/v1/states/prod/versions"))).contains("\"revision\":5");
		}
	}

	@Test
	void aBadConfigurationValueStopsStartUpNamingTheProperty() {
		assertThatException()
			.isThrownBy(() -> RunningService.start(this.dataDir, "statekeeper.storage.backups-kept=-1"))
			.satisfies((ex) -> assertThat(messages(ex)).contains("statekeeper.storage").contains("backupsKept"));
		assertThatException()
			.isThrownBy(() -> RunningService.start(this.dataDir, "statekeeper.storage.on-corruption=shrug"))
			.satisfies((ex) -> assertThat(messages(ex)).contains("on-corruption"));
		assertThatException()
			.isThrownBy(() -> RunningService.start(this.dataDir, "statekeeper.storage.lock-timeout=0s"))
			.satisfies((ex) -> assertThat(messages(ex)).contains("lock-timeout must be positive"));
		assertThatException()
			.isThrownBy(() -> RunningService.start(this.dataDir, "statekeeper.storage.max-body-memory=1MB"))
			.satisfies((ex) -> assertThat(messages(ex)).contains("max-body-memory must be at least max-state-size"));
		// a token's own fields are validated too (List<@Valid Token>)
		assertThatException()
			.isThrownBy(() -> RunningService.start(this.dataDir, "statekeeper.security.tokens[1].id=ci",
					"statekeeper.security.tokens[1].secret-sha256=not-a-digest",
					"statekeeper.security.tokens[1].roles=writer"))
			.satisfies((ex) -> assertThat(messages(ex)).contains("tokens[1].secretSha256"));
	}

	@Test
	void anUnusableDataDirectoryStopsStartUpWithAClearMessage() throws IOException {
		Path file = Files.writeString(this.dataDir.resolve("file"), "not a directory");
		assertThatException().isThrownBy(() -> RunningService.start(file))
			.satisfies((ex) -> assertThat(messages(ex)).contains("Cannot create the data directory"));
	}

	private static String messages(Throwable ex) {
		StringBuilder all = new StringBuilder();
		for (Throwable cause = ex; cause != null; cause = cause.getCause()) {
			all.append(cause.getMessage()).append('\n');
		}
		return all.toString();
	}

}
