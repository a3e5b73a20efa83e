package io.statekeeper.state;

import java.time.Instant;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.statekeeper.storage.VersionHeader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

class PreconditionTests {

	private static final VersionHeader REVISION_7 = new VersionHeader(1, "s", 7, 0, "x", Instant.EPOCH, false);

	private static void assertFails(Precondition precondition, VersionHeader current) {
		assertThatExceptionOfType(StateProblemException.class).isThrownBy(() -> precondition.check(current))
			.satisfies((ex) -> assertThat(ex.getProblem()).isEqualTo(StateProblem.PRECONDITION_FAILED));
	}

	@Test
	void ifMatchHoldsForTheCurrentRevisionOnly() {
		assertThatCode(() -> Precondition.parse("\"7\"", null).check(REVISION_7)).doesNotThrowAnyException();
		assertThatCode(() -> Precondition.parse("\"3\", \"7\"", null).check(REVISION_7)).doesNotThrowAnyException();
		assertThatCode(() -> Precondition.parse("*", null).check(REVISION_7)).doesNotThrowAnyException();
		assertFails(Precondition.parse("\"6\"", null), REVISION_7);
		assertFails(Precondition.parse("\"07\"", null), REVISION_7);
		// If-Match uses the strong comparison: a weak tag never matches
		assertFails(Precondition.parse("W/\"7\"", null), REVISION_7);
		// no state: If-Match, even *, fails
		assertFails(Precondition.parse("*", null), null);
	}

	@Test
	void ifNoneMatchStarFailsWhenTheStateExists() {
		assertFails(Precondition.parse(null, "*"), REVISION_7);
		assertThatCode(() -> Precondition.parse(null, "*").check(null)).doesNotThrowAnyException();
		assertFails(Precondition.parse(null, "W/\"7\""), REVISION_7);
		assertThatCode(() -> Precondition.parse(null, "\"6\"").check(REVISION_7)).doesNotThrowAnyException();
	}

	@Test
	void notModifiedUsesTheWeakComparison() {
		assertThat(Precondition.parse(null, "\"7\"").notModified(REVISION_7)).isTrue();
		assertThat(Precondition.parse(null, "W/\"7\"").notModified(REVISION_7)).isTrue();
		assertThat(Precondition.parse(null, "\"1\", \"7\"").notModified(REVISION_7)).isTrue();
		assertThat(Precondition.parse(null, "*").notModified(REVISION_7)).isTrue();
		assertThat(Precondition.parse(null, "\"8\"").notModified(REVISION_7)).isFalse();
		assertThat(Precondition.NONE.notModified(REVISION_7)).isFalse();
	}

	@ParameterizedTest
	@ValueSource(strings = { "7", "\"7", "\"7\",", "\"7\" \"8\"", "W/7", "", "**", "\"a b\"", "\"7\";x" })
	void aMalformedHeaderIsABadRequest(String value) {
		assertThatExceptionOfType(StateProblemException.class).isThrownBy(() -> Precondition.parse(value, null))
			.satisfies((ex) -> assertThat(ex.getProblem()).isEqualTo(StateProblem.INVALID_PRECONDITION));
	}

}
