package io.statekeeper;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.statekeeper.storage.Damage;

import static io.statekeeper.RunningService.text;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every damage kind, under both policies, over HTTP after a restart: the status, the
 * problem, the quarantined file, the counter, and the way back.
 */
class RecoveryOverHttpTests {

	@TempDir
	Path dataDir;

	private static byte[] state(int n) {
		return ("{\"version\":" + n + ",\"resources\":{},\"metadata\":{}}").getBytes(StandardCharsets.UTF_8);
	}

	private Path current() {
		return this.dataDir.resolve("states/prod/current.json");
	}

	private void writeTwoRevisionsAndDamageTheCurrent(Damage damage) throws IOException {
		try (RunningService service = RunningService.start(this.dataDir)) {
			assertThat(service.put("/api/v1/states/prod", state(1)).statusCode()).isEqualTo(201);
			assertThat(service.put("/api/v1/states/prod", state(2)).statusCode()).isEqualTo(200);
			assertThat(service.put("/api/v1/states/other", state(9)).statusCode()).isEqualTo(201);
		}
		Files.write(current(), damage.apply(Files.readAllBytes(current())));
	}

	private long quarantinedFiles() throws IOException {
		try (Stream<Path> files = Files.walk(this.dataDir.resolve("quarantine"))) {
			return files.filter(Files::isRegularFile).count();
		}
	}

	static Stream<Arguments> damages() {
		return Stream.of(Damage.values()).map(Arguments::of);
	}

	@ParameterizedTest
	@MethodSource("damages")
	void underHoldADamagedStateAnswers503UntilAnAdminRestoresIt(Damage damage) throws IOException {
		writeTwoRevisionsAndDamageTheCurrent(damage);
		try (RunningService service = RunningService.start(this.dataDir)) {
			HttpResponse<byte[]> held = service.get("/api/v1/states/prod");
			assertThat(held.statusCode()).isEqualTo(503);
			assertThat(text(held)).contains("https://statekeeper.io/problems/state-held")
				.contains("\"validRevisions\":[1]");
			assertThat(service.put("/api/v1/states/prod", state(3)).statusCode()).isEqualTo(503);
			// the other states keep being served, and readiness stays UP with the damage
			// in its details
			assertThat(service.get("/api/v1/states/other").statusCode()).isEqualTo(200);
			assertThat(service.managementGet("/actuator/health/readiness")).contains("\"status\":\"UP\"")
				.contains("\"damagedStates\":1")
				.doesNotContain("prod")
				.doesNotContain(this.dataDir.toString());
			assertThat(service.managementGet("/actuator/prometheus"))
				.contains("statekeeper_storage_recoveries_total{outcome=\"quarantined\"} 1.0")
				.contains("statekeeper_states_damaged 1.0");
			assertThat(quarantinedFiles()).isEqualTo(1);
			assertThat(current()).doesNotExist();

			HttpResponse<byte[]> restored = service.post("/api/v1/states/prod/versions/1/restore");
			assertThat(restored.statusCode()).isEqualTo(200);
			long revision = Long.parseLong(restored.headers().firstValue("ETag").orElseThrow().replace("\"", ""));
			assertThat(revision).isGreaterThan(2);
			assertThat(service.get("/api/v1/states/prod").body()).isEqualTo(state(1));
		}
		try (RunningService service = RunningService.start(this.dataDir)) {
			assertThat(service.get("/api/v1/states/prod").body()).isEqualTo(state(1));
			assertThat(service.managementGet("/actuator/health/readiness")).doesNotContain("damagedStates");
		}
	}

	@Test
	void onlyAnAdminClearsAHoldAndTheListShowsTheDamagedState() throws IOException {
		writeTwoRevisionsAndDamageTheCurrent(Damage.BODY_BYTE_FLIPPED);
		String writer = "writer-secret-0123456789abcdef0123";
		try (RunningService service = RunningService.start(this.dataDir, "statekeeper.security.tokens[1].id=writer",
				"statekeeper.security.tokens[1].secret-sha256="
						+ java.util.HexFormat.of().formatHex(io.statekeeper.storage.Sha256.of(writer.getBytes())),
				"statekeeper.security.tokens[1].roles=writer")) {
			java.util.Map<String, String> before = RunningService.snapshot(this.dataDir);
			HttpResponse<byte[]> delete = service
				.sendRaw(java.net.http.HttpRequest.newBuilder(service.api("/api/v1/states/prod"))
					.header("Authorization", "Bearer " + writer)
					.DELETE());
			assertThat(delete.statusCode()).isEqualTo(403);
			assertThat(text(delete)).contains("https://statekeeper.io/problems/admin-required");
			// If-Match on a held state: the hold answers, not "no current revision"
			HttpResponse<byte[]> conditional = service.put("/api/v1/states/prod", state(3), "If-Match", "\"2\"");
			assertThat(conditional.statusCode()).isEqualTo(503);
			assertThat(text(conditional)).contains("https://statekeeper.io/problems/state-held");
			assertThat(RunningService.snapshot(this.dataDir)).isEqualTo(before);
			assertThat(service.get("/api/v1/states/prod").statusCode()).isEqualTo(503);

			assertThat(text(service.get("/api/v1/states")))
				.contains("{\"name\":\"prod\",\"revision\":2,\"size\":0,\"status\":\"held\",\"locked\":false}")
				.contains("\"name\":\"other\"", "\"status\":\"ok\"");

			assertThat(service.delete("/api/v1/states/prod").statusCode()).isEqualTo(204);
			assertThat(text(service.get("/api/v1/states"))).doesNotContain("prod");
			assertThat(service.put("/api/v1/states/prod", state(4)).headers().firstValue("ETag")).hasValue("\"4\"");
		}
	}

	@ParameterizedTest
	@MethodSource("damages")
	void underRestorePreviousTheNewestValidVersionIsPromotedAsANewRevision(Damage damage) throws IOException {
		writeTwoRevisionsAndDamageTheCurrent(damage);
		try (RunningService service = RunningService.start(this.dataDir,
				"statekeeper.storage.on-corruption=restore-previous")) {
			HttpResponse<byte[]> read = service.get("/api/v1/states/prod");
			assertThat(read.statusCode()).isEqualTo(200);
			assertThat(read.body()).isEqualTo(state(1));
			assertThat(read.headers().firstValue("ETag")).hasValue("\"3\"");
			assertThat(service.managementGet("/actuator/prometheus"))
				.contains("statekeeper_storage_recoveries_total{outcome=\"quarantined\"} 1.0")
				.contains("statekeeper_storage_recoveries_total{outcome=\"restored\"} 1.0");
			assertThat(quarantinedFiles()).isEqualTo(1);
			// a client holding the damaged revision's ETag cannot overwrite by accident
			assertThat(service.put("/api/v1/states/prod", state(4), "If-Match", "\"2\"").statusCode()).isEqualTo(412);
		}
	}

	@Test
	void aStateWithNoValidVersionIsReportedUnrecoverableAndCanBeDeletedAndRecreated() throws IOException {
		try (RunningService service = RunningService.start(this.dataDir, "statekeeper.storage.backups-kept=0")) {
			service.put("/api/v1/states/prod", state(1));
		}
		Files.write(current(), Damage.BODY_BYTE_FLIPPED.apply(Files.readAllBytes(current())));
		try (RunningService service = RunningService.start(this.dataDir, "statekeeper.storage.backups-kept=0",
				"statekeeper.storage.on-corruption=restore-previous")) {
			HttpResponse<byte[]> read = service.get("/api/v1/states/prod");
			assertThat(read.statusCode()).isEqualTo(503);
			assertThat(text(read)).contains("state-unrecoverable");
			assertThat(service.managementGet("/actuator/prometheus"))
				.contains("statekeeper_storage_recoveries_total{outcome=\"unrecoverable\"} 1.0");
		}
		// its damaged file is in quarantine now: the next start-up must still know the
		// state
		try (RunningService service = RunningService.start(this.dataDir, "statekeeper.storage.backups-kept=0")) {
			HttpResponse<byte[]> read = service.get("/api/v1/states/prod");
			assertThat(read.statusCode()).isEqualTo(503);
			assertThat(text(read)).contains("state-unrecoverable");
			assertThat(service.put("/api/v1/states/prod", state(4), "If-None-Match", "*").statusCode()).isEqualTo(503);
			// and the alert on damaged states keeps firing
			assertThat(service.managementGet("/actuator/prometheus")).contains("statekeeper_states_damaged 1.0");
			assertThat(service.delete("/api/v1/states/prod").statusCode()).isEqualTo(204);
			HttpResponse<byte[]> recreated = service.put("/api/v1/states/prod", state(5));
			assertThat(recreated.statusCode()).isEqualTo(201);
			assertThat(recreated.headers().firstValue("ETag")).hasValue("\"3\"");
		}
	}

	@Test
	void aKeptVersionDamagedWhileRunningIsNeverServed() throws IOException {
		try (RunningService service = RunningService.start(this.dataDir)) {
			service.put("/api/v1/states/prod", state(1));
			service.put("/api/v1/states/prod", state(2));
			Path kept = this.dataDir.resolve("states/prod/versions/1.json");
			Files.write(kept, Damage.BODY_BYTE_FLIPPED.apply(Files.readAllBytes(kept)));

			HttpResponse<byte[]> read = service.get("/api/v1/states/prod/versions/1");
			assertThat(read.statusCode()).isEqualTo(503);
			assertThat(text(read)).contains("version-damaged");
			assertThat(service.post("/api/v1/states/prod/versions/1/restore").statusCode()).isIn(404, 503);
			assertThat(text(service.get("/api/v1/states/prod/versions"))).doesNotContain("\"revision\":1");
			assertThat(quarantinedFiles()).isEqualTo(1);
			assertThat(service.get("/api/v1/states/prod").body()).isEqualTo(state(2));
		}
	}

}
