package io.statekeeper.audit;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import tools.jackson.core.JacksonException;
import tools.jackson.databind.json.JsonMapper;

import io.statekeeper.storage.Sha256;

/**
 * How one audit entry is sealed into the chain, and checked again: its line is the JSON
 * object of its members, {@code prev} (the previous entry's hash) included, then
 * {@code ,"hash":"<64 hex>"}} and a newline. The hash is taken over the line as it reads
 * without its {@code hash} member:
 * <ul>
 * <li>with a key ({@code statekeeper.security.audit-key-file}), HMAC-SHA256 under it, and
 * the entry says so with {@code "mac":"hmac-sha256"}: nobody without the key can edit an
 * entry, or rewrite the chain with recomputed hashes;</li>
 * <li>without one, plain SHA-256: any change breaks the chain, but whoever can write the
 * data directory can also recompute it.</li>
 * </ul>
 */
final class AuditChain {

	static final String GENESIS = "0".repeat(64);

	static final String HMAC = "hmac-sha256";

	private static final byte[] HASH_FIELD = ",\"hash\":\"".getBytes(StandardCharsets.US_ASCII);

	/** {@code ,"hash":"} + 64 hex digits + {@code "}}. */
	private static final int HASH_SUFFIX = HASH_FIELD.length + 64 + 2;

	private static final JsonMapper MAPPER = JsonMapper.builder().build();

	private final byte[] key;

	private final ThreadLocal<Mac> macs;

	/**
	 * @param key the HMAC key, or {@code null} for an unkeyed (SHA-256) chain
	 */
	AuditChain(byte[] key) {
		this.key = (key != null) ? key.clone() : null;
		this.macs = ThreadLocal.withInitial(() -> {
			try {
				Mac mac = Mac.getInstance("HmacSHA256");
				mac.init(new SecretKeySpec(this.key, "HmacSHA256"));
				return mac;
			}
			catch (GeneralSecurityException ex) {
				throw new IllegalStateException("HmacSHA256 is not available", ex);
			}
		});
	}

	boolean keyed() {
		return this.key != null;
	}

	/**
	 * Seals an entry.
	 * @param fields its members, in order, {@code prev} included
	 * @return the line, newline included, and its hash
	 */
	Sealed seal(Map<String, Object> fields) {
		Map<String, Object> entry = fields;
		if (this.key != null) {
			entry = new LinkedHashMap<>(fields);
			entry.put("mac", HMAC);
		}
		byte[] json = MAPPER.writeValueAsBytes(entry);
		String hash = hash(json, this.key != null);
		byte[] line = Arrays.copyOf(json, json.length - 1 + HASH_SUFFIX + 1);
		System.arraycopy(HASH_FIELD, 0, line, json.length - 1, HASH_FIELD.length);
		System.arraycopy(hash.getBytes(StandardCharsets.US_ASCII), 0, line, json.length - 1 + HASH_FIELD.length, 64);
		line[line.length - 3] = '"';
		line[line.length - 2] = '}';
		line[line.length - 1] = '\n';
		return new Sealed(line, hash);
	}

	/**
	 * Checks one line (without its newline) against the hash it carries.
	 * @param line the line's bytes
	 * @return the entry with its verdict
	 * @throws IllegalStateException for a keyed entry when no key is configured: the
	 * chain cannot be checked, nor carried on without weakening it
	 */
	Checked check(byte[] line) {
		int hashAt = line.length - HASH_SUFFIX;
		Map<String, Object> entry = parse(line);
		if (hashAt <= 0 || !Arrays.equals(line, hashAt, hashAt + HASH_FIELD.length, HASH_FIELD, 0, HASH_FIELD.length)
				|| line[line.length - 1] != '}' || entry == null) {
			return new Checked(entry, null, Sha256.hex(line), false, "not an audit entry");
		}
		boolean keyed = HMAC.equals(entry.get("mac"));
		if (keyed && this.key == null) {
			throw new IllegalStateException("The audit log's entries are sealed with a key (HMAC), but "
					+ "statekeeper.security.audit-key-file is not set: configure the same key file to start");
		}
		byte[] json = Arrays.copyOf(line, hashAt + 1);
		json[hashAt] = '}';
		String actual = hash(json, keyed);
		String stored = new String(line, hashAt + HASH_FIELD.length, 64, StandardCharsets.US_ASCII);
		return new Checked(entry, stored, actual, keyed, actual.equals(stored) ? null : "hash mismatch");
	}

	private String hash(byte[] json, boolean keyed) {
		if (!keyed) {
			return Sha256.hex(json);
		}
		return HexFormat.of().formatHex(this.macs.get().doFinal(json));
	}

	@SuppressWarnings("unchecked")
	static Map<String, Object> parse(byte[] line) {
		try {
			return MAPPER.readValue(line, LinkedHashMap.class);
		}
		catch (JacksonException ex) {
			return null;
		}
	}

	/**
	 * A sealed entry.
	 *
	 * @param line its line, newline included
	 * @param hash its hash, which the next entry names as {@code prev}
	 */
	record Sealed(byte[] line, String hash) {

	}

	/**
	 * A line as checked.
	 *
	 * @param entry its members, {@code null} if it does not parse
	 * @param stored the hash it carries, {@code null} if none
	 * @param actual the hash it should carry (of the whole line when it is no entry)
	 * @param keyed whether it is sealed with the key
	 * @param problem why it does not hold, {@code null} if it does
	 */
	record Checked(Map<String, Object> entry, String stored, String actual, boolean keyed, String problem) {

	}

}
