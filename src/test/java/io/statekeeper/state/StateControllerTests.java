package io.statekeeper.state;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.webmvc.test.autoconfigure.AutoConfigureMockMvc;
import org.springframework.boot.webmvc.test.autoconfigure.WebMvcTest;
import org.springframework.context.annotation.Import;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.test.context.bean.override.mockito.MockitoBean;
import org.springframework.test.web.servlet.assertj.MockMvcTester;
import org.springframework.test.web.servlet.assertj.MvcTestResult;

import io.statekeeper.storage.ChecksummedBody;
import io.statekeeper.storage.StorageException;
import io.statekeeper.storage.StoredVersion;
import io.statekeeper.storage.VersionHeader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.ArgumentMatchers.argThat;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.BDDMockito.given;
import static org.mockito.BDDMockito.then;
import static org.mockito.Mockito.never;

@WebMvcTest(StateController.class)
@AutoConfigureMockMvc(addFilters = false)
@Import(ControllerLimits.class)
class StateControllerTests {

	private static final String STATE = "{\"version\":\"1.0.0\", \"resources\":{}, \"metadata\":{}}";

	private static final Instant AT = Instant.parse("2026-11-26T10:00:00Z");

	@Autowired
	MockMvcTester mvc;

	@MockitoBean
	StateService service;

	@BeforeEach
	void limits() {
		given(this.service.maxStateSize()).willReturn(1024L);
	}

	private static VersionHeader header(long revision, int size) {
		return new VersionHeader(1, "prod", revision, size, "ab12", AT, false);
	}

	private static StoredVersion version(long revision) {
		byte[] body = STATE.getBytes(StandardCharsets.UTF_8);
		return new StoredVersion(header(revision, body.length), body);
	}

	private static WriteResult written(long revision, boolean created) {
		return new WriteResult(StateSummary.of(header(revision, STATE.length())), created);
	}

	private static void assertProblem(MvcTestResult result, HttpStatus status, String slug) {
		assertThat(result).hasStatus(status)
			.hasContentType(MediaType.APPLICATION_PROBLEM_JSON)
			.bodyJson()
			.extractingPath("$.type")
			.isEqualTo("https://statekeeper.io/problems/" + slug);
		assertThat(result).bodyJson().extractingPath("$.status").isEqualTo(status.value());
		assertThat(result).bodyJson().extractingPath("$.detail").asString().isNotBlank();
		assertThat(result).bodyText().doesNotContain("Exception").doesNotContain("\tat ").doesNotContain("/tmp");
	}

	private MockMvcTester.MockMvcRequestBuilder put(String name, String body) {
		return this.mvc.put().uri("/api/v1/states/{name}", name).contentType(MediaType.APPLICATION_JSON).content(body);
	}

	// ------------------------------------------------------------------ list

	@Test
	void listAnswersEveryStateSummary() {
		given(this.service.list()).willReturn(List.of(StateSummary.of(header(3, 10))));
		MvcTestResult result = this.mvc.get().uri("/api/v1/states").exchange();
		assertThat(result).hasStatusOk().bodyJson().extractingPath("$[0].name").isEqualTo("prod");
		assertThat(result).bodyJson().extractingPath("$[0].revision").isEqualTo(3);
		assertThat(result).bodyJson().extractingPath("$[0].checksum").isEqualTo("sha256:ab12");
		assertThat(result).bodyJson().extractingPath("$[0].size").isEqualTo(10);
		assertThat(result).bodyJson().extractingPath("$[0].updatedAt").isEqualTo("2026-11-26T10:00:00Z");
	}

	// ------------------------------------------------------------------ GET

	@Test
	void getAnswersTheExactBytesWithTheRevisionAsETag() {
		given(this.service.get("prod")).willReturn(version(3));
		MvcTestResult result = this.mvc.get().uri("/api/v1/states/prod").exchange();
		assertThat(result).hasStatusOk()
			.hasContentType(MediaType.APPLICATION_JSON)
			.hasHeader(HttpHeaders.ETAG, "\"3\"")
			.hasHeader(HttpHeaders.LAST_MODIFIED, "Thu, 26 Nov 2026 10:00:00 GMT")
			.hasHeader(HttpHeaders.CACHE_CONTROL, "no-cache, private")
			.hasHeader(HttpHeaders.CONTENT_LENGTH, String.valueOf(STATE.getBytes(StandardCharsets.UTF_8).length))
			.hasBodyTextEqualTo(STATE);
	}

	@Test
	void headAnswersTheHeadersWithoutTheBody() {
		given(this.service.get("prod")).willReturn(version(3));
		MvcTestResult result = this.mvc.head().uri("/api/v1/states/prod").exchange();
		assertThat(result).hasStatusOk()
			.hasHeader(HttpHeaders.ETAG, "\"3\"")
			.hasHeader(HttpHeaders.CONTENT_LENGTH, String.valueOf(STATE.getBytes(StandardCharsets.UTF_8).length))
			.hasBodyTextEqualTo("");
	}

	@Test
	void ifNoneMatchListsAndRepeatedHeadersAreAllConsidered() {
		given(this.service.get("prod")).willReturn(version(3));
		assertThat(
				this.mvc.get().uri("/api/v1/states/prod").header(HttpHeaders.IF_NONE_MATCH, "\"1\", \"3\"").exchange())
			.hasStatus(HttpStatus.NOT_MODIFIED);
		assertThat(this.mvc.get()
			.uri("/api/v1/states/prod")
			.header(HttpHeaders.IF_NONE_MATCH, "\"1\"", "W/\"3\"")
			.exchange()).hasStatus(HttpStatus.NOT_MODIFIED);
		assertThat(this.mvc.get().uri("/api/v1/states/prod").header(HttpHeaders.IF_NONE_MATCH, "*").exchange())
			.hasStatus(HttpStatus.NOT_MODIFIED);
		assertProblem(this.mvc.get().uri("/api/v1/states/prod").header(HttpHeaders.IF_NONE_MATCH, "3").exchange(),
				HttpStatus.BAD_REQUEST, "invalid-precondition");
	}

	@Test
	void getWithTheCurrentETagInIfNoneMatchAnswers304WithoutABody() {
		given(this.service.get("prod")).willReturn(version(3));
		MvcTestResult result = this.mvc.get()
			.uri("/api/v1/states/prod")
			.header(HttpHeaders.IF_NONE_MATCH, "\"3\"")
			.exchange();
		assertThat(result).hasStatus(HttpStatus.NOT_MODIFIED)
			.hasHeader(HttpHeaders.ETAG, "\"3\"")
			.doesNotContainHeader(HttpHeaders.CONTENT_TYPE)
			.hasBodyTextEqualTo("");
		MvcTestResult stale = this.mvc.get()
			.uri("/api/v1/states/prod")
			.header(HttpHeaders.IF_NONE_MATCH, "\"2\"")
			.exchange();
		assertThat(stale).hasStatusOk().hasBodyTextEqualTo(STATE);
	}

	@Test
	void getOfAnAbsentStateIs404() {
		given(this.service.get("prod")).willThrow(new StateProblemException(StateProblem.NOT_FOUND, "No state"));
		assertProblem(this.mvc.get().uri("/api/v1/states/prod").exchange(), HttpStatus.NOT_FOUND, "state-not-found");
	}

	@Test
	void getOfAHeldStateIs503NamingTheValidRevisions() {
		given(this.service.get("prod"))
			.willThrow(new StateProblemException(StateProblem.HELD, "held", Map.of("validRevisions", List.of(4L, 3L))));
		MvcTestResult result = this.mvc.get().uri("/api/v1/states/prod").exchange();
		assertProblem(result, HttpStatus.SERVICE_UNAVAILABLE, "state-held");
		assertThat(result).bodyJson().extractingPath("$.validRevisions").isEqualTo(List.of(4, 3));
		// waiting does not heal a damaged state: no Retry-After
		assertThat(result).doesNotContainHeader(HttpHeaders.RETRY_AFTER);
	}

	@ParameterizedTest
	@ValueSource(strings = { "-leading-dash", ".hidden", "has space", "a@b", "ünïcode",
			"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" })
	void aBadNameIs400AndNeverReachesTheService(String name) {
		assertProblem(this.mvc.get().uri("/api/v1/states/{name}", name).exchange(), HttpStatus.BAD_REQUEST,
				"invalid-name");
		assertProblem(put(name, STATE).exchange(), HttpStatus.BAD_REQUEST, "invalid-name");
		then(this.service).should(never()).put(anyString(), any(ChecksummedBody.class), any());
		then(this.service).should(never()).get(anyString());
	}

	// ------------------------------------------------------------------ PUT

	@Test
	void putOfANewStateIs201WithLocationAndETag() {
		given(this.service.put(eq("prod"), any(ChecksummedBody.class), any())).willReturn(written(1, true));
		MvcTestResult result = put("prod", STATE).exchange();
		assertThat(result).hasStatus(HttpStatus.CREATED)
			.hasHeader(HttpHeaders.ETAG, "\"1\"")
			.hasHeader(HttpHeaders.LOCATION, "/api/v1/states/prod")
			.bodyJson()
			.extractingPath("$.revision")
			.isEqualTo(1);
		byte[] sent = STATE.getBytes(StandardCharsets.UTF_8);
		then(this.service).should()
			.put(eq("prod"), argThat((ChecksummedBody body) -> Arrays.equals(body.bytes(), sent)
					&& body.sha256().equals(ChecksummedBody.of(sent).sha256())), eq(Precondition.NONE));
	}

	@Test
	void putOfAnExistingStateIs200AndPassesTheConditions() {
		given(this.service.put(eq("prod"), any(ChecksummedBody.class), any())).willReturn(written(5, false));
		MvcTestResult result = put("prod", STATE).header(HttpHeaders.IF_MATCH, "\"4\"").exchange();
		assertThat(result).hasStatusOk().hasHeader(HttpHeaders.ETAG, "\"5\"");
		then(this.service).should().put(eq("prod"), any(ChecksummedBody.class), eq(Precondition.parse("\"4\"", null)));
	}

	@Test
	void putWhenIfMatchIsStaleShouldReturn412() {
		given(this.service.put(eq("prod"), any(ChecksummedBody.class), any())).willThrow(
				new StateProblemException(StateProblem.PRECONDITION_FAILED, "stale", Map.of("currentRevision", 5)));
		MvcTestResult result = put("prod", STATE).header(HttpHeaders.IF_MATCH, "\"4\"").exchange();
		assertProblem(result, HttpStatus.PRECONDITION_FAILED, "precondition-failed");
		assertThat(result).bodyJson().extractingPath("$.currentRevision").isEqualTo(5);
	}

	@Test
	void putWithAMalformedIfMatchIs400() {
		assertProblem(put("prod", STATE).header(HttpHeaders.IF_MATCH, "4").exchange(), HttpStatus.BAD_REQUEST,
				"invalid-precondition");
		then(this.service).should(never()).put(anyString(), any(ChecksummedBody.class), any());
	}

	@Test
	void putWithAnotherContentTypeIs415() {
		assertProblem(
				this.mvc.put().uri("/api/v1/states/prod").contentType(MediaType.TEXT_PLAIN).content(STATE).exchange(),
				HttpStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type");
		assertProblem(this.mvc.put().uri("/api/v1/states/prod").content(STATE).exchange(),
				HttpStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type");
		assertProblem(this.mvc.put()
			.uri("/api/v1/states/prod")
			.contentType("application/json;charset=UTF-16")
			.content(STATE)
			.exchange(), HttpStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type");
		then(this.service).should(never()).put(anyString(), any(ChecksummedBody.class), any());
	}

	@Test
	void putWithAPlusJsonContentTypeIsAccepted() {
		given(this.service.put(eq("prod"), any(ChecksummedBody.class), any())).willReturn(written(1, true));
		assertThat(this.mvc.put()
			.uri("/api/v1/states/prod")
			.contentType("application/vnd.statekeeper.state+json")
			.content(STATE)
			.exchange()).hasStatus(HttpStatus.CREATED);
	}

	@Test
	void putOverTheMaximumSizeIs413BeforeTheServiceIsCalled() {
		assertProblem(put("prod", "{\"x\":\"" + "a".repeat(2000) + "\"}").exchange(), HttpStatus.CONTENT_TOO_LARGE,
				"state-too-large");
		then(this.service).should(never()).put(anyString(), any(ChecksummedBody.class), any());
	}

	@Test
	void putOfMalformedJsonIs400() {
		given(this.service.put(eq("prod"), any(ChecksummedBody.class), any()))
			.willThrow(new StateProblemException(StateProblem.MALFORMED_JSON, "Unexpected end-of-input"));
		assertProblem(put("prod", "{").exchange(), HttpStatus.BAD_REQUEST, "malformed-json");
	}

	@Test
	void putOfJsonThatIsNotAStateIs422WithTheErrors() {
		given(this.service.put(eq("prod"), any(ChecksummedBody.class), any()))
			.willThrow(new StateProblemException(StateProblem.NOT_A_STATE, "Not a state",
					Map.of("errors", List.of(Map.of("field", "metadata", "problem", "is required")))));
		MvcTestResult result = put("prod", "{\"version\":1}").exchange();
		assertProblem(result, HttpStatus.UNPROCESSABLE_CONTENT, "not-a-state");
		assertThat(result).bodyJson().extractingPath("$.errors[0].field").isEqualTo("metadata");
	}

	@Test
	void putOfATooDeepDocumentIs400() {
		given(this.service.put(eq("prod"), any(ChecksummedBody.class), any()))
			.willThrow(new StateProblemException(StateProblem.DOCUMENT_TOO_COMPLEX, "Depth exceeds 500"));
		assertProblem(put("prod", STATE).exchange(), HttpStatus.BAD_REQUEST, "document-too-complex");
	}

	@Test
	void putWhileAnotherWriterHoldsTheLockIs503WithRetryAfter() {
		given(this.service.put(eq("prod"), any(ChecksummedBody.class), any()))
			.willThrow(new StateProblemException(StateProblem.BUSY, "busy"));
		MvcTestResult result = put("prod", STATE).exchange();
		assertProblem(result, HttpStatus.SERVICE_UNAVAILABLE, "state-busy");
		assertThat(result).hasHeader(HttpHeaders.RETRY_AFTER, "1");
	}

	@Test
	void putOnAFullStoreIs507() {
		given(this.service.put(eq("prod"), any(ChecksummedBody.class), any()))
			.willThrow(new StorageException(StorageException.Reason.NO_SPACE, "/data/states full"));
		MvcTestResult result = put("prod", STATE).exchange();
		assertProblem(result, HttpStatus.INSUFFICIENT_STORAGE, "storage-full");
		assertThat(result).bodyText().doesNotContain("/data");
	}

	@ParameterizedTest
	@ValueSource(strings = { "IO_ERROR", "READ_ONLY", "ACCESS_DENIED", "DURABILITY_UNKNOWN", "STORE_DEGRADED",
			"VERIFY_FAILED" })
	void putOnAnUnavailableStoreIs503WithRetryAfter(String reason) {
		given(this.service.put(eq("prod"), any(ChecksummedBody.class), any()))
			.willThrow(new StorageException(StorageException.Reason.valueOf(reason), "/data/states/prod failed"));
		MvcTestResult result = put("prod", STATE).exchange();
		assertProblem(result, HttpStatus.SERVICE_UNAVAILABLE, "storage-unavailable");
		assertThat(result).hasHeader(HttpHeaders.RETRY_AFTER, "5");
		assertThat(result).bodyText().doesNotContain("/data");
	}

	@Test
	void anUnexpectedErrorIs500WithoutDetails() {
		given(this.service.put(eq("prod"), any(ChecksummedBody.class), any()))
			.willThrow(new IllegalStateException("secret /tmp/path"));
		MvcTestResult result = put("prod", STATE).exchange();
		assertProblem(result, HttpStatus.INTERNAL_SERVER_ERROR, "internal-error");
		assertThat(result).bodyText().doesNotContain("secret");
	}

	// ------------------------------------------------------------------ DELETE

	@Test
	void deleteIs204AndHonoursIfMatch() {
		assertThat(this.mvc.delete().uri("/api/v1/states/prod").header(HttpHeaders.IF_MATCH, "\"3\"").exchange())
			.hasStatus(HttpStatus.NO_CONTENT);
		then(this.service).should().delete("prod", Precondition.parse("\"3\"", null), false);
	}

	@Test
	void deleteWithAStaleIfMatchIs412() {
		org.mockito.BDDMockito.willThrow(new StateProblemException(StateProblem.PRECONDITION_FAILED, "stale"))
			.given(this.service)
			.delete(eq("prod"), any(), eq(false));
		assertProblem(this.mvc.delete().uri("/api/v1/states/prod").header(HttpHeaders.IF_MATCH, "\"2\"").exchange(),
				HttpStatus.PRECONDITION_FAILED, "precondition-failed");
	}

	@Test
	void deleteOfAnAbsentStateIs404() {
		org.mockito.BDDMockito.willThrow(new StateProblemException(StateProblem.NOT_FOUND, "none"))
			.given(this.service)
			.delete(eq("prod"), any(), eq(false));
		assertProblem(this.mvc.delete().uri("/api/v1/states/prod").exchange(), HttpStatus.NOT_FOUND, "state-not-found");
	}

	// ------------------------------------------------------------------ versions

	@Test
	void versionsAnswersEveryReadableRevisionNewestFirst() {
		given(this.service.versions("prod")).willReturn(List.of(new VersionSummary(4, "sha256:a", 10, AT, true),
				new VersionSummary(3, "sha256:b", 9, AT, false)));
		MvcTestResult result = this.mvc.get().uri("/api/v1/states/prod/versions").exchange();
		assertThat(result).hasStatusOk().bodyJson().extractingPath("$[0].current").isEqualTo(true);
		assertThat(result).bodyJson().extractingPath("$[1].revision").isEqualTo(3);
	}

	@Test
	void aVersionIsServedAsItsExactBytes() {
		given(this.service.version("prod", 3)).willReturn(version(3));
		assertThat(this.mvc.get().uri("/api/v1/states/prod/versions/3").exchange()).hasStatusOk()
			.hasHeader(HttpHeaders.ETAG, "\"3\"")
			.hasBodyTextEqualTo(STATE);
	}

	@Test
	void aMissingVersionIs404AndADamagedOne503() {
		given(this.service.version("prod", 9))
			.willThrow(new StateProblemException(StateProblem.VERSION_NOT_FOUND, "not kept"));
		assertProblem(this.mvc.get().uri("/api/v1/states/prod/versions/9").exchange(), HttpStatus.NOT_FOUND,
				"version-not-found");
		given(this.service.version("prod", 2))
			.willThrow(new StorageException(StorageException.Reason.CORRUPT, "damaged"));
		assertProblem(this.mvc.get().uri("/api/v1/states/prod/versions/2").exchange(), HttpStatus.SERVICE_UNAVAILABLE,
				"version-damaged");
	}

	@ParameterizedTest
	@ValueSource(strings = { "0", "-1", "abc", "1.5", "99999999999999999999" })
	void anInvalidRevisionIs400(String revision) {
		assertProblem(this.mvc.get().uri("/api/v1/states/prod/versions/{rev}", revision).exchange(),
				HttpStatus.BAD_REQUEST, "invalid-revision");
		assertProblem(this.mvc.post().uri("/api/v1/states/prod/versions/{rev}/restore", revision).exchange(),
				HttpStatus.BAD_REQUEST, "invalid-revision");
		then(this.service).should(never()).restore(anyString(), anyLong(), any());
	}

	@Test
	void restoreAnswersTheNewRevision() {
		given(this.service.restore(eq("prod"), eq(2L), any())).willReturn(written(7, false));
		MvcTestResult result = this.mvc.post().uri("/api/v1/states/prod/versions/2/restore").exchange();
		assertThat(result).hasStatusOk()
			.hasHeader(HttpHeaders.ETAG, "\"7\"")
			.bodyJson()
			.extractingPath("$.revision")
			.isEqualTo(7);
	}

	@Test
	void anUnsupportedMethodIs405() {
		assertProblem(this.mvc.post()
			.uri("/api/v1/states/prod")
			.contentType(MediaType.APPLICATION_JSON)
			.content(STATE)
			.exchange(), HttpStatus.METHOD_NOT_ALLOWED, "method-not-allowed");
	}

}
