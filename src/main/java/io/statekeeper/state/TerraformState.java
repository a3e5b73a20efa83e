package io.statekeeper.state;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;

/**
 * What makes a body a Terraform (or OpenTofu) state, and the fields the serial/lineage
 * guard compares: a JSON object with {@code version} (the integer 3 or 4), {@code serial}
 * (an integer, at least 0), {@code lineage} (a non-empty string) and, for version 4,
 * {@code resources} (an array) and {@code outputs} (an object).
 *
 * @param version the state format version
 * @param serial the serial Terraform raises with every change
 * @param lineage the id Terraform gives a state when it is created
 */
public record TerraformState(long version, long serial, String lineage) {

	private static final JsonFactory FACTORY = JsonFactory.builder().build();

	/**
	 * Whether a state's top level says it is a Terraform state (it has a {@code lineage},
	 * a {@code serial} or a {@code terraform_version}): then it is checked as one, on the
	 * native API too.
	 * @param topLevel the top-level keys with the first token of each value
	 * @return whether it claims to be a Terraform state
	 */
	static boolean claimedBy(Map<String, JsonToken> topLevel) {
		return topLevel.containsKey("lineage") || topLevel.containsKey("serial")
				|| topLevel.containsKey("terraform_version");
	}

	/**
	 * Reads a body that is well-formed JSON (checked before) as a Terraform state.
	 * @param body the bytes
	 * @return its fields
	 * @throws StateProblemException 422 naming each field that is wrong
	 */
	static TerraformState read(byte[] body) {
		Long version = null;
		Long serial = null;
		String lineage = null;
		JsonToken resources = null;
		JsonToken outputs = null;
		List<Map<String, String>> errors = new ArrayList<>();
		try (JsonParser parser = FACTORY.createParser(ObjectReadContext.empty(), body)) {
			if (parser.nextToken() != JsonToken.START_OBJECT) {
				throw StateValidator.notAState(List.of(Map.of("field", "$", "problem", "must be a JSON object")));
			}
			while (parser.nextToken() == JsonToken.PROPERTY_NAME) {
				String field = parser.currentName();
				JsonToken value = parser.nextToken();
				switch (field) {
					case "version" -> version = integer(parser, value, "version", errors);
					case "serial" -> serial = integer(parser, value, "serial", errors);
					case "lineage" -> {
						if (value == JsonToken.VALUE_STRING && !parser.getString().isEmpty()) {
							lineage = parser.getString();
						}
						else {
							errors.add(Map.of("field", "lineage", "problem", "must be a non-empty string"));
						}
					}
					case "resources" -> resources = value;
					case "outputs" -> outputs = value;
					default -> {
					}
				}
				parser.skipChildren();
			}
		}
		catch (JacksonException ex) {
			throw new StateProblemException(StateProblem.MALFORMED_JSON, ex.getOriginalMessage());
		}
		if (version == null) {
			if (errors.stream().noneMatch((error) -> error.get("field").equals("version"))) {
				errors.add(Map.of("field", "version", "problem", "is required: the integer 3 or 4"));
			}
		}
		else if (version != 3 && version != 4) {
			errors.add(Map.of("field", "version", "problem", "must be 3 or 4, not " + version));
		}
		if (serial == null) {
			if (errors.stream().noneMatch((error) -> error.get("field").equals("serial"))) {
				errors.add(Map.of("field", "serial", "problem", "is required: an integer, at least 0"));
			}
		}
		else if (serial < 0) {
			errors.add(Map.of("field", "serial", "problem", "must be at least 0"));
		}
		if (lineage == null && errors.stream().noneMatch((error) -> error.get("field").equals("lineage"))) {
			errors.add(Map.of("field", "lineage", "problem", "is required: a non-empty string"));
		}
		if (version != null && version == 4) {
			if (resources != JsonToken.START_ARRAY) {
				errors.add(Map.of("field", "resources", "problem",
						(resources == null) ? "is required: an array" : "must be an array"));
			}
			if (outputs != JsonToken.START_OBJECT) {
				errors.add(Map.of("field", "outputs", "problem",
						(outputs == null) ? "is required: an object" : "must be an object"));
			}
		}
		if (!errors.isEmpty()) {
			throw StateValidator.notAState(errors, "Not a Terraform state:");
		}
		return new TerraformState(version, serial, lineage);
	}

	private static Long integer(JsonParser parser, JsonToken value, String field, List<Map<String, String>> errors) {
		if (value == JsonToken.VALUE_NUMBER_INT && parser.getNumberType() == JsonParser.NumberType.INT
				|| value == JsonToken.VALUE_NUMBER_INT && parser.getNumberType() == JsonParser.NumberType.LONG) {
			return parser.getLongValue();
		}
		errors.add(Map.of("field", field, "problem", "must be an integer"));
		return null;
	}

}
