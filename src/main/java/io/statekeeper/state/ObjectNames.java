package io.statekeeper.state;

import java.nio.charset.StandardCharsets;

/**
 * The names of one object, to refuse a second member of the same name: each a range of
 * the body (or, when written with escapes, the bytes it decodes to), compared byte for
 * byte, which for valid UTF-8 is comparing the names. A few names are compared one by
 * one; from {@value #LINEAR} on, through an open-addressing table of their hashes. No
 * object per name: this runs for every member of every state.
 */
final class ObjectNames {

	private static final int LINEAR = 8;

	private byte[][] arrays = new byte[LINEAR][];

	private int[] starts = new int[LINEAR];

	private int[] lengths = new int[LINEAR];

	private int[] hashes = new int[LINEAR];

	private int size;

	/** Slots of name index + 1 (0: empty), or {@code null} while names are few. */
	private int[] table;

	/**
	 * Adds a name.
	 * @param body the body
	 * @param start the index of the name's first byte (after the quote)
	 * @param end the index of its closing quote
	 * @return {@code false} if the object has it already
	 */
	boolean add(byte[] body, int start, int end) {
		byte[] bytes = body;
		int from = start;
		int length = end - start;
		int hash = 1;
		for (int i = start; i < end; i++) {
			byte b = body[i];
			if (b == '\\') {
				bytes = decode(body, start, end);
				from = 0;
				length = bytes.length;
				hash = 1;
				for (byte d : bytes) {
					hash = 31 * hash + d;
				}
				break;
			}
			hash = 31 * hash + b;
		}
		if (this.table == null) {
			for (int k = 0; k < this.size; k++) {
				if (same(k, bytes, from, length, hash)) {
					return false;
				}
			}
		}
		else {
			int mask = this.table.length - 1;
			for (int slot = mix(hash) & mask; this.table[slot] != 0; slot = (slot + 1) & mask) {
				if (same(this.table[slot] - 1, bytes, from, length, hash)) {
					return false;
				}
			}
		}
		if (this.size == this.arrays.length) {
			int capacity = this.size * 2;
			this.arrays = java.util.Arrays.copyOf(this.arrays, capacity);
			this.starts = java.util.Arrays.copyOf(this.starts, capacity);
			this.lengths = java.util.Arrays.copyOf(this.lengths, capacity);
			this.hashes = java.util.Arrays.copyOf(this.hashes, capacity);
		}
		int index = this.size++;
		this.arrays[index] = bytes;
		this.starts[index] = from;
		this.lengths[index] = length;
		this.hashes[index] = hash;
		if (this.table != null && this.size * 2 <= this.table.length) {
			insert(this.table, index);
		}
		else if (this.size >= LINEAR) {
			rebuild();
		}
		return true;
	}

	private boolean same(int k, byte[] bytes, int from, int length, int hash) {
		return this.hashes[k] == hash && this.lengths[k] == length && java.util.Arrays.equals(this.arrays[k],
				this.starts[k], this.starts[k] + length, bytes, from, from + length);
	}

	private void rebuild() {
		int[] table = new int[Integer.highestOneBit(this.size * 4 - 1) << 1];
		for (int k = 0; k < this.size; k++) {
			insert(table, k);
		}
		this.table = table;
	}

	private void insert(int[] table, int index) {
		int mask = table.length - 1;
		int slot = mix(this.hashes[index]) & mask;
		while (table[slot] != 0) {
			slot = (slot + 1) & mask;
		}
		table[slot] = index + 1;
	}

	private static int mix(int hash) {
		return hash ^ (hash >>> 16);
	}

	void clear() {
		java.util.Arrays.fill(this.arrays, 0, this.size, null);
		this.size = 0;
		this.table = null;
	}

	/** Clearing is as slow as the capacity: a large one is dropped instead. */
	boolean tooLargeToReuse() {
		return this.arrays.length > 64;
	}

	/**
	 * Decodes a name that the scanner has checked already (valid escapes, pairs whole).
	 */
	private static byte[] decode(byte[] body, int start, int end) {
		StringBuilder name = new StringBuilder(end - start);
		int i = start;
		while (i < end) {
			if (body[i] != '\\') {
				int run = i;
				while (i < end && body[i] != '\\') {
					i++;
				}
				name.append(new String(body, run, i - run, StandardCharsets.UTF_8));
				continue;
			}
			char escaped = (char) body[i + 1];
			if (escaped == 'u') {
				name.append((char) Integer.parseInt(new String(body, i + 2, 4, StandardCharsets.US_ASCII), 16));
				i += 6;
			}
			else {
				name.append(switch (escaped) {
					case 'b' -> '\b';
					case 'f' -> '\f';
					case 'n' -> '\n';
					case 'r' -> '\r';
					case 't' -> '\t';
					default -> escaped;
				});
				i += 2;
			}
		}
		return name.toString().getBytes(StandardCharsets.UTF_8);
	}

}
