package io.statekeeper.state;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

import tools.jackson.core.JsonToken;

/**
 * The fast path of {@link StateValidator}: one pass over the bytes that vouches for a
 * body only when it is strictly valid — RFC 8259 JSON whose root is an object, valid
 * UTF-8 (RFC 3629: no overlong forms, no surrogates), no top-level key written with
 * escapes, no key given twice in any object at any depth (compared as the names they
 * decode to), and well inside every limit Jackson enforces. It builds no tokens or
 * strings except the top-level keys; nested names are compared where they lie in the body
 * (a name written with escapes is decoded first).
 * <p>
 * It never refuses anything: {@code null} means "cannot vouch", and the caller then asks
 * Jackson, whose verdict and message stand. So the scanner only has to be <em>sound</em>
 * (whatever it vouches for, Jackson accepts with the same top-level keys and token types;
 * checked differentially in the tests); every state a real client writes takes the fast
 * path, everything odd takes Jackson's.
 * <p>
 * About 500 lines, on purpose: one hand-written, allocation-free pass over the bytes is
 * the point of this class (two to three times Jackson's speed on every write), and its
 * states and their transitions must be read together to be trusted; the property tests
 * compare it with Jackson on generated documents.
 */
final class StrictJsonScanner {

	/**
	 * Deeper documents go to Jackson (which refuses beyond
	 * {@link StateValidator#MAX_DEPTH}).
	 */
	static final int MAX_DEPTH = 128;

	/** Longer numbers go to Jackson (its default limit is 1,000 characters). */
	static final int MAX_NUMBER_LENGTH = 100;

	/** Longer property names go to Jackson (its default limit is 50,000 bytes). */
	static final int MAX_NAME_LENGTH = 1000;

	private static final byte PLAIN = 0;

	private static final byte QUOTE = 1;

	private static final byte BACKSLASH = 2;

	private static final byte CONTROL = 3;

	private static final byte NON_ASCII = 4;

	/** The class of each byte inside a string. */
	private static final byte[] IN_STRING = new byte[256];

	/** RFC 8259 whitespace: space, tab, line feed, carriage return. */
	private static final boolean[] WHITESPACE = new boolean[256];

	static {
		for (int b = 0; b < 0x20; b++) {
			IN_STRING[b] = CONTROL;
		}
		for (int b = 0x80; b < 0x100; b++) {
			IN_STRING[b] = NON_ASCII;
		}
		IN_STRING['"'] = QUOTE;
		IN_STRING['\\'] = BACKSLASH;
		WHITESPACE[' '] = true;
		WHITESPACE['\t'] = true;
		WHITESPACE['\n'] = true;
		WHITESPACE['\r'] = true;
	}

	private final byte[] body;

	private final int length;

	/** Per depth, the names of the object open there; allocated as depth is reached. */
	private ObjectNames[] names;

	private StrictJsonScanner(byte[] body) {
		this.body = body;
		this.length = body.length;
	}

	/**
	 * Scans a body.
	 * @param body the bytes
	 * @return the top-level keys with the first token of each value, in order; or
	 * {@code null} when the body is not strictly valid and Jackson must judge it
	 */
	static Map<String, JsonToken> topLevel(byte[] body) {
		return new StrictJsonScanner(body).scanRoot();
	}

	private Map<String, JsonToken> scanRoot() {
		int i = skipWhitespace(0);
		if (i >= this.length || this.body[i] != '{') {
			return null;
		}
		Map<String, JsonToken> topLevel = new LinkedHashMap<>();
		i = skipWhitespace(i + 1);
		if (i < this.length && this.body[i] == '}') {
			return (skipWhitespace(i + 1) == this.length) ? topLevel : null;
		}
		while (true) {
			if (i >= this.length || this.body[i] != '"') {
				return null;
			}
			int end = stringEnd(i + 1, MAX_NAME_LENGTH);
			if (end < 0 || indexOf((byte) '\\', i + 1, end) >= 0) {
				return null;
			}
			String name = new String(this.body, i + 1, end - i - 2, StandardCharsets.UTF_8);
			i = skipWhitespace(end);
			if (i >= this.length || this.body[i] != ':') {
				return null;
			}
			i = skipWhitespace(i + 1);
			if (i >= this.length) {
				return null;
			}
			int valueStart = i;
			JsonToken first = firstToken(i);
			i = valueEnd(i);
			if (first == null || i < 0) {
				return null;
			}
			if (first == JsonToken.VALUE_NUMBER_INT && (indexOf((byte) '.', valueStart, i) >= 0
					|| indexOf((byte) 'e', valueStart, i) >= 0 || indexOf((byte) 'E', valueStart, i) >= 0)) {
				first = JsonToken.VALUE_NUMBER_FLOAT;
			}
			if (topLevel.put(name, first) != null) {
				return null;
			}
			i = skipWhitespace(i);
			if (i >= this.length) {
				return null;
			}
			if (this.body[i] == '}') {
				return (skipWhitespace(i + 1) == this.length) ? topLevel : null;
			}
			if (this.body[i] != ',') {
				return null;
			}
			i = skipWhitespace(i + 1);
		}
	}

	private JsonToken firstToken(int i) {
		return switch (this.body[i]) {
			case '{' -> JsonToken.START_OBJECT;
			case '[' -> JsonToken.START_ARRAY;
			case '"' -> JsonToken.VALUE_STRING;
			case 't' -> JsonToken.VALUE_TRUE;
			case 'f' -> JsonToken.VALUE_FALSE;
			case 'n' -> JsonToken.VALUE_NULL;
			case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9' -> JsonToken.VALUE_NUMBER_INT;
			default -> null;
		};
	}

	/**
	 * Skips one JSON value, nested containers included, without recursion.
	 * @param start the index of its first byte
	 * @return the index after it, or -1 if it is not strictly valid
	 */
	private int valueEnd(int start) {
		byte[] b = this.body;
		// containers[d] is true for an object, false for an array
		boolean[] containers = null;
		int depth = 0;
		int i = start;
		while (true) {
			// a value starts at i (whitespace already skipped)
			if (i >= this.length) {
				return -1;
			}
			boolean opened = false;
			switch (b[i]) {
				case '{', '[' -> {
					if (depth == MAX_DEPTH) {
						return -1;
					}
					if (containers == null) {
						containers = new boolean[MAX_DEPTH];
					}
					boolean object = b[i] == '{';
					containers[depth++] = object;
					i = skipWhitespace(i + 1);
					if (i < this.length && b[i] == (object ? '}' : ']')) {
						depth--;
						i++;
					}
					else if (object) {
						namesAt(depth).clear();
						i = member(i, depth);
						opened = true;
					}
					else {
						opened = true;
					}
				}
				case '"' -> i = stringEnd(i + 1, Integer.MAX_VALUE);
				case 't' -> i = literalEnd(i, "true");
				case 'f' -> i = literalEnd(i, "false");
				case 'n' -> i = literalEnd(i, "null");
				default -> i = numberEnd(i);
			}
			if (i < 0) {
				return -1;
			}
			if (opened) {
				continue;
			}
			// after a value: close containers or move to the next element
			while (true) {
				if (depth == 0) {
					return i;
				}
				i = skipWhitespace(i);
				if (i >= this.length) {
					return -1;
				}
				boolean object = containers[depth - 1];
				if (b[i] == ',') {
					i = skipWhitespace(i + 1);
					if (object) {
						i = member(i, depth);
						if (i < 0) {
							return -1;
						}
					}
					break;
				}
				if (b[i] != (object ? '}' : ']')) {
					return -1;
				}
				depth--;
				i++;
			}
		}
	}

	/**
	 * Reads {@code "name" :} and the whitespace after it.
	 * @param depth the depth of the object the member belongs to
	 * @return the index of the member's value, or -1 (also for a name the object has
	 * already)
	 */
	private int member(int i, int depth) {
		if (i >= this.length || this.body[i] != '"') {
			return -1;
		}
		int start = i + 1;
		i = stringEnd(start, MAX_NAME_LENGTH);
		if (i < 0 || !this.names[depth].add(this.body, start, i - 1)) {
			return -1;
		}
		i = skipWhitespace(i);
		if (i >= this.length || this.body[i] != ':') {
			return -1;
		}
		return skipWhitespace(i + 1);
	}

	/**
	 * Skips the rest of a string.
	 * @param start the index after the opening quote
	 * @param maxLength the most bytes the string may hold
	 * @return the index after the closing quote, or -1
	 */
	private int stringEnd(int start, int maxLength) {
		byte[] b = this.body;
		int n = this.length;
		int i = start;
		while (i < n) {
			byte kind = IN_STRING[b[i] & 0xFF];
			if (kind == PLAIN) {
				i++;
			}
			else if (kind == QUOTE) {
				return (i - start <= maxLength) ? i + 1 : -1;
			}
			else if (kind == BACKSLASH) {
				i = escapeEnd(i + 1);
				if (i < 0) {
					return -1;
				}
			}
			else if (kind == NON_ASCII) {
				i = utf8End(i);
				if (i < 0) {
					return -1;
				}
			}
			else {
				return -1;
			}
		}
		return -1;
	}

	private int escapeEnd(int i) {
		if (i >= this.length) {
			return -1;
		}
		switch (this.body[i]) {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't' -> {
				return i + 1;
			}
			case 'u' -> {
				int unit = hex4(i + 1);
				if (unit < 0 || Character.isLowSurrogate((char) unit)) {
					return -1;
				}
				if (!Character.isHighSurrogate((char) unit)) {
					return i + 5;
				}
				// Jackson refuses a broken pair in a name: only whole pairs are vouched
				// for
				if (i + 6 >= this.length || this.body[i + 5] != '\\' || this.body[i + 6] != 'u') {
					return -1;
				}
				int low = hex4(i + 7);
				return (low >= 0 && Character.isLowSurrogate((char) low)) ? i + 11 : -1;
			}
			default -> {
				return -1;
			}
		}
	}

	/**
	 * Reads four hex digits.
	 * @return their value, or -1
	 */
	private int hex4(int i) {
		if (i + 4 > this.length) {
			return -1;
		}
		int value = 0;
		for (int k = 0; k < 4; k++) {
			int digit = Character.digit(this.body[i + k], 16);
			if (digit < 0) {
				return -1;
			}
			value = (value << 4) | digit;
		}
		return value;
	}

	/**
	 * Checks one multi-byte UTF-8 sequence (RFC 3629, Unicode table 3-7).
	 * @param i the index of its lead byte
	 * @return the index after it, or -1
	 */
	private int utf8End(int i) {
		byte[] b = this.body;
		int lead = b[i] & 0xFF;
		int count;
		int low = 0x80;
		int high = 0xBF;
		if (lead >= 0xC2 && lead <= 0xDF) {
			count = 1;
		}
		else if (lead >= 0xE0 && lead <= 0xEF) {
			count = 2;
			if (lead == 0xE0) {
				low = 0xA0;
			}
			else if (lead == 0xED) {
				high = 0x9F;
			}
		}
		else if (lead >= 0xF0 && lead <= 0xF4) {
			count = 3;
			if (lead == 0xF0) {
				low = 0x90;
			}
			else if (lead == 0xF4) {
				high = 0x8F;
			}
		}
		else {
			return -1;
		}
		if (i + count >= this.length) {
			return -1;
		}
		int second = b[i + 1] & 0xFF;
		if (second < low || second > high) {
			return -1;
		}
		for (int k = 2; k <= count; k++) {
			if ((b[i + k] & 0xC0) != 0x80) {
				return -1;
			}
		}
		return i + count + 1;
	}

	private int literalEnd(int i, String literal) {
		if (i + literal.length() > this.length) {
			return -1;
		}
		for (int k = 0; k < literal.length(); k++) {
			if (this.body[i + k] != literal.charAt(k)) {
				return -1;
			}
		}
		return i + literal.length();
	}

	/**
	 * Skips {@code -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?}.
	 * @return the index after the number, or -1
	 */
	private int numberEnd(int start) {
		byte[] b = this.body;
		int n = this.length;
		int i = start;
		if (i < n && b[i] == '-') {
			i++;
		}
		if (i >= n) {
			return -1;
		}
		if (b[i] == '0') {
			i++;
		}
		else if (b[i] >= '1' && b[i] <= '9') {
			i = digitsEnd(i);
		}
		else {
			return -1;
		}
		if (i < n && b[i] == '.') {
			int digits = i + 1;
			i = digitsEnd(digits);
			if (i == digits) {
				return -1;
			}
		}
		if (i < n && (b[i] == 'e' || b[i] == 'E')) {
			i++;
			if (i < n && (b[i] == '+' || b[i] == '-')) {
				i++;
			}
			int digits = i;
			i = digitsEnd(digits);
			if (i == digits) {
				return -1;
			}
		}
		if (i - start > MAX_NUMBER_LENGTH) {
			return -1;
		}
		return i;
	}

	private int digitsEnd(int i) {
		while (i < this.length && this.body[i] >= '0' && this.body[i] <= '9') {
			i++;
		}
		return i;
	}

	private ObjectNames namesAt(int depth) {
		if (this.names == null) {
			this.names = new ObjectNames[MAX_DEPTH + 1];
		}
		ObjectNames at = this.names[depth];
		if (at == null || at.tooLargeToReuse()) {
			at = new ObjectNames();
			this.names[depth] = at;
		}
		return at;
	}

	private int skipWhitespace(int i) {
		while (i < this.length && WHITESPACE[this.body[i] & 0xFF]) {
			i++;
		}
		return i;
	}

	private int indexOf(byte wanted, int from, int to) {
		for (int i = from; i < to; i++) {
			if (this.body[i] == wanted) {
				return i;
			}
		}
		return -1;
	}

}
