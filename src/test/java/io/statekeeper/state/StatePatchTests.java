package io.statekeeper.state;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import tools.jackson.databind.JsonNode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * JSON Patch against the examples of RFC 6902 Appendix A, and JSON Merge Patch against
 * those of RFC 7396 Appendix A; a patch that fails part-way changes nothing.
 */
class StatePatchTests {

	private static JsonNode json(String text) {
		return StatePatch.parseJson(text.getBytes(StandardCharsets.UTF_8), "test");
	}

	private static JsonNode jsonPatch(String document, String patch) {
		return StatePatch.parse(StatePatch.JSON_PATCH, patch.getBytes(StandardCharsets.UTF_8)).apply(json(document));
	}

	private static void conflict(String document, String patch) {
		assertThatExceptionOfType(StateProblemException.class).isThrownBy(() -> jsonPatch(document, patch))
			.satisfies((ex) -> assertThat(ex.getProblem()).isEqualTo(StateProblem.PATCH_CONFLICT));
	}

	@ParameterizedTest(name = "RFC 6902 {0}")
	@CsvSource(delimiter = '|',
			textBlock = """
					A.1  | {"foo":"bar"} | [{"op":"add","path":"/baz","value":"qux"}] | {"baz":"qux","foo":"bar"}
					A.2  | {"foo":["bar","baz"]} | [{"op":"add","path":"/foo/1","value":"qux"}] | {"foo":["bar","qux","baz"]}
					A.3  | {"baz":"qux","foo":"bar"} | [{"op":"remove","path":"/baz"}] | {"foo":"bar"}
					A.4  | {"foo":["bar","qux","baz"]} | [{"op":"remove","path":"/foo/1"}] | {"foo":["bar","baz"]}
					A.5  | {"baz":"qux","foo":"bar"} | [{"op":"replace","path":"/baz","value":"boo"}] | {"baz":"boo","foo":"bar"}
					A.6  | {"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}} | [{"op":"move","from":"/foo/waldo","path":"/qux/thud"}] | {"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}}
					A.7  | {"foo":["all","grass","cows","eat"]} | [{"op":"move","from":"/foo/1","path":"/foo/3"}] | {"foo":["all","cows","eat","grass"]}
					A.8  | {"baz":"qux","foo":["a",2,"c"]} | [{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}] | {"baz":"qux","foo":["a",2,"c"]}
					A.10 | {"foo":"bar"} | [{"op":"add","path":"/child","value":{"grandchild":{}}}] | {"foo":"bar","child":{"grandchild":{}}}
					A.11 | {"foo":"bar"} | [{"op":"add","path":"/baz","value":"qux","xyz":123}] | {"foo":"bar","baz":"qux"}
					A.14 | {"/":9,"~1":10} | [{"op":"test","path":"/~01","value":10}] | {"/":9,"~1":10}
					A.16 | {"foo":["bar"]} | [{"op":"add","path":"/foo/-","value":["abc","def"]}] | {"foo":["bar",["abc","def"]]}
					copy | {"a":{"b":1}} | [{"op":"copy","from":"/a","path":"/c"}] | {"a":{"b":1},"c":{"b":1}}
					root | {"a":1} | [{"op":"replace","path":"","value":{"b":2}}] | {"b":2}
					nums | {"n":1.0} | [{"op":"test","path":"/n","value":1}] | {"n":1.0}
					""")
	void theRfc6902ExamplesApply(String example, String document, String patch, String expected) {
		assertThat(StatePatch.same(jsonPatch(document, patch), json(expected))).as(example).isTrue();
	}

	@Test
	void theRfc6902ErrorExamplesAreConflicts() {
		conflict("{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]"); // A.9
		conflict("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]"); // A.12
		conflict("{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":\"10\"}]"); // A.15
		conflict("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/2\",\"value\":3}]");
		conflict("{\"a\":[1]}", "[{\"op\":\"remove\",\"path\":\"/a/1\"}]");
		conflict("{\"a\":{}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b\"}]");
		conflict("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/b\",\"value\":2}]");
	}

	@Test
	void malformedPatchesAre400BeforeAnythingIsApplied() {
		for (String patch : new String[] { "{\"op\":\"add\"}", "[{\"op\":\"frob\",\"path\":\"/a\"}]",
				"[{\"op\":\"add\",\"path\":\"a\",\"value\":1}]", "[{\"op\":\"add\",\"path\":\"/a\"}]",
				"[{\"op\":\"move\",\"path\":\"/a\"}]", "[{\"op\":\"test\",\"path\":\"/~2\",\"value\":1}]", "[1]" }) {
			assertThatExceptionOfType(StateProblemException.class)
				.isThrownBy(() -> StatePatch.parse(StatePatch.JSON_PATCH, patch.getBytes(StandardCharsets.UTF_8)))
				.satisfies((ex) -> assertThat(ex.getProblem()).as(patch).isEqualTo(StateProblem.INVALID_PATCH));
		}
		assertThatExceptionOfType(StateProblemException.class)
			.isThrownBy(() -> StatePatch.parse(StatePatch.JSON_PATCH, "[{".getBytes(StandardCharsets.UTF_8)))
			.satisfies((ex) -> assertThat(ex.getProblem()).isEqualTo(StateProblem.MALFORMED_JSON));
	}

	@Test
	void aPatchThatFailsPartWayChangesNothing() {
		JsonNode document = json("{\"a\":1,\"b\":[1,2]}");
		StatePatch patch = StatePatch.parse(StatePatch.JSON_PATCH,
				"[{\"op\":\"remove\",\"path\":\"/a\"},{\"op\":\"add\",\"path\":\"/b/0\",\"value\":0},{\"op\":\"test\",\"path\":\"/b/0\",\"value\":9}]"
					.getBytes(StandardCharsets.UTF_8));
		assertThatExceptionOfType(StateProblemException.class).isThrownBy(() -> patch.apply(document));
		assertThat(document).hasToString("{\"a\":1,\"b\":[1,2]}");
	}

	@ParameterizedTest(name = "RFC 7396 {0} + {1}")
	@CsvSource(delimiter = '|', textBlock = """
			{"a":"b"} | {"a":"c"} | {"a":"c"}
			{"a":"b"} | {"b":"c"} | {"a":"b","b":"c"}
			{"a":"b"} | {"a":null} | {}
			{"a":"b","b":"c"} | {"a":null} | {"b":"c"}
			{"a":["b"]} | {"a":"c"} | {"a":"c"}
			{"a":"c"} | {"a":["b"]} | {"a":["b"]}
			{"a":{"b":"c"}} | {"a":{"b":"d","c":null}} | {"a":{"b":"d"}}
			{"a":[{"b":"c"}]} | {"a":[1]} | {"a":[1]}
			["a","b"] | ["c","d"] | ["c","d"]
			{"a":"b"} | ["c"] | ["c"]
			{"e":null} | {"a":1} | {"e":null,"a":1}
			[1,2] | {"a":"b","c":null} | {"a":"b"}
			{} | {"a":{"bb":{"ccc":null}}} | {"a":{"bb":{}}}
			""")
	void theRfc7396ExamplesMerge(String target, String patch, String expected) {
		JsonNode document = json(target);
		JsonNode merged = StatePatch.parse(StatePatch.MERGE_PATCH, patch.getBytes(StandardCharsets.UTF_8))
			.apply(document);
		assertThat(StatePatch.same(merged, json(expected))).as(merged.toString()).isTrue();
	}

	@Test
	void numbersKeepTheirWrittenPrecision() {
		JsonNode patched = jsonPatch("{\"cost\":2.50,\"big\":12345678901234567890}",
				"[{\"op\":\"add\",\"path\":\"/x\",\"value\":0.10}]");
		assertThat(StatePatch.MAPPER.writeValueAsString(patched))
			.isEqualTo("{\"cost\":2.50,\"big\":12345678901234567890,\"x\":0.10}");
	}

}
