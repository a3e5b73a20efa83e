package io.statekeeper.audit;

import java.io.IOException;
import java.io.OutputStream;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.statekeeper.RunningService;
import io.statekeeper.security.SecurityTests;
import io.statekeeper.storage.Tmpfs;

import static io.statekeeper.RunningService.text;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The audit log on a real, small tmpfs that fills up: writes are refused while their
 * audit entries still fit, a full disk never leaves a partial entry for the next one to
 * land on, and a flood without a token writes nothing. Needs root (to mount); skipped
 * with the reason elsewhere.
 */
@Tag("reliability")
class AuditDiskFullIT {

	static final byte[] STATE = SecurityTests.STATE;

	@TempDir
	Path base;

	private Path mount;

	private RunningService service;

	@BeforeEach
	void mountTmpfs() throws Exception {
		this.mount = Tmpfs.mountOrSkip(this.base, "size=4m,mode=0700");
	}

	@AfterEach
	void unmount() throws Exception {
		if (this.service != null) {
			this.service.close();
		}
		if (this.mount != null) {
			Tmpfs.unmount(this.mount);
		}
	}

	private RunningService start(String... extra) {
		String[] properties = java.util.stream.Stream
			.concat(java.util.stream.Stream.of(SecurityTests.tokens()), java.util.stream.Stream.of(extra))
			.toArray(String[]::new);
		this.service = RunningService.start(this.mount.resolve("data"), properties);
		return this.service;
	}

	/** Fills the file system until no more than {@code leave} bytes are free. */
	private Path fill(long leave) throws IOException {
		Path filler = this.mount.resolve("filler");
		byte[] page = new byte[4096];
		try (OutputStream out = Files.newOutputStream(filler)) {
			while (Files.getFileStore(this.mount).getUsableSpace() > leave) {
				out.write(page);
				out.flush();
			}
		}
		catch (IOException full) {
			// ENOSPC: as full as it gets
		}
		return filler;
	}

	private int forbiddenDelete() {
		return this.service
			.sendRaw(HttpRequest.newBuilder(this.service.api("/api/v1/states/prod"))
				.header("Authorization", "Bearer " + SecurityTests.READER)
				.DELETE())
			.statusCode();
	}

	@Test
	void writesAreRefusedWhileTheirAuditEntriesStillFit() throws IOException {
		start("statekeeper.storage.min-free-space=1MB");
		assertThat(this.service.put("/api/v1/states/prod", STATE).statusCode()).isEqualTo(201);
		fill(768 * 1024);
		assertThat(this.service.put("/api/v1/states/prod", STATE).statusCode()).isEqualTo(507);
		String audit = text(this.service.get("/api/v1/audit?state=prod"));
		assertThat(audit).containsSubsequence("\"action\":\"put\"", "\"outcome\":\"failed\"",
				"\"reason\":\"no-space\"");
		assertThat(this.service.managementGet("/actuator/prometheus")).contains("statekeeper_audit_failures_total 0.0");
	}

	@Test
	void aFullDiskLeavesNoPartialEntryForTheNextToLandOn() throws Exception {
		start();
		assertThat(this.service.put("/api/v1/states/prod", STATE).statusCode()).isEqualTo(201);
		Path filler = fill(0);
		for (int i = 0; i < 20; i++) {
			assertThat(forbiddenDelete()).isEqualTo(403);
		}
		assertThat(this.service.managementGet("/actuator/prometheus"))
			.doesNotContain("statekeeper_audit_failures_total 0.0");
		Files.delete(filler);
		assertThat(forbiddenDelete()).isEqualTo(403);
		this.service.close();
		this.service = null;

		start();
		assertThat(this.service.managementGet("/actuator/health")).contains("\"chainIntact\":true");
		assertThat(text(this.service.get("/api/v1/audit?state=prod"))).contains("\"reason\":\"forbidden\"");
	}

	@Test
	void aFloodWithoutATokenWritesNothingAndWritesGoOn() throws IOException {
		start("statekeeper.storage.min-free-space=1MB");
		Path log = this.mount.resolve("data/audit/audit.log");
		long before = Files.size(log);
		for (int i = 0; i < 2000; i++) {
			int status = this.service
				.sendRaw(HttpRequest.newBuilder(this.service.api("/api/v1/states/prod"))
					.header("Content-Type", "application/json")
					.header("Authorization", "Bearer wrong-" + i)
					.PUT(HttpRequest.BodyPublishers.ofByteArray(STATE)))
				.statusCode();
			assertThat(status).isEqualTo(401);
		}
		assertThat(Files.size(log)).isEqualTo(before);
		assertThat(this.service.put("/api/v1/states/prod", STATE).statusCode()).isEqualTo(201);
		assertThat(this.service.managementGet("/actuator/prometheus"))
			.contains("statekeeper_security_refusals_total{reason=\"unauthorized\"} 2000.0");
	}

}
