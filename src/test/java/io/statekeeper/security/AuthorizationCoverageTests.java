package io.statekeeper.security;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import org.springframework.core.DefaultParameterNameDiscoverer;
import org.springframework.core.MethodParameter;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RequestMethod;
import org.springframework.web.method.HandlerMethod;
import org.springframework.web.servlet.mvc.method.RequestMappingInfo;
import org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerMapping;

import io.statekeeper.SharedService;

import static io.statekeeper.RunningService.text;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every endpoint Spring MVC maps under {@code /api} and {@code /terraform}, with every
 * method it answers ({@code HEAD} and {@code OPTIONS} included), against every role and a
 * scope: read from the handler mappings themselves, so an endpoint added later is covered
 * without this test naming it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AuthorizationCoverageTests extends SharedService {

	static final byte[] STATE = SecurityTests.STATE;

	/**
	 * One endpoint and method, with the path filled in for a state in or out of scope.
	 */
	record Call(String method, String pattern, boolean stateParameter) {

		String path(String state) {
			String path = this.pattern.replace("{name}", state).replace("{revision}", "1");
			return this.stateParameter ? path + "?state=" + state : path;
		}

		boolean aboutAState() {
			return this.pattern.contains("{name}") || this.stateParameter;
		}

		/** The least role that may make the call; never looser than this. */
		String leastRole() {
			if (this.pattern.startsWith("/api/v1/audit")) {
				return "admin";
			}
			if (Set.of("GET", "HEAD", "OPTIONS").contains(this.method)) {
				return "reader";
			}
			return this.pattern.endsWith("/restore") ? "admin" : "writer";
		}

		@Override
		public String toString() {
			return this.method + " " + path("{name}");
		}

	}

	@BeforeAll
	void states() {
		for (String state : List.of("team-a-x", "team-b-x")) {
			assertThat(this.service.put("/api/v1/states/" + state, STATE).statusCode()).isEqualTo(201);
			assertThat(this.service.put("/api/v1/states/" + state, STATE).statusCode()).isEqualTo(200);
		}
	}

	static String secret(String role) {
		return SharedService.scopedSecret(role);
	}

	Stream<Call> calls() {
		RequestMappingHandlerMapping mapping = this.service.context()
			.getBean("requestMappingHandlerMapping", RequestMappingHandlerMapping.class);
		Set<Call> calls = new LinkedHashSet<>();
		mapping.getHandlerMethods().forEach((RequestMappingInfo info, HandlerMethod handler) -> {
			boolean stateParameter = Stream.of(handler.getMethodParameters())
				.anyMatch(AuthorizationCoverageTests::isState);
			for (String pattern : info.getPatternValues()) {
				if (!pattern.startsWith("/api/") && !pattern.startsWith("/terraform/")) {
					continue;
				}
				Set<RequestMethod> mapped = info.getMethodsCondition().getMethods();
				// a mapping without methods takes every method the firewall lets through
				List<String> methods = mapped.isEmpty() ? SecurityConfiguration.METHODS
						: mapped.stream().map(RequestMethod::name).toList();
				for (String method : methods) {
					calls.add(new Call(method, pattern, stateParameter && method.equals("GET")));
					if (method.equals("GET")) {
						calls.add(new Call("HEAD", pattern, false));
					}
				}
				calls.add(new Call("OPTIONS", pattern, false));
			}
		});
		assertThat(calls).extracting(Call::toString)
			.contains("HEAD /api/v1/states/{name}/versions/1", "GET /api/v1/audit?state={name}",
					"PUT /api/v1/states/{name}", "LOCK /terraform/states/{name}",
					"UNLOCK /terraform/states/{name}/lock", "POST /api/v1/states/{name}/lock");
		return calls.stream();
	}

	Stream<Call> callsSource() {
		return calls();
	}

	/** A {@code state} query parameter, named or by the parameter's own name. */
	private static boolean isState(MethodParameter parameter) {
		RequestParam annotation = parameter.getParameterAnnotation(RequestParam.class);
		if (annotation == null) {
			return false;
		}
		parameter.initParameterNameDiscovery(new DefaultParameterNameDiscoverer());
		String name = annotation.name().isEmpty() ? annotation.value() : annotation.name();
		return "state".equals(name.isEmpty() ? parameter.getParameterName() : name);
	}

	private HttpResponse<byte[]> call(Call call, String state, String role) {
		HttpRequest.Builder request = HttpRequest.newBuilder(this.service.api(call.path(state)));
		if (role != null) {
			request.header("Authorization", "Bearer " + secret(role));
		}
		if (Set.of("PUT", "POST", "PATCH", "LOCK", "UNLOCK").contains(call.method())) {
			request.header("Content-Type", "application/json")
				.method(call.method(), HttpRequest.BodyPublishers.ofByteArray(STATE));
		}
		else {
			request.method(call.method(), HttpRequest.BodyPublishers.noBody());
		}
		return this.service.sendRaw(request);
	}

	@ParameterizedTest(name = "{0}")
	@MethodSource("callsSource")
	void eachRoleMayMakeTheCallOnItsOwnStatesOnlyAndNoTokenMayNot(Call call) {
		for (String role : ROLES) {
			HttpResponse<byte[]> own = call(call, "team-a-x", role);
			if (ROLES.indexOf(role) >= ROLES.indexOf(call.leastRole())) {
				assertThat(own.statusCode()).as("%s as %s: %s", call, role, text(own)).isNotIn(401, 403);
			}
			else {
				assertThat(own.statusCode()).as("%s as %s", call, role).isEqualTo(403);
				if (!"HEAD".equals(call.method())) {
					assertThat(text(own)).contains("https://statekeeper.io/problems/forbidden");
				}
			}
			if (call.aboutAState()) {
				HttpResponse<byte[]> other = call(call, "team-b-x", role);
				assertThat(other.statusCode()).as("%s of another team's state as %s", call, role).isEqualTo(403);
				assertThat(text(other)).doesNotContain("\"revision\"");
			}
		}
		HttpResponse<byte[]> anonymous = call(call, "team-a-x", null);
		assertThat(anonymous.statusCode()).as("%s without a token", call).isEqualTo(401);
		assertThat(anonymous.headers().firstValue("WWW-Authenticate")).hasValue(SecurityConfiguration.CHALLENGE);
		if (!"HEAD".equals(call.method())) {
			assertThat(text(anonymous)).contains("https://statekeeper.io/problems/unauthorized");
		}
	}

	@Test
	void aScopedAdminReadsOnlyItsOwnStatesInTheAuditTrail() {
		HttpResponse<byte[]> all = service.sendRaw(HttpRequest.newBuilder(this.service.api("/api/v1/audit"))
			.header("Authorization", "Bearer " + secret("admin")));
		assertThat(all.statusCode()).isEqualTo(200);
		assertThat(text(all)).contains("\"state\":\"team-a-x\"").doesNotContain("team-b-x");
		// the unscoped admin sees both
		assertThat(text(this.service.get("/api/v1/audit"))).contains("\"state\":\"team-a-x\"",
				"\"state\":\"team-b-x\"");
	}

}
