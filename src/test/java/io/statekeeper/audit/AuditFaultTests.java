package io.statekeeper.audit;

import java.net.http.HttpRequest;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import io.statekeeper.RunningService;
import io.statekeeper.security.SecurityTests;
import io.statekeeper.storage.FaultyStorageIo;
import io.statekeeper.storage.FaultyStorageIo.Op;

import static io.statekeeper.RunningService.text;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The audit log's own file operations through the fault-injecting seam: a failed append,
 * fdatasync or open is counted, the client still gets its answer, nothing partial is
 * left, and the chain verifies after a restart.
 */
class AuditFaultTests {

	@TempDir
	Path dataDir;

	private static int forbiddenDelete(RunningService service) {
		return service
			.sendRaw(HttpRequest.newBuilder(service.api("/api/v1/states/prod"))
				.header("Authorization", "Bearer " + SecurityTests.READER)
				.DELETE())
			.statusCode();
	}

	@ParameterizedTest
	@EnumSource(value = Op.class, names = { "WRITE", "FORCE_DATA" })
	void aFailedAppendOrFdatasyncIsCountedAndTheChainStillVerifies(Op op) {
		FaultyStorageIo io = new FaultyStorageIo();
		Supplier<Exception> fault = (op == Op.WRITE) ? FaultyStorageIo::noSpace : FaultyStorageIo::ioError;
		try (RunningService service = RunningService.start(this.dataDir, io, SecurityTests.tokens())) {
			assertThat(service.put("/api/v1/states/prod", SecurityTests.STATE).statusCode()).isEqualTo(201);
			io.fail(op, "audit.log", fault, 1);
			assertThat(forbiddenDelete(service)).isEqualTo(403);
			assertThat(service.managementGet("/actuator/prometheus")).contains("statekeeper_audit_failures_total 1.0");
			assertThat(forbiddenDelete(service)).isEqualTo(403);
		}
		try (RunningService service = RunningService.start(this.dataDir, SecurityTests.tokens())) {
			assertThat(service.managementGet("/actuator/health")).contains("\"chainIntact\":true");
			String audit = text(service.get("/api/v1/audit?state=prod"));
			// the second refusal is there whatever became of the first
			assertThat(audit.split("\"reason\":\"forbidden\"", -1).length - 1).isBetween(1, 2);
			assertThat(audit).contains("\"action\":\"put\"");
		}
	}

	@Test
	void theLogsOperationsGoThroughTheSeam() {
		FaultyStorageIo io = new FaultyStorageIo();
		try (RunningService service = RunningService.start(this.dataDir, io, SecurityTests.tokens())) {
			assertThat(forbiddenDelete(service)).isEqualTo(403);
		}
		assertThat(io.trace()).contains("OPEN_APPEND audit.log", "WRITE audit.log", "FORCE_DATA audit.log");
	}

	@Test
	void afterAFailedFdatasyncNothingCountsAsDurableUntilARestart() {
		FaultyStorageIo io = new FaultyStorageIo();
		try (RunningService service = RunningService.start(this.dataDir, io, SecurityTests.tokens())) {
			assertThat(service.put("/api/v1/states/prod", SecurityTests.STATE).statusCode()).isEqualTo(201);
			io.fail(Op.FORCE_DATA, "audit.log", FaultyStorageIo::ioError, 1);
			assertThat(forbiddenDelete(service)).isEqualTo(403);
			long forced = io.trace().stream().filter((step) -> step.equals("FORCE_DATA audit.log")).count();
			// the disk would take an fdatasync again, but a success now would prove
			// nothing
			// about the pages the failed one dropped: the log refuses to count on it
			assertThat(forbiddenDelete(service)).isEqualTo(403);
			assertThat(io.trace().stream().filter((step) -> step.equals("FORCE_DATA audit.log")).count())
				.isEqualTo(forced);
			String metrics = service.managementGet("/actuator/prometheus");
			assertThat(metrics).contains("statekeeper_audit_failures_total 2.0")
				.contains("statekeeper_audit_durable 0.0");
			assertThat(service.managementGet("/actuator/health")).contains("\"durable\":false");
			// states are still written: their who and what is in their version headers
			assertThat(service.put("/api/v1/states/prod", SecurityTests.STATE).statusCode()).isEqualTo(200);
		}
		try (RunningService service = RunningService.start(this.dataDir, SecurityTests.tokens())) {
			String health = service.managementGet("/actuator/health");
			assertThat(health).contains("\"durable\":true").contains("\"chainIntact\":true");
			String audit = text(service.get("/api/v1/audit?state=prod"));
			assertThat(audit.split("\"action\":\"put\"", -1).length - 1).isEqualTo(2);
		}
	}

	@Test
	void noRotationCountsAsDurableAfterAFailedFdatasyncEither() {
		FaultyStorageIo io = new FaultyStorageIo();
		String[] properties = java.util.stream.Stream
			.concat(java.util.Arrays.stream(SecurityTests.tokens()),
					java.util.stream.Stream.of("statekeeper.security.audit-max-file-size=1KB"))
			.toArray(String[]::new);
		try (RunningService service = RunningService.start(this.dataDir, io, properties)) {
			assertThat(service.put("/api/v1/states/prod", SecurityTests.STATE).statusCode()).isEqualTo(201);
			io.fail(Op.FORCE_DATA, "audit.log", FaultyStorageIo::ioError, 1);
			assertThat(forbiddenDelete(service)).isEqualTo(403);
			int traced = io.trace().size();
			// enough refusals to fill the 1 KB file: its rotation would fdatasync it and
			// move
			// the durable head, so it is refused too
			for (int i = 0; i < 5; i++) {
				assertThat(forbiddenDelete(service)).isEqualTo(403);
			}
			List<String> after = io.trace().subList(traced, io.trace().size());
			assertThat(after).doesNotContain("FORCE_DATA audit.log")
				.noneMatch((step) -> step.startsWith("MOVE audit-"));
			assertThat(service.managementGet("/actuator/prometheus")).contains("statekeeper_audit_failures_total 6.0")
				.contains("statekeeper_audit_durable 0.0");
		}
		try (RunningService service = RunningService.start(this.dataDir, SecurityTests.tokens())) {
			assertThat(service.managementGet("/actuator/health")).contains("\"durable\":true")
				.contains("\"chainIntact\":true");
		}
	}

}
