package io.statekeeper.audit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.statekeeper.RunningService;
import io.statekeeper.security.SecurityTests;

import static io.statekeeper.RunningService.text;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The audit trail across restarts of the whole service: a tampered line found at
 * start-up, rotation, entries a power loss took brought back from the version headers,
 * and versions kept until their entry is durable. Deliberate tampering of every kind is
 * {@link AuditTamperingTests}.
 */
class AuditAcrossRestartsTests {

	@TempDir
	Path dataDir;

	RunningService service;

	@BeforeEach
	void start() {
		this.service = RunningService.start(this.dataDir, SecurityTests.tokens());
		assertThat(this.service.put("/api/v1/states/prod", SecurityTests.STATE).statusCode()).isEqualTo(201);
		assertThat(this.service.put("/api/v1/states/prod", SecurityTests.STATE).statusCode()).isEqualTo(200);
		assertThat(this.service.put("/api/v1/states/team-a-net", SecurityTests.STATE).statusCode()).isEqualTo(201);
	}

	@AfterEach
	void stop() {
		this.service.close();
	}

	@Test
	void aTamperedAuditLogIsDetectedAtStartUp() throws Exception {
		this.service.close();
		Path log = this.dataDir.resolve("audit/audit.log");
		List<String> lines = Files.readAllLines(log);
		assertThat(lines).hasSizeGreaterThanOrEqualTo(3);
		lines.set(1, lines.get(1).replace("\"outcome\":\"success\"", "\"outcome\":\"failed\""));
		Files.write(log, lines);

		this.service = RunningService.start(this.dataDir, SecurityTests.tokens());
		assertThat(this.service.managementGet("/actuator/health")).contains("\"chainIntact\":false")
			.contains("audit.log line 2");
		assertThat(this.service.managementGet("/actuator/prometheus")).contains("statekeeper_audit_chain_intact 0.0");
	}

	@Test
	void anIntactAuditLogVerifiesAcrossRestartsAndRotation() throws Exception {
		this.service.close();
		this.service = RunningService.start(this.dataDir,
				Stream
					.concat(Stream.of(SecurityTests.tokens()),
							Stream.of("statekeeper.security.audit-max-file-size=600B"))
					.toArray(String[]::new));
		for (int i = 0; i < 5; i++) {
			this.service.put("/api/v1/states/prod", SecurityTests.STATE);
		}
		this.service.close();
		try (Stream<Path> files = Files.list(this.dataDir.resolve("audit"))) {
			assertThat(files.map((file) -> file.getFileName().toString())).contains("audit-000001.log",
					"audit-000002.log", "audit.log");
		}
		this.service = RunningService.start(this.dataDir, SecurityTests.tokens());
		assertThat(this.service.managementGet("/actuator/health")).contains("\"chainIntact\":true");
		assertThat(text(this.service.get("/api/v1/audit?state=prod"))).contains("\"revision\":7");
		assertThat(
				PosixFilePermissions.toString(Files.getPosixFilePermissions(this.dataDir.resolve("audit/audit.log"))))
			.isEqualTo("rw-------");
	}

	@Test
	void aWriteCarriesItsAuditFieldsInItsHeaderAndEntriesACrashLostComeBackAtStartUp() throws Exception {
		// entries stay in the page cache (no flush) as they may when the power goes
		this.service.close();
		Path data = this.dataDir.resolve("lost");
		String[] unflushed = Stream
			.concat(Stream.of(SecurityTests.tokens()), Stream.of("statekeeper.security.audit-flush-interval=1h"))
			.toArray(String[]::new);
		this.service = RunningService.start(data, unflushed);
		assertThat(this.service.put("/api/v1/states/prod", SecurityTests.STATE).statusCode()).isEqualTo(201);
		assertThat(this.service.put("/api/v1/states/prod", SecurityTests.STATE).statusCode()).isEqualTo(200);
		assertThat(this.service.put("/api/v1/states/team-a-net", SecurityTests.STATE).statusCode()).isEqualTo(201);
		String header = Files.readAllLines(data.resolve("states/prod/current.json")).get(0);
		assertThat(header).contains("\"audit\":{\"action\":\"put\",\"token\":\"test\",\"remote\":\"127.0.0.1\"}");
		this.service.close();
		// what a power loss can do to appends that were not fdatasync'ed yet: only the
		// first entry (prod, revision 1) survives
		Path log = data.resolve("audit/audit.log");
		List<String> lines = Files.readAllLines(log);
		assertThat(lines).hasSize(3);
		Files.writeString(log, lines.get(0) + "\n");

		this.service = RunningService.start(data, SecurityTests.tokens());
		String prod = text(this.service.get("/api/v1/audit?state=prod"));
		assertThat(prod).containsSubsequence("\"revision\":1", "\"outcome\":\"success\"", "\"revision\":2",
				"\"outcome\":\"success\"", "re-appended at start-up from the version header");
		assertThat(prod).containsSubsequence("\"token\":\"test\"", "\"remote\":\"127.0.0.1\"", "\"action\":\"put\"",
				"\"revision\":2");
		assertThat(text(this.service.get("/api/v1/audit?state=team-a-net"))).contains("\"revision\":1", "re-appended");
		assertThat(this.service.managementGet("/actuator/health")).contains("\"chainIntact\":true");

		// once back in the log, an entry is not appended again
		this.service.close();
		this.service = RunningService.start(data, SecurityTests.tokens());
		assertThat(text(this.service.get("/api/v1/audit")).split("re-appended", -1)).hasSize(3);
		assertThat(Files.readAllLines(log)).hasSize(3);
	}

	@Test
	void aVersionWhoseAuditEntryIsNotDurableYetOutlivesBackupsKept() {
		this.service.close();
		this.service = RunningService.start(this.dataDir.resolve("retained"),
				Stream.concat(Stream.of(SecurityTests.tokens()),
						Stream.of("statekeeper.security.audit-flush-interval=1h", "statekeeper.storage.backups-kept=1"))
					.toArray(String[]::new));
		for (int i = 0; i < 3; i++) {
			assertThat(this.service.put("/api/v1/states/x", SecurityTests.STATE).statusCode()).isIn(200, 201);
		}
		// backups-kept 1 alone would have pruned revision 1 by now
		assertThat(text(this.service.get("/api/v1/states/x/versions"))).contains("\"revision\":3", "\"revision\":2",
				"\"revision\":1");
	}

}
