package io.statekeeper.audit;

import java.io.IOException;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.statekeeper.RunningService;
import io.statekeeper.security.SecurityTests;
import io.statekeeper.storage.Sha256;

import static io.statekeeper.RunningService.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What someone who can write the data directory (but not read the key) can do to the
 * audit log, and what start-up says about it: every version header anchors the newest
 * durable entry, and with a key the entries cannot be re-sealed.
 */
class AuditTamperingTests {

	static final byte[] STATE = SecurityTests.STATE;

	@TempDir
	Path dataDir;

	@TempDir
	Path secrets;

	RunningService service;

	@AfterEach
	void stop() {
		if (this.service != null) {
			this.service.close();
		}
	}

	private Path keyFile() throws IOException {
		Path key = this.secrets.resolve("audit.key");
		Files.writeString(key,
				java.util.Base64.getEncoder()
					.encodeToString(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
							21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 })
						+ "\n");
		return key;
	}

	private String[] properties(boolean keyed) throws IOException {
		List<String> properties = new ArrayList<>(List.of(SecurityTests.tokens()));
		if (keyed) {
			properties.add("statekeeper.security.audit-key-file=" + keyFile());
		}
		return properties.toArray(String[]::new);
	}

	/**
	 * Three writes with a refused one between them: the refusal's entry is synced, so the
	 * last write's header anchors a durable entry whatever the flusher did.
	 */
	private void writeWithAnAnchor(boolean keyed) throws IOException {
		this.service = RunningService.start(this.dataDir, properties(keyed));
		assertThat(this.service.put("/api/v1/states/prod", STATE).statusCode()).isEqualTo(201);
		assertThat(this.service
			.sendRaw(HttpRequest.newBuilder(this.service.api("/api/v1/states/prod"))
				.header("Authorization", "Bearer " + SecurityTests.READER)
				.DELETE())
			.statusCode()).isEqualTo(403);
		assertThat(this.service.put("/api/v1/states/other", STATE).statusCode()).isEqualTo(201);
		assertThat(Files.readAllLines(this.dataDir.resolve("states/other/current.json")).get(0))
			.contains("\"logEntries\":");
		this.service.close();
		this.service = null;
	}

	private String healthAfterRestart(boolean keyed) throws IOException {
		this.service = RunningService.start(this.dataDir, properties(keyed));
		return this.service.managementGet("/actuator/health");
	}

	private Path log() {
		return this.dataDir.resolve("audit/audit.log");
	}

	@Test
	void anIntactLogWithAnchorsStartsIntact() throws IOException {
		writeWithAnAnchor(true);
		assertThat(healthAfterRestart(true)).contains("\"chainIntact\":true", "\"keyed\":true");
		assertThat(this.service.managementGet("/actuator/prometheus")).contains("statekeeper_audit_chain_intact 1.0");
	}

	@Test
	void cuttingTheLogsTailIsDetected() throws IOException {
		writeWithAnAnchor(false);
		List<String> lines = Files.readAllLines(log());
		Files.writeString(log(), lines.get(0) + "\n");
		// where, but no state's name: the management port answers anyone
		assertThat(healthAfterRestart(false))
			.contains("\"chainIntact\":false", "entries were cut off", "the version header of revision 1")
			.doesNotContain("other");
		assertThat(this.service.managementGet("/actuator/prometheus")).contains("statekeeper_audit_chain_intact 0.0");
	}

	@Test
	void deletingTheLogIsDetected() throws IOException {
		writeWithAnAnchor(false);
		Files.delete(log());
		assertThat(healthAfterRestart(false)).contains("\"chainIntact\":false", "the log ends at entry 0");
	}

	@Test
	void rewritingTheChainWithRecomputedHashesIsDetectedWithoutAKey() throws IOException {
		writeWithAnAnchor(false);
		// the first entry edited, and every hash after it recomputed, as anyone can do
		// with SHA-256
		editTheFirstEntryAndReseal(false);
		assertThat(healthAfterRestart(false)).contains("\"chainIntact\":false", "the log was rewritten");
	}

	@Test
	void withAKeyAnEntryCannotBeResealedAtAll() throws IOException {
		writeWithAnAnchor(true);
		assertThat(Files.readAllLines(log()).get(0)).contains("\"mac\":\"hmac-sha256\"");
		// the attacker keeps the keyed form and recomputes with SHA-256
		editTheFirstEntryAndReseal(true);
		assertThat(healthAfterRestart(true)).contains("\"chainIntact\":false", "audit.log line 1: hash mismatch");
	}

	@Test
	void withAKeyAnUnkeyedRewriteOfTheWholeLogIsDetected() throws IOException {
		writeWithAnAnchor(true);
		// every entry turned into an unkeyed one and the chain recomputed: it verifies
		// as a log from before the key, but not against the anchor
		List<String> lines = Files.readAllLines(log());
		lines.replaceAll((line) -> line.replace(",\"mac\":\"hmac-sha256\"", ""));
		Files.write(log(), reseal(lines, false));
		assertThat(healthAfterRestart(true)).contains("\"chainIntact\":false", "the log was rewritten");
	}

	@Test
	void aKeyedLogWithoutItsKeyStopsStartUpWithAClearMessage() throws IOException {
		writeWithAnAnchor(true);
		assertThatThrownBy(() -> RunningService.start(this.dataDir, SecurityTests.tokens()))
			.hasStackTraceContaining("statekeeper.security.audit-key-file is not set");
	}

	@Test
	void aKeyInsideTheDataDirectoryOrTooShortIsRefused() throws IOException {
		Files.createDirectories(this.dataDir);
		Path inside = Files.writeString(this.dataDir.resolve("audit.key"),
				java.util.Base64.getEncoder().encodeToString(new byte[32]));
		assertThatThrownBy(() -> RunningService.start(this.dataDir, "statekeeper.security.audit-key-file=" + inside))
			.hasStackTraceContaining("is inside the data directory");
		Path shortKey = Files.writeString(this.secrets.resolve("short.key"),
				java.util.Base64.getEncoder().encodeToString(new byte[16]));
		assertThatThrownBy(() -> RunningService.start(this.dataDir, "statekeeper.security.audit-key-file=" + shortKey))
			.hasStackTraceContaining("holds 16 bytes; the key must be at least 32");
	}

	@Test
	void aTornLastLineIsKeptInQuarantineNotDestroyed() throws IOException {
		writeWithAnAnchor(false);
		String torn = "{\"seq\":4,\"time\":\"2026-01-01T00:00:00Z\",\"token\":\"mallory\",\"act";
		Files.writeString(log(), torn, java.nio.file.StandardOpenOption.APPEND);
		assertThat(healthAfterRestart(false)).contains("\"chainIntact\":true");
		assertThat(Files.readString(log())).doesNotContain("mallory").endsWith("\n");
		List<Path> kept = tornLinesKept();
		assertThat(kept).hasSize(1);
		assertThat(Files.readString(kept.get(0))).isEqualTo(torn);
		// the next entry starts on a line of its own
		assertThat(this.service.put("/api/v1/states/prod", STATE).statusCode()).isEqualTo(200);
		this.service.close();
		assertThat(healthAfterRestart(false)).contains("\"chainIntact\":true");
	}

	@Test
	void aWholeLastEntryWithoutItsNewlineIsCompletedNotCut() throws IOException {
		writeWithAnAnchor(false);
		String content = Files.readString(log());
		Files.writeString(log(), content.substring(0, content.length() - 1));
		assertThat(healthAfterRestart(false)).contains("\"chainIntact\":true");
		assertThat(Files.readString(log())).isEqualTo(content);
		assertThat(tornLinesKept()).isEmpty();
	}

	@Test
	void retentionDropsOnlyAnchoredFilesSaysSoInTheChainAndAMissingFileIsStillDetected() throws IOException {
		List<String> properties = new ArrayList<>(List.of(properties(true)));
		properties.add("statekeeper.security.audit-max-file-size=600B");
		properties.add("statekeeper.security.audit-max-files=2");
		this.service = RunningService.start(this.dataDir, properties.toArray(String[]::new));
		for (int i = 0; i < 8; i++) {
			assertThat(this.service.put("/api/v1/states/prod", STATE).statusCode()).isIn(200, 201);
			// a refusal is synced at once, so the next write anchors everything before it
			assertThat(this.service
				.sendRaw(HttpRequest.newBuilder(this.service.api("/api/v1/states/prod"))
					.header("Authorization", "Bearer " + SecurityTests.READER)
					.DELETE())
				.statusCode()).isEqualTo(403);
		}
		org.awaitility.Awaitility.await()
			.atMost(java.time.Duration.ofSeconds(20))
			.until(() -> !Files.exists(this.dataDir.resolve("audit/audit-000001.log")));
		String audit = text(this.service.get("/api/v1/audit"));
		assertThat(audit).contains("\"action\":\"retention\"", "beyond statekeeper.security.audit-max-files")
			.containsPattern("dropped audit-\\d{6}\\.log \\(entries \\d+ to \\d+\\)");
		this.service.close();
		this.service = null;
		this.service = RunningService.start(this.dataDir, properties.toArray(String[]::new));
		assertThat(this.service.managementGet("/actuator/health")).contains("\"chainIntact\":true");
		this.service.close();
		this.service = null;

		// removing the oldest file left is not retention: a gap
		try (Stream<Path> files = Files.list(this.dataDir.resolve("audit"))) {
			Path oldest = files.filter((file) -> file.getFileName().toString().startsWith("audit-"))
				.sorted()
				.findFirst()
				.orElseThrow();
			Files.delete(oldest);
		}
		this.service = RunningService.start(this.dataDir, properties.toArray(String[]::new));
		assertThat(this.service.managementGet("/actuator/health")).contains("\"chainIntact\":false",
				"older files were removed");
	}

	private List<Path> tornLinesKept() throws IOException {
		Path quarantine = this.dataDir.resolve("quarantine");
		if (!Files.isDirectory(quarantine)) {
			return List.of();
		}
		try (Stream<Path> files = Files.list(quarantine)) {
			return files.filter((file) -> file.getFileName().toString().startsWith("audit-torn-")).toList();
		}
	}

	private void editTheFirstEntryAndReseal(boolean keepMac) throws IOException {
		List<String> lines = Files.readAllLines(log());
		lines.set(0, lines.get(0).replace("\"remote\":\"127.0.0.1\"", "\"remote\":\"10.9.9.9\""));
		Files.write(log(), reseal(lines, keepMac));
	}

	/** Recomputes every entry's prev and hash, as someone without the key would. */
	private static List<String> reseal(List<String> lines, boolean keepMac) {
		List<String> resealed = new ArrayList<>();
		String previous = AuditChain.GENESIS;
		for (String line : lines) {
			Map<String, Object> entry = AuditChain.parse(line.getBytes(StandardCharsets.UTF_8));
			entry.remove("hash");
			entry.put("prev", previous);
			if (!keepMac) {
				entry.remove("mac");
			}
			else {
				// keep "mac" where it stands: after prev
				entry.remove("mac");
				entry.put("mac", AuditChain.HMAC);
			}
			String json = tools.jackson.databind.json.JsonMapper.builder().build().writeValueAsString(entry);
			previous = Sha256.hex(json.getBytes(StandardCharsets.UTF_8));
			resealed.add(json.substring(0, json.length() - 1) + ",\"hash\":\"" + previous + "\"}");
		}
		return resealed;
	}

	@Test
	void aRefusalWithoutATokenIsCountedAndLeavesNoEntry() throws IOException {
		this.service = RunningService.start(this.dataDir, properties(false));
		long before = Files.size(log());
		for (int i = 0; i < 200; i++) {
			assertThat(this.service
				.sendRaw(HttpRequest.newBuilder(this.service.api("/api/v1/states/prod"))
					.header("Content-Type", "application/json")
					.PUT(HttpRequest.BodyPublishers.ofByteArray(STATE)))
				.statusCode()).isEqualTo(401);
		}
		assertThat(Files.size(log())).isEqualTo(before);
		assertThat(this.service.managementGet("/actuator/prometheus"))
			.contains("statekeeper_security_refusals_total{reason=\"unauthorized\"} 200.0");
		assertThat(text(this.service.get("/api/v1/audit"))).doesNotContain("unauthorized");
	}

}
