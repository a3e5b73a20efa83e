package io.statekeeper.security;

import java.time.Instant;
import java.util.Base64;
import java.util.List;

import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.webmvc.test.autoconfigure.WebMvcTest;
import org.springframework.context.annotation.Import;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.security.config.annotation.web.configuration.EnableWebSecurity;
import org.springframework.test.context.TestPropertySource;
import org.springframework.test.context.bean.override.mockito.MockitoBean;
import org.springframework.test.web.servlet.assertj.MockMvcTester;
import org.springframework.test.web.servlet.assertj.MvcTestResult;

import io.statekeeper.audit.AuditTrail;
import io.statekeeper.state.ControllerLimits;
import io.statekeeper.state.StateController;
import io.statekeeper.state.StateService;
import io.statekeeper.state.StateSummary;
import io.statekeeper.storage.StorageIo;
import io.statekeeper.storage.StorageProperties;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.ArgumentMatchers.isNull;
import static org.mockito.BDDMockito.given;
import static org.mockito.BDDMockito.then;

/**
 * The API's filter chain alone, as a web slice: {@link SecurityConfiguration} in front of
 * {@link StateController}, with the state service and the audit trail as mocks, so that
 * what is asserted is only what the chain decides: who is refused (401, 403, as
 * problems), what reaches the service, and what is handed to the audit trail. The same
 * rules over real HTTP, for every endpoint, are {@link AuthorizationCoverageTests}.
 */
@WebMvcTest(StateController.class)
@Import({ SecurityConfiguration.class, TokenRegistry.class, ControllerLimits.class })
@EnableConfigurationProperties(StorageProperties.class)
@TestPropertySource(properties = { "statekeeper.storage.data-dir=target/slice-unused",
		"statekeeper.security.tokens[0].id=reader", "statekeeper.security.tokens[0].roles=reader",
		"statekeeper.security.tokens[0].secret-sha256=" + SecuritySliceTests.READER_SHA256,
		"statekeeper.security.tokens[1].id=team-a", "statekeeper.security.tokens[1].roles=writer",
		"statekeeper.security.tokens[1].states=team-a-*",
		"statekeeper.security.tokens[1].secret-sha256=" + SecuritySliceTests.SCOPED_SHA256 })
class SecuritySliceTests {

	static final String READER_SHA256 = "5c0396b86c8692645ee27a5a32b7e57f55dda1668fe8aabfb3881bf49ea23a9d";

	static final String SCOPED_SHA256 = "dbc059db5631d42331c31354ba3d47f8d92af7d8b788fbd8963cda752f6e79e8";

	@Autowired
	MockMvcTester mvc;

	@MockitoBean
	StateService service;

	/** What a full boot gets from Spring Boot's security auto-configuration. */
	@TestConfiguration(proxyBeanMethods = false)
	@EnableWebSecurity
	static class WebSecurity {

	}

	@MockitoBean
	AuditTrail audit;

	@MockitoBean
	StorageIo io;

	private static String bearer(String secret) {
		return "Bearer " + secret;
	}

	private static void assertProblem(MvcTestResult result, HttpStatus status, String slug) {
		assertThat(result).hasStatus(status).hasContentType(MediaType.APPLICATION_PROBLEM_JSON);
		assertThat(result).bodyJson().extractingPath("$.type").isEqualTo("https://statekeeper.io/problems/" + slug);
	}

	@Test
	void theTestSecretsMatchTheirConfiguredDigests() {
		assertThat(SecurityTests.sha(SecurityTests.READER)).isEqualTo(READER_SHA256);
		assertThat(SecurityTests.sha(SecurityTests.SCOPED)).isEqualTo(SCOPED_SHA256);
	}

	@Test
	void noTokenIs401WithAChallengeAndReachesNeitherTheServiceNorTheAuditLog() {
		MvcTestResult result = this.mvc.get().uri("/api/v1/states").exchange();
		assertProblem(result, HttpStatus.UNAUTHORIZED, "unauthorized");
		assertThat(result).hasHeader(HttpHeaders.WWW_AUTHENTICATE, SecurityConfiguration.CHALLENGE);
		then(this.service).shouldHaveNoInteractions();
		then(this.audit).should().refused(any(), eq("unauthorized"), isNull());
	}

	@Test
	void aWrongOrAlmostRightTokenIs401() {
		String almost = SecurityTests.READER.substring(0, SecurityTests.READER.length() - 1) + "4";
		for (String authorization : List.of("Bearer nope", bearer(almost), "Bearer ", "Token " + SecurityTests.READER,
				"Basic !!!")) {
			assertProblem(
					this.mvc.get().uri("/api/v1/states").header(HttpHeaders.AUTHORIZATION, authorization).exchange(),
					HttpStatus.UNAUTHORIZED, "unauthorized");
		}
		then(this.service).shouldHaveNoInteractions();
	}

	@Test
	void basicAuthTakesTheTokenIdAndTheToken() {
		given(this.service.list()).willReturn(List.of());
		String basic = "Basic " + Base64.getEncoder().encodeToString(("reader:" + SecurityTests.READER).getBytes());
		assertThat(this.mvc.get().uri("/api/v1/states").header(HttpHeaders.AUTHORIZATION, basic).exchange())
			.hasStatusOk();
		String wrongId = "Basic " + Base64.getEncoder().encodeToString(("team-a:" + SecurityTests.READER).getBytes());
		assertProblem(this.mvc.get().uri("/api/v1/states").header(HttpHeaders.AUTHORIZATION, wrongId).exchange(),
				HttpStatus.UNAUTHORIZED, "unauthorized");
	}

	@Test
	void aReadersWriteIs403AuditedWithItsTokenAndNeverReachesTheService() {
		MvcTestResult result = this.mvc.put()
			.uri("/api/v1/states/prod")
			.header(HttpHeaders.AUTHORIZATION, bearer(SecurityTests.READER))
			.contentType(MediaType.APPLICATION_JSON)
			.content(SecurityTests.STATE)
			.exchange();
		assertProblem(result, HttpStatus.FORBIDDEN, "forbidden");
		then(this.service).shouldHaveNoInteractions();
		then(this.audit).should().refused(any(), eq("forbidden"), eq("reader"));
	}

	@Test
	void aScopedTokenIsRefusedOutsideItsScopeAndSeesOnlyItsStatesInTheList() {
		for (String path : List.of("/api/v1/states/prod", "/api/v1/states/prod/versions",
				"/api/v1/states/prod/versions/1")) {
			assertProblem(
					this.mvc.get().uri(path).header(HttpHeaders.AUTHORIZATION, bearer(SecurityTests.SCOPED)).exchange(),
					HttpStatus.FORBIDDEN, "forbidden");
		}
		assertProblem(this.mvc.delete()
			.uri("/api/v1/states/prod")
			.header(HttpHeaders.AUTHORIZATION, bearer(SecurityTests.SCOPED))
			.exchange(), HttpStatus.FORBIDDEN, "forbidden");
		then(this.service).shouldHaveNoInteractions();

		Instant at = Instant.parse("2026-12-01T00:00:00Z");
		given(this.service.list()).willReturn(List.of(new StateSummary("prod", 1, "sha256:ab", 2, at, "ok"),
				new StateSummary("team-a-net", 1, "sha256:cd", 2, at, "ok")));
		MvcTestResult list = this.mvc.get()
			.uri("/api/v1/states")
			.header(HttpHeaders.AUTHORIZATION, bearer(SecurityTests.SCOPED))
			.exchange();
		assertThat(list).hasStatusOk();
		assertThat(list).bodyText().contains("team-a-net").doesNotContain("\"prod\"");
	}

	@Test
	void theAuditTrailAndRestoreNeedAnAdmin() {
		assertProblem(this.mvc.post()
			.uri("/api/v1/states/team-a-net/versions/1/restore")
			.header(HttpHeaders.AUTHORIZATION, bearer(SecurityTests.SCOPED))
			.exchange(), HttpStatus.FORBIDDEN, "forbidden");
		assertProblem(this.mvc.get()
			.uri("/api/v1/audit")
			.header(HttpHeaders.AUTHORIZATION, bearer(SecurityTests.SCOPED))
			.exchange(), HttpStatus.FORBIDDEN, "forbidden");
		then(this.service).shouldHaveNoInteractions();
		then(this.audit).should(org.mockito.Mockito.times(2)).refused(any(), eq("forbidden"), eq("team-a"));
		then(this.audit).should(org.mockito.Mockito.never()).refused(any(), anyString(), isNull());
	}

	@Test
	void aRequestTheFirewallRejectsIsA400Problem() {
		assertProblem(this.mvc.get()
			.uri("/api/v1/states/a%2F..%2Fb")
			.header(HttpHeaders.AUTHORIZATION, bearer(SecurityTests.READER))
			.exchange(), HttpStatus.BAD_REQUEST, "request-rejected");
		then(this.service).shouldHaveNoInteractions();
	}

}
