package io.statekeeper.security;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.statekeeper.RunningService;

import static io.statekeeper.RunningService.text;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tokens, roles and scopes over real HTTP, and the audit trail they leave. Which role may
 * call which endpoint, in and out of scope, is {@link AuthorizationCoverageTests}.
 */
public class SecurityTests {

	public static final String READER = "reader-secret-0123456789abcdef0123";

	static final String WRITER = "writer-secret-0123456789abcdef0123";

	static final String SCOPED = "scoped-secret-0123456789abcdef0123";

	public static final byte[] STATE = "{\"version\":1,\"resources\":{},\"metadata\":{}}"
		.getBytes(StandardCharsets.UTF_8);

	@TempDir
	Path dataDir;

	RunningService service;

	public static String sha(String secret) {
		return HexFormat.of().formatHex(TokenRegistry.sha256(secret));
	}

	public static String[] tokens() {
		return new String[] { "statekeeper.security.tokens[1].id=reader",
				"statekeeper.security.tokens[1].secret-sha256=" + sha(READER),
				"statekeeper.security.tokens[1].roles=reader", "statekeeper.security.tokens[2].id=writer",
				"statekeeper.security.tokens[2].secret-sha256=" + sha(WRITER),
				"statekeeper.security.tokens[2].roles=writer", "statekeeper.security.tokens[3].id=team-a",
				"statekeeper.security.tokens[3].secret-sha256=" + sha(SCOPED),
				"statekeeper.security.tokens[3].roles=writer", "statekeeper.security.tokens[3].states=team-a-*" };
	}

	@BeforeEach
	void start() {
		this.service = RunningService.start(this.dataDir, tokens());
		assertThat(this.service.put("/api/v1/states/prod", STATE).statusCode()).isEqualTo(201);
		assertThat(this.service.put("/api/v1/states/prod", STATE).statusCode()).isEqualTo(200);
		assertThat(this.service.put("/api/v1/states/team-a-net", STATE).statusCode()).isEqualTo(201);
	}

	@AfterEach
	void stop() {
		this.service.close();
	}

	private HttpResponse<byte[]> call(String method, String path, String authorization) {
		HttpRequest.Builder request = HttpRequest.newBuilder(this.service.api(path));
		if (authorization != null) {
			request.header("Authorization", authorization);
		}
		if (method.equals("PUT")) {
			request.header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofByteArray(STATE));
		}
		else {
			request.method(method, HttpRequest.BodyPublishers.noBody());
		}
		return this.service.sendRaw(request);
	}

	private static String bearer(String role) {
		return "Bearer " + switch (role) {
			case "reader" -> READER;
			case "writer" -> WRITER;
			default -> RunningService.TOKEN;
		};
	}

	@Test
	void aWrongOrAlmostRightTokenIs401() {
		assertThat(call("GET", "/api/v1/states", "Bearer nope").statusCode()).isEqualTo(401);
		String almost = READER.substring(0, READER.length() - 1) + "4";
		assertThat(call("GET", "/api/v1/states", "Bearer " + almost).statusCode()).isEqualTo(401);
		assertThat(call("GET", "/api/v1/states", "Bearer ").statusCode()).isEqualTo(401);
		assertThat(call("GET", "/api/v1/states", "Token " + READER).statusCode()).isEqualTo(401);
		assertThat(call("GET", "/api/v1/states", "Basic !!!").statusCode()).isEqualTo(401);
	}

	@Test
	void basicAuthTakesTheTokenIdAndTheToken() {
		String basic = "Basic " + Base64.getEncoder().encodeToString(("writer:" + WRITER).getBytes());
		assertThat(call("PUT", "/api/v1/states/prod", basic).statusCode()).isEqualTo(200);
		String wrongId = "Basic " + Base64.getEncoder().encodeToString(("reader:" + WRITER).getBytes());
		assertThat(call("PUT", "/api/v1/states/prod", wrongId).statusCode()).isEqualTo(401);
	}

	@Test
	void aScopedTokenSeesAndTouchesOnlyItsStates() {
		String scoped = "Bearer " + SCOPED;
		assertThat(text(call("GET", "/api/v1/states", scoped))).contains("team-a-net").doesNotContain("prod");
		assertThat(call("GET", "/api/v1/states/team-a-net", scoped).statusCode()).isEqualTo(200);
		assertThat(call("PUT", "/api/v1/states/team-a-new", scoped).statusCode()).isEqualTo(201);
		assertThat(call("GET", "/api/v1/states/prod", scoped).statusCode()).isEqualTo(403);
		assertThat(call("PUT", "/api/v1/states/prod", scoped).statusCode()).isEqualTo(403);
		assertThat(call("DELETE", "/api/v1/states/prod", scoped).statusCode()).isEqualTo(403);
		assertThat(call("GET", "/api/v1/states/prod/versions/1", scoped).statusCode()).isEqualTo(403);
		assertThat(text(this.service.get("/api/v1/states/prod"))).contains("\"version\":1");
	}

	@Test
	void everyWriteAndEveryRefusedWriteIsAudited() {
		this.service.put("/api/v1/states/prod", STATE, "If-Match", "\"1\"");
		this.service.post("/api/v1/states/prod/versions/1/restore");
		this.service.delete("/api/v1/states/team-a-net");
		call("PUT", "/api/v1/states/prod", null);
		call("PUT", "/api/v1/states/prod", bearer("reader"));

		String audit = text(this.service.get("/api/v1/audit?state=prod"));
		assertThat(audit).containsSubsequence("\"token\":\"test\"", "\"action\":\"put\"", "\"revision\":1",
				"\"outcome\":\"success\"");
		assertThat(audit).containsSubsequence("\"action\":\"put\"", "\"outcome\":\"rejected\"",
				"\"reason\":\"precondition-failed\"");
		assertThat(audit).containsSubsequence("\"action\":\"restore\"", "\"revision\":3", "\"checksum\":\"sha256:",
				"\"outcome\":\"success\"");
		// a request without a valid token names nobody: counted, not an entry each
		assertThat(audit).doesNotContain("\"reason\":\"unauthorized\"");
		assertThat(this.service.managementGet("/actuator/prometheus"))
			.contains("statekeeper_security_refusals_total{reason=\"unauthorized\"} 1.0")
			.contains("statekeeper_security_refusals_total{reason=\"forbidden\"} 1.0");
		assertThat(audit).containsSubsequence("\"token\":\"reader\"", "\"action\":\"put\"", "\"outcome\":\"refused\"",
				"\"reason\":\"forbidden\"");
		assertThat(audit).contains("\"remote\":\"127.0.0.1\"").doesNotContain("team-a-net");
		assertThat(text(this.service.get("/api/v1/audit?state=team-a-net"))).contains("\"action\":\"delete\"");
		assertThat(text(this.service.get("/api/v1/audit?since=2999-01-01T00:00:00Z"))).isEqualTo("[]");
		assertThat(this.service.get("/api/v1/audit?since=yesterday").statusCode()).isEqualTo(400);
	}

	@Test
	void aTamperedAuditLogIsDetectedAtStartUp() throws Exception {
		this.service.close();
		Path log = this.dataDir.resolve("audit/audit.log");
		List<String> lines = Files.readAllLines(log);
		assertThat(lines).hasSizeGreaterThanOrEqualTo(3);
		lines.set(1, lines.get(1).replace("\"outcome\":\"success\"", "\"outcome\":\"failed\""));
		Files.write(log, lines);

		this.service = RunningService.start(this.dataDir, tokens());
		assertThat(this.service.managementGet("/actuator/health")).contains("\"chainIntact\":false")
			.contains("audit.log line 2");
		assertThat(this.service.managementGet("/actuator/prometheus")).contains("statekeeper_audit_chain_intact 0.0");
	}

	@Test
	void anIntactAuditLogVerifiesAcrossRestartsAndRotation() throws Exception {
		this.service.close();
		this.service = RunningService.start(this.dataDir,
				Stream.concat(Stream.of(tokens()), Stream.of("statekeeper.security.audit-max-file-size=600B"))
					.toArray(String[]::new));
		for (int i = 0; i < 5; i++) {
			this.service.put("/api/v1/states/prod", STATE);
		}
		this.service.close();
		try (Stream<Path> files = Files.list(this.dataDir.resolve("audit"))) {
			assertThat(files.map((file) -> file.getFileName().toString())).contains("audit-000001.log",
					"audit-000002.log", "audit.log");
		}
		this.service = RunningService.start(this.dataDir, tokens());
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
			.concat(Stream.of(tokens()), Stream.of("statekeeper.security.audit-flush-interval=1h"))
			.toArray(String[]::new);
		this.service = RunningService.start(data, unflushed);
		assertThat(this.service.put("/api/v1/states/prod", STATE).statusCode()).isEqualTo(201);
		assertThat(this.service.put("/api/v1/states/prod", STATE).statusCode()).isEqualTo(200);
		assertThat(this.service.put("/api/v1/states/team-a-net", STATE).statusCode()).isEqualTo(201);
		String header = Files.readAllLines(data.resolve("states/prod/current.json")).get(0);
		assertThat(header).contains("\"audit\":{\"action\":\"put\",\"token\":\"test\",\"remote\":\"127.0.0.1\"}");
		this.service.close();
		// what a power loss can do to appends that were not fdatasync'ed yet: only the
		// first entry (prod, revision 1) survives
		Path log = data.resolve("audit/audit.log");
		List<String> lines = Files.readAllLines(log);
		assertThat(lines).hasSize(3);
		Files.writeString(log, lines.get(0) + "\n");

		this.service = RunningService.start(data, tokens());
		String prod = text(this.service.get("/api/v1/audit?state=prod"));
		assertThat(prod).containsSubsequence("\"revision\":1", "\"outcome\":\"success\"", "\"revision\":2",
				"\"outcome\":\"success\"", "re-appended at start-up from the version header");
		assertThat(prod).containsSubsequence("\"token\":\"test\"", "\"remote\":\"127.0.0.1\"", "\"action\":\"put\"",
				"\"revision\":2");
		assertThat(text(this.service.get("/api/v1/audit?state=team-a-net"))).contains("\"revision\":1", "re-appended");
		assertThat(this.service.managementGet("/actuator/health")).contains("\"chainIntact\":true");

		// once back in the log, an entry is not appended again
		this.service.close();
		this.service = RunningService.start(data, tokens());
		assertThat(text(this.service.get("/api/v1/audit")).split("re-appended", -1)).hasSize(3);
		assertThat(Files.readAllLines(log)).hasSize(3);
	}

	@Test
	void aVersionWhoseAuditEntryIsNotDurableYetOutlivesBackupsKept() {
		this.service.close();
		this.service = RunningService.start(this.dataDir.resolve("retained"),
				Stream
					.concat(Stream.of(tokens()),
							Stream.of("statekeeper.security.audit-flush-interval=1h",
									"statekeeper.storage.backups-kept=1"))
					.toArray(String[]::new));
		for (int i = 0; i < 3; i++) {
			assertThat(this.service.put("/api/v1/states/x", STATE).statusCode()).isIn(200, 201);
		}
		// backups-kept 1 alone would have pruned revision 1 by now
		assertThat(text(this.service.get("/api/v1/states/x/versions"))).contains("\"revision\":3", "\"revision\":2",
				"\"revision\":1");
	}

}
