package io.statekeeper.state;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.Tuple.Tuple2;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.core.JsonToken;

import io.statekeeper.SampleStates;
import io.statekeeper.storage.StorageTestSupport;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The validator's fast path against Jackson, its judge: on every input the validator
 * gives the same verdict and the same problem with the fast path as without it, the
 * scanner vouches only for what Jackson accepts (with the same top-level keys and token
 * types), and it does vouch for every strictly valid state, or it would be no fast path.
 */
class StrictJsonScannerTests {

	private static final StateValidator WITH_FAST_PATH = new StateValidator(
			StorageTestSupport.properties(Path.of("unused")), true);

	private static final StateValidator JACKSON_ONLY = new StateValidator(
			StorageTestSupport.properties(Path.of("unused")), false);

	/** Bytes that change a JSON text's meaning, or its validity, where they land. */
	private static final byte[] SHARP_BYTES = { '"', '\\', '{', '}', '[', ']', ',', ':', '0', '1', '-', '+', '.', 'e',
			'E', 'u', 'n', 't', 'f', ' ', '\t', '\n', 0x00, 0x1F, 0x7F, (byte) 0x80, (byte) 0xBF, (byte) 0xC0,
			(byte) 0xC2, (byte) 0xE0, (byte) 0xED, (byte) 0xEF, (byte) 0xF0, (byte) 0xF4, (byte) 0xF5, (byte) 0xFF };

	private static String outcome(StateValidator validator, byte[] body) {
		try {
			validator.validate(body);
			return "valid";
		}
		catch (StateProblemException ex) {
			return ex.getProblem() + ": " + ex.getMessage();
		}
	}

	private static void assertSameAsJackson(byte[] body) {
		assertThat(outcome(WITH_FAST_PATH, body)).as(() -> new String(body, StandardCharsets.ISO_8859_1))
			.isEqualTo(outcome(JACKSON_ONLY, body));
		Map<String, JsonToken> vouched = StrictJsonScanner.topLevel(body);
		if (vouched != null) {
			assertThat(vouched).as(() -> new String(body, StandardCharsets.ISO_8859_1))
				.containsExactlyEntriesOf(JACKSON_ONLY.parse(body));
		}
	}

	@Property(tries = 3000)
	void mutatedStatesGetJacksonsVerdict(@ForAll("mutatedStates") byte[] body) {
		assertSameAsJackson(body);
	}

	@Property(tries = 1000)
	void generatedDocumentsAreVouchedForAndGetJacksonsVerdict(
			@ForAll("generatedStates") Tuple2<byte[], Boolean> state) {
		byte[] body = state.get1();
		assertSameAsJackson(body);
		assertThat(StrictJsonScanner.topLevel(body)).as(() -> new String(body, StandardCharsets.UTF_8)).isNotNull();
		assertThat(outcome(WITH_FAST_PATH, body)).isEqualTo(state.get2() ? "valid" : outcome(JACKSON_ONLY, body));
	}

	@Property(tries = 1000)
	void aKeyGivenTwiceAtAnyDepthIsRefusedByBothPaths(@ForAll("generatedStates") Tuple2<byte[], Boolean> state,
			@ForAll("seeds") long seed) {
		String json = new String(state.get1(), StandardCharsets.UTF_8);
		// every object that has a member gets its first member again, spelled the same
		// or with escapes, at its end
		java.util.List<Integer> objects = new java.util.ArrayList<>();
		for (int i = 1; i < json.length(); i++) {
			if (json.charAt(i) == '{' && inStructure(json, i)) {
				objects.add(i);
			}
		}
		org.junit.jupiter.api.Assumptions.assumeFalse(objects.isEmpty());
		Random random = new Random(seed);
		int open = objects.get(random.nextInt(objects.size()));
		int nameStart = json.indexOf('"', open);
		int nameEnd = stringEnd(json, nameStart + 1);
		org.junit.jupiter.api.Assumptions
			.assumeTrue(nameStart > 0 && json.charAt(firstNonSpace(json, open + 1)) == '"');
		String name = json.substring(nameStart, nameEnd);
		String respelled = random.nextBoolean() ? name : escapeFirstAsciiLetterOrDigit(name);
		int close = matchingClose(json, open);
		String duplicated = json.substring(0, close) + "," + respelled + ":null" + json.substring(close);
		byte[] body = duplicated.getBytes(StandardCharsets.UTF_8);
		assertThat(StrictJsonScanner.topLevel(body)).as(duplicated).isNull();
		assertThat(outcome(WITH_FAST_PATH, body)).as(duplicated).startsWith("MALFORMED_JSON").contains("Duplicate");
		assertThat(outcome(JACKSON_ONLY, body)).isEqualTo(outcome(WITH_FAST_PATH, body));
	}

	@Provide
	Arbitrary<Long> seeds() {
		return Arbitraries.longs();
	}

	@ParameterizedTest
	@ValueSource(strings = { "{\"version\":1,\"resources\":{\"a\":1,\"a\":2},\"metadata\":{}}",
			"{\"version\":1,\"resources\":{\"a\":{\"kind\":1,\"x\":[{\"k\":1,\"k\":1}]}},\"metadata\":{}}",
			"{\"version\":1,\"resources\":{\"a\":1,\"\\u0061\":2},\"metadata\":{}}",
			"{\"version\":1,\"resources\":{},\"metadata\":{\"\u00e9\":1,\"\\u00e9\":2}}",
			"{\"version\":1,\"resources\":{},\"metadata\":{\"\ud83d\ude00\":1,\"\\ud83d\\ude00\":2}}" })
	void aNestedDuplicateKeyIsRefusedWithA400(String json) {
		byte[] body = json.getBytes(StandardCharsets.UTF_8);
		assertThat(outcome(WITH_FAST_PATH, body)).startsWith("MALFORMED_JSON").contains("Duplicate");
		assertThat(outcome(JACKSON_ONLY, body)).isEqualTo(outcome(WITH_FAST_PATH, body));
	}

	@Test
	void sameNamesInSiblingOrNestedObjectsAreNoDuplicates() {
		byte[] body = ("{\"version\":1,\"resources\":{\"a\":{\"name\":1,\"b\":{\"name\":2}},"
				+ "\"b\":{\"name\":3}},\"metadata\":{\"a\":1}}")
			.getBytes(StandardCharsets.UTF_8);
		assertThat(StrictJsonScanner.topLevel(body)).isNotNull();
		assertThat(outcome(WITH_FAST_PATH, body)).isEqualTo("valid");
		// many members in one object, then many small objects at the same depth
		StringBuilder many = new StringBuilder("{\"version\":1,\"resources\":{");
		for (int i = 0; i < 500; i++) {
			many.append((i > 0) ? "," : "").append("\"r").append(i).append("\":{\"name\":").append(i).append('}');
		}
		many.append("},\"metadata\":{}}");
		assertThat(outcome(WITH_FAST_PATH, many.toString().getBytes(StandardCharsets.UTF_8))).isEqualTo("valid");
	}

	private static boolean inStructure(String json, int at) {
		boolean inString = false;
		for (int i = 0; i < at; i++) {
			char c = json.charAt(i);
			if (inString && c == '\\') {
				i++;
			}
			else if (c == '"') {
				inString = !inString;
			}
		}
		return !inString;
	}

	private static int stringEnd(String json, int from) {
		for (int i = from; i < json.length(); i++) {
			if (json.charAt(i) == '\\') {
				i++;
			}
			else if (json.charAt(i) == '"') {
				return i + 1;
			}
		}
		return -1;
	}

	private static int firstNonSpace(String json, int from) {
		int i = from;
		while (Character.isWhitespace(json.charAt(i))) {
			i++;
		}
		return i;
	}

	private static int matchingClose(String json, int open) {
		int depth = 0;
		for (int i = open; i < json.length(); i++) {
			char c = json.charAt(i);
			if (c == '"') {
				i = stringEnd(json, i + 1) - 1;
			}
			else if (c == '{' || c == '[') {
				depth++;
			}
			else if ((c == '}' || c == ']') && --depth == 0) {
				return i;
			}
		}
		throw new IllegalStateException("unbalanced");
	}

	/** The same name with its first plain ASCII letter or digit written as an escape. */
	private static String escapeFirstAsciiLetterOrDigit(String quoted) {
		for (int i = 1; i < quoted.length() - 1; i++) {
			char c = quoted.charAt(i);
			if (c == '\\') {
				i += (quoted.charAt(i + 1) == 'u') ? 5 : 1;
			}
			else if (Character.isLetterOrDigit(c) && c < 0x80) {
				return quoted.substring(0, i) + String.format("\\u%04x", (int) c) + quoted.substring(i + 1);
			}
		}
		return quoted;
	}

	@ParameterizedTest
	@ValueSource(strings = { "{\"version\":01,\"resources\":{},\"metadata\":{}}",
			"{\"version\":1.,\"resources\":{},\"metadata\":{}}", "{\"version\":.5,\"resources\":{},\"metadata\":{}}",
			"{\"version\":1e,\"resources\":{},\"metadata\":{}}", "{\"version\":-,\"resources\":{},\"metadata\":{}}",
			"{\"version\":+1,\"resources\":{},\"metadata\":{}}", "{\"version\":NaN,\"resources\":{},\"metadata\":{}}",
			"{\"version\":\"\\x\",\"resources\":{},\"metadata\":{}}",
			"{\"version\":\"\\u12\",\"resources\":{},\"metadata\":{}}",
			"{\"version\":\"\\u12g4\",\"resources\":{},\"metadata\":{}}",
			"{\"version\":\"\\ud800\",\"resources\":{},\"metadata\":{}}",
			"{\"version\":\"\\udc00\\ud800\",\"resources\":{},\"metadata\":{}}",
			"{\"version\":1,\"resources\":{\"\\ud83d\":1},\"metadata\":{}}",
			"{\"version\":1,\"resources\":{\"\\ud83d\\u0041\":1},\"metadata\":{}}",
			"{\"version\":1,\"resources\":{\"\\ude00\":1},\"metadata\":{}}",
			"{\"version\":\"a\tb\",\"resources\":{},\"metadata\":{}}",
			"{\"version\":1,\"resources\":[1,],\"metadata\":{}}", "{\"version\":1,\"resources\":{},\"metadata\":{},}",
			"{\"version\":1,\"resources\":{\"a\":1,},\"metadata\":{}}", "{\"version\":1 /* c */,\"resources\":{}}",
			"{\"version\":1,\"resources\":{},\"metadata\":{}} x", "{\"version\":1,\"resources\":{},\"metadata\":{}}}",
			"{\"version\":1,\"resources\":{},\"metadata\":{\"a\" 1}}", "{\"version\":1,\"resources\":{},\"metadata\"}",
			"{\"version\":tru,\"resources\":{},\"metadata\":{}}",
			"{\"version\":truex,\"resources\":{},\"metadata\":{}}",
			"{\"vers\\u0069on\":1,\"resources\":{},\"metadata\":{}}",
			"{\"version\":1,\"version\":2,\"resources\":{},\"metadata\":{}}", "[{\"version\":1}]", "{}", "",
			"\u00ef\u00bb\u00bf{\"version\":1,\"resources\":{},\"metadata\":{}}",
			"{\"version\":1,\"resources\":{},\"metadata\":{\"x\":[[[[[[[[]]]]]]]]}}\u000b" })
	void oddInputIsLeftToJackson(String latin1) {
		byte[] body = latin1.getBytes(StandardCharsets.ISO_8859_1);
		if (latin1.equals("{}")) {
			// well-formed, just not a state: vouched for, with no keys
			assertThat(StrictJsonScanner.topLevel(body)).isEmpty();
		}
		else {
			assertThat(StrictJsonScanner.topLevel(body)).isNull();
		}
		assertSameAsJackson(body);
	}

	@ParameterizedTest
	@ValueSource(strings = { "C0 80", "C1 BF", "E0 80 80", "E0 9F BF", "ED A0 80", "ED BF BF", "F0 80 80 80",
			"F0 8F BF BF", "F4 90 80 80", "F5 80 80 80", "FF", "80", "C2", "E1 80", "F1 80 80", "C2 41", "E1 41 80" })
	void invalidOrOverlongUtf8IsLeftToJackson(String hex) {
		ByteArrayOutputStream body = new ByteArrayOutputStream();
		body.writeBytes("{\"version\":\"a".getBytes(StandardCharsets.US_ASCII));
		for (String octet : hex.split(" ")) {
			body.write(Integer.parseInt(octet, 16));
		}
		body.writeBytes("b\",\"resources\":{},\"metadata\":{}}".getBytes(StandardCharsets.US_ASCII));
		assertThat(StrictJsonScanner.topLevel(body.toByteArray())).isNull();
		assertSameAsJackson(body.toByteArray());
	}

	@ParameterizedTest
	@ValueSource(booleans = { true, false })
	void anInvalidByteInANameIsRefusedWhateverNameCameBefore(boolean fastPath) {
		// found by mutatedStatesGetJacksonsVerdict: Jackson's byte-level symbol table
		// pads
		// a name's last quad with 0xFF, so "generati\xFFn" matched "generatin" once
		// Jackson
		// had seen that, and was accepted undecoded. The first body takes the slow path
		// (a number too long for the scanner), so Jackson sees "generatin" either way
		StateValidator validator = new StateValidator(StorageTestSupport.properties(Path.of("unused")), fastPath);
		validator.validate(("{\"version\":1,\"resources\":{},\"metadata\":{\"generatin\":"
				+ "7".repeat(StrictJsonScanner.MAX_NUMBER_LENGTH + 1) + "}}")
			.getBytes(StandardCharsets.US_ASCII));
		byte[] invalid = "{\"version\":1,\"resources\":{},\"metadata\":{\"generatiXn\":0}}"
			.getBytes(StandardCharsets.US_ASCII);
		int at = new String(invalid, StandardCharsets.US_ASCII).indexOf('X');
		invalid[at] = (byte) 0xFF;
		assertThat(outcome(validator, invalid))
			.isEqualTo("MALFORMED_JSON: The body is not valid UTF-8 (RFC 8259): invalid byte sequence at offset " + at);
	}

	@ParameterizedTest
	@ValueSource(ints = { 0x00, 0x01, 0x1F, '"', '\\', 0x80, 0xC0, 0xFF })
	void aBadByteAtAnyPlaceOfALongStringIsSeen(int bad) {
		// wherever a bad byte sits in a long string (a scanner that skips several plain
		// bytes at a time must see it on either side of a word boundary)
		for (int at = 0; at < 24; at++) {
			byte[] text = "0123456789ghijkm0123456789ghijkm".getBytes(StandardCharsets.US_ASCII);
			text[at] = (byte) bad;
			ByteArrayOutputStream body = new ByteArrayOutputStream();
			body.writeBytes(
					"{\"version\":1,\"resources\":{},\"metadata\":{\"s\":\"".getBytes(StandardCharsets.US_ASCII));
			body.writeBytes(text);
			body.writeBytes("\"}}".getBytes(StandardCharsets.US_ASCII));
			assertThat(StrictJsonScanner.topLevel(body.toByteArray())).as("byte %02x at %d", bad, at).isNull();
			assertSameAsJackson(body.toByteArray());
		}
	}

	@ParameterizedTest
	@ValueSource(ints = { StrictJsonScanner.MAX_DEPTH - 1, StrictJsonScanner.MAX_DEPTH, StrictJsonScanner.MAX_DEPTH + 1,
			StateValidator.MAX_DEPTH - 1, StateValidator.MAX_DEPTH, StateValidator.MAX_DEPTH + 1 })
	void depthAroundBothLimits(int depth) {
		byte[] body = ("{\"version\":1,\"resources\":{},\"metadata\":{\"x\":" + "[".repeat(depth) + "]".repeat(depth)
				+ "}}")
			.getBytes(StandardCharsets.US_ASCII);
		assertVouchedForExactlyWithin(body, depth + 1 <= StrictJsonScanner.MAX_DEPTH);
	}

	@ParameterizedTest
	@ValueSource(ints = { 99, 100, 101, 999, 1000, 1001 })
	void numberLengthAroundBothLimits(int digits) {
		byte[] body = ("{\"version\":1,\"resources\":{},\"metadata\":{\"n\":" + "7".repeat(digits) + "}}")
			.getBytes(StandardCharsets.US_ASCII);
		assertVouchedForExactlyWithin(body, digits <= StrictJsonScanner.MAX_NUMBER_LENGTH);
	}

	@ParameterizedTest
	@ValueSource(ints = { 999, 1000, 1001, 49_999, 50_000, 50_001 })
	void nameLengthAroundBothLimits(int length) {
		byte[] body = ("{\"version\":1,\"resources\":{\"" + "k".repeat(length) + "\":1},\"metadata\":{}}")
			.getBytes(StandardCharsets.US_ASCII);
		assertVouchedForExactlyWithin(body, length <= StrictJsonScanner.MAX_NAME_LENGTH);
	}

	/** At a limit: vouched for exactly when within it, and the verdict is Jackson's. */
	private static void assertVouchedForExactlyWithin(byte[] body, boolean within) {
		assertThat(StrictJsonScanner.topLevel(body) != null).isEqualTo(within);
		assertSameAsJackson(body);
	}

	@Provide
	Arbitrary<byte[]> mutatedStates() {
		Arbitrary<byte[]> bases = Arbitraries.of(300, 700, 2000)
			.flatMap((size) -> Arbitraries.longs().between(0, 1000).map((gen) -> SampleStates.of(size, gen)));
		return Arbitraries.longs().flatMap((seed) -> bases.map((base) -> mutate(base, new Random(seed))));
	}

	private static byte[] mutate(byte[] base, Random random) {
		byte[] body = base.clone();
		int mutations = 1 + random.nextInt(3);
		for (int m = 0; m < mutations; m++) {
			int at = random.nextInt(body.length);
			byte sharp = SHARP_BYTES[random.nextInt(SHARP_BYTES.length)];
			switch (random.nextInt(4)) {
				case 0 -> body[at] = sharp;
				case 1 -> {
					byte[] longer = new byte[body.length + 1];
					System.arraycopy(body, 0, longer, 0, at);
					longer[at] = sharp;
					System.arraycopy(body, at, longer, at + 1, body.length - at);
					body = longer;
				}
				case 2 -> {
					byte[] shorter = new byte[body.length - 1];
					System.arraycopy(body, 0, shorter, 0, at);
					System.arraycopy(body, at + 1, shorter, at, body.length - at - 1);
					body = shorter;
				}
				default -> body = java.util.Arrays.copyOf(body, at);
			}
			if (body.length == 0) {
				break;
			}
		}
		return body;
	}

	/**
	 * Strictly valid JSON documents of random shape, with every kind of string content
	 * (escapes, control characters escaped, all planes of Unicode) and number form; the
	 * boolean says whether the document is a state.
	 */
	@Provide
	Arbitrary<Tuple2<byte[], Boolean>> generatedStates() {
		return Arbitraries.longs().map((seed) -> {
			Random random = new Random(seed);
			StringBuilder json = new StringBuilder("{");
			boolean state = random.nextInt(4) != 0;
			if (state) {
				json.append("\"version\":");
				value(json, random, 0, random.nextBoolean() ? 's' : 'n');
				json.append(",\"resources\":");
				value(json, random, 0, random.nextBoolean() ? 'o' : 'a');
				json.append(",\"metadata\":");
				value(json, random, 0, 'o');
			}
			int extra = random.nextInt(4);
			for (int k = 0; k < extra; k++) {
				json.append((json.length() > 1) ? "," : "")
					.append(whitespace(random))
					.append("\"x")
					.append(k)
					.append('"');
				json.append(whitespace(random)).append(':').append(whitespace(random));
				value(json, random, 0, '?');
			}
			json.append('}').append(whitespace(random));
			return Tuple.of(json.toString().getBytes(StandardCharsets.UTF_8), state);
		});
	}

	private static void value(StringBuilder json, Random random, int depth, char kind) {
		if (kind == '?') {
			String kinds = (depth < 6) ? "oasnl" : "snl";
			kind = kinds.charAt(random.nextInt(kinds.length()));
		}
		switch (kind) {
			case 'o' -> {
				json.append('{').append(whitespace(random));
				int members = random.nextInt(4);
				for (int k = 0; k < members; k++) {
					json.append((k > 0) ? "," + whitespace(random) : "");
					// distinct names: a member's index, escaped or not, then anything
					int mark = json.length();
					string(json, random);
					json.insert(mark + 1, random.nextBoolean() ? String.valueOf(k) : String.format("\\u%04x", '0' + k));
					json.append(whitespace(random)).append(':').append(whitespace(random));
					value(json, random, depth + 1, '?');
				}
				json.append(whitespace(random)).append('}');
			}
			case 'a' -> {
				json.append('[').append(whitespace(random));
				int elements = random.nextInt(4);
				for (int k = 0; k < elements; k++) {
					json.append((k > 0) ? "," + whitespace(random) : "");
					value(json, random, depth + 1, '?');
				}
				json.append(whitespace(random)).append(']');
			}
			case 's' -> string(json, random);
			case 'n' -> number(json, random);
			default -> json.append(new String[] { "true", "false", "null" }[random.nextInt(3)]);
		}
	}

	private static void string(StringBuilder json, Random random) {
		json.append('"');
		int length = random.nextInt(8);
		for (int k = 0; k < length; k++) {
			switch (random.nextInt(6)) {
				case 0 -> json.append((char) ('a' + random.nextInt(26)));
				case 1 -> json.append(
						new String[] { "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t" }[random.nextInt(8)]);
				case 2 -> {
					int unit = random.nextInt(0x10000 - 0x800);
					json.append(String.format("\\u%04x", (unit < 0xD800) ? unit : unit + 0x800));
					if (random.nextInt(4) == 0) {
						json.append(String.format("\\u%04X\\u%04x", 0xD800 + random.nextInt(0x400),
								0xDC00 + random.nextInt(0x400)));
					}
				}
				case 3 -> json.appendCodePoint(0x80 + random.nextInt(0xD800 - 0x80));
				case 4 -> json.appendCodePoint(0xE000 + random.nextInt(0x10000 - 0xE000));
				default -> json.appendCodePoint(0x10000 + random.nextInt(0x110000 - 0x10000));
			}
		}
		json.append('"');
	}

	private static void number(StringBuilder json, Random random) {
		if (random.nextBoolean()) {
			json.append('-');
		}
		json.append(random.nextBoolean() ? "0" : Long.toString(1 + random.nextInt(Integer.MAX_VALUE)));
		if (random.nextBoolean()) {
			json.append('.').append(random.nextInt(1000));
		}
		if (random.nextBoolean()) {
			json.append("eE".charAt(random.nextInt(2)))
				.append(new String[] { "", "+", "-" }[random.nextInt(3)])
				.append(random.nextInt(300));
		}
	}

	private static String whitespace(Random random) {
		return new String[] { "", "", "", " ", "\n", "\t", "\r\n  " }[random.nextInt(7)];
	}

}
