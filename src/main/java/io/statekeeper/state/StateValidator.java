package io.statekeeper.state;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.StreamReadConstraints;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.core.TokenStreamFactory;
import tools.jackson.core.TokenStreamLocation;
import tools.jackson.core.exc.StreamConstraintsException;
import tools.jackson.core.json.JsonFactory;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;

import io.statekeeper.storage.StorageProperties;

/**
 * Checks a state body completely before anything touches the disk, in one streaming pass
 * that builds no tree: well-formed UTF-8 JSON with nothing after it (else 400), within
 * the parser's limits (nesting depth, number and name lengths, a key given twice in any
 * object at any depth: else 400), and a state (else 422): an object with {@code version}
 * (string or number), {@code resources} (object or array) and {@code metadata} (object);
 * or a Terraform state ({@link TerraformState}).
 * <p>
 * The {@link StrictJsonScanner} vouches for strictly valid bodies at two to three times
 * Jackson's speed (every state a real client writes); whatever it cannot vouch for is
 * parsed again by Jackson, whose verdict and message stand.
 */
@Component
public class StateValidator {

	/** Deeper documents are refused: a sane bound that no real state comes near. */
	public static final int MAX_DEPTH = 500;

	private final JsonFactory factory;

	private final long maxDocumentLength;

	private final boolean fastPath;

	@Autowired
	public StateValidator(StorageProperties properties) {
		this(properties, true);
	}

	/**
	 * A validator, with or without its fast path (the tests compare the two).
	 * @param properties the storage settings (for the size limit)
	 * @param fastPath whether strictly valid bodies are vouched for by the
	 * {@link StrictJsonScanner} instead of Jackson
	 */
	StateValidator(StorageProperties properties, boolean fastPath) {
		this.maxDocumentLength = properties.maxStateSize().toBytes();
		this.fastPath = fastPath;
		int maxString = (int) Math.min(Integer.MAX_VALUE, this.maxDocumentLength);
		this.factory = JsonFactory.builder()
			.streamReadConstraints(StreamReadConstraints.builder()
				.maxNestingDepth(MAX_DEPTH)
				.maxStringLength(maxString)
				.maxDocumentLength(this.maxDocumentLength)
				.build())
			// duplicate keys are refused at every depth; this parse runs only for what
			// the scanner (which refuses them too) cannot vouch for
			.enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
			// property names are canonicalised (the default): Jackson only uses its fast
			// byte-level UTF-8 parser with the symbol table; without it every body is
			// decoded to chars first (measured: 2-3x slower on a 1 MiB state)
			.disable(TokenStreamFactory.Feature.INTERN_PROPERTY_NAMES)
			.build();
	}

	/**
	 * Validates a body as a Terraform state, whatever it claims to be (the Terraform
	 * endpoint's rule).
	 * @param body the exact bytes
	 * @return its Terraform fields
	 * @throws StateProblemException if it is not a valid Terraform state
	 */
	TerraformState validateTerraform(byte[] body) {
		wellFormed(body);
		return TerraformState.read(body);
	}

	/**
	 * Validates a state body: a native state, or a Terraform state when its top level
	 * claims to be one ({@link TerraformState#claimedBy}).
	 * @param body the exact bytes
	 * @throws StateProblemException if it is not a valid state
	 */
	void validate(byte[] body) {
		Map<String, JsonToken> topLevel = wellFormed(body);
		if (TerraformState.claimedBy(topLevel)) {
			TerraformState.read(body);
			return;
		}
		List<Map<String, String>> errors = new ArrayList<>();
		check(topLevel, "version", "a string or a number", errors, JsonToken.VALUE_STRING, JsonToken.VALUE_NUMBER_INT,
				JsonToken.VALUE_NUMBER_FLOAT);
		check(topLevel, "resources", "an object or an array", errors, JsonToken.START_OBJECT, JsonToken.START_ARRAY);
		check(topLevel, "metadata", "an object", errors, JsonToken.START_OBJECT);
		if (!errors.isEmpty()) {
			throw notAState(errors);
		}
	}

	/**
	 * Well-formed UTF-8 JSON, an object, within the parser's limits.
	 * @return the top-level keys with the first token of each value
	 */
	private Map<String, JsonToken> wellFormed(byte[] body) {
		if (body.length == 0) {
			throw new StateProblemException(StateProblem.MALFORMED_JSON, "The body is empty");
		}
		if (!looksLikeUtf8(body)) {
			throw new StateProblemException(StateProblem.MALFORMED_JSON,
					"JSON must be encoded as UTF-8 (RFC 8259); this body is UTF-16 or UTF-32");
		}
		Map<String, JsonToken> topLevel = (this.fastPath && body.length <= this.maxDocumentLength)
				? StrictJsonScanner.topLevel(body) : null;
		if (topLevel == null) {
			requireUtf8(body);
			topLevel = parse(body);
		}
		return topLevel;
	}

	/**
	 * Refuses a body that is not well-formed UTF-8 (RFC 3629: no overlong forms, no
	 * encoded surrogates), checked by the JDK's decoder in small chunks. Jackson is not
	 * strict enough to be trusted with this: it lets invalid bytes in property names
	 * through (without canonical names always; with them whenever the name's bytes match
	 * a name seen before, as its symbol table pads names with 0xFF bytes). The scanner
	 * checks UTF-8 itself, so this runs only on the slow path.
	 */
	private static void requireUtf8(byte[] body) {
		CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
			.onMalformedInput(CodingErrorAction.REPORT)
			.onUnmappableCharacter(CodingErrorAction.REPORT);
		ByteBuffer in = ByteBuffer.wrap(body);
		CharBuffer out = CharBuffer.allocate(8192);
		CoderResult result;
		while ((result = decoder.decode(in, out, true)).isOverflow()) {
			out.clear();
		}
		if (result.isError()) {
			throw new StateProblemException(StateProblem.MALFORMED_JSON,
					"The body is not valid UTF-8 (RFC 8259): invalid byte sequence at offset " + in.position());
		}
	}

	/**
	 * Parses a body with Jackson, the judge of everything the fast path cannot vouch for.
	 * @return the top-level keys with the first token of each value
	 */
	Map<String, JsonToken> parse(byte[] body) {
		Map<String, JsonToken> topLevel = new LinkedHashMap<>();
		JsonToken root;
		try (JsonParser parser = this.factory.createParser(ObjectReadContext.empty(), body)) {
			root = parser.nextToken();
			if (root == null) {
				throw new StateProblemException(StateProblem.MALFORMED_JSON, "The body holds no JSON value");
			}
			if (root == JsonToken.START_OBJECT) {
				JsonToken token;
				while ((token = parser.nextToken()) == JsonToken.PROPERTY_NAME) {
					String field = parser.currentName();
					JsonToken value = parser.nextToken();
					if (topLevel.put(field, value) != null) {
						throw new StateProblemException(StateProblem.MALFORMED_JSON,
								"Duplicate top-level key '" + field + "'");
					}
					parser.skipChildren();
				}
				if (token != JsonToken.END_OBJECT) {
					throw new StateProblemException(StateProblem.MALFORMED_JSON, "Unexpected end of input");
				}
			}
			else {
				parser.skipChildren();
			}
			if (parser.nextToken() != null) {
				throw new StateProblemException(StateProblem.MALFORMED_JSON,
						"Trailing data after the JSON value, at " + where(parser.currentLocation()));
			}
		}
		catch (StreamConstraintsException ex) {
			throw new StateProblemException(StateProblem.DOCUMENT_TOO_COMPLEX, ex.getOriginalMessage());
		}
		catch (JacksonException ex) {
			String message = ex.getOriginalMessage();
			int noise = (message != null) ? message.indexOf(" (start marker at") : -1;
			if (noise > 0) {
				message = message.substring(0, noise);
			}
			if (message != null && message.startsWith("Duplicate")) {
				throw new StateProblemException(StateProblem.MALFORMED_JSON, message);
			}
			throw new StateProblemException(StateProblem.MALFORMED_JSON,
					message + ((ex.getLocation() != null) ? ", at " + where(ex.getLocation()) : ""));
		}
		if (root != JsonToken.START_OBJECT) {
			throw notAState(List.of(Map.of("field", "$", "problem", "must be a JSON object")));
		}
		return topLevel;
	}

	private static void check(Map<String, JsonToken> topLevel, String field, String expected,
			List<Map<String, String>> errors, JsonToken... allowed) {
		JsonToken actual = topLevel.get(field);
		if (actual == null) {
			errors.add(Map.of("field", field, "problem", "is required: " + expected));
			return;
		}
		for (JsonToken token : allowed) {
			if (token == actual) {
				return;
			}
		}
		errors.add(Map.of("field", field, "problem", "must be " + expected));
	}

	static StateProblemException notAState(List<Map<String, String>> errors) {
		return notAState(errors, "Not a state:");
	}

	static StateProblemException notAState(List<Map<String, String>> errors, String title) {
		StringBuilder detail = new StringBuilder(title);
		for (Map<String, String> error : errors) {
			detail.append(' ').append(error.get("field")).append(' ').append(error.get("problem")).append(';');
		}
		detail.setLength(detail.length() - 1);
		return new StateProblemException(StateProblem.NOT_A_STATE, detail.toString(), Map.of("errors", errors));
	}

	/**
	 * RFC 8259 JSON is UTF-8. A UTF-16 or UTF-32 text starts with a byte-order mark or
	 * has a zero byte among its first four (the first character is ASCII in every JSON
	 * text).
	 */
	private static boolean looksLikeUtf8(byte[] body) {
		if (body.length >= 2 && ((body[0] == (byte) 0xFE && body[1] == (byte) 0xFF)
				|| (body[0] == (byte) 0xFF && body[1] == (byte) 0xFE))) {
			return false;
		}
		for (int i = 0; i < Math.min(4, body.length); i++) {
			if (body[i] == 0) {
				return false;
			}
		}
		return true;
	}

	private static String where(TokenStreamLocation location) {
		return "line " + location.getLineNr() + ", column " + location.getColumnNr();
	}

}
