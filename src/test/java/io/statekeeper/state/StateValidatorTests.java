package io.statekeeper.state;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.statekeeper.storage.StorageTestSupport;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

class StateValidatorTests {

	private final StateValidator validator = new StateValidator(StorageTestSupport.properties(Path.of("unused")));

	private void assertProblem(String body, StateProblem problem) {
		assertProblem(body.getBytes(StandardCharsets.UTF_8), problem);
	}

	private void assertProblem(byte[] body, StateProblem problem) {
		assertThatExceptionOfType(StateProblemException.class).isThrownBy(() -> this.validator.validate(body))
			.satisfies((ex) -> org.assertj.core.api.Assertions.assertThat(ex.getProblem()).isEqualTo(problem));
	}

	@ParameterizedTest
	@ValueSource(strings = { "{\"version\":\"1.0.0\",\"resources\":{},\"metadata\":{}}",
			"{\"version\":2,\"resources\":[],\"metadata\":{\"a\":[1,2.50,3e2]},\"last_sync\":null}",
			" \n{\"metadata\":{},\"resources\":{\"k\":{\"kind\":\"x\"}},\"version\":1.5}\n\t ",
			"{\"version\":\"ü☃\",\"resources\":{},\"metadata\":{},\"extra\":{\"deep\":[[[[]]]]}}" })
	void acceptsStates(String body) {
		assertThatCode(() -> this.validator.validate(body.getBytes(StandardCharsets.UTF_8))).doesNotThrowAnyException();
	}

	@ParameterizedTest
	@ValueSource(strings = { "", "   ", "{", "{\"version\":1,", "{\"version\":1}}", "{\"a\":1} {\"b\":2}",
			"{\"a\":1} x", "nul", "{'version':1}", "{\"version\":1,\"version\":2,\"resources\":{},\"metadata\":{}}",
			"{\"version\":01,\"resources\":{},\"metadata\":{}}", "[1,2" })
	void refusesWhatIsNotWellFormedJsonWith400(String body) {
		assertProblem(body, StateProblem.MALFORMED_JSON);
	}

	@ParameterizedTest
	@ValueSource(strings = { "[]", "\"state\"", "42", "null", "{}", "{\"version\":1,\"resources\":{}}",
			"{\"version\":true,\"resources\":{},\"metadata\":{}}",
			"{\"version\":1,\"resources\":\"x\",\"metadata\":{}}", "{\"version\":1,\"resources\":{},\"metadata\":[]}",
			"{\"version\":null,\"resources\":{},\"metadata\":{}}" })
	void refusesWellFormedJsonThatIsNotAStateWith422(String body) {
		assertProblem(body, StateProblem.NOT_A_STATE);
	}

	@Test
	void refusesDeepNestingWithoutAStackOverflow() {
		String deep = "{\"version\":1,\"resources\":{},\"metadata\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}";
		assertProblem(deep, StateProblem.DOCUMENT_TOO_COMPLEX);
		String justFits = "{\"version\":1,\"resources\":{},\"metadata\":{\"x\":"
				+ "[".repeat(StateValidator.MAX_DEPTH - 2) + "]".repeat(StateValidator.MAX_DEPTH - 2) + "}}";
		assertThatCode(() -> this.validator.validate(justFits.getBytes(StandardCharsets.UTF_8)))
			.doesNotThrowAnyException();
	}

	@Test
	void refusesHugeNumbers() {
		assertProblem("{\"version\":" + "9".repeat(5000) + ",\"resources\":{},\"metadata\":{}}",
				StateProblem.DOCUMENT_TOO_COMPLEX);
	}

	@Test
	void refusesUtf16AndInvalidUtf8() {
		assertProblem("{\"version\":1,\"resources\":{},\"metadata\":{}}".getBytes(StandardCharsets.UTF_16),
				StateProblem.MALFORMED_JSON);
		assertProblem("{\"version\":1,\"resources\":{},\"metadata\":{}}".getBytes(StandardCharsets.UTF_16LE),
				StateProblem.MALFORMED_JSON);
		byte[] invalid = "{\"version\":\"ab\",\"resources\":{},\"metadata\":{}}".getBytes(StandardCharsets.UTF_8);
		invalid[13] = (byte) 0xC3;
		invalid[14] = (byte) 0x28;
		assertProblem(invalid, StateProblem.MALFORMED_JSON);
	}

}
