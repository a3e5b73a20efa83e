package io.statekeeper.state;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import tools.jackson.core.JacksonException;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.core.json.JsonFactory;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.cfg.JsonNodeFeature;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * A patch of a state: JSON Patch (RFC 6902: {@code add}, {@code remove}, {@code replace},
 * {@code move}, {@code copy}, {@code test}, paths as JSON Pointers per RFC 6901 with
 * {@code -} for the end of an array) or JSON Merge Patch (RFC 7396). A JSON Patch is
 * applied whole or not at all: it works on a copy, and the first operation that cannot be
 * applied refuses the patch.
 *
 * <p>
 * Numbers keep their value and their written precision ({@code 2.50} stays {@code 2.50});
 * the patched document is serialized anew, compactly, so its other bytes (spacing, key
 * order is kept) may differ from what was stored before.
 */
final class StatePatch {

	/** {@code application/json-patch+json} */
	static final String JSON_PATCH = "application/json-patch+json";

	/** {@code application/merge-patch+json} */
	static final String MERGE_PATCH = "application/merge-patch+json";

	static final JsonMapper MAPPER = JsonMapper
		.builder(JsonFactory.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build())
		.enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
		.disable(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES)
		.build();

	private final String mediaType;

	private final JsonNode patch;

	private StatePatch(String mediaType, JsonNode patch) {
		this.mediaType = mediaType;
		this.patch = patch;
	}

	/**
	 * Reads a patch document; checks the shape of every JSON Patch operation before any
	 * is applied.
	 * @param mediaType {@link #JSON_PATCH} or {@link #MERGE_PATCH}
	 * @param body the patch document
	 * @return the patch
	 * @throws StateProblemException 400 if it is not well-formed JSON or not a patch
	 */
	static StatePatch parse(String mediaType, byte[] body) {
		JsonNode patch = parseJson(body, "The patch");
		if (JSON_PATCH.equals(mediaType)) {
			if (!patch.isArray()) {
				throw invalid("A JSON Patch is an array of operations");
			}
			for (int i = 0; i < patch.size(); i++) {
				checkOperation(i, patch.get(i));
			}
		}
		return new StatePatch(mediaType, patch);
	}

	static JsonNode parseJson(byte[] body, String what) {
		try {
			JsonNode node = MAPPER.readTree(body);
			if (node == null || node.isMissingNode()) {
				throw new StateProblemException(StateProblem.MALFORMED_JSON, what + " is empty");
			}
			return node;
		}
		catch (JacksonException ex) {
			throw new StateProblemException(StateProblem.MALFORMED_JSON,
					what + " is not well-formed JSON: " + ex.getOriginalMessage());
		}
	}

	private static void checkOperation(int index, JsonNode operation) {
		if (!operation.isObject()) {
			throw invalid("Operation " + index + " is not an object");
		}
		String op = text(operation, "op", index);
		pointer(text(operation, "path", index), index);
		switch (op) {
			case "add", "replace", "test" -> {
				if (!operation.has("value")) {
					throw invalid("Operation " + index + " (" + op + ") needs a value");
				}
			}
			case "move", "copy" -> pointer(text(operation, "from", index), index);
			case "remove" -> {
			}
			default -> throw invalid(
					"Operation " + index + " has an unknown op '" + op + "' (add, remove, replace, move, copy, test)");
		}
	}

	private static String text(JsonNode operation, String field, int index) {
		JsonNode value = operation.get(field);
		if (value == null || !value.isString()) {
			throw invalid("Operation " + index + " needs '" + field + "' as a string");
		}
		return value.asString();
	}

	/**
	 * A JSON Pointer's reference tokens (RFC 6901), unescaped.
	 */
	static List<String> pointer(String pointer, int index) {
		List<String> tokens = new ArrayList<>();
		if (pointer.isEmpty()) {
			return tokens;
		}
		if (pointer.charAt(0) != '/') {
			throw invalid("Operation " + index + ": '" + pointer + "' is not a JSON Pointer (it starts with /)");
		}
		for (String token : pointer.substring(1).split("/", -1)) {
			if (token.matches(".*~([^01]|$).*")) {
				throw invalid("Operation " + index + ": '" + pointer + "' has a ~ not followed by 0 or 1");
			}
			tokens.add(token.replace("~1", "/").replace("~0", "~"));
		}
		return tokens;
	}

	/**
	 * The patched document.
	 * @param document the current state, parsed
	 * @return the result (a new tree; {@code document} is not changed)
	 * @throws StateProblemException 409 if an operation cannot be applied
	 */
	JsonNode apply(JsonNode document) {
		if (MERGE_PATCH.equals(this.mediaType)) {
			return merge(document, this.patch);
		}
		JsonNode result = document.deepCopy();
		for (int i = 0; i < this.patch.size(); i++) {
			result = apply(result, i, this.patch.get(i));
		}
		return result;
	}

	private static JsonNode apply(JsonNode document, int index, JsonNode operation) {
		String op = operation.get("op").asString();
		String path = operation.get("path").asString();
		List<String> tokens = pointer(path, index);
		return switch (op) {
			case "add" -> add(document, tokens, operation.get("value").deepCopy(), index, path);
			case "remove" -> {
				remove(document, tokens, index, path);
				yield document;
			}
			case "replace" -> {
				target(document, tokens, index, path);
				if (tokens.isEmpty()) {
					yield operation.get("value").deepCopy();
				}
				// in place: an object member keeps its position
				JsonNode parent = target(document, tokens.subList(0, tokens.size() - 1), index, path);
				String last = tokens.get(tokens.size() - 1);
				if (parent instanceof ObjectNode object) {
					object.set(last, operation.get("value").deepCopy());
				}
				else {
					((ArrayNode) parent).set(Integer.parseInt(last), operation.get("value").deepCopy());
				}
				yield document;
			}
			case "move" -> {
				String from = operation.get("from").asString();
				if (path.startsWith(from + "/")) {
					throw conflict(index, path, "cannot move a value into one of its own children");
				}
				JsonNode value = target(document, pointer(from, index), index, from);
				if (from.equals(path)) {
					yield document;
				}
				remove(document, pointer(from, index), index, from);
				yield add(document, tokens, value, index, path);
			}
			case "copy" -> {
				String from = operation.get("from").asString();
				JsonNode value = target(document, pointer(from, index), index, from).deepCopy();
				yield add(document, tokens, value, index, path);
			}
			default -> {
				JsonNode actual = target(document, tokens, index, path);
				if (!same(actual, operation.get("value"))) {
					throw conflict(index, path, "the value there is not the one the test expects");
				}
				yield document;
			}
		};
	}

	/** The value at {@code tokens}; 409 if there is none. */
	private static JsonNode target(JsonNode document, List<String> tokens, int index, String path) {
		JsonNode node = document;
		for (String token : tokens) {
			if (node.isObject() && node.has(token)) {
				node = node.get(token);
			}
			else if (node.isArray() && isIndex(token) && Integer.parseInt(token) < node.size()) {
				node = node.get(Integer.parseInt(token));
			}
			else {
				throw conflict(index, path, "no value there");
			}
		}
		return node;
	}

	private static JsonNode add(JsonNode document, List<String> tokens, JsonNode value, int index, String path) {
		if (tokens.isEmpty()) {
			return value;
		}
		JsonNode parent = target(document, tokens.subList(0, tokens.size() - 1), index, path);
		String last = tokens.get(tokens.size() - 1);
		if (parent instanceof ObjectNode object) {
			object.set(last, value);
		}
		else if (parent instanceof ArrayNode array) {
			if ("-".equals(last)) {
				array.add(value);
			}
			else if (isIndex(last) && Integer.parseInt(last) <= array.size()) {
				array.insert(Integer.parseInt(last), value);
			}
			else {
				throw conflict(index, path,
						"'" + last + "' is not an index of that array (0 to " + array.size() + ", or - for its end)");
			}
		}
		else {
			throw conflict(index, path, "its parent is neither an object nor an array");
		}
		return document;
	}

	private static void remove(JsonNode document, List<String> tokens, int index, String path) {
		if (tokens.isEmpty()) {
			throw conflict(index, path, "the whole document cannot be removed");
		}
		target(document, tokens, index, path);
		JsonNode parent = target(document, tokens.subList(0, tokens.size() - 1), index, path);
		String last = tokens.get(tokens.size() - 1);
		if (parent instanceof ObjectNode object) {
			object.remove(last);
		}
		else {
			((ArrayNode) parent).remove(Integer.parseInt(last));
		}
	}

	private static boolean isIndex(String token) {
		return token.matches("0|[1-9][0-9]{0,8}");
	}

	/** JSON equality (RFC 6902 §4.6): numbers by value, objects regardless of order. */
	static boolean same(JsonNode a, JsonNode b) {
		if (a.isNumber() && b.isNumber()) {
			return a.decimalValue().compareTo(b.decimalValue()) == 0;
		}
		if (a.isObject() && b.isObject()) {
			if (a.size() != b.size()) {
				return false;
			}
			for (Map.Entry<String, JsonNode> member : a.properties()) {
				JsonNode other = b.get(member.getKey());
				if (other == null || !same(member.getValue(), other)) {
					return false;
				}
			}
			return true;
		}
		if (a.isArray() && b.isArray()) {
			if (a.size() != b.size()) {
				return false;
			}
			for (int i = 0; i < a.size(); i++) {
				if (!same(a.get(i), b.get(i))) {
					return false;
				}
			}
			return true;
		}
		return a.equals(b);
	}

	/**
	 * RFC 7396: objects merge member by member, {@code null} removes, anything else
	 * replaces.
	 */
	static JsonNode merge(JsonNode target, JsonNode patch) {
		if (!patch.isObject()) {
			return patch.deepCopy();
		}
		ObjectNode result = (target != null && target.isObject()) ? (ObjectNode) target.deepCopy()
				: JsonNodeFactory.instance.objectNode();
		for (Iterator<Map.Entry<String, JsonNode>> members = patch.properties().iterator(); members.hasNext();) {
			Map.Entry<String, JsonNode> member = members.next();
			if (member.getValue().isNull()) {
				result.remove(member.getKey());
			}
			else {
				result.set(member.getKey(), merge(result.get(member.getKey()), member.getValue()));
			}
		}
		return result;
	}

	private static StateProblemException invalid(String detail) {
		return new StateProblemException(StateProblem.INVALID_PATCH, detail);
	}

	private static StateProblemException conflict(int index, String path, String why) {
		return new StateProblemException(StateProblem.PATCH_CONFLICT,
				"Operation " + index + " cannot be applied at '" + path + "': " + why + "; nothing was changed",
				Map.of("operation", index, "path", path));
	}

}
