package io.statekeeper.security;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HexFormat;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.MeterRegistry;

import io.statekeeper.RunningService;
import io.statekeeper.SharedService;
import io.statekeeper.storage.StorageTestSupport;

import static io.statekeeper.RunningService.text;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tokens, roles and scopes over real HTTP, and the audit trail they leave, on the shared
 * service. Which role may call which endpoint, in and out of scope, is
 * {@link AuthorizationCoverageTests}; the filter chain alone is
 * {@link SecuritySliceTests}.
 */
public class SecurityTests extends SharedService {

	public static final String READER = "reader-secret-0123456789abcdef0123";

	public static final String WRITER = "writer-secret-0123456789abcdef0123";

	static final String SCOPED = "scoped-secret-0123456789abcdef0123";

	public static final byte[] STATE = "{\"version\":1,\"resources\":{},\"metadata\":{}}"
		.getBytes(StandardCharsets.UTF_8);

	/** This test's state, written twice (revisions 1 and 2). */
	String prod;

	/** This test's state in the {@code team-a-*} scope, written once. */
	String teamA;

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
	void states() {
		this.prod = unique("prod-");
		this.teamA = unique("team-a-net-");
		assertThat(this.service.put("/api/v1/states/" + this.prod, STATE).statusCode()).isEqualTo(201);
		assertThat(this.service.put("/api/v1/states/" + this.prod, STATE).statusCode()).isEqualTo(200);
		assertThat(this.service.put("/api/v1/states/" + this.teamA, STATE).statusCode()).isEqualTo(201);
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
		assertThat(call("PUT", "/api/v1/states/" + this.prod, basic).statusCode()).isEqualTo(200);
		String wrongId = "Basic " + Base64.getEncoder().encodeToString(("reader:" + WRITER).getBytes());
		assertThat(call("PUT", "/api/v1/states/" + this.prod, wrongId).statusCode()).isEqualTo(401);
	}

	@Test
	void aScopedTokenSeesAndTouchesOnlyItsStates() {
		String scoped = "Bearer " + SCOPED;
		assertThat(text(call("GET", "/api/v1/states", scoped))).contains(this.teamA).doesNotContain("prod-");
		assertThat(call("GET", "/api/v1/states/" + this.teamA, scoped).statusCode()).isEqualTo(200);
		assertThat(call("PUT", "/api/v1/states/" + unique("team-a-new-"), scoped).statusCode()).isEqualTo(201);
		assertThat(call("GET", "/api/v1/states/" + this.prod, scoped).statusCode()).isEqualTo(403);
		assertThat(call("PUT", "/api/v1/states/" + this.prod, scoped).statusCode()).isEqualTo(403);
		assertThat(call("DELETE", "/api/v1/states/" + this.prod, scoped).statusCode()).isEqualTo(403);
		assertThat(call("GET", "/api/v1/states/" + this.prod + "/versions/1", scoped).statusCode()).isEqualTo(403);
		assertThat(text(this.service.get("/api/v1/states/" + this.prod))).contains("\"version\":1");
	}

	@Test
	void everyWriteAndEveryRefusedWriteIsAudited() {
		MeterRegistry meters = this.service.context().getBean(MeterRegistry.class);
		double unauthorized = refusals(meters, "unauthorized");
		double forbidden = refusals(meters, "forbidden");
		this.service.put("/api/v1/states/" + this.prod, STATE, "If-Match", "\"1\"");
		this.service.post("/api/v1/states/" + this.prod + "/versions/1/restore");
		this.service.delete("/api/v1/states/" + this.teamA);
		call("PUT", "/api/v1/states/" + this.prod, null);
		call("PUT", "/api/v1/states/" + this.prod, bearer("reader"));

		String audit = text(this.service.get("/api/v1/audit?state=" + this.prod));
		assertThat(audit).containsSubsequence("\"token\":\"test\"", "\"action\":\"put\"", "\"revision\":1",
				"\"outcome\":\"success\"");
		assertThat(audit).containsSubsequence("\"action\":\"put\"", "\"outcome\":\"rejected\"",
				"\"reason\":\"precondition-failed\"");
		assertThat(audit).containsSubsequence("\"action\":\"restore\"", "\"revision\":3", "\"checksum\":\"sha256:",
				"\"outcome\":\"success\"");
		// a request without a valid token names nobody: counted, not an entry each
		assertThat(audit).doesNotContain("\"reason\":\"unauthorized\"");
		assertThat(refusals(meters, "unauthorized")).isEqualTo(unauthorized + 1);
		assertThat(refusals(meters, "forbidden")).isEqualTo(forbidden + 1);
		assertThat(audit).containsSubsequence("\"token\":\"reader\"", "\"action\":\"put\"", "\"outcome\":\"refused\"",
				"\"reason\":\"forbidden\"");
		assertThat(audit).contains("\"remote\":\"127.0.0.1\"").doesNotContain(this.teamA);
		assertThat(text(this.service.get("/api/v1/audit?state=" + this.teamA))).contains("\"action\":\"delete\"");
		assertThat(text(this.service.get("/api/v1/audit?since=2999-01-01T00:00:00Z"))).isEqualTo("[]");
		assertThat(this.service.get("/api/v1/audit?since=yesterday").statusCode()).isEqualTo(400);
	}

	private static double refusals(MeterRegistry meters, String reason) {
		return StorageTestSupport.counter(meters, "statekeeper.security.refusals", "reason", reason);
	}

}
